#include "writer.h"

#include <cstring>
#include <stdexcept>

namespace pcapng {

namespace {

// Little-endian stores; one resize per value, not one push_back per byte.
void le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  size_t at = b.size();
  b.resize(at + 2);
  le(b.data() + at, v, 2);
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  size_t at = b.size();
  b.resize(at + 4);
  le(b.data() + at, v, 4);
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  size_t at = b.size();
  b.resize(at + 8);
  le(b.data() + at, v, 8);
}
void pad4(std::vector<uint8_t>& b) {
  while (b.size() % 4) b.push_back(0);
}
void set32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

void option(std::vector<uint8_t>& b, uint16_t code, const void* data, size_t len) {
  if (len > kMaxOptionLength) throw std::length_error("pcapng option longer than 65535 bytes");
  put16(b, code);
  put16(b, uint16_t(len));
  const uint8_t* p = static_cast<const uint8_t*>(data);
  b.insert(b.end(), p, p + len);
  pad4(b);
}

// UTF-8 text cut to fit an option, never inside a character.
size_t fitText(const std::string& s) {
  size_t n = s.size();
  if (n <= kMaxOptionLength) return n;
  n = kMaxOptionLength;
  while (n > 0 && (uint8_t(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

void textOption(std::vector<uint8_t>& b, uint16_t code, const std::string& s) {
  if (!s.empty()) option(b, code, s.data(), fitText(s));
}

// Closes a block begun at `start` whose first 8 bytes are type and a
// placeholder length: writes end-of-options if asked, the trailing length,
// and the leading one.
void finishBlock(std::vector<uint8_t>& b, size_t start, bool endOfOptions) {
  if (endOfOptions) put32(b, 0);  // opt_endofopt: code 0, length 0
  uint32_t total = uint32_t(b.size() - start + 4);
  put32(b, total);
  set32(b, start + 4, total);
}

}  // namespace

std::vector<uint8_t> sectionHeaderBlock(const SectionInfo& s) {
  std::vector<uint8_t> b;
  put32(b, kShb);
  put32(b, 0);
  put32(b, 0x1A2B3C4D);     // byte-order magic
  put16(b, 1);              // version 1.0
  put16(b, 0);
  put64(b, ~uint64_t(0));   // section length unknown (streaming)
  size_t before = b.size();
  textOption(b, 2, s.hardware);
  textOption(b, 3, s.os);
  textOption(b, 4, s.userAppl);
  finishBlock(b, 0, b.size() != before);
  return b;
}

std::vector<uint8_t> interfaceBlock(const InterfaceInfo& i) {
  std::vector<uint8_t> b;
  put32(b, kIdb);
  put32(b, 0);
  put16(b, i.linkType);
  put16(b, 0);
  put32(b, i.snapLen);
  textOption(b, 2, i.name);
  textOption(b, 3, i.description);
  if (i.hasMac) option(b, 6, i.mac, 6);
  if (i.hasIpv4) {
    uint8_t v[8];
    for (int k = 0; k < 4; ++k) { v[k] = i.ipv4[k]; v[4 + k] = i.ipv4Mask[k]; }
    option(b, 4, v, 8);
  }
  if (i.hasIpv6) {
    uint8_t v[17];
    for (int k = 0; k < 16; ++k) v[k] = i.ipv6[k];
    v[16] = i.ipv6Prefix;
    option(b, 5, v, 17);
  }
  if (i.tsresol != 6) option(b, 9, &i.tsresol, 1);  // 6 (microseconds) is the default
  finishBlock(b, 0, true);
  return b;
}

namespace {

// An EPB is head (28 bytes), packet data, zero padding to 4, then `tail`:
// the options, end-of-options and the trailing block length.
constexpr size_t kEpbHead = 28;

uint32_t padOf(uint32_t n) { return (4 - n % 4) % 4; }

void epbTail(const PacketInfo& p, std::vector<uint8_t>& t) {
  // Sized first, then stored through a pointer: one resize per packet.
  size_t commentLen = p.comment.empty() ? 0 : fitText(p.comment);
  if (p.verdict.size() > kMaxOptionLength) throw std::length_error("pcapng option longer than 65535 bytes");
  size_t n = (p.hasFlags ? 8 : 0) + (p.hasPacketId ? 12 : 0) +
             (p.verdict.empty() ? 0 : 4 + p.verdict.size() + padOf(uint32_t(p.verdict.size()))) + (p.hasPidTid ? 12 : 0) +
             (commentLen ? 4 + commentLen + padOf(uint32_t(commentLen)) : 0) + 8;
  t.resize(n);
  uint8_t* w = t.data();
  auto opt = [&](uint16_t code, const void* data, size_t len) {
    le(w, code, 2);
    le(w + 2, len, 2);
    std::memcpy(w + 4, data, len);
    size_t pad = padOf(uint32_t(len));
    std::memset(w + 4 + len, 0, pad);
    w += 4 + len + pad;
  };
  // Option order as etl2pcapng writes them (§7.3).
  if (p.hasFlags) { le(w, 2, 2); le(w + 2, 4, 2); le(w + 4, p.flags, 4); w += 8; }
  if (p.hasPacketId) { le(w, 5, 2); le(w + 2, 8, 2); le(w + 4, p.packetId, 8); w += 12; }
  if (!p.verdict.empty()) opt(7, p.verdict.data(), p.verdict.size());
  if (p.hasPidTid) { le(w, 8, 2); le(w + 2, 8, 2); le(w + 4, p.pid, 4); le(w + 8, p.tid, 4); w += 12; }
  if (commentLen) opt(1, p.comment.data(), commentLen);
  le(w, 0, 4);      // opt_endofopt
  le(w + 4, 0, 4);  // trailing length, set by epbHead
}

void epbHead(const PacketInfo& p, std::vector<uint8_t>& tail, uint8_t* h) {
  uint32_t total = uint32_t(kEpbHead + p.capturedLength + padOf(p.capturedLength) + tail.size());
  le(h, kEpb, 4);
  le(h + 4, total, 4);
  le(h + 8, p.interfaceId, 4);
  le(h + 12, uint32_t(p.timestamp >> 32), 4);
  le(h + 16, uint32_t(p.timestamp), 4);
  le(h + 20, p.capturedLength, 4);
  le(h + 24, p.originalLength < p.capturedLength ? p.capturedLength : p.originalLength, 4);
  le(tail.data() + tail.size() - 4, total, 4);
}

}  // namespace

void enhancedPacketBlock(const PacketInfo& p, std::vector<uint8_t>& b) {
  std::vector<uint8_t> tail;
  epbTail(p, tail);
  size_t start = b.size();
  b.resize(start + kEpbHead);
  epbHead(p, tail, b.data() + start);
  if (p.capturedLength) b.insert(b.end(), p.data, p.data + p.capturedLength);
  b.resize(b.size() + padOf(p.capturedLength), 0);
  b.insert(b.end(), tail.begin(), tail.end());
}

uint64_t fileTimeToPcapng100ns(int64_t fileTime) {
  const int64_t kEpochDiff = 116444736000000000LL;  // 1601 → 1970 in 100 ns
  return fileTime > kEpochDiff ? uint64_t(fileTime - kEpochDiff) : 0;
}

void Writer::writeSectionHeader(const SectionInfo& s) {
  std::vector<uint8_t> b = sectionHeaderBlock(s);
  out_.write(b.data(), b.size());
  started_ = true;
}

uint32_t Writer::writeInterface(const InterfaceInfo& i) {
  if (!started_) throw std::logic_error("pcapng: interface before section header");
  std::vector<uint8_t> b = interfaceBlock(i);
  out_.write(b.data(), b.size());
  return interfaces_++;
}

void Writer::writePacket(const PacketInfo& p) {
  if (p.interfaceId >= interfaces_) throw std::logic_error("pcapng: packet on an interface not yet written");
  // The packet bytes go straight from the caller's buffer into the output
  // buffer: only the options are assembled first (the length comes first).
  scratch_.clear();
  epbTail(p, scratch_);
  uint8_t head[kEpbHead];
  epbHead(p, scratch_, head);
  static const uint8_t zeros[4] = {0, 0, 0, 0};
  out_.write(head, sizeof head);
  if (p.capturedLength) out_.write(p.data, p.capturedLength);
  if (uint32_t pad = padOf(p.capturedLength)) out_.write(zeros, pad);
  out_.write(scratch_.data(), scratch_.size());
  ++packets_;
}

}  // namespace pcapng

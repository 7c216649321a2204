#include "writer.h"

#include <stdexcept>

namespace pcapng {

namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(uint8_t(v));
  b.push_back(uint8_t(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
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

void enhancedPacketBlock(const PacketInfo& p, std::vector<uint8_t>& b) {
  size_t start = b.size();
  put32(b, kEpb);
  put32(b, 0);
  put32(b, p.interfaceId);
  put32(b, uint32_t(p.timestamp >> 32));
  put32(b, uint32_t(p.timestamp));
  put32(b, p.capturedLength);
  put32(b, p.originalLength < p.capturedLength ? p.capturedLength : p.originalLength);
  if (p.capturedLength) b.insert(b.end(), p.data, p.data + p.capturedLength);
  pad4(b);
  // Option order as etl2pcapng writes them (§7.3).
  if (p.hasFlags) { put16(b, 2); put16(b, 4); put32(b, p.flags); }
  if (p.hasPacketId) { put16(b, 5); put16(b, 8); put64(b, p.packetId); }
  if (!p.verdict.empty()) option(b, 7, p.verdict.data(), p.verdict.size());
  if (p.hasPidTid) { put16(b, 8); put16(b, 8); put32(b, p.pid); put32(b, p.tid); }
  textOption(b, 1, p.comment);
  finishBlock(b, start, true);
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
  scratch_.clear();
  enhancedPacketBlock(p, scratch_);
  out_.write(scratch_.data(), scratch_.size());
  ++packets_;
}

}  // namespace pcapng

// Helpers shared by the fuzz targets: a bounds-checked input cursor (our own,
// so the targets also build with gcc as replay programs), exact-size copies
// (so ASan sees any read past a slice), and a pcapng block-structure checker.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>
#include "constants.h"

namespace fuzz {

// The events the extractor fuzzer builds, chosen by index; make_seeds cuts
// its extractor seeds from real events and writes the same index.
struct EventKind {
  const etl::Guid* provider;
  uint16_t id;
};
inline const EventKind kPacketEvents[] = {
    {&known::kNdisPacketCapture, 1001}, {&known::kNdisPacketCapture, 1002},
    {&known::kNdisPacketCapture, 1003}, {&known::kNdisWanCapture, 5001},
    {&known::kNdisWanCapture, 5002},    {&known::kPktMon, 160},
    {&known::kPktMon, 170},             {&known::kPktMon, 20},
    {&known::kPktMon, 65},              {&known::kPktMon, 66},
    {&known::kPktMon, 70},              {&known::kPktMon, 30},
    {&known::kNdisPacketCapture, 1000},  // an id the extractor ignores
};
inline constexpr size_t kPacketEventCount = sizeof kPacketEvents / sizeof kPacketEvents[0];

// A failed invariant is a finding: print it and abort so libFuzzer saves the input.
[[noreturn]] inline void fail(const char* what, const std::string& detail = std::string()) {
  std::fprintf(stderr, "FUZZ INVARIANT FAILED: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) ::fuzz::fail(#cond, detail); \
  } while (0)

class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t left() const { return n_ - pos_; }
  bool empty() const { return pos_ >= n_; }
  uint8_t u8() { return pos_ < n_ ? p_[pos_++] : 0; }
  uint16_t u16() { return uint16_t(u8() | u8() << 8); }
  uint32_t u32() { uint32_t v = u16(); return v | uint32_t(u16()) << 16; }
  uint64_t u64() { uint64_t v = u32(); return v | uint64_t(u32()) << 32; }
  // Up to n bytes (fewer at the end of the input).
  std::vector<uint8_t> bytes(size_t n) {
    n = n < left() ? n : left();
    std::vector<uint8_t> v(p_ + pos_, p_ + pos_ + n);
    pos_ += n;
    return v;
  }
  std::vector<uint8_t> rest() { return bytes(left()); }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

inline uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }

// What a pcapng stream holds, as read back by checkPcapng().
struct PcapngSummary {
  uint32_t interfaces = 0;
  uint64_t packets = 0;
  std::vector<std::vector<uint8_t>> packetData;  // captured bytes of each EPB, if keepData
  std::vector<std::string> comments;             // opt_comment of each EPB ("" if none)
};

// Checks the block structure our writer promises: an SHB first, every block
// length a multiple of 4 and >= 12 with equal leading and trailing copies,
// options well-formed up to opt_endofopt with zero padding, EPBs only on
// interfaces already described and their data inside the block.
inline PcapngSummary checkPcapng(const std::vector<uint8_t>& b, bool keepData) {
  PcapngSummary s;
  size_t pos = 0;
  bool first = true;
  auto checkOptions = [&](size_t at, size_t end, std::string* comment) {
    while (at < end) {
      FUZZ_CHECK(end - at >= 4, "option header cut at " + std::to_string(at));
      uint16_t code = rd16(&b[at]), len = rd16(&b[at + 2]);
      at += 4;
      if (code == 0) {
        FUZZ_CHECK(len == 0, "opt_endofopt with a length");
        break;
      }
      size_t padded = (size_t(len) + 3) & ~size_t(3);
      FUZZ_CHECK(padded <= end - at, "option runs past its block at " + std::to_string(at));
      for (size_t k = at + len; k < at + padded; ++k) FUZZ_CHECK(b[k] == 0, "non-zero option padding");
      if (code == 1 && comment) comment->assign(reinterpret_cast<const char*>(&b[at]), len);
      at += padded;
    }
    FUZZ_CHECK(at == end, "bytes after the options of a block");
  };
  while (pos < b.size()) {
    FUZZ_CHECK(b.size() - pos >= 12, "block header cut at " + std::to_string(pos));
    uint32_t type = rd32(&b[pos]), len = rd32(&b[pos + 4]);
    FUZZ_CHECK(len >= 12 && len % 4 == 0, "bad block length " + std::to_string(len));
    FUZZ_CHECK(len <= b.size() - pos, "block runs past the stream");
    FUZZ_CHECK(rd32(&b[pos + len - 4]) == len, "trailing block length differs");
    size_t body = pos + 8, end = pos + len - 4;
    if (first) {
      FUZZ_CHECK(type == 0x0A0D0D0A, "first block is not an SHB");
      FUZZ_CHECK(end - body >= 16 && rd32(&b[body]) == 0x1A2B3C4D, "SHB byte-order magic");
      checkOptions(body + 16, end, nullptr);
      first = false;
    } else if (type == 1) {
      FUZZ_CHECK(end - body >= 8, "IDB too short");
      checkOptions(body + 8, end, nullptr);
      ++s.interfaces;
    } else if (type == 6) {
      FUZZ_CHECK(end - body >= 20, "EPB too short");
      uint32_t ifid = rd32(&b[body]), cap = rd32(&b[body + 12]), orig = rd32(&b[body + 16]);
      FUZZ_CHECK(ifid < s.interfaces, "EPB on interface " + std::to_string(ifid) + " before its IDB");
      FUZZ_CHECK(cap <= orig, "captured length above original length");
      size_t data = body + 20, padded = (size_t(cap) + 3) & ~size_t(3);
      FUZZ_CHECK(padded <= end - data, "EPB data runs past its block");
      for (size_t k = data + cap; k < data + padded; ++k) FUZZ_CHECK(b[k] == 0, "non-zero packet padding");
      std::string comment;
      checkOptions(data + padded, end, &comment);
      if (keepData) {
        s.packetData.emplace_back(b.begin() + ptrdiff_t(data), b.begin() + ptrdiff_t(data + cap));
        s.comments.push_back(std::move(comment));
      }
      ++s.packets;
    } else {
      fail("unexpected block type", std::to_string(type));
    }
    pos += len;
  }
  return s;
}

// Writes `data` to a per-process temporary file (the reader takes a path);
// /dev/shm when it exists so the run does not wear a disk.
class TempFile {
 public:
  TempFile(const char* tag) {
    const char* dir = std::getenv("FUZZ_TMPDIR");
    if (!dir) dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/etl-imds-" + tag + "-" + std::to_string(long(::getpid())) + ".etl";
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& write(const uint8_t* p, size_t n) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) fail("cannot create the temporary file", path_);
    if (n && std::fwrite(p, 1, n, f) != n) fail("cannot write the temporary file", path_);
    std::fclose(f);
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace fuzz


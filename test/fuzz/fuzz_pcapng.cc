// The streaming pcapng writer: random section/interface/packet sequences
// (long names and comments, cut UTF-8, verdicts, odd lengths) go through
// pcapng::Writer into an Output with a fuzzed buffer size; the bytes must be
// valid pcapng holding exactly the packets and comments written.
// Input: [output buffer size u16][section: 3 string lengths u16...] then ops
//   0: interface [link u16][snap u32][bits u8][name][description]
//   1: packet [iface u8][time u64][caplen u16][origlen u32][bits u8][pid u32][tid u32][verdict len u8][comment]
//   2: packet on an interface not yet written (must be refused)
// Strings are [length u16][repeat u8] then bytes; length*(repeat+1) bytes are
// produced by cycling, so strings longer than an option (65535) occur.
#include <cstdint>
#include <stdexcept>
#include <string>
#include "fuzz_common.h"
#include "pcapng/output.h"
#include "pcapng/writer.h"

namespace {

// Output that keeps bytes in memory but with a chosen buffer capacity, so the
// buffered path of Output::write/flush is exercised as with a file.
class BufferedMemory : public pcapng::Output {
 public:
  explicit BufferedMemory(size_t cap) { cap_ = cap; }
  void commit() override { flush(); }
  void abort() override {}
  std::vector<uint8_t> data;

 private:
  void sink(const uint8_t* p, size_t n) override { data.insert(data.end(), p, p + n); }
};

std::string str(fuzz::Cursor& c) {
  uint16_t n = c.u16();
  uint8_t rep = c.u8() & 3;
  std::vector<uint8_t> b = c.bytes(n);
  if (b.empty()) return std::string();
  size_t total = size_t(n) * (rep + 1);
  if (rep) total += 30000;  // with rep, reach past the 65535-byte option limit
  std::string s;
  s.reserve(total);
  for (size_t i = 0; i < total; ++i) s.push_back(char(b[i % b.size()]));
  return s;
}

// The writer cuts text at 65535 bytes, never inside a UTF-8 character.
bool isCutOf(const std::string& written, const std::string& full) {
  if (full.size() <= 0xFFFF) return written == full;
  if (written.size() > 0xFFFF || full.compare(0, written.size(), written) != 0) return false;
  return written.size() == full.size() || (uint8_t(full[written.size()]) & 0xC0) != 0x80;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  BufferedMemory out(c.u16());
  pcapng::Writer w(out);
  pcapng::SectionInfo si;
  si.hardware = str(c);
  si.os = str(c);
  si.userAppl = str(c);
  std::vector<std::vector<uint8_t>> packets;
  std::vector<std::string> comments;
  uint32_t interfaces = 0;
  size_t ops = 0;

  // A packet or interface before the section header is refused.
  pcapng::InterfaceInfo early;
  bool threw = false;
  try { w.writeInterface(early); } catch (const std::logic_error&) { threw = true; }
  FUZZ_CHECK(threw, "interface accepted before the section header");
  w.writeSectionHeader(si);

  while (!c.empty() && ops++ < 256) {
    uint8_t op = c.u8() % 3;
    if (op == 0) {
      pcapng::InterfaceInfo ii;
      ii.linkType = c.u16();
      ii.snapLen = c.u32();
      uint8_t bits = c.u8();
      ii.hasMac = bits & 1;
      ii.hasIpv4 = bits & 2;
      ii.hasIpv6 = bits & 4;
      ii.tsresol = (bits & 8) ? 6 : 7;
      for (auto& m : ii.mac) m = c.u8();
      ii.ipv6Prefix = c.u8();
      ii.name = str(c);
      ii.description = str(c);
      FUZZ_CHECK(w.writeInterface(ii) == interfaces, "interface ids not sequential");
      ++interfaces;
    } else if (op == 1 || op == 2) {
      pcapng::PacketInfo pi;
      uint8_t which = c.u8();
      pi.interfaceId = op == 2 ? interfaces + which : (interfaces ? which % interfaces : 0);
      pi.timestamp = c.u64();
      std::vector<uint8_t> bytes = c.bytes(c.u16());
      pi.data = bytes.data();
      pi.capturedLength = uint32_t(bytes.size());
      pi.originalLength = c.u32();
      uint8_t bits = c.u8();
      pi.hasFlags = bits & 1;
      pi.flags = bits >> 4;
      pi.hasPacketId = bits & 2;
      pi.packetId = 0x0102030405060708ull * bits;
      pi.hasPidTid = bits & 4;
      pi.pid = c.u32();
      pi.tid = c.u32();
      uint8_t vlen = c.u8();
      if (bits & 8) pi.verdict.assign(size_t(vlen) * (bits & 0x80 ? 300 : 1), 0xAB);
      pi.comment = str(c);
      bool refused = false;
      try {
        w.writePacket(pi);
      } catch (const std::logic_error& e) {
        refused = true;
      }
      bool shouldRefuse = pi.interfaceId >= interfaces || pi.verdict.size() > 0xFFFF;
      FUZZ_CHECK(refused == shouldRefuse, "packet on interface " + std::to_string(pi.interfaceId) + " of " +
                                              std::to_string(interfaces) + (refused ? " refused" : " accepted"));
      if (!refused) {
        packets.push_back(bytes);
        comments.push_back(pi.comment);
      }
    }
  }
  out.commit();
  FUZZ_CHECK(out.bytesWritten() == out.data.size(), "bytesWritten differs from the bytes written");
  fuzz::PcapngSummary s = fuzz::checkPcapng(out.data, true);
  FUZZ_CHECK(s.interfaces == interfaces, "IDB count");
  FUZZ_CHECK(s.packets == packets.size() && w.packets() == packets.size(), "EPB count");
  for (size_t i = 0; i < packets.size(); ++i) {
    FUZZ_CHECK(s.packetData[i] == packets[i], "EPB data " + std::to_string(i));
    FUZZ_CHECK(isCutOf(s.comments[i], comments[i]), "EPB comment " + std::to_string(i));
  }
  return 0;
}

// Streaming pcapng writer (one pass): a Section Header Block, then Interface
// Description Blocks and Enhanced Packet Blocks in the order the caller asks.
// Little-endian, every block a multiple of 4 bytes, padding always zero.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "output.h"

namespace pcapng {

constexpr uint32_t kShb = 0x0A0D0D0A, kIdb = 1, kEpb = 6;
constexpr uint16_t kMaxOptionLength = 0xFFFF;

struct SectionInfo {
  std::string hardware, os, userAppl;  // shb options 2, 3, 4 when non-empty
};

struct InterfaceInfo {
  uint16_t linkType = 1;
  uint32_t snapLen = 0;                // 0 = no limit
  std::string name, description;       // if_name (2), if_description (3), UTF-8
  bool hasMac = false, hasIpv4 = false, hasIpv6 = false;
  uint8_t mac[6] = {};
  uint8_t ipv4[4] = {};
  uint8_t ipv4Mask[4] = {255, 255, 255, 255};
  uint8_t ipv6[16] = {};
  uint8_t ipv6Prefix = 128;
  uint8_t tsresol = 7;                 // if_tsresol (9): 10^-7 s = 100 ns, ETW's own unit
};

struct PacketInfo {
  uint32_t interfaceId = 0;
  uint64_t timestamp = 0;              // in the interface's tsresol units
  const uint8_t* data = nullptr;
  uint32_t capturedLength = 0;
  uint32_t originalLength = 0;
  bool hasFlags = false;
  uint32_t flags = 0;                  // epb_flags (2)
  bool hasPacketId = false;
  uint64_t packetId = 0;               // epb_packetid (5)
  std::vector<uint8_t> verdict;        // epb_verdict (7): type byte + value
  bool hasPidTid = false;
  uint32_t pid = 0, tid = 0;           // epb_processid_threadid (8)
  std::string comment;                 // opt_comment (1), UTF-8
};

// Block builders (also used by tests).
std::vector<uint8_t> sectionHeaderBlock(const SectionInfo& s);
std::vector<uint8_t> interfaceBlock(const InterfaceInfo& i);
void enhancedPacketBlock(const PacketInfo& p, std::vector<uint8_t>& out);

// FILETIME (100 ns since 1601) → 100 ns since 1970; 0 for earlier times.
uint64_t fileTimeToPcapng100ns(int64_t fileTime);

class Writer {
 public:
  explicit Writer(Output& out) : out_(out) {}
  void writeSectionHeader(const SectionInfo& s);
  uint32_t writeInterface(const InterfaceInfo& i);   // returns its id
  void writePacket(const PacketInfo& p);
  uint32_t interfaces() const { return interfaces_; }
  uint64_t packets() const { return packets_; }
  bool started() const { return started_; }

 private:
  Output& out_;
  std::vector<uint8_t> scratch_;
  uint32_t interfaces_ = 0;
  uint64_t packets_ = 0;
  bool started_ = false;
};

}  // namespace pcapng

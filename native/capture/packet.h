// Packets and interfaces as the capture decoders hand them out
// (docs/etl-format.md, NDIS-PacketCapture events, and docs/etl2pcapng.md). Independent of pcapng and of N-API.
#pragma once
#include <cstdint>
#include <string>
#include <tuple>
#include "etl/guid.h"

namespace capture {

// NDIS-PacketCapture keyword bits (docs/etl-format.md, NDIS-PacketCapture events).
namespace kw {
constexpr uint64_t WirelessWan = 0x200;
constexpr uint64_t Native80211 = 0x10000;
constexpr uint64_t PacketTruncated = 0x2000000;
constexpr uint64_t PacketStart = 0x40000000;
constexpr uint64_t PacketEnd = 0x80000000;
constexpr uint64_t SendPath = 0x100000000ull;
constexpr uint64_t ReceivePath = 0x200000000ull;
}  // namespace kw

enum LinkType : uint16_t { kLinkEthernet = 1, kLinkRaw = 101, kLinkIeee80211 = 105 };

enum class Source : uint8_t { Ndis, VmSwitch, NdisWan, PktMon };
const char* sourceName(Source s);  // "ndis", "vmswitch", "ndiswan", "pktmon"

enum class Direction : uint8_t { Unknown = 0, In = 1, Out = 2 };  // = pcapng epb_flags bits 0-1

// Largest packet we assemble; more is cut off and the packet flagged.
constexpr uint32_t kMaxPacketBytes = 256 * 1024;

// Identity of an interface, exactly as etl2pcapng keys them (§5.1).
struct InterfaceKey {
  Source source = Source::Ndis;
  uint32_t lowerIfIndex = 0;     // ndis, vmswitch
  int32_t vlanId = 0;            // vmswitch (from OOB slot 4)
  uint32_t sourcePortId = 0;     // vmswitch
  uint16_t componentId = 0;      // pktmon
  uint16_t linkType = 0;         // pktmon only (a component may carry two media)
  std::string routingDomainId;   // ndiswan
  std::string userName;          // ndiswan
  // Every field, for ordering (the interface map) and equality (the last-interface check).
  auto fields() const {
    return std::tie(source, lowerIfIndex, vlanId, sourcePortId, componentId, linkType, routingDomainId, userName);
  }
  bool operator<(const InterfaceKey& o) const { return fields() < o.fields(); }
  bool operator==(const InterfaceKey& o) const { return fields() == o.fields(); }
};

struct Interface {
  InterfaceKey key;
  // pcapng interface id, in order of first packet; -1 until a packet uses it.
  int32_t id = -1;
  uint16_t linkType = kLinkEthernet;
  uint32_t miniportIfIndex = 0;  // from the first event of this key
  // VMSwitch: from the first packet of this key (etl2pcapng does the same).
  std::string nicType, nicName, portName;
  // Filled when the id is assigned (pktmon: from the component events).
  std::string name, description;
  bool hasMac = false, hasIpv4 = false, hasIpv6 = false;
  uint8_t mac[6] = {};
  uint8_t ipv4[4] = {};
  uint8_t ipv6[16] = {};
  uint64_t packets = 0;
};

// DOT11_EXTSTA_RECV_CONTEXT fields of event 1002 (docs/etl-format.md, Wi-Fi metadata).
struct WifiMetadata {
  uint32_t receiveFlags = 0;
  uint32_t phyId = 0;
  uint32_t centerFrequency = 0;
  uint16_t mpdusReceived = 0;
  int32_t rssi = 0;
  uint8_t dataRate = 0;
};

struct PktmonInfo {
  uint64_t pktGroupId = 0;
  uint16_t pktNumber = 0;
  uint16_t appearanceCount = 0;
  uint16_t dirTag = 0;
  uint16_t packetType = 0;
  uint16_t componentId = 0;
  uint16_t edgeId = 0;
  uint16_t filterId = 0;
  uint32_t dropReason = 0;
  uint32_t dropLocation = 0;
  uint16_t originalPayloadSize = 0;
  uint16_t loggedPayloadSize = 0;
};

// Why a packet's bytes are not the whole frame as the OS logged it.
enum PacketFlags : uint32_t {
  kPacketOversize = 1,       // > kMaxPacketBytes: bytes after the limit cut off
  kPacketMissingStart = 2,   // fragments arrived without a PACKET_START fragment
  kPacketMissingEnd = 4,     // a new start (or the end of the trace) came before PACKET_END
};

struct Packet {
  Interface* iface = nullptr;
  Source source = Source::Ndis;
  int64_t fileTime = 0;       // UTC FILETIME of the last fragment (as etl2pcapng)
  uint16_t cpu = 0;
  uint32_t pid = 0, tid = 0;
  uint64_t keywords = 0;
  Direction direction = Direction::Unknown;
  const uint8_t* data = nullptr;  // valid during the sink call
  uint32_t capturedLength = 0;
  uint32_t originalLength = 0;    // >= capturedLength
  uint32_t flags = 0;             // PacketFlags
  uint32_t fragments = 1;
  bool hasWifi = false;
  WifiMetadata wifi;
  // VMSwitch (1003), from this packet.
  uint32_t destinationCount = 0;
  uint32_t hashValue = 0;
  // PktMon (160/170).
  bool hasPktmon = false;
  bool dropped = false;           // event 170
  bool relabeled = false;         // PacketType said Wi-Fi, payload is Ethernet
  PktmonInfo pktmon;
  uint64_t ordinal = 0;           // 1-based, in emission order
};

}  // namespace capture

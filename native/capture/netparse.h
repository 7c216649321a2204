// Just enough link/IP/TCP parsing to find the IP header of a captured frame,
// infer the original length of a truncated frame, and select IMDS traffic.
// Every read is bounds-checked: frames come from the file.
#pragma once
#include <cstdint>

namespace capture {

// Offset of the IP header in a frame of `linkType` (1 Ethernet with any
// number of 802.1Q/802.1ad tags and 802.3 LLC/SNAP, 101 raw IP, 105 802.11
// data frames with LLC/SNAP). False when there is no IPv4/IPv6 header.
bool locateIp(uint16_t linkType, const uint8_t* d, uint32_t len, uint32_t* ipOffset);

// Frame length implied by the IP header (ipOffset + IPv4 TotalLength or
// ipOffset + 40 + IPv6 PayloadLength); 0 when unknown (no IP header, or a
// length of 0 as LSO frames carry).
uint32_t inferFrameLength(uint16_t linkType, const uint8_t* d, uint32_t len);

// TCP to or from 169.254.169.254:80 or [fd00:ec2::254]:80. `ip` starts at the
// IP header. Non-first IPv4 fragments to/from the address count too (they
// carry no port but belong to such a datagram only if the address matches).
bool isImdsTcp(const uint8_t* ip, uint32_t len);

// A Winsock SOCKADDR_IN / SOCKADDR_IN6, as TCPIP events carry their
// endpoints (docs/etl-format.md, Microsoft-Windows-TCPIP connection events).
struct SocketAddress {
  uint16_t family = 0;      // 2 IPv4, 23 IPv6
  uint16_t port = 0;        // host order
  uint8_t address[16] = {}; // 4 bytes used for IPv4
};
bool parseSocketAddress(const uint8_t* p, uint32_t len, SocketAddress* out);
// 169.254.169.254:80 or [fd00:ec2::254]:80.
bool isImdsSocketAddress(const SocketAddress& a);

}  // namespace capture

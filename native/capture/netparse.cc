#include "netparse.h"

#include <cstring>

#include "constants.h"

namespace capture {

namespace {

inline uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

// Ethertype chain starting at `pos` (the offset of an ethertype field).
bool followEthertype(const uint8_t* d, uint32_t len, uint32_t pos, uint32_t* ip) {
  for (int tags = 0; tags < 8; ++tags) {
    if (pos + 2 > len) return false;
    uint16_t t = be16(d + pos);
    if (t == 0x8100 || t == 0x88A8 || t == 0x9100) {  // VLAN tags: 4 bytes each
      pos += 4;
      continue;
    }
    if (t <= 1500) {  // 802.3 length field: LLC/SNAP may follow
      if (pos + 10 > len) return false;
      const uint8_t* l = d + pos + 2;
      if (l[0] == 0xAA && l[1] == 0xAA && l[2] == 0x03) { pos += 8; continue; }
      return false;
    }
    if (t == 0x0800 || t == 0x86DD) {
      if (pos + 2 >= len) return false;
      uint8_t v = d[pos + 2] >> 4;
      if ((t == 0x0800 && v != 4) || (t == 0x86DD && v != 6)) return false;
      *ip = pos + 2;
      return true;
    }
    return false;
  }
  return false;
}

bool locate80211(const uint8_t* d, uint32_t len, uint32_t* ip) {
  if (len < 24) return false;
  uint8_t fc0 = d[0], fc1 = d[1];
  if (((fc0 >> 2) & 3) != 2) return false;  // data frames only
  if (fc0 & 0x40) return false;             // subtypes with no body (null data...)
  uint32_t h = 24;
  if ((fc1 & 3) == 3) h += 6;               // ToDS and FromDS: 4th address
  bool qos = fc0 & 0x80;
  if (qos) {
    h += 2;
    if (fc1 & 0x80) h += 4;                 // +HTC
  }
  if (h + 8 > len) return false;
  const uint8_t* l = d + h;
  // LLC/SNAP: AA AA 03 then OUI 00 00 00 (RFC 1042) or 00 00 F8 (bridge tunnel).
  if (l[0] != 0xAA || l[1] != 0xAA || l[2] != 0x03) return false;
  return followEthertype(d, len, h + 6, ip);
}

bool eq(const uint8_t* a, const uint8_t* b, int n) {
  for (int i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

bool tcpPortsMatch(const uint8_t* tcp, uint32_t avail, bool srcIsImds, bool dstIsImds) {
  if (avail < 4) return false;
  uint16_t sp = be16(tcp), dp = be16(tcp + 2);
  return (dstIsImds && dp == known::kImdsPort) || (srcIsImds && sp == known::kImdsPort);
}

}  // namespace

bool locateIp(uint16_t linkType, const uint8_t* d, uint32_t len, uint32_t* ipOffset) {
  switch (linkType) {
    case 1:
      if (len < 14) return false;
      return followEthertype(d, len, 12, ipOffset);
    case 101: {
      if (len < 1) return false;
      uint8_t v = d[0] >> 4;
      if (v != 4 && v != 6) return false;
      *ipOffset = 0;
      return true;
    }
    case 105:
      return locate80211(d, len, ipOffset);
    default:
      return false;
  }
}

uint32_t inferFrameLength(uint16_t linkType, const uint8_t* d, uint32_t len) {
  uint32_t off = 0;
  if (!locateIp(linkType, d, len, &off)) return 0;
  const uint8_t* ip = d + off;
  uint32_t avail = len - off;
  if ((ip[0] >> 4) == 4) {
    if (avail < 20) return 0;
    uint32_t total = be16(ip + 2);
    return total ? off + total : 0;
  }
  if (avail < 40) return 0;
  uint32_t payload = be16(ip + 4);
  return payload ? off + 40 + payload : 0;  // 0: jumbogram or LSO
}

bool isImdsTcp(const uint8_t* ip, uint32_t len) {
  if (len < 1) return false;
  uint8_t v = ip[0] >> 4;
  if (v == 4) {
    if (len < 20) return false;
    uint32_t ihl = uint32_t(ip[0] & 0x0F) * 4;
    if (ihl < 20 || ip[9] != 6) return false;
    bool src = eq(ip + 12, known::kImdsIpv4, 4), dst = eq(ip + 16, known::kImdsIpv4, 4);
    if (!src && !dst) return false;
    uint16_t fragOff = be16(ip + 6) & 0x1FFF;
    if (fragOff != 0) return true;  // a later fragment: no TCP header to check
    if (len < ihl) return false;
    return tcpPortsMatch(ip + ihl, len - ihl, src, dst);
  }
  if (v == 6) {
    if (len < 40) return false;
    bool src = eq(ip + 8, known::kImdsIpv6, 16), dst = eq(ip + 24, known::kImdsIpv6, 16);
    if (!src && !dst) return false;
    uint8_t next = ip[6];
    uint32_t pos = 40;
    for (int i = 0; i < 8; ++i) {
      if (next == 6) return tcpPortsMatch(ip + pos, len > pos ? len - pos : 0, src, dst);
      if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
        if (pos + 2 > len) return false;
        uint8_t nh = ip[pos];
        pos += (uint32_t(ip[pos + 1]) + 1) * 8;
        next = nh;
      } else if (next == 44) {                       // fragment header
        if (pos + 8 > len) return false;
        uint8_t nh = ip[pos];
        uint16_t off = be16(ip + pos + 2) & 0xFFF8;
        if (off != 0) return nh == 6;
        pos += 8;
        next = nh;
      } else if (next == 51) {                       // AH: length in 4-byte units + 2
        if (pos + 2 > len) return false;
        uint8_t nh = ip[pos];
        pos += (uint32_t(ip[pos + 1]) + 2) * 4;
        next = nh;
      } else {
        return false;
      }
    }
    return false;
  }
  return false;
}

bool parseSocketAddress(const uint8_t* p, uint32_t len, SocketAddress* out) {
  // SOCKADDR_IN: u16 family 2, u16 port (network order), 4-byte address, 8 bytes of zero.
  // SOCKADDR_IN6: u16 family 23, u16 port, u32 flow info, 16-byte address, u32 scope id.
  if (!p || len < 8) return false;
  uint16_t family = uint16_t(p[0] | p[1] << 8);
  if (family == 2) {
    out->family = 2;
    out->port = be16(p + 2);
    std::memcpy(out->address, p + 4, 4);
    return true;
  }
  if (family == 23 && len >= 24) {
    out->family = 23;
    out->port = be16(p + 2);
    std::memcpy(out->address, p + 8, 16);
    return true;
  }
  return false;
}

bool isImdsSocketAddress(const SocketAddress& a) {
  if (a.port != known::kImdsPort) return false;
  return a.family == 2 ? eq(a.address, known::kImdsIpv4, 4) : eq(a.address, known::kImdsIpv6, 16);
}

}  // namespace capture

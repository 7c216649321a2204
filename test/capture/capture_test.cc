// Unit tests of native/capture and native/pcapng on synthetic EventRecords.
//   capture_test                       run the tests (exit 1 on any failure)
//   capture_test --convert IN OUT [--imds-only] [--dedupe] [--pid N]
//                                      convert a file with the same engine as the addon
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "capture/engine.h"
#include "capture/extractor.h"
#include "constants.h"
#include "capture/netparse.h"
#include "pcapng/output.h"
#include "pcapng/writer.h"

using namespace capture;

static int failures = 0, checks = 0;
#define CHECK(c)                                                              \
  do {                                                                        \
    ++checks;                                                                 \
    if (!(c)) {                                                               \
      ++failures;                                                             \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
    }                                                                         \
  } while (0)
#define CHECK_EQ(a, b)                                                                    \
  do {                                                                                    \
    ++checks;                                                                             \
    auto va_ = (a);                                                                       \
    auto vb_ = (b);                                                                       \
    if (!(va_ == vb_)) {                                                                  \
      ++failures;                                                                         \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s != %s\n", __FILE__, __LINE__, #a, #b); \
    }                                                                                     \
  } while (0)

// ---- synthetic records ------------------------------------------------------

struct Bytes : std::vector<uint8_t> {
  Bytes& u8(uint8_t v) { push_back(v); return *this; }
  Bytes& u16(uint16_t v) { u8(uint8_t(v)); return u8(uint8_t(v >> 8)); }
  Bytes& u32(uint32_t v) { u16(uint16_t(v)); return u16(uint16_t(v >> 16)); }
  Bytes& u64(uint64_t v) { u32(uint32_t(v)); return u32(uint32_t(v >> 32)); }
  Bytes& raw(const std::vector<uint8_t>& b) { insert(end(), b.begin(), b.end()); return *this; }
  Bytes& wstr(const std::string& s) {  // ASCII → UTF-16LE with NUL
    for (char c : s) u16(uint16_t(uint8_t(c)));
    return u16(0);
  }
};

struct Rec {
  etl::EventRecord r;
  Bytes data;
  const etl::EventRecord& get() {
    r.userData = data.data();
    r.userDataLen = uint32_t(data.size());
    return r;
  }
};

static Rec event(const etl::Guid& g, uint16_t id, uint64_t keywords, Bytes payload, uint16_t cpu = 0,
                 int64_t time = 132000000000000000LL) {
  Rec x;
  x.r.kind = etl::RecordKind::Event;
  x.r.provider = g;
  x.r.id = id;
  x.r.keywords = keywords;
  x.r.cpu = cpu;
  x.r.pid = 1234;
  x.r.tid = 5678;
  x.r.fileTime = time;
  x.data = std::move(payload);
  return x;
}

static std::vector<uint8_t> seq(size_t n, uint8_t start) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(start + i);
  return v;
}

static Rec ndisFrag(uint32_t lower, uint64_t kw, const std::vector<uint8_t>& frag, uint16_t cpu = 0,
                    uint32_t mp = 0, bool gft = true) {
  Bytes b;
  b.u32(mp ? mp : lower).u32(lower).u32(uint32_t(frag.size())).raw(frag);
  if (gft) b.u64(0x1111).u64(0x2222);  // GftFlowEntryId, GftOffloadInformation (recent builds)
  return event(known::kNdisPacketCapture, 1001, kw, b, cpu);
}

struct Collected {
  std::vector<std::vector<uint8_t>> data;
  std::vector<Packet> pkts;
  std::vector<std::string> comments;
};

static PacketExtractor collector(Collected& c) {
  return PacketExtractor([&c](Packet& p) {
    c.data.emplace_back(p.data, p.data + p.capturedLength);
    c.comments.push_back(packetComment(p));
    c.pkts.push_back(p);
  });
}

static std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> r;
  for (auto& p : parts) r.insert(r.end(), p.begin(), p.end());
  return r;
}

// An Ethernet/IPv4/TCP frame (addresses and ports given), `payload` bytes of data.
static std::vector<uint8_t> ethTcp4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
                                    size_t payload, bool vlan = false) {
  Bytes b;
  for (int i = 0; i < 12; ++i) b.u8(uint8_t(i + 1));
  if (vlan) b.u8(0x81).u8(0x00).u8(0x00).u8(0x05);
  b.u8(0x08).u8(0x00);
  uint16_t total = uint16_t(20 + 20 + payload);
  b.u8(0x45).u8(0).u8(uint8_t(total >> 8)).u8(uint8_t(total)).u32(0).u8(64).u8(6).u16(0);
  for (int i = 0; i < 4; ++i) b.u8(src[i]);
  for (int i = 0; i < 4; ++i) b.u8(dst[i]);
  b.u8(uint8_t(sport >> 8)).u8(uint8_t(sport)).u8(uint8_t(dport >> 8)).u8(uint8_t(dport));
  for (int i = 0; i < 8; ++i) b.u8(0);
  b.u8(0x50).u8(0x18).u16(0xFFFF).u32(0);
  for (size_t i = 0; i < payload; ++i) b.u8('A');
  return b;
}

static const uint8_t kImds[4] = {169, 254, 169, 254};
static const uint8_t kHost[4] = {10, 0, 0, 5};
constexpr uint64_t SE = kw::PacketStart | kw::PacketEnd;

// ---- reassembly ---------------------------------------------------------------

static void testSingleAndMulti() {
  Collected c;
  auto x = collector(c);
  auto r1 = ndisFrag(7, SE | kw::SendPath, seq(60, 0));
  x.feed(r1.get());
  CHECK_EQ(c.pkts.size(), size_t(1));
  CHECK(c.data[0] == seq(60, 0));  // Gft fields after the fragment are not packet bytes
  CHECK(c.pkts[0].direction == Direction::Out);
  CHECK_EQ(c.pkts[0].iface->linkType, uint16_t(kLinkEthernet));
  CHECK_EQ(c.pkts[0].iface->name, std::string("eth:7:0"));
  CHECK_EQ(c.pkts[0].iface->description, std::string(""));

  auto a = ndisFrag(7, kw::PacketStart | kw::ReceivePath, seq(10, 0));
  auto b = ndisFrag(7, kw::ReceivePath, seq(10, 10));
  auto e = ndisFrag(7, kw::PacketEnd | kw::ReceivePath, seq(5, 20));
  e.r.fileTime += 77;
  x.feed(a.get());
  x.feed(b.get());
  CHECK_EQ(c.pkts.size(), size_t(1));
  x.feed(e.get());
  CHECK_EQ(c.pkts.size(), size_t(2));
  CHECK(c.data[1] == seq(25, 0));
  CHECK_EQ(c.pkts[1].fragments, 3u);
  CHECK_EQ(c.pkts[1].fileTime, e.r.fileTime);  // time of the last fragment
  CHECK(c.pkts[1].direction == Direction::In);
  CHECK_EQ(c.pkts[1].flags, 0u);
  CHECK_EQ(x.warnings().total, uint64_t(0));
  CHECK_EQ(c.pkts[1].ordinal, uint64_t(2));
}

static void testInterleaving() {
  Collected c;
  auto x = collector(c);
  // Two interfaces on CPU 0 and interface 7 on CPU 1, all mid-packet at once.
  auto a0 = ndisFrag(7, kw::PacketStart, seq(4, 0x10), 0);
  auto b0 = ndisFrag(9, kw::PacketStart, seq(4, 0x50), 0);
  auto a1 = ndisFrag(7, kw::PacketStart, seq(4, 0x90), 1);
  auto a0e = ndisFrag(7, kw::PacketEnd, seq(4, 0x14), 0);
  auto b0e = ndisFrag(9, kw::PacketEnd, seq(4, 0x54), 0);
  auto a1e = ndisFrag(7, kw::PacketEnd, seq(4, 0x94), 1);
  for (Rec* r : {&a0, &b0, &a1, &a0e, &b0e, &a1e}) x.feed(r->get());
  CHECK_EQ(c.pkts.size(), size_t(3));
  CHECK(c.data[0] == seq(8, 0x10));
  CHECK(c.data[1] == seq(8, 0x50));
  CHECK(c.data[2] == seq(8, 0x90));
  CHECK_EQ(c.pkts[0].iface->id, 0);
  CHECK_EQ(c.pkts[1].iface->id, 1);  // ids in order of first packet
  CHECK_EQ(c.pkts[2].iface->id, 0);
  CHECK_EQ(x.warnings().total, uint64_t(0));
}

static void testMissingStartEnd() {
  Collected c;
  auto x = collector(c);
  auto s1 = ndisFrag(7, kw::PacketStart, seq(6, 0));
  auto s2 = ndisFrag(7, kw::PacketStart, seq(6, 100));  // s1 never ended
  auto e2 = ndisFrag(7, kw::PacketEnd, seq(6, 106));
  x.feed(s1.get());
  x.feed(s2.get());
  x.feed(e2.get());
  CHECK_EQ(c.pkts.size(), size_t(2));
  CHECK(c.data[0] == seq(6, 0));
  CHECK(c.pkts[0].flags & kPacketMissingEnd);
  CHECK(c.data[1] == seq(12, 100));
  CHECK_EQ(c.pkts[1].flags, 0u);
  CHECK_EQ(x.stats().missingEnd, uint64_t(1));
  CHECK_EQ(x.warnings().counts["missing-end"], uint64_t(1));
  CHECK(c.comments[0].find("Incomplete=missing-end") != std::string::npos);

  // A middle and an end whose start was never logged.
  auto m = ndisFrag(7, 0, seq(3, 1));
  auto e = ndisFrag(7, kw::PacketEnd, seq(3, 4));
  x.feed(m.get());
  x.feed(e.get());
  CHECK_EQ(c.pkts.size(), size_t(3));
  CHECK(c.data[2] == seq(6, 1));
  CHECK(c.pkts[2].flags & kPacketMissingStart);
  CHECK_EQ(x.stats().missingStart, uint64_t(1));
  CHECK_EQ(x.warnings().counts["missing-start"], uint64_t(1));

  // A start still open at the end of the trace.
  auto s3 = ndisFrag(7, kw::PacketStart, seq(5, 9), 3);
  x.feed(s3.get());
  CHECK_EQ(c.pkts.size(), size_t(3));
  x.finish();
  CHECK_EQ(c.pkts.size(), size_t(4));
  CHECK(c.data[3] == seq(5, 9));
  CHECK(c.pkts[3].flags & kPacketMissingEnd);
  CHECK_EQ(x.stats().missingEnd, uint64_t(2));
}

static void testOversize() {
  Collected c;
  auto x = collector(c);
  std::vector<uint8_t> big(300 * 1024, 0xAB);
  auto r = ndisFrag(7, SE, big);
  x.feed(r.get());
  CHECK_EQ(c.pkts.size(), size_t(1));
  CHECK_EQ(c.pkts[0].capturedLength, kMaxPacketBytes);
  CHECK_EQ(c.pkts[0].originalLength, uint32_t(big.size()));
  CHECK(c.pkts[0].flags & kPacketOversize);
  std::vector<uint8_t> part(100 * 1024, 0xCD);
  auto p1 = ndisFrag(7, kw::PacketStart, part);
  auto p2 = ndisFrag(7, 0, part);
  auto p3 = ndisFrag(7, kw::PacketEnd, part);
  x.feed(p1.get());
  x.feed(p2.get());
  x.feed(p3.get());
  CHECK_EQ(c.pkts.size(), size_t(2));
  CHECK_EQ(c.pkts[1].capturedLength, kMaxPacketBytes);
  CHECK_EQ(c.pkts[1].originalLength, uint32_t(300 * 1024));
  CHECK(c.pkts[1].flags & kPacketOversize);
  CHECK_EQ(x.stats().oversize, uint64_t(2));
  CHECK(c.comments[1].find("Truncated=over-262144-bytes") != std::string::npos);
}

static void testMalformed() {
  Collected c;
  auto x = collector(c);
  Bytes b;
  b.u32(7).u32(7).u32(1000).raw(seq(10, 0));  // FragmentSize past the data
  auto r = event(known::kNdisPacketCapture, 1001, SE, b);
  x.feed(r.get());
  Bytes shortb;
  shortb.u32(7);
  auto r2 = event(known::kNdisPacketCapture, 1001, SE, shortb);
  x.feed(r2.get());
  Bytes pm;
  pm.u64(1).u16(1);  // truncated pktmon header
  auto r3 = event(known::kPktMon, 160, 0, pm);
  x.feed(r3.get());
  CHECK_EQ(c.pkts.size(), size_t(0));
  CHECK_EQ(x.stats().malformed, uint64_t(3));
  CHECK_EQ(x.warnings().counts["malformed-event"], uint64_t(3));
}

// ---- link types, names, comments ---------------------------------------------

static void testLinkTypesAndNames() {
  Collected c;
  auto x = collector(c);
  std::vector<uint8_t> wifi = seq(40, 0);
  wifi[0] = 0x88;  // QoS data
  wifi[1] = 0x41;  // ToDS + Protected
  auto w = ndisFrag(8, SE | kw::Native80211 | kw::SendPath, wifi);
  auto m = ndisFrag(12, SE | kw::WirelessWan, seq(20, 0x45), 0, 3);
  x.feed(w.get());
  x.feed(m.get());
  CHECK_EQ(c.pkts[0].iface->linkType, uint16_t(kLinkIeee80211));
  CHECK_EQ(c.pkts[0].iface->name, std::string("wifi:8"));
  CHECK_EQ(c.data[0][1], uint8_t(0x01));  // Protected bit cleared
  CHECK_EQ(c.pkts[1].iface->linkType, uint16_t(kLinkRaw));
  CHECK_EQ(c.pkts[1].iface->name, std::string("mbb:12"));
  CHECK_EQ(c.pkts[1].iface->description, std::string("LWF over IfIndex 3"));
  // Same interface, other media keywords later: first type kept, warned.
  auto e = ndisFrag(8, SE, seq(20, 0));
  x.feed(e.get());
  CHECK_EQ(c.pkts[2].iface->id, 0);
  CHECK_EQ(x.warnings().counts["inconsistent-media"], uint64_t(1));
  CHECK_EQ(c.comments[2], std::string("PID=1234 TID=5678"));
}

static void testWifiMetadata() {
  Collected c;
  auto x = collector(c);
  Bytes md;
  md.u8(0x80).u8(1).u16(48).u32(0x3).u32(7).u32(5180).u16(1).u16(0).u32(uint32_t(-52)).u8(130);
  while (md.size() < 48) md.u8(0);
  Bytes b;
  b.u32(8).u32(8).u32(48).raw(md);
  auto meta = event(known::kNdisPacketCapture, 1002, kw::Native80211, b);
  auto other = ndisFrag(9, SE, seq(20, 0));
  auto w = ndisFrag(8, SE | kw::Native80211, seq(30, 0));
  auto w2 = ndisFrag(8, SE | kw::Native80211, seq(30, 0));
  x.feed(meta.get());
  x.feed(other.get());  // other interface: metadata not consumed (etl2pcapng would)
  x.feed(w.get());
  x.feed(w2.get());
  CHECK_EQ(c.comments[0], std::string("PID=1234 TID=5678"));
  CHECK_EQ(c.comments[1], std::string("PID=1234 TID=5678 Packet Metadata: ReceiveFlags:0x3, PhyType:802.11n, "
                                      "CenterCh:5180, NumMPDUsReceived:1, RSSI:-52, DataRate:130"));
  CHECK_EQ(c.comments[2], std::string("PID=1234 TID=5678"));  // consumed once
}

// A 1002 belongs to the next frame its own CPU logs on that interface: a frame
// another CPU completes in between must not take it (found by the netsh round
// trip, test/convert/roundtrip.test.ts).
static void testWifiMetadataPerCpu() {
  Collected c;
  auto x = collector(c);
  auto metaOn = [](uint16_t cpu, uint32_t flags) {
    Bytes md;
    md.u8(0x80).u8(1).u16(48).u32(flags).u32(7).u32(5180).u16(1).u16(0).u32(uint32_t(-52)).u8(130);
    while (md.size() < 48) md.u8(0);
    Bytes b;
    b.u32(8).u32(8).u32(48).raw(md);
    return event(known::kNdisPacketCapture, 1002, kw::Native80211, b, cpu);
  };
  auto m0 = metaOn(0, 0x10);
  auto first = ndisFrag(8, kw::PacketStart | kw::Native80211, seq(30, 0), 0);
  auto other = ndisFrag(8, SE | kw::Native80211, seq(30, 1), 1);    // CPU 1, no metadata of its own
  auto m2 = metaOn(2, 0x20);
  auto third = ndisFrag(8, SE | kw::Native80211, seq(30, 2), 2);
  auto last = ndisFrag(8, kw::PacketEnd | kw::Native80211, seq(30, 3), 0);
  for (Rec* r : {&m0, &first, &other, &m2, &third, &last}) x.feed(r->get());
  CHECK_EQ(c.comments.size(), size_t(3));
  if (c.comments.size() != 3) return;
  const std::string tail = ", PhyType:802.11n, CenterCh:5180, NumMPDUsReceived:1, RSSI:-52, DataRate:130";
  CHECK_EQ(c.comments[0], std::string("PID=1234 TID=5678"));
  CHECK_EQ(c.comments[1], "PID=1234 TID=5678 Packet Metadata: ReceiveFlags:0x20" + tail);
  CHECK_EQ(c.comments[2], "PID=1234 TID=5678 Packet Metadata: ReceiveFlags:0x10" + tail);
  CHECK_EQ(c.pkts[2].fragments, uint32_t(2));
}

static void testVmSwitch() {
  Collected c;
  auto x = collector(c);
  auto make = [](uint32_t dcount, uint16_t vlan, uint32_t hash) {
    Bytes b;
    b.u32(5).u32(6).u32(42).wstr("PortA").wstr("NicA").wstr("Synthetic").u32(dcount);
    for (uint32_t i = 0; i < dcount; ++i) b.u64(i + 1);
    std::vector<uint8_t> frag = seq(64, 0);
    b.u32(uint32_t(frag.size())).raw(frag);
    Bytes oob;
    for (int s = 0; s < 10; ++s) {
      uint64_t v = s == 4 ? uint64_t(vlan) << 4 : s == 8 ? hash : 0;
      oob.u64(v);
    }
    b.u32(uint32_t(oob.size())).raw(oob);
    return event(known::kNdisPacketCapture, 1003, SE | kw::SendPath, b);
  };
  auto r = make(2, 10, 0xdeadbeef);
  auto r2 = make(0, 10, 0x1234);
  x.feed(r.get());
  x.feed(r2.get());
  CHECK_EQ(c.pkts.size(), size_t(2));
  CHECK(c.data[0] == seq(64, 0));
  CHECK_EQ(c.pkts[0].iface->name, std::string("vNIC:Synthetic:PortA:6:10"));
  CHECK_EQ(c.pkts[0].iface->description, std::string("LWF over IfIndex 5 VlanID=10 "));
  CHECK_EQ(c.comments[0], std::string("PID=1234 TID=5678 VlanId=10 SrcPortId=42 SrcNicType=Synthetic SrcNicName=NicA "
                                      "SrcPortName=PortA DstNicCount=2 HashValue=deadbeef"));
  CHECK_EQ(c.comments[1], std::string("PID=1234 TID=5678 VlanId=10 SrcPortId=42 SrcNicType=Synthetic SrcNicName=NicA "
                                      "SrcPortName=PortA HashValue=00001234"));
  CHECK_EQ(c.pkts[0].iface, c.pkts[1].iface);
  CHECK_EQ(x.warnings().total, uint64_t(0));
}

static void testNdisWan() {
  Collected c;
  auto x = collector(c);
  Bytes b;
  b.wstr("{01234567-89ab-cdef-0123-456789abcdef}").wstr("alice").u32(20).raw(seq(20, 0x45));
  auto r = event(known::kNdisWanCapture, 5001, kw::SendPath, b);
  x.feed(r.get());
  CHECK_EQ(c.pkts.size(), size_t(1));
  CHECK_EQ(c.pkts[0].iface->name, std::string("Rras:0:{01234567-89ab-cdef-0123-456789abcdef}:alice"));
  CHECK(c.pkts[0].direction == Direction::Out);
  CHECK_EQ(c.comments[0],
           std::string("PID=1234 TID=5678 RoutingDomainId={01234567-89ab-cdef-0123-456789abcdef} Username=alice"));
}

static Rec pktmon(uint16_t id, uint64_t group, uint16_t number, uint16_t dir, uint16_t type, uint16_t comp,
                  const std::vector<uint8_t>& payload, uint16_t orig) {
  Bytes b;
  b.u64(group).u16(number).u16(1).u16(dir).u16(type).u16(comp).u16(2).u16(0).u32(id == 170 ? 5 : 0)
      .u32(id == 170 ? 0xE0004 : 0).u16(orig).u16(uint16_t(payload.size())).raw(payload);
  return event(known::kPktMon, id, 0x10, b);
}

static void testPktmon() {
  Collected c;
  auto x = collector(c);
  Bytes name;
  name.u16(12).u16(1).wstr("Microsoft Hyper-V Network Adapter").wstr("Miniport");
  auto comp = event(known::kPktMon, 20, 0x2, name);
  Bytes ip;
  ip.u16(12).u16(1).u8(10).u8(0).u8(0).u8(5);
  auto ipev = event(known::kPktMon, 65, 0x2, ip);
  Bytes mac;
  mac.u16(12).u16(6).u32(6).raw({0, 0x15, 0x5d, 1, 2, 3});
  auto macev = event(known::kPktMon, 70, 0x2, mac);
  CHECK(x.absorbComponent(comp.get()));
  CHECK(x.absorbComponent(ipev.get()));
  CHECK(x.absorbComponent(macev.get()));
  auto p1 = pktmon(160, 77, 1, 3, 1, 12, seq(60, 0), 1500);
  auto p2 = pktmon(170, 77, 1, 4, 1, 12, seq(60, 0), 60);
  auto p3 = pktmon(160, 78, 1, 0, 9, 12, seq(60, 0), 60);  // unknown packet type
  auto p4 = pktmon(160, 79, 1, 3, 3, 12, seq(20, 0x45), 20);
  for (Rec* r : {&p1, &p2, &p3, &p4}) x.feed(r->get());
  CHECK_EQ(c.pkts.size(), size_t(3));
  CHECK(c.pkts[0].direction == Direction::In);
  CHECK(c.pkts[1].direction == Direction::Out);
  CHECK_EQ(c.pkts[0].originalLength, 1500u);
  CHECK(c.pkts[1].dropped);
  CHECK_EQ(c.pkts[0].pktmon.pktGroupId, uint64_t(77));
  CHECK_EQ(c.pkts[0].iface->name, std::string("Microsoft Hyper-V Network Adapter"));
  CHECK_EQ(c.pkts[0].iface->description, std::string("Miniport"));
  CHECK(c.pkts[0].iface->hasIpv4 && c.pkts[0].iface->ipv4[0] == 10);
  CHECK(c.pkts[0].iface->hasMac && c.pkts[0].iface->mac[1] == 0x15);
  CHECK_EQ(c.pkts[2].iface->linkType, uint16_t(kLinkRaw));  // same component, other media: own interface
  CHECK(c.pkts[2].iface != c.pkts[0].iface);
  CHECK_EQ(x.warnings().counts["pktmon-packet-type"], uint64_t(1));
  CHECK_EQ(c.comments[0], std::string("PID=1234 TID=5678 PktNumber=1 Appearance=1 Direction=Rx Component=12 Edge=2 Filter=0"));
  CHECK_EQ(c.comments[1], std::string("PID=1234 TID=5678 PktNumber=1 Appearance=1 Direction=Tx Component=12 Edge=2 "
                                      "Filter=0 DropReason=5 DropLocation=0xe0004"));
}

// A resolver standing in for an embedded schema that moved the payload.
struct ShiftedResolver : LayoutResolver {
  bool offsets(const etl::Guid& g, uint16_t id, uint8_t, bool, const std::vector<std::string>& names,
               std::vector<int32_t>& out) override {
    if (g != known::kNdisPacketCapture || id != 1001) return false;
    out.clear();
    for (auto& n : names) out.push_back(n == "MiniportIfIndex" ? 4 : n == "LowerIfIndex" ? 8
                                        : n == "FragmentSize" ? 12 : n == "Fragment" ? 16 : -1);
    return true;
  }
};

static void testResolver() {
  Collected c;
  auto x = collector(c);
  x.setLayoutResolver(std::make_shared<ShiftedResolver>());
  Bytes b;
  b.u32(0xFFFF).u32(3).u32(4).u32(6).raw(seq(6, 1));
  auto r = event(known::kNdisPacketCapture, 1001, SE, b);
  x.feed(r.get());
  CHECK_EQ(c.pkts.size(), size_t(1));
  CHECK(c.data[0] == seq(6, 1));
  CHECK_EQ(c.pkts[0].iface->key.lowerIfIndex, 4u);
  CHECK_EQ(c.pkts[0].iface->description, std::string("LWF over IfIndex 3"));
}

// ---- original length (etl2pcapng bug #1 and friends) ---------------------------

static void testOriginalLength() {
  // Raw IP truncated: original = IPv4 TotalLength, no phantom Ethernet header.
  std::vector<uint8_t> full = ethTcp4(kHost, kImds, 5000, 80, 200);
  std::vector<uint8_t> ip(full.begin() + 14, full.end());
  CHECK_EQ(inferFrameLength(kLinkRaw, ip.data(), 60), uint32_t(240));
  CHECK_EQ(inferFrameLength(kLinkEthernet, full.data(), 60), uint32_t(254));
  std::vector<uint8_t> vl = ethTcp4(kHost, kImds, 5000, 80, 200, true);
  CHECK_EQ(inferFrameLength(kLinkEthernet, vl.data(), 60), uint32_t(258));  // 802.1Q tag counted
  std::vector<uint8_t> arp(42, 0);
  arp[12] = 0x08; arp[13] = 0x06;
  CHECK_EQ(inferFrameLength(kLinkEthernet, arp.data(), 42), uint32_t(0));

  Collected c;
  auto x = collector(c);
  auto r = ndisFrag(12, SE | kw::WirelessWan | kw::PacketTruncated, std::vector<uint8_t>(ip.begin(), ip.begin() + 60));
  x.feed(r.get());
  CHECK_EQ(c.pkts[0].capturedLength, 60u);
  CHECK_EQ(c.pkts[0].originalLength, 240u);
}

// ---- IMDS selection -----------------------------------------------------------

static void testImdsSelection() {
  uint32_t off = 0;
  auto f1 = ethTcp4(kHost, kImds, 5000, 80, 10);
  CHECK(locateIp(kLinkEthernet, f1.data(), uint32_t(f1.size()), &off) && off == 14);
  CHECK(isImdsTcp(f1.data() + 14, uint32_t(f1.size() - 14)));
  auto f2 = ethTcp4(kImds, kHost, 80, 5000, 10, true);
  CHECK(locateIp(kLinkEthernet, f2.data(), uint32_t(f2.size()), &off) && off == 18);
  CHECK(isImdsTcp(f2.data() + off, uint32_t(f2.size() - off)));
  auto f3 = ethTcp4(kHost, kImds, 5000, 443, 10);  // other port
  CHECK(!isImdsTcp(f3.data() + 14, uint32_t(f3.size() - 14)));
  auto f4 = ethTcp4(kImds, kHost, 5000, 80, 10);  // IMDS as client: not the service
  CHECK(!isImdsTcp(f4.data() + 14, uint32_t(f4.size() - 14)));
  // IPv6 to [fd00:ec2::254]:80 behind a hop-by-hop header.
  Bytes v6;
  v6.u8(0x60).u8(0).u16(0).u16(0x1c00).u8(0).u8(64);  // payload length 28 (BE bytes 00 1c), next = hop-by-hop
  for (int i = 0; i < 16; ++i) v6.u8(i == 15 ? 1 : 0);
  const uint8_t dst6[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  for (uint8_t b : dst6) v6.u8(b);
  v6.u8(6).u8(0).u32(0).u16(0);  // hop-by-hop: next TCP, 8 bytes
  v6.u8(0x13).u8(0x88).u8(0).u8(80);
  while (v6.size() < 40 + 8 + 20) v6.u8(0);
  CHECK(locateIp(kLinkRaw, v6.data(), uint32_t(v6.size()), &off) && off == 0);
  CHECK(isImdsTcp(v6.data(), uint32_t(v6.size())));
  // 802.11 QoS data frame with LLC/SNAP carrying IPv4.
  Bytes w;
  w.u8(0x88).u8(0x01).u16(0);
  for (int i = 0; i < 18; ++i) w.u8(0);
  w.u16(0).u16(0);  // seq ctl, QoS ctl
  w.u8(0xAA).u8(0xAA).u8(0x03).u8(0).u8(0).u8(0).u8(0x08).u8(0x00);
  std::vector<uint8_t> ipb(f1.begin() + 14, f1.end());
  w.raw(ipb);
  CHECK(locateIp(kLinkIeee80211, w.data(), uint32_t(w.size()), &off) && off == 34);
  CHECK(isImdsTcp(w.data() + off, uint32_t(w.size() - off)));
  // Truncated inputs never read out of bounds (valgrind/ASan runs check it).
  for (uint32_t n = 0; n < f2.size(); ++n) {
    locateIp(kLinkEthernet, f2.data(), n, &off);
    isImdsTcp(f2.data() + 18, n > 18 ? n - 18 : 0);
    inferFrameLength(kLinkEthernet, f2.data(), n);
  }
  for (uint32_t n = 0; n < w.size(); ++n) locateIp(kLinkIeee80211, w.data(), n, &off);
  for (uint32_t n = 0; n < v6.size(); ++n) isImdsTcp(v6.data(), n);
}

// ---- pcapng blocks -------------------------------------------------------------

static uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
static uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }

struct Opt { uint16_t code; std::vector<uint8_t> value; };

// Checks the framing of one block and returns its options (body after `fixed` bytes).
static std::vector<Opt> parseBlock(const std::vector<uint8_t>& b, size_t fixed, bool* ok) {
  *ok = b.size() % 4 == 0 && b.size() >= 12 && rd32(&b[4]) == b.size() && rd32(&b[b.size() - 4]) == b.size();
  std::vector<Opt> opts;
  size_t p = 8 + fixed;
  while (*ok && p + 4 <= b.size() - 4) {
    uint16_t code = rd16(&b[p]), len = rd16(&b[p + 2]);
    size_t padded = (len + 3u) & ~3u;
    if (p + 4 + padded > b.size() - 4) { *ok = false; break; }
    for (size_t i = len; i < padded; ++i)
      if (b[p + 4 + i] != 0) *ok = false;  // padding must be zero
    if (code == 0) { p += 4; break; }
    opts.push_back({code, std::vector<uint8_t>(b.begin() + long(p + 4), b.begin() + long(p + 4 + len))});
    p += 4 + padded;
  }
  if (p != b.size() - 4) *ok = false;  // end-of-options is the last thing
  return opts;
}

static void testBlocks() {
  bool ok;
  pcapng::SectionInfo s;
  auto shb = pcapng::sectionHeaderBlock(s);
  CHECK_EQ(shb.size(), size_t(28));  // no options: same 28 bytes etl2pcapng writes
  CHECK_EQ(rd32(&shb[8]), 0x1A2B3C4Du);
  s.userAppl = "etl-imds 0.1.0";
  s.os = "Windows 10.0 build 19044";
  shb = pcapng::sectionHeaderBlock(s);
  auto so = parseBlock(shb, 16, &ok);
  CHECK(ok);
  CHECK_EQ(so.size(), size_t(2));

  pcapng::InterfaceInfo i;
  i.name = "eth:7:0";
  auto idb = pcapng::interfaceBlock(i);
  auto io = parseBlock(idb, 8, &ok);
  CHECK(ok);
  CHECK_EQ(idb.size(), size_t(36 + 8));  // etl2pcapng's 36 bytes + if_tsresol
  CHECK_EQ(io.size(), size_t(2));
  CHECK(io[0].code == 2 && std::string(io[0].value.begin(), io[0].value.end()) == "eth:7:0");
  CHECK(io[1].code == 9 && io[1].value.size() == 1 && io[1].value[0] == 7);
  i.description = "LWF over IfIndex 3";
  i.hasMac = i.hasIpv4 = i.hasIpv6 = true;
  idb = pcapng::interfaceBlock(i);
  io = parseBlock(idb, 8, &ok);
  CHECK(ok);
  CHECK_EQ(io.size(), size_t(6));
  CHECK(io[2].code == 6 && io[2].value.size() == 6);
  CHECK(io[3].code == 4 && io[3].value.size() == 8 && io[3].value[4] == 255);
  CHECK(io[4].code == 5 && io[4].value.size() == 17 && io[4].value[16] == 128);

  // etl2pcapng §7.3 worked example, plus our 100 ns timestamp: 60-byte frame,
  // flags, pid/tid, comment "PID=4 TID=100".
  std::vector<uint8_t> frame(60, 0xEE);
  pcapng::PacketInfo p;
  p.data = frame.data();
  p.capturedLength = 60;
  p.originalLength = 60;
  p.hasFlags = true;
  p.flags = 2;
  p.hasPidTid = true;
  p.pid = 4;
  p.tid = 100;
  p.comment = "PID=4 TID=100";
  p.timestamp = pcapng::fileTimeToPcapng100ns(132000000001234567LL);
  std::vector<uint8_t> epb;
  pcapng::enhancedPacketBlock(p, epb);
  CHECK_EQ(epb.size(), size_t(136));
  auto eo = parseBlock(epb, 20 + 60, &ok);
  CHECK(ok);
  CHECK_EQ(eo.size(), size_t(3));
  CHECK(eo[0].code == 2 && rd32(eo[0].value.data()) == 2);
  CHECK(eo[1].code == 8 && rd32(eo[1].value.data()) == 4 && rd32(eo[1].value.data() + 4) == 100);
  CHECK(eo[2].code == 1);
  uint64_t ts = uint64_t(rd32(&epb[12])) << 32 | rd32(&epb[16]);
  CHECK_EQ(ts, uint64_t(132000000001234567LL - 116444736000000000LL));  // sub-microsecond digits kept

  // Odd lengths: data and every option padded with zeros; long comments kept.
  std::vector<uint8_t> odd(61, 0xFF);
  p.data = odd.data();
  p.capturedLength = 61;
  p.originalLength = 1500;
  p.hasPacketId = true;
  p.packetId = 0x1122334455667788ull;
  p.verdict = {2, 1, 0, 0, 0, 0, 0, 0, 0};
  p.comment = std::string(300, 'x') + "é";
  epb.clear();
  pcapng::enhancedPacketBlock(p, epb);
  eo = parseBlock(epb, 20 + 64, &ok);
  CHECK(ok);
  for (int k = 61; k < 64; ++k) CHECK_EQ(epb[28 + k], uint8_t(0));
  CHECK_EQ(rd32(&epb[24]), 1500u);
  CHECK_EQ(eo.size(), size_t(5));
  CHECK(eo[1].code == 5 && eo[1].value.size() == 8 && eo[1].value[0] == 0x88);
  CHECK(eo[2].code == 7 && eo[2].value.size() == 9 && eo[2].value[0] == 2 && eo[2].value[1] == 1);
  CHECK(eo[4].code == 1 && eo[4].value.size() == 302);  // > 255 chars: kept (etl2pcapng drops it)
  // Comment over the option limit: cut on a character boundary.
  p.comment = std::string(65534, 'y') + "é";
  epb.clear();
  pcapng::enhancedPacketBlock(p, epb);
  eo = parseBlock(epb, 20 + 64, &ok);
  CHECK(ok);
  CHECK_EQ(eo.back().value.size(), size_t(65534));
  // Before 1970: clamped.
  CHECK_EQ(pcapng::fileTimeToPcapng100ns(5), uint64_t(0));
}

static void testWriterOrderAndOutputs() {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("capture_test_" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  std::string target = (dir / "out.pcapng").string();
  {
    pcapng::FileOutput out(target);
    pcapng::Writer w(out);
    bool threw = false;
    try { w.writeInterface(pcapng::InterfaceInfo{}); } catch (const std::logic_error&) { threw = true; }
    CHECK(threw);  // IDB before SHB refused
    w.writeSectionHeader({});
    threw = false;
    pcapng::PacketInfo p;
    try { w.writePacket(p); } catch (const std::logic_error&) { threw = true; }
    CHECK(threw);  // EPB before its IDB refused
    w.writeInterface(pcapng::InterfaceInfo{});
    w.writePacket(p);
    CHECK(!fs::exists(target));
    CHECK(fs::exists(out.tempPath()));
    out.commit();
    CHECK(fs::exists(target));
    CHECK(!fs::exists(out.tempPath()));
    CHECK_EQ(uint64_t(fs::file_size(target)), out.bytesWritten());
  }
  std::string temp;
  {
    pcapng::FileOutput out((dir / "never.pcapng").string());
    temp = out.tempPath();
    out.write("abcd", 4);
    out.flush();
    CHECK(fs::exists(temp));
    // destroyed without commit, as when an exception unwinds
  }
  CHECK(!fs::exists(temp));
  CHECK(!fs::exists(dir / "never.pcapng"));
  size_t left = 0;
  for (auto& e : fs::directory_iterator(dir)) { (void)e; ++left; }
  CHECK_EQ(left, size_t(1));  // only out.pcapng
  fs::remove_all(dir);
}

// Hostile payloads: random bytes and random lengths for every event we decode.
// Must never crash or read out of bounds (run under ASan: -DETL_SANITIZE=ON).
static void testHostilePayloads() {
  std::mt19937 rng(12345);
  struct Kind { const etl::Guid* g; uint16_t id; } kinds[] = {
      {&known::kNdisPacketCapture, 1001}, {&known::kNdisPacketCapture, 1002}, {&known::kNdisPacketCapture, 1003},
      {&known::kNdisWanCapture, 5001}, {&known::kNdisWanCapture, 5002}, {&known::kPktMon, 160}, {&known::kPktMon, 170},
      {&known::kPktMon, 20}, {&known::kPktMon, 65}, {&known::kPktMon, 66}, {&known::kPktMon, 70}};
  uint64_t emitted = 0;
  PacketExtractor x([&](Packet& p) {
    ++emitted;
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < p.capturedLength; ++i) sink ^= p.data[i];  // touch every byte handed out
    (void)packetComment(p);
  });
  for (int it = 0; it < 20000; ++it) {
    const Kind& k = kinds[rng() % (sizeof kinds / sizeof kinds[0])];
    Bytes b;
    size_t n = rng() % 200;
    for (size_t i = 0; i < n; ++i) b.u8(uint8_t(rng()));
    // Plausible small sizes now and then, so decoding gets past the headers.
    if (n >= 12 && (rng() & 1)) { b[8] = uint8_t(rng() % 64); b[9] = b[10] = b[11] = 0; }
    if (n >= 34 && (rng() & 1)) { b[14] = uint8_t(1 + rng() % 3); b[15] = 0; b[32] = uint8_t(rng() % 40); b[33] = 0; }
    uint64_t kwb = (rng() & 1 ? kw::PacketStart : 0) | (rng() & 1 ? kw::PacketEnd : 0) | (rng() & 1 ? kw::Native80211 : 0);
    // Exact-size buffer so ASan sees any read past the payload.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[n ? n : 1]);
    if (n) std::memcpy(exact.get(), b.data(), n);
    etl::EventRecord r;
    r.kind = etl::RecordKind::Event;
    r.provider = *k.g;
    r.id = k.id;
    r.keywords = kwb;
    r.cpu = uint16_t(rng() % 4);
    r.userData = exact.get();
    r.userDataLen = uint32_t(n);
    x.feed(r);
  }
  x.finish();
  CHECK(emitted > 100);                      // some random events do decode
  CHECK(x.stats().malformed > 1000);         // and most are refused, counted
}

static int runConvert(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: capture_test --convert IN OUT [--imds-only] [--dedupe] [--pid N] [--strict]\n");
    return 2;
  }
  ConvertOptions o;
  for (int i = 4; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--imds-only")) o.imdsOnly = true;
    else if (!std::strcmp(argv[i], "--dedupe")) o.dedupe = true;
    else if (!std::strcmp(argv[i], "--strict")) o.strict = true;
    else if (!std::strcmp(argv[i], "--pid") && i + 1 < argc) { o.hasPid = true; o.pid = uint32_t(std::stoul(argv[++i])); }
  }
  try {
    ConvertSummary s = convertFile(argv[2], argv[3], o);
    std::fprintf(stderr, "Wrote %" PRIu64 " packets on %zu interfaces (%" PRIu64 " seen, %" PRIu64 " bytes)\n",
                 s.packets, s.interfaces.size(), s.packetsSeen, s.bytesWritten);
    for (auto& i : s.interfaces)
      std::fprintf(stderr, "  IF %d %s [%s] linktype %u packets %" PRIu64 "\n", i.id, i.name.c_str(),
                   i.description.c_str(), unsigned(i.linkType), i.packets);
    for (auto& w : s.warnings) std::fprintf(stderr, "  warning %s x%" PRIu64 "\n", w.first.c_str(), w.second);
    for (auto& w : s.warningSamples) std::fprintf(stderr, "    %s\n", capture::WarningLog::text(w).c_str());
    for (auto& d : s.diagnostics) std::fprintf(stderr, "  diagnostic %s\n", d.message.c_str());
  } catch (const etl::EtlError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && !std::strcmp(argv[1], "--convert")) return runConvert(argc, argv);
  testSingleAndMulti();
  testInterleaving();
  testMissingStartEnd();
  testOversize();
  testMalformed();
  testLinkTypesAndNames();
  testWifiMetadata();
  testWifiMetadataPerCpu();
  testVmSwitch();
  testNdisWan();
  testPktmon();
  testResolver();
  testOriginalLength();
  testImdsSelection();
  testBlocks();
  testWriterOrderAndOutputs();
  testHostilePayloads();
  std::printf("%d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}

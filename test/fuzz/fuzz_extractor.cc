// PktMon / NDIS / VMSwitch / NdisWan packet decoding and fragment
// reassembly: PacketExtractor is fed synthetic EventRecords built from the
// input, packets go through the same pcapng writer as `convert`, and the
// output is checked block by block against what the sink saw.
// Input: [flags u8][32 layout bytes if flags&1] then records, each
//   [event u8][keyword bits u8][cpu u8][length u16][payload]
// event selects (provider, id) from fuzz::kPacketEvents; keyword bits: 0 PACKET_START,
// 1 PACKET_END, 2 Native802.11, 3 WirelessWAN, 4 send, 5 receive,
// 6 32-bit pointers, 7 not an EVENT_HEADER record.
#include <cstdint>
#include <memory>
#include <string>
#include "capture/extractor.h"
#include "constants.h"
#include "capture/netparse.h"
#include "fuzz_common.h"
#include "pcapng/output.h"
#include "pcapng/writer.h"

namespace {


// Offsets "from a schema" chosen by the input: 0xFF = property absent,
// 0xFE = no schema for this event; anything else is a byte offset.
class FuzzedResolver : public capture::LayoutResolver {
 public:
  explicit FuzzedResolver(std::vector<uint8_t> t) : t_(std::move(t)) { t_.resize(32, 0); }
  bool offsets(const etl::Guid&, uint16_t id, uint8_t, bool, const std::vector<std::string>& names,
               std::vector<int32_t>& out) override {
    if (t_[id % 32] == 0xFE) return false;
    out.assign(names.size(), -1);
    for (size_t i = 0; i < names.size(); ++i) {
      uint8_t b = t_[(id + i) % 32];
      out[i] = b == 0xFF ? -1 : int32_t(b);
    }
    return true;
  }

 private:
  std::vector<uint8_t> t_;
};

struct Expected {
  std::vector<uint8_t> data;
  std::string comment;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  uint8_t flags = c.u8();
  pcapng::MemoryOutput out;
  pcapng::Writer writer(out);
  std::vector<Expected> expected;
  volatile uint64_t sink = 0;
  capture::PacketExtractor* self = nullptr;

  capture::PacketExtractor x([&](capture::Packet& p) {
    FUZZ_CHECK(p.iface && p.iface->id >= 0, "packet without an interface id");
    FUZZ_CHECK(p.capturedLength <= capture::kMaxPacketBytes, "packet above the size limit");
    FUZZ_CHECK(p.capturedLength <= p.originalLength, "captured above original length");
    FUZZ_CHECK(p.capturedLength == 0 || p.data, "no data pointer");
    for (uint32_t k = 0; k < p.capturedLength; ++k) sink = sink + p.data[k];
    uint32_t off = 0;
    if (capture::locateIp(p.iface->linkType, p.data, p.capturedLength, &off)) {
      FUZZ_CHECK(off <= p.capturedLength, "IP offset past the frame");
      sink = sink + capture::isImdsTcp(p.data + off, p.capturedLength - off);
    }
    sink = sink + capture::inferFrameLength(p.iface->linkType, p.data, p.capturedLength);
    // As the convert engine does: IDBs up to this packet's interface, then the EPB.
    if (!writer.started()) writer.writeSectionHeader(pcapng::SectionInfo{});
    const auto& ifs = self->interfaces();
    FUZZ_CHECK(size_t(p.iface->id) < ifs.size() && ifs[size_t(p.iface->id)] == p.iface, "interface table out of step");
    while (int32_t(writer.interfaces()) <= p.iface->id) {
      const capture::Interface& f = *ifs[writer.interfaces()];
      pcapng::InterfaceInfo ii;
      ii.linkType = f.linkType;
      ii.name = f.name;
      ii.description = f.description;
      ii.hasMac = f.hasMac;
      std::memcpy(ii.mac, f.mac, 6);
      ii.hasIpv4 = f.hasIpv4;
      std::memcpy(ii.ipv4, f.ipv4, 4);
      ii.hasIpv6 = f.hasIpv6;
      std::memcpy(ii.ipv6, f.ipv6, 16);
      writer.writeInterface(ii);
    }
    pcapng::PacketInfo pi;
    pi.interfaceId = uint32_t(p.iface->id);
    pi.timestamp = pcapng::fileTimeToPcapng100ns(p.fileTime);
    pi.data = p.data;
    pi.capturedLength = p.capturedLength;
    pi.originalLength = p.originalLength;
    pi.hasFlags = true;
    pi.flags = uint32_t(p.direction);
    pi.hasPacketId = p.hasPktmon;
    pi.packetId = p.pktmon.pktGroupId;
    if (p.dropped) pi.verdict = {2, 1, 0, 0, 0, 0, 0, 0, 0};
    pi.hasPidTid = true;
    pi.pid = p.pid;
    pi.tid = p.tid;
    pi.comment = capture::packetComment(p);
    writer.writePacket(pi);
    expected.push_back({std::vector<uint8_t>(p.data, p.data + p.capturedLength), pi.comment});
  });
  self = &x;
  if (flags & 1) x.setLayoutResolver(std::make_shared<FuzzedResolver>(c.bytes(32)));

  int64_t t = 133618320000000000LL;
  while (!c.empty()) {
    const fuzz::EventKind& k = fuzz::kPacketEvents[c.u8() % fuzz::kPacketEventCount];
    uint8_t kwb = c.u8();
    uint8_t cpu = c.u8() & 7;
    std::vector<uint8_t> payload = c.bytes(c.u16());
    // Each payload in its own exact-size allocation: reading past it is an ASan error.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[payload.size() + 1]);
    if (!payload.empty()) std::memcpy(buf.get(), payload.data(), payload.size());
    etl::EventRecord r;
    r.kind = (kwb & 0x80) ? etl::RecordKind::Full : etl::RecordKind::Event;
    r.provider = *k.provider;
    r.id = k.id;
    r.cpu = cpu;
    r.pid = 1000 + cpu;
    r.tid = 2000 + kwb;
    r.fileTime = t += 10;
    r.pointer64 = !(kwb & 0x40);
    r.keywords = ((kwb & 1) ? capture::kw::PacketStart : 0) | ((kwb & 2) ? capture::kw::PacketEnd : 0) |
                 ((kwb & 4) ? capture::kw::Native80211 : 0) | ((kwb & 8) ? capture::kw::WirelessWan : 0) |
                 ((kwb & 16) ? capture::kw::SendPath : 0) | ((kwb & 32) ? capture::kw::ReceivePath : 0);
    r.userData = payload.empty() ? nullptr : buf.get();
    r.userDataLen = uint32_t(payload.size());
    if (flags & 2) x.absorbComponent(r);  // the engine's pre-scan path
    x.feed(r);
    // buf is freed here, as the reader reuses its buffer: a pointer the
    // extractor kept into a record would be a use-after-free under ASan.
  }
  x.finish();
  if (!writer.started()) writer.writeSectionHeader(pcapng::SectionInfo{});
  out.flush();

  const capture::ExtractorStats& st = x.stats();
  FUZZ_CHECK(st.packets == expected.size(), "stats.packets differs from the packets emitted");
  fuzz::PcapngSummary s = fuzz::checkPcapng(out.data, true);
  FUZZ_CHECK(s.packets == expected.size(), "EPB count differs");
  for (size_t i = 0; i < expected.size(); ++i) {
    FUZZ_CHECK(s.packetData[i] == expected[i].data, "EPB " + std::to_string(i) + " data differs");
    FUZZ_CHECK(expected[i].comment.compare(0, s.comments[i].size(), s.comments[i]) == 0,
               "EPB " + std::to_string(i) + " comment differs");
  }
  sink = sink + x.warnings().total;
  return 0;
}

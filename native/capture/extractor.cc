#include "extractor.h"

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <tuple>

#include "constants.h"
#include "etl/known_layouts.h"
#include "etl/schema.h"
#include "etl/text.h"
#include "netparse.h"

namespace capture {


namespace {

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

// Bounds-checked reads of fixed-position fields.
struct View {
  const uint8_t* p;
  uint32_t n;
  bool has(int64_t off, uint32_t size) const { return off >= 0 && uint64_t(off) + size <= n; }
  bool u16(int32_t off, uint16_t& v) const { if (!has(off, 2)) return false; v = le16(p + off); return true; }
  bool u32(int32_t off, uint32_t& v) const { if (!has(off, 4)) return false; v = le32(p + off); return true; }
  bool u64(int32_t off, uint64_t& v) const { if (!has(off, 8)) return false; v = le64(p + off); return true; }
};

// The fields each handler reads, by their schema names.
const std::vector<std::string> kFragmentNames = {"MiniportIfIndex", "LowerIfIndex", "FragmentSize", "Fragment"};
const std::vector<std::string> kMetadataNames = {"MiniportIfIndex", "LowerIfIndex", "MetadataSize", "Metadata"};
const std::vector<std::string> kPktmonNames = {
    "PktGroupId", "PktNumber", "AppearanceCount", "DirTag", "PacketType", "ComponentId", "EdgeId",
    "FilterId", "DropReason", "DropLocation", "OriginalPayloadSize", "LoggedPayloadSize", "Payload"};
enum { PGroup, PNumber, PAppear, PDir, PType, PComp, PEdge, PFilter, PDropR, PDropL, POrig, PLogged, PPayload };
const std::vector<std::string> kIpNames = {"ComponentId", "Type", "IpAddress"};
const std::vector<std::string> kMacNames = {"ComponentId", "Type", "Size", "Value"};

// printf into `s` (at most 511 characters: these are short fields and messages).
void vappendf(std::string& s, const char* f, va_list ap) {
  char buf[512];
  int n = vsnprintf(buf, sizeof buf, f, ap);
  if (n > 0) s.append(buf, std::min<size_t>(size_t(n), sizeof buf - 1));
}

#if defined(__GNUC__)
void appendf(std::string& s, const char* f, ...) __attribute__((format(printf, 2, 3)));
#endif
void appendf(std::string& s, const char* f, ...) {
  va_list ap;
  va_start(ap, f);
  vappendf(s, f, ap);
  va_end(ap);
}

#if defined(__GNUC__)
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
#endif
std::string fmt(const char* f, ...) {
  std::string s;
  va_list ap;
  va_start(ap, f);
  vappendf(s, f, ap);
  va_end(ap);
  return s;
}

const char* dirTagName(uint16_t d) {
  static const char* names[] = {"None", "In", "Out", "Rx", "Tx", "Ingress", "Egress"};
  return d < 7 ? names[d] : "Unknown";
}


// An Ethernet frame whose IP/ARP header agrees with the logged original
// size, and which is not an 802.11 data frame with LLC/SNAP.
bool loggedAsWifiButEthernet(const uint8_t* d, uint32_t len, uint32_t orig) {
  uint32_t off = 0;
  if (len < 34 || orig < 34 || locateIp(kLinkIeee80211, d, len, &off)) return false;
  uint16_t type = uint16_t(d[12] << 8 | d[13]);
  const uint8_t* l3 = d + 14;
  if (type == 0x0800) {
    if (l3[0] >> 4 != 4 || (l3[0] & 0xF) < 5) return false;
    uint32_t total = uint32_t(l3[2] << 8 | l3[3]) + 14;
    return total == orig || (orig == 60 && total < 60);  // short frames are padded to 60
  }
  if (type == 0x86DD) {
    if (len < 54 || l3[0] >> 4 != 6) return false;
    return uint32_t(l3[4] << 8 | l3[5]) + 54 == orig;
  }
  if (type == 0x0806) {  // ARP for IPv4 over Ethernet
    return l3[0] == 0 && l3[1] == 1 && l3[2] == 8 && l3[3] == 0 && l3[4] == 6 && l3[5] == 4;
  }
  return false;
}

}  // namespace

const char* sourceName(Source s) {
  switch (s) {
    case Source::Ndis: return "ndis";
    case Source::VmSwitch: return "vmswitch";
    case Source::NdisWan: return "ndiswan";
    case Source::PktMon: return "pktmon";
  }
  return "?";
}


const char* phyTypeName(uint32_t id) {
  static const char* names[] = {"Unknown", "Fhss", "Dsss", "IrBaseband", "802.11a", "802.11b",
                                "802.11g", "802.11n", "802.11ac", "802.11ad", "802.11ax"};
  return id <= 10 ? names[id] : "Unknown";
}

void WarningLog::add(etl::Code code, const etl::EventRecord* rec, const std::string& message) {
  ++total;
  ++counts[etl::codeName(code)];
  if (samples.size() >= maxSamples) return;
  etl::Diagnostic d;
  d.severity = etl::Severity::Warning;
  d.code = code;
  d.message = message;
  if (rec) {
    d.offset = rec->bufferFileOffset;
    d.buffer = int64_t(rec->bufferIndex);
  }
  samples.push_back(std::move(d));
}

std::string WarningLog::text(const etl::Diagnostic& d) { return std::string(etl::codeName(d.code)) + ": " + d.message; }

PacketExtractor::PacketExtractor(Sink sink) : sink_(std::move(sink)) {}
PacketExtractor::~PacketExtractor() = default;

bool PacketExtractor::isPacketProvider(const etl::Guid& g) {
  return g == known::kNdisPacketCapture || g == known::kPktMon || g == known::kNdisWanCapture;
}

void offsetsByName(const etl::Schema& schema, bool pointer64, const std::vector<std::string>& names,
                   std::vector<int32_t>& out) {
  const std::vector<int32_t>& fixed = schema.fixedOffset[pointer64 ? 1 : 0];
  out.assign(names.size(), -1);
  for (size_t i = 0; i < names.size(); ++i) {
    int idx = schema.indexOf(names[i]);
    if (idx >= 0 && size_t(idx) < fixed.size()) out[i] = fixed[size_t(idx)];
  }
}

const PacketExtractor::Layout& PacketExtractor::layout(const etl::EventRecord& rec,
                                                       const std::vector<std::string>& names) {
  if (lastLayout_ && lastLayoutNames_ == &names && lastLayoutId_ == rec.id && lastLayoutVersion_ == rec.version &&
      lastLayoutProvider_ == rec.provider)
    return *lastLayout_;
  auto key = std::make_tuple(rec.provider, rec.id, rec.version);
  auto it = layouts_.find(key);
  if (it == layouts_.end()) {
    Layout l;
    if (resolver_ && resolver_->offsets(rec.provider, rec.id, rec.version, rec.pointer64, names, l.off) && l.off.size() == names.size()) {
      l.fromSchema = true;
    } else if (const etl::Schema* s = etl::knownLayout(rec.provider, rec.id, rec.version, false)) {
      offsetsByName(*s, rec.pointer64, names, l.off);
    } else {
      l.off.assign(names.size(), -1);  // no layout at all: every read fails, the event is reported
    }
    it = layouts_.emplace(key, std::move(l)).first;
  }
  lastLayout_ = &it->second;
  lastLayoutNames_ = &names;
  lastLayoutProvider_ = rec.provider;
  lastLayoutId_ = rec.id;
  lastLayoutVersion_ = rec.version;
  return it->second;
}

const etl::Schema* PacketExtractor::variableLayout(const etl::EventRecord& rec) {
  if (resolver_)
    if (const etl::Schema* s = resolver_->schema(rec.provider, rec.id, rec.version)) return s;
  return etl::knownLayout(rec.provider, rec.id, rec.version, false);
}

namespace {
// The packet fields every source takes from the event that carried it.
Packet packetFrom(const etl::EventRecord& rec, Source src, Interface* iface) {
  Packet pkt;
  pkt.iface = iface;
  pkt.source = src;
  pkt.fileTime = rec.fileTime;
  pkt.cpu = rec.cpu;
  pkt.pid = rec.pid;
  pkt.tid = rec.tid;
  pkt.keywords = rec.keywords;
  return pkt;
}
}  // namespace

void PacketExtractor::malformed(const etl::EventRecord& rec, const std::string& what) {
  ++stats_.malformed;
  warnings_.add(etl::Code::MalformedEvent, &rec,
                fmt("%s event %u (buffer %u, record at +%u): %s", rec.provider == known::kPktMon ? "PktMon"
                    : rec.provider == known::kNdisWanCapture ? "Ras-NdisWanPacketCapture" : "NDIS-PacketCapture",
                    unsigned(rec.id), unsigned(rec.bufferIndex), unsigned(rec.recordOffset), what.c_str()));
}

void PacketExtractor::feed(const etl::EventRecord& rec) {
  if (rec.kind != etl::RecordKind::Event) return;
  if (rec.provider == known::kNdisPacketCapture) {
    if (rec.id == 1001) { ++stats_.events; onNdisFragment(rec); }
    else if (rec.id == 1002) { ++stats_.events; onNdisMetadata(rec); }
    else if (rec.id == 1003) { ++stats_.events; onVmSwitchFragment(rec); }
  } else if (rec.provider == known::kPktMon) {
    sawPktmon_ = true;
    if (rec.id == 160 || rec.id == 170) { ++stats_.events; onPktmonPacket(rec); }
    else absorbComponent(rec);
  } else if (rec.provider == known::kNdisWanCapture) {
    if (rec.id == 5001 || rec.id == 5002) { ++stats_.events; onNdisWan(rec); }
  }
}

Interface* PacketExtractor::findOrCreate(const InterfaceKey& key, uint16_t linkType, uint32_t miniport,
                                         const etl::EventRecord& rec) {
  Interface* found = nullptr;
  if (lastIface_ && lastIface_->key == key) {
    found = lastIface_;
  } else {
    auto it = byKey_.find(key);
    if (it != byKey_.end()) found = lastIface_ = it->second;
  }
  if (found) {
    if (found->linkType != linkType)
      warnings_.add(etl::Code::InconsistentMedia, &rec,
                    fmt("interface %s:%u: event %u has link type %u, the interface has %u (kept)",
                        sourceName(key.source), unsigned(key.lowerIfIndex), unsigned(rec.id), unsigned(linkType),
                        unsigned(found->linkType)));
    return found;
  }
  ifaces_.emplace_back();
  Interface* f = &ifaces_.back();
  f->key = key;
  f->linkType = linkType;
  f->miniportIfIndex = miniport;
  byKey_.emplace(key, f);
  return f;
}

void PacketExtractor::assignId(Interface* f) {
  f->id = int32_t(byId_.size());
  byId_.push_back(f);
  const InterfaceKey& k = f->key;
  auto lwf = [&]() -> std::string {
    return k.lowerIfIndex != f->miniportIfIndex ? "LWF over IfIndex " + std::to_string(f->miniportIfIndex) : "";
  };
  switch (k.source) {
    case Source::Ndis:
      if (f->linkType == kLinkIeee80211) f->name = "wifi:" + std::to_string(k.lowerIfIndex);
      else if (f->linkType == kLinkRaw) f->name = "mbb:" + std::to_string(k.lowerIfIndex);
      else f->name = "eth:" + std::to_string(k.lowerIfIndex) + ":0";
      f->description = lwf();
      break;
    case Source::VmSwitch:
      f->name = "vNIC:" + f->nicType + ":" + f->portName + ":" + std::to_string(k.lowerIfIndex) + ":" +
                std::to_string(k.vlanId);
      f->description = lwf();
      if (k.vlanId != 0) f->description += " VlanID=" + std::to_string(k.vlanId) + " ";
      break;
    case Source::NdisWan:
      f->name = "Rras:" + std::to_string(k.lowerIfIndex) + ":" + k.routingDomainId + ":" + k.userName;
      break;
    case Source::PktMon: {
      auto c = components_.find(k.componentId);
      if (c != components_.end()) {
        const PktmonComponent& pc = c->second;
        f->name = pc.name;
        f->description = pc.description;
        f->hasMac = pc.hasMac; std::memcpy(f->mac, pc.mac, 6);
        f->hasIpv4 = pc.hasIpv4; std::memcpy(f->ipv4, pc.ipv4, 4);
        f->hasIpv6 = pc.hasIpv6; std::memcpy(f->ipv6, pc.ipv6, 16);
      }
      // etl2pcapng leaves the name empty when no component event names it.
      if (f->name.empty()) f->name = "pktmon:" + std::to_string(k.componentId);
      break;
    }
  }
}

void PacketExtractor::onNdisFragment(const etl::EventRecord& rec) {
  const Layout& L = layout(rec, kFragmentNames);
  View v{rec.userData, rec.userDataLen};
  uint32_t mp, lower, n;
  if (!v.u32(L.off[0], mp) || !v.u32(L.off[1], lower) || !v.u32(L.off[2], n))
    return malformed(rec, fmt("user data of %u bytes too short for the fragment header", rec.userDataLen));
  if (!v.has(L.off[3], n))
    return malformed(rec, fmt("FragmentSize %u at offset %d runs past the user data (%u bytes)", n, L.off[3],
                              rec.userDataLen));
  ++stats_.fragments;
  uint16_t lt = (rec.keywords & kw::Native80211) ? kLinkIeee80211
              : (rec.keywords & kw::WirelessWan) ? kLinkRaw : kLinkEthernet;
  InterfaceKey key;
  key.source = Source::Ndis;
  key.lowerIfIndex = lower;
  Interface* f = findOrCreate(key, lt, mp, rec);
  addFragment(rec, f, Source::Ndis, rec.userData + L.off[3], n, 0, 0);
}

void PacketExtractor::onNdisMetadata(const etl::EventRecord& rec) {
  const Layout& L = layout(rec, kMetadataNames);
  View v{rec.userData, rec.userDataLen};
  uint32_t mp, lower, m;
  if (!v.u32(L.off[0], mp) || !v.u32(L.off[1], lower) || !v.u32(L.off[2], m))
    return malformed(rec, "user data too short for the metadata header");
  if (!v.has(L.off[3], m)) return malformed(rec, fmt("MetadataSize %u runs past the user data", m));
  // DOT11_EXTSTA_RECV_CONTEXT: we read up to ucDataRate at +24 (etl2pcapng
  // insists on exactly 48 bytes; shorter variants still carry these).
  if (m < 25) {
    warnings_.add(etl::Code::WifiMetadataSize, &rec, fmt("Wi-Fi metadata of %u bytes, expected 48; ignored", m));
    return;
  }
  const uint8_t* p = rec.userData + L.off[3];
  uint16_t lt = (rec.keywords & kw::Native80211) ? kLinkIeee80211
              : (rec.keywords & kw::WirelessWan) ? kLinkRaw : kLinkEthernet;
  InterfaceKey key;
  key.source = Source::Ndis;
  key.lowerIfIndex = lower;
  findOrCreate(key, lt, mp, rec);
  WifiMetadata w;
  w.receiveFlags = le32(p + 4);
  w.phyId = le32(p + 8);
  w.centerFrequency = le32(p + 12);
  w.mpdusReceived = le16(p + 16);
  w.rssi = int32_t(le32(p + 20));
  w.dataRate = p[24];
  // Kept for the next packet on the same interface and CPU (etl2pcapng: the
  // next packet on any interface or CPU).
  pendingWifi_[{lower, rec.cpu}] = w;
}

namespace {
// The leading fields of a variable layout, found in one walk over the payload.
class Fields {
 public:
  Fields(const etl::Schema* s, const etl::EventRecord& rec, const char* last) : s_(s), p_(rec.userData) {
    int lastIndex = s ? s->indexOf(last) : -1;
    if (lastIndex < 0) {
      error_ = std::string("no layout with a ") + last + " field";
      return;
    }
    ok_ = etl::fieldSpans(*s, uint32_t(lastIndex), rec.userData, rec.userDataLen, rec.pointer64, spans_, &error_);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const etl::FieldSpan* span(const char* name) const {
    int i = s_->indexOf(name);
    return i >= 0 && size_t(i) < spans_.size() ? &spans_[size_t(i)] : nullptr;
  }
  bool u32(const char* name, uint32_t& v) const {
    const etl::FieldSpan* f = span(name);
    if (!f || f->size != 4) return false;
    v = le32(p_ + f->offset);
    return true;
  }
  // A UTF-16 string field, up to its NUL.
  std::string text(const char* name) const {
    const etl::FieldSpan* f = span(name);
    if (!f) return std::string();
    return etl::utf16ToUtf8(p_ + f->offset, etl::strnlen16(p_ + f->offset, f->size / 2));
  }

 private:
  const etl::Schema* s_;
  const uint8_t* p_;
  std::vector<etl::FieldSpan> spans_;
  std::string error_;
  bool ok_ = false;
};
}  // namespace

void PacketExtractor::onVmSwitchFragment(const etl::EventRecord& rec) {
  const uint8_t* p = rec.userData;
  uint32_t len = rec.userDataLen;
  Fields fields(variableLayout(rec), rec, "DestinationCount");
  if (!fields.ok()) return malformed(rec, fields.error());
  uint32_t mp, lower, portId, dcount;
  if (!fields.u32("MiniportIfIndex", mp) || !fields.u32("LowerIfIndex", lower) || !fields.u32("SourcePortId", portId) ||
      !fields.u32("DestinationCount", dcount))
    return malformed(rec, "the VMSwitch layout lacks a 4-byte header field");
  std::string portName = fields.text("SourcePortName"), nicName = fields.text("SourceNicName"), nicType = fields.text("SourceNicType");
  uint64_t pos = uint64_t(fields.span("DestinationCount")->offset) + 4;
  // The Destination element size is not certain (docs/etl-format.md, NDIS-PacketCapture events): pick
  // the size with which the rest of the event parses exactly, else the first
  // with which it fits.
  const uint64_t tries[] = {uint64_t(dcount) * 8, 0, uint64_t(dcount) * 4, uint64_t(dcount) * 16, 8};
  int64_t best = -1;
  bool exact = false;
  for (uint64_t dbytes : tries) {
    uint64_t q = pos + dbytes;
    if (q + 4 > len) continue;
    uint32_t n = le32(p + q);
    if (q + 4 + uint64_t(n) + 4 > len) continue;
    uint32_t k = le32(p + q + 4 + n);
    uint64_t end = q + 8 + uint64_t(n) + k;
    if (end > len) continue;
    if (end == len) { best = int64_t(q); exact = true; break; }
    if (best < 0) best = int64_t(q);
  }
  if (best < 0) return malformed(rec, "FragmentSize/OOBDataSize do not fit the user data");
  if (!exact) warnings_.add(etl::Code::VmswitchLayout, &rec, "VMSwitch event with trailing bytes after OOBData (newer layout?)");
  uint32_t q = uint32_t(best);
  uint32_t n = le32(p + q);
  const uint8_t* frag = p + q + 4;
  uint32_t k = le32(p + q + 4 + n);
  const uint8_t* oob = p + q + 8 + n;
  // OOBData = NET_BUFFER_LIST_INFO slots, pointer-sized (§9): slot 4 is the
  // 802.1Q info (VLAN id in bits 4-15), slot 8 the RSS hash. Slots the event
  // does not carry are 0 (etl2pcapng keeps the previous event's values).
  uint32_t ptr = rec.pointer64 ? 8 : 4;
  int32_t vlan = k >= 5 * ptr ? int32_t((le32(oob + 4 * ptr) >> 4) & 0xFFF) : 0;
  uint32_t hash = k >= 9 * ptr ? le32(oob + 8 * ptr) : 0;
  ++stats_.fragments;
  uint16_t lt = (rec.keywords & kw::Native80211) ? kLinkIeee80211
              : (rec.keywords & kw::WirelessWan) ? kLinkRaw : kLinkEthernet;
  InterfaceKey key;
  key.source = Source::VmSwitch;
  key.lowerIfIndex = lower;
  key.vlanId = vlan;
  key.sourcePortId = portId;
  bool isNew = byKey_.find(key) == byKey_.end();
  Interface* f = findOrCreate(key, lt, mp, rec);
  if (isNew) {
    f->nicType = nicType;
    f->nicName = nicName;
    f->portName = portName;
  }
  addFragment(rec, f, Source::VmSwitch, frag, n, dcount, hash);
}

void PacketExtractor::onNdisWan(const etl::EventRecord& rec) {
  Fields fields(variableLayout(rec), rec, "Fragment");
  if (!fields.ok()) return malformed(rec, fields.error());
  uint32_t n;
  if (!fields.u32("FragmentSize", n)) return malformed(rec, "the Ras-NdisWan layout lacks a 4-byte FragmentSize");
  const etl::FieldSpan* frag = fields.span("Fragment");
  if (frag->size != n) return malformed(rec, fmt("Fragment of %u bytes, FragmentSize says %u", frag->size, n));
  std::string domain = fields.text("RoutingDomainID"), user = fields.text("RRASUserName");
  const uint8_t* p = rec.userData + frag->offset;
  InterfaceKey key;
  key.source = Source::NdisWan;
  key.routingDomainId = domain;
  key.userName = user;
  Interface* f = findOrCreate(key, kLinkEthernet, 0, rec);
  // Every RAS event is a whole packet (etl2pcapng does not look at PACKET_END).
  Packet pkt = packetFrom(rec, Source::NdisWan, f);
  uint32_t keep = std::min(n, kMaxPacketBytes);
  if (keep < n) {
    pkt.flags |= kPacketOversize;
    ++stats_.oversize;
    warnings_.add(etl::Code::Oversize, &rec, fmt("Ras-NdisWan packet of %u bytes cut to %u", n, keep));
  }
  emit(pkt, p, keep, n);
}

void PacketExtractor::onPktmonPacket(const etl::EventRecord& rec) {
  const Layout& L = layout(rec, kPktmonNames);
  View v{rec.userData, rec.userDataLen};
  PktmonInfo m;
  bool ok = v.u64(L.off[PGroup], m.pktGroupId) && v.u16(L.off[PNumber], m.pktNumber) &&
            v.u16(L.off[PAppear], m.appearanceCount) && v.u16(L.off[PDir], m.dirTag) &&
            v.u16(L.off[PType], m.packetType) && v.u16(L.off[PComp], m.componentId) &&
            v.u16(L.off[PLogged], m.loggedPayloadSize);
  if (!ok) return malformed(rec, fmt("user data of %u bytes too short for the PktMon packet header", rec.userDataLen));
  // Fields we only report: a schema without them is not an error.
  v.u16(L.off[PEdge], m.edgeId);
  v.u16(L.off[PFilter], m.filterId);
  v.u32(L.off[PDropR], m.dropReason);
  v.u32(L.off[PDropL], m.dropLocation);
  bool hasOrig = v.u16(L.off[POrig], m.originalPayloadSize);
  uint32_t n = m.loggedPayloadSize;
  if (!v.has(L.off[PPayload], n))
    return malformed(rec, fmt("LoggedPayloadSize %u at offset %d runs past the user data (%u bytes)", n,
                              L.off[PPayload], rec.userDataLen));
  uint16_t lt;
  switch (m.packetType) {
    case 1: lt = kLinkEthernet; break;
    case 2: lt = kLinkIeee80211; break;
    case 3: lt = kLinkRaw; break;
    default:
      warnings_.add(etl::Code::PktmonPacketType, &rec, fmt("PktMon packet type %u has no link type; packet skipped",
                                               unsigned(m.packetType)));
      return;
  }
  // PktMon logs some Ethernet frames as Wi-Fi (filters above nwifi, edge 2);
  // Windows' own text dump then says "unknown 802.11 frame type". Such a
  // payload goes out as Ethernet, on the component's Ethernet interface.
  bool relabeled = false;
  if (lt == kLinkIeee80211 && loggedAsWifiButEthernet(rec.userData + L.off[PPayload], n, hasOrig ? m.originalPayloadSize : 0)) {
    lt = kLinkEthernet;
    relabeled = true;
    ++stats_.relabeled;
  }
  InterfaceKey key;
  key.source = Source::PktMon;
  key.componentId = m.componentId;
  key.linkType = lt;
  Interface* f = findOrCreate(key, lt, 0, rec);
  Packet pkt = packetFrom(rec, Source::PktMon, f);
  pkt.hasPktmon = true;
  pkt.pktmon = m;
  pkt.dropped = rec.id == 170;
  pkt.relabeled = relabeled;
  emit(pkt, rec.userData + L.off[PPayload], n, hasOrig ? std::max<uint32_t>(n, m.originalPayloadSize) : n);
}

bool PacketExtractor::absorbComponent(const etl::EventRecord& rec) {
  if (rec.kind != etl::RecordKind::Event || rec.provider != known::kPktMon) return false;
  View v{rec.userData, rec.userDataLen};
  if (rec.id == 20) {
    const etl::Schema* s = variableLayout(rec);
    Fields f(s, rec, "Name");
    uint16_t id;
    const etl::FieldSpan* idSpan = f.ok() ? f.span("Id") : nullptr;
    if (!idSpan || !v.u16(int32_t(idSpan->offset), id)) {
      malformed(rec, f.ok() ? std::string("component event without a 2-byte Id") : f.error());
      return true;
    }
    PktmonComponent& c = components_[id];
    c.name = f.text("Name");
    Fields withDescription(s, rec, "Description");  // may be absent
    c.description = withDescription.ok() ? withDescription.text("Description") : std::string();
    return true;
  }
  if (rec.id == 65 || rec.id == 66) {
    const Layout& L = layout(rec, kIpNames);
    uint16_t id;
    uint32_t size = rec.id == 65 ? 4 : 16;
    if (!v.u16(L.off[0], id) || !v.has(L.off[2], size)) { malformed(rec, "IP address event too short"); return true; }
    PktmonComponent& c = components_[id];
    if (rec.id == 65) { c.hasIpv4 = true; std::memcpy(c.ipv4, rec.userData + L.off[2], 4); }
    else { c.hasIpv6 = true; std::memcpy(c.ipv6, rec.userData + L.off[2], 16); }
    return true;
  }
  if (rec.id == 70) {
    const Layout& L = layout(rec, kMacNames);
    uint16_t id;
    uint32_t size;
    if (!v.u16(L.off[0], id) || !v.u32(L.off[2], size) || !v.has(L.off[3], size)) {
      malformed(rec, "MAC address event too short");
      return true;
    }
    if (size == 6) {
      PktmonComponent& c = components_[id];
      c.hasMac = true;
      std::memcpy(c.mac, rec.userData + L.off[3], 6);
    }
    return true;
  }
  return false;
}

void PacketExtractor::addFragment(const etl::EventRecord& rec, Interface* f, Source src, const uint8_t* p,
                                  uint32_t n, uint32_t destCount, uint32_t hash) {
  bool start = rec.keywords & kw::PacketStart, end = rec.keywords & kw::PacketEnd;
  PartialKey k{f, rec.cpu};
  auto it = partials_.find(k);
  if (start && it != partials_.end()) {
    // A new packet began before the pending one ended.
    ++stats_.missingEnd;
    warnings_.add(etl::Code::MissingEnd, &rec, fmt("interface %s:%u CPU %u: packet of %u fragment(s) had no PACKET_END fragment",
                                     sourceName(src), unsigned(f->key.lowerIfIndex), unsigned(rec.cpu),
                                     unsigned(it->second.fragments)));
    it->second.flags |= kPacketMissingEnd;
    emitPartial(it->second);
    partials_.erase(it);
    it = partials_.end();
  }
  uint32_t flags = 0;
  if (!start && it == partials_.end()) {
    ++stats_.missingStart;
    warnings_.add(etl::Code::MissingStart, &rec, fmt("interface %s:%u CPU %u: fragment without PACKET_START and nothing pending",
                                       sourceName(src), unsigned(f->key.lowerIfIndex), unsigned(rec.cpu)));
    flags |= kPacketMissingStart;
  }
  if (it == partials_.end() && end) {
    // Whole packet in one event: the common case since Windows 8.1.
    Packet pkt = packetFrom(rec, src, f);
    pkt.flags = flags;
    pkt.destinationCount = destCount;
    pkt.hashValue = hash;
    uint32_t keep = std::min(n, kMaxPacketBytes);
    if (keep < n) {
      pkt.flags |= kPacketOversize;
      ++stats_.oversize;
      warnings_.add(etl::Code::Oversize, &rec, fmt("packet of %u bytes cut to %u", n, keep));
    }
    emit(pkt, p, keep, n);
    return;
  }
  if (it == partials_.end()) {
    it = partials_.emplace(k, Partial{}).first;
    it->second.iface = f;
    it->second.source = src;
    it->second.flags = flags;
  }
  Partial& part = it->second;
  uint64_t room = part.data.size() < kMaxPacketBytes ? kMaxPacketBytes - part.data.size() : 0;
  uint32_t keep = uint32_t(std::min<uint64_t>(n, room));
  if (keep < n && !(part.flags & kPacketOversize)) {
    part.flags |= kPacketOversize;
    ++stats_.oversize;
    warnings_.add(etl::Code::Oversize, &rec, fmt("multi-fragment packet over %u bytes cut", kMaxPacketBytes));
  }
  part.data.insert(part.data.end(), p, p + keep);
  part.total += n;
  ++part.fragments;
  // The packet takes time, PID, TID and keywords of its last fragment (as etl2pcapng).
  part.fileTime = rec.fileTime;
  part.cpu = rec.cpu;
  part.pid = rec.pid;
  part.tid = rec.tid;
  part.keywords = rec.keywords;
  part.destinationCount = destCount;
  part.hashValue = hash;
  if (end) {
    emitPartial(part);
    partials_.erase(it);
  }
}

void PacketExtractor::emitPartial(Partial& part) {
  Packet pkt;
  pkt.iface = part.iface;
  pkt.source = part.source;
  pkt.fileTime = part.fileTime;
  pkt.cpu = part.cpu;
  pkt.pid = part.pid;
  pkt.tid = part.tid;
  pkt.keywords = part.keywords;
  pkt.flags = part.flags;
  pkt.fragments = part.fragments;
  pkt.destinationCount = part.destinationCount;
  pkt.hashValue = part.hashValue;
  emit(pkt, part.data.data(), uint32_t(part.data.size()), part.total);
}

void PacketExtractor::emit(Packet& pkt, const uint8_t* data, uint32_t len, uint64_t total) {
  Interface* f = pkt.iface;
  if (f->id < 0) assignId(f);
  bool ndis = pkt.source == Source::Ndis || pkt.source == Source::VmSwitch;
  // ndiscap logs 802.11 frames already decrypted but with the Protected bit
  // set; clear it so Wireshark does not try to decrypt (etl2pcapng §7.5).
  if (ndis && (pkt.keywords & kw::Native80211) && len >= 2 && (data[1] & 0x40)) {
    single_.assign(data, data + len);
    single_[1] &= ~0x40;
    data = single_.data();
  }
  if (ndis) {
    auto w = pendingWifi_.find({f->key.lowerIfIndex, pkt.cpu});
    if (w != pendingWifi_.end()) {
      pkt.hasWifi = true;
      pkt.wifi = w->second;
      pendingWifi_.erase(w);
    }
  }
  uint64_t orig = std::max<uint64_t>(total, len);
  if (pkt.source != Source::PktMon) orig = std::max<uint64_t>(orig, inferFrameLength(f->linkType, data, len));
  pkt.data = data;
  pkt.capturedLength = len;
  pkt.originalLength = uint32_t(std::min<uint64_t>(orig, 0xFFFFFFFFull));
  if (pkt.source == Source::PktMon) {
    uint16_t d = pkt.pktmon.dirTag;
    pkt.direction = (d == 1 || d == 3 || d == 5) ? Direction::In
                  : (d == 2 || d == 4 || d == 6) ? Direction::Out : Direction::Unknown;
  } else {
    pkt.direction = (pkt.keywords & kw::SendPath) ? Direction::Out
                  : (pkt.keywords & kw::ReceivePath) ? Direction::In : Direction::Unknown;
  }
  pkt.ordinal = ++ordinal_;
  ++f->packets;
  ++stats_.packets;
  sink_(pkt);
}

void PacketExtractor::finish() {
  for (auto& kv : partials_) {
    ++stats_.missingEnd;
    warnings_.add(etl::Code::MissingEnd, nullptr, fmt("packet of %u fragment(s) still waiting for PACKET_END at the end of the trace",
                                     unsigned(kv.second.fragments)));
    kv.second.flags |= kPacketMissingEnd;
    emitPartial(kv.second);
  }
  partials_.clear();
}

void appendPacketComment(const Packet& p, std::string& s) {
  // Every packet has one: the common part without printf, and nothing that
  // allocates once `s` has grown to size.
  char num[16];
  s += "PID=";
  s.append(num, size_t(std::to_chars(num, num + sizeof num, int32_t(p.pid)).ptr - num));
  s += " TID=";
  s.append(num, size_t(std::to_chars(num, num + sizeof num, int32_t(p.tid)).ptr - num));
  const Interface* f = p.iface;
  if ((p.source == Source::Ndis || p.source == Source::VmSwitch) && p.hasWifi) {
    appendf(s, " Packet Metadata: ReceiveFlags:0x%x, PhyType:%s, CenterCh:%u, NumMPDUsReceived:%u, RSSI:%d, DataRate:%u",
             p.wifi.receiveFlags, phyTypeName(p.wifi.phyId), p.wifi.centerFrequency, unsigned(p.wifi.mpdusReceived),
             p.wifi.rssi, unsigned(p.wifi.dataRate));
  } else if (p.source == Source::VmSwitch) {
    appendf(s, " VlanId=%d SrcPortId=%d SrcNicType=", f->key.vlanId, int32_t(f->key.sourcePortId));
    s += f->nicType;
    s += " SrcNicName=";
    s += f->nicName;
    s += " SrcPortName=";
    s += f->portName;
    if (p.destinationCount > 0) appendf(s, " DstNicCount=%d", int32_t(p.destinationCount));
    appendf(s, " HashValue=%08x", p.hashValue);
  } else if (p.source == Source::NdisWan) {
    s += " RoutingDomainId=" + f->key.routingDomainId + " Username=" + f->key.userName;
  } else if (p.source == Source::PktMon) {
    const PktmonInfo& m = p.pktmon;
    appendf(s, " PktNumber=%u Appearance=%u Direction=%s Component=%u Edge=%u Filter=%u", unsigned(m.pktNumber),
             unsigned(m.appearanceCount), dirTagName(m.dirTag), unsigned(m.componentId), unsigned(m.edgeId),
             unsigned(m.filterId));
    if (p.dropped) appendf(s, " DropReason=%u DropLocation=0x%x", m.dropReason, m.dropLocation);
    if (p.relabeled) s += " Media=Ethernet(logged-as-WiFi)";
  }
  if (p.flags & kPacketOversize) appendf(s, " Truncated=over-%u-bytes", kMaxPacketBytes);
  if (p.flags & kPacketMissingStart) s += " Incomplete=missing-start";
  if (p.flags & kPacketMissingEnd) s += " Incomplete=missing-end";
}

std::string packetComment(const Packet& p) {
  std::string s;
  appendPacketComment(p, s);
  return s;
}

}  // namespace capture

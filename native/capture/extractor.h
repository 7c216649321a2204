// PacketExtractor: fed EventRecords in delivery order, emits whole packets
// from NDIS-PacketCapture (1001/1002/1003), Ras-NdisWanPacketCapture
// (5001/5002) and PktMon (160/170, components 20/65/66/70).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "etl/diagnostics.h"
#include "etl/event_record.h"
#include "packet.h"

namespace etl { struct Schema; }

namespace capture {

// The layouts of the packet events come from schemas: the file's own when it
// embeds them (so builds that moved or added fields still decode), else the
// built-in ones (etl/known_layouts.cc). A resolver answers for the file.
class LayoutResolver {
 public:
  virtual ~LayoutResolver() = default;
  // Fills out[i] with the offset of names[i] in the user data, -1 when the
  // schema lacks it or it has no fixed offset. Returns false when the file
  // has no schema for this event (the built-in layout is used then).
  virtual bool offsets(const etl::Guid& provider, uint16_t id, uint8_t version, bool pointer64,
                       const std::vector<std::string>& names, std::vector<int32_t>& out) = 0;
  // The file's schema for events whose fields are read one after the other
  // (variable layouts); nullptr for none.
  virtual const etl::Schema* schema(const etl::Guid& provider, uint16_t id, uint8_t version) { return nullptr; }
};

// Fixed offsets of the named top-level properties of `schema` (-1 for a name
// it lacks or a property after a variable one).
void offsetsByName(const etl::Schema& schema, bool pointer64, const std::vector<std::string>& names,
                   std::vector<int32_t>& out);

struct ExtractorStats {
  uint64_t events = 0;           // packet-source events seen
  uint64_t fragments = 0;        // 1001/1003 fragments
  uint64_t packets = 0;          // packets emitted
  uint64_t oversize = 0;
  uint64_t missingStart = 0;
  uint64_t missingEnd = 0;
  uint64_t malformed = 0;        // events whose payload could not be decoded
  uint64_t relabeled = 0;        // pktmon Wi-Fi packets whose payload is Ethernet
};

// What the extractor could not use whole, in the reader's vocabulary
// (etl/diagnostics.h): counted by code, the first ones kept with the file
// offset and index of the buffer that held the event.
struct WarningLog {
  std::map<std::string, uint64_t> counts;  // by code name
  std::vector<etl::Diagnostic> samples;
  size_t maxSamples = 50;
  uint64_t total = 0;
  // `rec` is the event concerned, or nullptr (end of trace).
  void add(etl::Code code, const etl::EventRecord* rec, const std::string& message);
  // "code: message", as convert prints a warning.
  static std::string text(const etl::Diagnostic& d);
};

struct PktmonComponent {
  std::string name, description;
  bool hasMac = false, hasIpv4 = false, hasIpv6 = false;
  uint8_t mac[6] = {};
  uint8_t ipv4[4] = {};
  uint8_t ipv6[16] = {};
};

class PacketExtractor {
 public:
  using Sink = std::function<void(Packet&)>;
  explicit PacketExtractor(Sink sink);
  ~PacketExtractor();

  void setLayoutResolver(std::shared_ptr<LayoutResolver> r) {
    resolver_ = std::move(r);
    layouts_.clear();
    lastLayout_ = nullptr;
  }

  // Feed the next record; packets completed by it go to the sink.
  void feed(const etl::EventRecord& rec);
  // End of trace: packets still waiting for PACKET_END are emitted (flagged).
  void finish();

  // PktMon component events (20/65/66/70) only; used by a pre-scan so that
  // interface names are known before the first packet (pktmon writes them at
  // the end of the log). Returns true if the record was one.
  bool absorbComponent(const etl::EventRecord& rec);
  bool sawPktmon() const { return sawPktmon_; }
  const std::map<uint16_t, PktmonComponent>& components() const { return components_; }
  // Component info found by a pre-scan (merged under what is known).
  void importComponents(const std::map<uint16_t, PktmonComponent>& c) {
    for (auto& kv : c) components_[kv.first] = kv.second;
  }

  // Interfaces that carry packets, by pcapng id.
  const std::vector<Interface*>& interfaces() const { return byId_; }
  const ExtractorStats& stats() const { return stats_; }
  WarningLog& warnings() { return warnings_; }

  static bool isPacketProvider(const etl::Guid& g);

 private:
  struct Partial {
    std::vector<uint8_t> data;
    uint64_t total = 0;        // bytes logged, including any cut off
    uint32_t fragments = 0;
    uint32_t flags = 0;
    Interface* iface = nullptr;
    int64_t fileTime = 0;
    uint16_t cpu = 0;
    uint32_t pid = 0, tid = 0;
    uint64_t keywords = 0;
    Source source = Source::Ndis;
    uint32_t destinationCount = 0, hashValue = 0;
  };
  struct PartialKey {
    Interface* iface;
    uint16_t cpu;
    bool operator<(const PartialKey& o) const {
      return iface != o.iface ? iface < o.iface : cpu < o.cpu;
    }
  };
  struct Layout {
    bool fromSchema = false;
    std::vector<int32_t> off;
  };

  const Layout& layout(const etl::EventRecord& rec, const std::vector<std::string>& names);
  // The schema of a variable layout: the file's, else the built-in one.
  const etl::Schema* variableLayout(const etl::EventRecord& rec);
  Interface* findOrCreate(const InterfaceKey& key, uint16_t linkType, uint32_t miniport, const etl::EventRecord& rec);
  void assignId(Interface* f);
  void onNdisFragment(const etl::EventRecord& rec);
  void onNdisMetadata(const etl::EventRecord& rec);
  void onVmSwitchFragment(const etl::EventRecord& rec);
  void onNdisWan(const etl::EventRecord& rec);
  void onPktmonPacket(const etl::EventRecord& rec);
  void addFragment(const etl::EventRecord& rec, Interface* f, Source src, const uint8_t* p, uint32_t n,
                   uint32_t destCount, uint32_t hash);
  void emitPartial(Partial& part);
  void emit(Packet& pkt, const uint8_t* data, uint32_t len, uint64_t total);
  void malformed(const etl::EventRecord& rec, const std::string& what);

  Sink sink_;
  std::shared_ptr<LayoutResolver> resolver_;
  std::map<std::tuple<etl::Guid, uint16_t, uint8_t>, Layout> layouts_;
  // Packet events come in long runs of one kind: the last layout and the last
  // interface found are checked before the maps.
  const Layout* lastLayout_ = nullptr;
  const std::vector<std::string>* lastLayoutNames_ = nullptr;
  etl::Guid lastLayoutProvider_{};
  uint16_t lastLayoutId_ = 0;
  uint8_t lastLayoutVersion_ = 0;
  Interface* lastIface_ = nullptr;
  std::deque<Interface> ifaces_;
  std::map<InterfaceKey, Interface*> byKey_;
  std::vector<Interface*> byId_;
  std::map<PartialKey, Partial> partials_;
  // By (LowerIfIndex, CPU): a 1002 is logged right before its frame by the same
  // CPU, and receive paths on other CPUs may log frames in between.
  std::map<std::pair<uint32_t, uint16_t>, WifiMetadata> pendingWifi_;
  std::map<uint16_t, PktmonComponent> components_;
  std::vector<uint8_t> single_;                    // reused for single-event packets
  ExtractorStats stats_;
  WarningLog warnings_;
  uint64_t ordinal_ = 0;
  bool sawPktmon_ = false;
};

// etl2pcapng's EPB comment (§7.4) for this packet, with our additions:
// pktmon packets get "PID=.. TID=.." plus their pktmon fields, and flagged
// packets say why they are incomplete.
std::string packetComment(const Packet& p);
// The same, appended to `out` (the converter reuses one string for every packet).
void appendPacketComment(const Packet& p, std::string& out);

// Wi-Fi PHY name as etl2pcapng prints it.
const char* phyTypeName(uint32_t id);

}  // namespace capture

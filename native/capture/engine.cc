#include "engine.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_set>

#include "constants.h"
#include "etl/reader.h"
#include "etl/schema.h"
#include "netparse.h"
#include "pcapng/writer.h"

namespace capture {

namespace {

class SchemaResolver : public LayoutResolver {
 public:
  explicit SchemaResolver(const etl::SchemaRegistry* r) : reg_(r) {}
  bool offsets(const etl::Guid& provider, uint16_t id, uint8_t version, bool pointer64,
               const std::vector<std::string>& names, std::vector<int32_t>& out) override {
    const etl::Schema* s = reg_->find(provider, id, version);
    if (!s) return false;
    offsetsByName(*s, pointer64, names, out);
    return true;
  }
  const etl::Schema* schema(const etl::Guid& provider, uint16_t id, uint8_t version) override {
    return reg_->find(provider, id, version);
  }

 private:
  const etl::SchemaRegistry* reg_;
};

struct PairHash {
  size_t operator()(const std::pair<uint64_t, uint16_t>& p) const {
    return size_t(p.first * 0x9E3779B97F4A7C15ull ^ p.second);
  }
};

// PktMon writes its component events (interface names, addresses) at the end
// of the log, but an IDB must precede the first packet that uses it: read the
// file once for those events only, before the first PktMon packet.
std::map<uint16_t, PktmonComponent> prescanComponents(const std::string& input, etl::Backend backend) {
  std::unique_ptr<etl::TraceSource> src = etl::openTraceSource(input, backend);
  etl::TraceSource& r = *src;
  etl::SchemaRegistry schemas;
  PacketExtractor x([](Packet&) {});
  x.setLayoutResolver(schemaLayoutResolver(&schemas));
  etl::EventRecord rec;
  while (r.next(rec)) {
    schemas.addMetadataRecord(rec);
    if (rec.provider == known::kPktMon && rec.kind == etl::RecordKind::Event &&
        (rec.id == 20 || rec.id == 65 || rec.id == 66 || rec.id == 70))
      x.absorbComponent(rec);
  }
  return x.components();
}

pcapng::InterfaceInfo idbFor(const Interface& f) {
  pcapng::InterfaceInfo i;
  i.linkType = f.linkType;
  i.snapLen = 0;  // packets are bounded by kMaxPacketBytes, not by a snap length we know
  i.name = f.name;
  i.description = f.description;
  i.hasMac = f.hasMac;
  std::memcpy(i.mac, f.mac, 6);
  i.hasIpv4 = f.hasIpv4;
  std::memcpy(i.ipv4, f.ipv4, 4);
  i.hasIpv6 = f.hasIpv6;
  std::memcpy(i.ipv6, f.ipv6, 16);
  i.tsresol = 7;
  return i;
}

}  // namespace

std::shared_ptr<LayoutResolver> schemaLayoutResolver(const etl::SchemaRegistry* registry) {
  return std::make_shared<SchemaResolver>(registry);
}

ConvertSummary convertTrace(const std::string& input, pcapng::Output& out, const ConvertOptions& o) {
  ConvertSummary sum;
  sum.input = input;
  std::unique_ptr<etl::TraceSource> src = etl::openTraceSource(input, o.backend);
  etl::TraceSource& reader = *src;
  sum.fileSize = reader.fileSize();
  etl::SchemaRegistry schemas;
  pcapng::Writer writer(out);
  const etl::LogfileHeader& h = reader.header();
  pcapng::SectionInfo section;
  section.os = "Windows " + std::to_string(h.majorVersion) + "." + std::to_string(h.minorVersion) + " build " +
               std::to_string(h.providerVersion);
  section.userAppl = o.userAppl;
  std::unordered_set<std::pair<uint64_t, uint16_t>, PairHash> seen;
  std::vector<uint64_t> perInterface;
  pcapng::PacketInfo info;

  PacketExtractor x([&](Packet& p) {
    ++sum.packetsSeen;
    if (o.dedupe && p.hasPktmon) {
      if (!seen.insert({p.pktmon.pktGroupId, p.pktmon.pktNumber}).second) {
        ++sum.duplicates;
        return;
      }
    }
    if (o.hasPid && p.pid != o.pid) {
      ++sum.filteredOut;
      return;
    }
    if (o.imdsOnly) {
      uint32_t off = 0;
      if (!locateIp(p.iface->linkType, p.data, p.capturedLength, &off) ||
          !isImdsTcp(p.data + off, p.capturedLength - off)) {
        ++sum.filteredOut;
        return;
      }
    }
    if (!writer.started()) writer.writeSectionHeader(section);
    // IDBs in id order up to this packet's: numbering stays that of the
    // unfiltered conversion whatever the filters drop.
    const auto& ifs = x.interfaces();
    while (int32_t(writer.interfaces()) <= p.iface->id) {
      writer.writeInterface(idbFor(*ifs[writer.interfaces()]));
      perInterface.push_back(0);
    }
    info.interfaceId = uint32_t(p.iface->id);
    info.timestamp = pcapng::fileTimeToPcapng100ns(p.fileTime);
    info.data = p.data;
    info.capturedLength = p.capturedLength;
    info.originalLength = p.originalLength;
    info.hasFlags = true;
    info.flags = uint32_t(p.direction);
    info.hasPacketId = p.hasPktmon && p.pktmon.pktGroupId != 0;
    info.packetId = p.pktmon.pktGroupId;
    info.verdict.clear();
    if (p.dropped) info.verdict = {2, 1, 0, 0, 0, 0, 0, 0, 0};  // as etl2pcapng: eBPF XDP, XDP_DROP
    info.hasPidTid = p.pid != 0;
    info.pid = p.pid;
    info.tid = p.tid;
    info.comment.clear();
    appendPacketComment(p, info.comment);
    writer.writePacket(info);
    ++perInterface[size_t(p.iface->id)];
  });
  x.setLayoutResolver(schemaLayoutResolver(&schemas));

  etl::EventRecord rec;
  bool prescanned = false;
  uint64_t lastProgress = 0, lastCheck = 0;
  auto takeDiagnostics = [&] {
    for (auto& d : reader.takeNewDiagnostics())
      if (sum.diagnostics.size() < 1000) sum.diagnostics.push_back(std::move(d));
  };
  auto strictCheck = [&] {
    if (!o.strict) return;
    if (x.warnings().total > 0) throw ConvertError(etl::Code::Strict, "--strict: " + WarningLog::text(x.warnings().samples.front()));
    if (reader.stats().diagnostics > 0) {
      takeDiagnostics();
      throw ConvertError(etl::Code::Strict, "--strict: " + (sum.diagnostics.empty() ? std::string("reader diagnostic")
                                                                            : sum.diagnostics.front().message));
    }
  };
  while (reader.next(rec)) {
    ++sum.records;
    schemas.addMetadataRecord(rec);
    if (!prescanned && rec.provider == known::kPktMon) {
      prescanned = true;
      x.importComponents(prescanComponents(input, o.backend));
    }
    x.feed(rec);
    strictCheck();
    if (sum.records - lastCheck >= 1024) {
      lastCheck = sum.records;
      takeDiagnostics();
      if (o.cancel && o.cancel->load()) throw ConvertError(etl::Code::Cancelled, "conversion cancelled");
      if (o.onProgress && reader.bytesDone() - lastProgress >= 256 * 1024) {
        lastProgress = reader.bytesDone();
        o.onProgress(reader.bytesDone(), sum.fileSize, writer.packets());
      }
    }
  }
  x.finish();
  strictCheck();
  takeDiagnostics();
  if (!writer.started()) writer.writeSectionHeader(section);
  out.flush();

  sum.packets = writer.packets();
  const auto& ifs = x.interfaces();
  for (uint32_t i = 0; i < writer.interfaces(); ++i) {
    InterfaceSummary s;
    s.id = int32_t(i);
    s.name = ifs[i]->name;
    s.description = ifs[i]->description;
    s.linkType = ifs[i]->linkType;
    s.source = ifs[i]->key.source;
    s.packets = perInterface[i];
    sum.interfaces.push_back(std::move(s));
  }
  sum.warnings = x.warnings().counts;
  sum.warningSamples = x.warnings().samples;
  sum.diagnosticCount = reader.stats().diagnostics;
  sum.bytesWritten = out.bytesWritten();
  sum.stats = x.stats();
  sum.eventsLost = h.eventsLost;
  sum.buffersLost = h.buffersLost;
  sum.buffersWithLossFlag = reader.stats().buffersWithLossFlag;
  if (o.onProgress) o.onProgress(sum.fileSize, sum.fileSize, sum.packets);
  return sum;
}

ConvertSummary convertFile(const std::string& input, const std::string& output, const ConvertOptions& o) {
  if (output == "-") {
    pcapng::StdoutOutput out;
    ConvertSummary s = convertTrace(input, out, o);
    out.commit();
    s.output = "-";
    return s;
  }
  pcapng::FileOutput out(output);  // destructor removes the temp file on any exception
  ConvertSummary s = convertTrace(input, out, o);
  out.commit();
  s.output = output;
  return s;
}

// ---- scan ------------------------------------------------------------------

namespace {

// A connection event with IMDS (address and port) at one end: its decoded
// LocalAddress or RemoteAddress says so.
bool aboutImds(const etl::Schema& s, const etl::EventRecord& rec) {
  for (const char* name : {"LocalAddress", "RemoteAddress"}) {
    auto span = etl::findField(s, name, rec.userData, rec.userDataLen, rec.pointer64);
    SocketAddress a;
    if (span && parseSocketAddress(rec.userData + span->offset, span->size, &a) && isImdsSocketAddress(a)) return true;
  }
  return false;
}

bool listed(const std::vector<etl::Guid>& v, const etl::Guid& g) {
  for (const auto& x : v)
    if (x == g) return true;
  return false;
}

}  // namespace

bool isCut(const Packet& p) {
  if (p.flags & (kPacketOversize | kPacketMissingStart | kPacketMissingEnd)) return false;
  bool ndis = p.source == Source::Ndis || p.source == Source::VmSwitch;
  return p.capturedLength < p.originalLength || (ndis && (p.keywords & kw::PacketTruncated));
}

PacketScanner::PacketScanner(const std::string& input, ScanOptions o)
    : reader_(etl::openTraceSource(input, o.backend)), schemas_(new etl::SchemaRegistry), opts_(o) {
  collecting_ = !opts_.collect.empty() || !opts_.collectImdsOnly.empty();
  extractor_.reset(new PacketExtractor([this](Packet& p) {
    const bool cut = isCut(p);
    ++facts_.packets;
    ++(p.source == Source::PktMon ? facts_.pktmonPackets : facts_.ndisPackets);
    facts_.largestPacket = std::max(facts_.largestPacket, p.capturedLength);
    if (cut) {
      ++facts_.packetsCut;
      facts_.snapLength = std::max(facts_.snapLength, p.capturedLength);
    }
    if (opts_.hasPid && p.pid != opts_.pid) return;
    uint32_t off = 0;
    if (!locateIp(p.iface->linkType, p.data, p.capturedLength, &off)) return;
    if (!isImdsTcp(p.data + off, p.capturedLength - off)) return;
    ImdsPacket q;
    q.fileTime = p.fileTime;
    q.cpu = p.cpu;
    q.pid = p.pid;
    q.tid = p.tid;
    q.source = p.source;
    q.interfaceId = p.iface->id;
    q.direction = p.direction;
    q.ip.assign(p.data + off, p.data + p.capturedLength);
    q.capturedLength = p.capturedLength;
    q.originalLength = p.originalLength;
    q.cut = cut;
    q.hasPktmon = p.hasPktmon;
    q.pktGroupId = p.pktmon.pktGroupId;
    q.pktNumber = p.pktmon.pktNumber;
    q.appearance = p.pktmon.appearanceCount;
    q.component = p.pktmon.componentId;
    q.dropped = p.dropped;
    q.frame = p.ordinal;
    out_->push_back(std::move(q));
  }));
  extractor_->setLayoutResolver(schemaLayoutResolver(schemas_.get()));
}

PacketScanner::~PacketScanner() = default;

bool PacketScanner::nextBatch(std::vector<ImdsPacket>& out, size_t maxPackets, size_t maxRecords,
                              std::vector<NameEvent>* names, std::chrono::milliseconds maxTime) {
  if (done_) return false;
  out_ = &out;
  etl::EventRecord rec;
  size_t n = 0;
  const bool collect = collecting_ && names;
  const auto deadline = std::chrono::steady_clock::now() + maxTime;
  while (out.size() < maxPackets && n < maxRecords && (!names || names->size() < maxPackets)) {
    // The clock is read now and then only: a record takes well under a microsecond.
    if (maxTime.count() > 0 && n % 4096 == 4095 && std::chrono::steady_clock::now() >= deadline) break;
    if (!reader_->next(rec)) {
      extractor_->finish();
      done_ = true;
      break;
    }
    ++n;
    ++records_;
    schemas_->addMetadataRecord(rec);
    extractor_->feed(rec);
    if (collect && !PacketExtractor::isPacketProvider(rec.provider)) {
      const etl::Schema* schema = nullptr;
      bool keep = listed(opts_.collect, rec.provider);
      if (!keep && listed(opts_.collectImdsOnly, rec.provider)) {
        schema = schemas_->schemaFor(rec);
        keep = schema && aboutImds(*schema, rec);
      } else if (keep) {
        schema = schemas_->schemaFor(rec);
      }
      if (keep) {
        names->emplace_back();
        NameEvent& e = names->back();
        e.rec = rec;
        e.schema = schema;
        e.userData.assign(rec.userData, rec.userData + rec.userDataLen);
        e.rec.userData = nullptr;
        e.rec.extData = nullptr;
      }
    }
  }
  out_ = nullptr;
  return !done_;
}

std::vector<etl::Diagnostic> PacketScanner::takeNewDiagnostics() { return reader_->takeNewDiagnostics(); }
uint64_t PacketScanner::bytesDone() const { return reader_->bytesDone(); }
uint64_t PacketScanner::fileSize() const { return reader_->fileSize(); }

}  // namespace capture

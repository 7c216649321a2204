// The engine of `etl-imds convert` and of the native packet selection of
// `etl-imds scan`: .etl → PacketExtractor → filters → pcapng, in one pass over
// the packets. No N-API here (the addon and the C++ tests both use it).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "etl/diagnostics.h"
#include "etl/trace_source.h"
#include "extractor.h"
#include "pcapng/output.h"

namespace etl { class SchemaRegistry; struct Schema; }

namespace capture {

// Why a conversion stopped (Code::Strict, Code::Cancelled).
struct ConvertError : std::runtime_error {
  etl::Code code;
  ConvertError(etl::Code c, const std::string& m) : std::runtime_error(m), code(c) {}
};

struct ConvertOptions {
  bool hasPid = false;
  uint32_t pid = 0;          // keep only packets whose event PID is this
  bool imdsOnly = false;     // keep only TCP to/from IMDS port 80
  bool dedupe = false;       // pktmon: first appearance of each PktGroupId+PktNumber
  bool strict = false;       // any warning or reader diagnostic fails the conversion
  std::string userAppl = "etl-imds";
  etl::Backend backend = etl::Backend::Portable;
  // Called on the converting thread about every 256 KiB of input.
  std::function<void(uint64_t bytesDone, uint64_t fileSize, uint64_t packets)> onProgress;
  const std::atomic<bool>* cancel = nullptr;
};

struct InterfaceSummary {
  int32_t id = 0;
  std::string name, description;
  uint16_t linkType = 0;
  Source source = Source::Ndis;
  uint64_t packets = 0;       // packets written on it
};

struct ConvertSummary {
  std::string input, output;
  uint64_t packets = 0;        // EPBs written
  uint64_t packetsSeen = 0;    // packets decoded before filtering
  uint64_t filteredOut = 0;    // by --pid / --imds-only
  uint64_t duplicates = 0;     // by --dedupe
  std::vector<InterfaceSummary> interfaces;  // IDBs written, by id
  std::map<std::string, uint64_t> warnings;  // by code name
  std::vector<etl::Diagnostic> warningSamples;
  std::vector<etl::Diagnostic> diagnostics;  // from the reader (capped by it)
  uint64_t diagnosticCount = 0;
  uint64_t bytesWritten = 0;
  ExtractorStats stats;
  uint64_t records = 0;
  uint32_t eventsLost = 0, buffersLost = 0;
  uint64_t buffersWithLossFlag = 0;
  uint64_t fileSize = 0;
};

// Converts into `out` (not committed: the caller commits or aborts).
ConvertSummary convertTrace(const std::string& input, pcapng::Output& out, const ConvertOptions& o);

// Converts to a file (temp + rename) or, for output "-", to standard output.
ConvertSummary convertFile(const std::string& input, const std::string& output, const ConvertOptions& o);

// A packet selected for the IMDS scan.
struct ImdsPacket {
  int64_t fileTime = 0;
  uint16_t cpu = 0;
  uint32_t pid = 0, tid = 0;
  Source source = Source::Ndis;
  int32_t interfaceId = 0;
  Direction direction = Direction::Unknown;
  std::vector<uint8_t> ip;     // from the IP header to the end of the captured bytes
  uint32_t capturedLength = 0; // frame bytes logged (link layer included)
  uint32_t originalLength = 0; // frame bytes on the wire, as the event or the IP header says
  bool cut = false;            // logged shorter than it was (pktmon --pkt-size, netsh packettruncatebytes)
  bool hasPktmon = false;
  uint64_t pktGroupId = 0;
  uint16_t pktNumber = 0, appearance = 0, component = 0;
  bool dropped = false;
  uint64_t frame = 0;          // 1-based ordinal in the unfiltered conversion
};

// A non-packet record kept by the scan for the caller (process names, TCPIP
// connection events), copied out of the reader's buffer.
struct NameEvent {
  etl::EventRecord rec;            // rec.userData/extData are not valid: use userData
  std::vector<uint8_t> userData;
  const etl::Schema* schema = nullptr;  // owned by the scanner's registry (stable)
};

// What the packets as a whole show about how the capture was made (every packet
// counts, not only the IMDS ones): the JS side turns it into scan's capture notes.
struct CaptureFacts {
  uint64_t packets = 0;        // packets decoded, IMDS or not
  uint64_t packetsCut = 0;     // logged shorter than they were (see isCut)
  uint32_t snapLength = 0;     // largest logged length of a cut packet: the snap length (0: none cut)
  uint32_t largestPacket = 0;  // largest logged length of any packet
  uint64_t pktmonPackets = 0;  // by source: which tool made the capture
  uint64_t ndisPackets = 0;    // NDIS-PacketCapture, VMSwitch and NdisWan (netsh trace)
};

// A packet the capture logged shorter than it was: PktMon's LoggedSize below
// its OriginalSize, NDIS-PacketCapture's PacketTruncated keyword, or fewer bytes
// than the IP header's length. Our own cut of huge or fragment-damaged packets
// is not the capture's doing and does not count.
bool isCut(const Packet& p);

struct ScanOptions {
  bool hasPid = false;
  uint32_t pid = 0;
  etl::Backend backend = etl::Backend::Portable;
  // Records of these providers are handed out as NameEvents in the same pass
  // (so naming the callers needs no second read of the file).
  std::vector<etl::Guid> collect;
  // ... and of these only when their decoded LocalAddress or RemoteAddress
  // is IMDS (TCPIP connection events: only IMDS connections are looked up).
  std::vector<etl::Guid> collectImdsOnly;
};

// Pull-style scan: each nextBatch() reads on until `maxPackets` IMDS packets
// or `maxRecords` records were seen, `maxTime` has passed (0: no limit), or the end.
class PacketScanner {
 public:
  PacketScanner(const std::string& input, ScanOptions o);
  ~PacketScanner();
  // false when the trace is exhausted (out may still hold the last packets).
  // Collected records (ScanOptions::collect) go to `names` when given; the
  // batch also ends once `maxPackets` of them are waiting.
  bool nextBatch(std::vector<ImdsPacket>& out, size_t maxPackets, size_t maxRecords,
                 std::vector<NameEvent>* names = nullptr,
                 std::chrono::milliseconds maxTime = std::chrono::milliseconds(0));
  const etl::SchemaRegistry& schemas() const { return *schemas_; }
  std::vector<etl::Diagnostic> takeNewDiagnostics();
  uint64_t bytesDone() const;
  uint64_t fileSize() const;
  const PacketExtractor& extractor() const { return *extractor_; }
  PacketExtractor& extractor() { return *extractor_; }
  uint64_t records() const { return records_; }
  const CaptureFacts& captureFacts() const { return facts_; }
  const etl::LogfileHeader& header() const { return reader_->header(); }
  const etl::ReaderStats& readerStats() const { return reader_->stats(); }

 private:
  std::unique_ptr<etl::TraceSource> reader_;
  std::unique_ptr<etl::SchemaRegistry> schemas_;
  std::unique_ptr<PacketExtractor> extractor_;
  std::vector<ImdsPacket>* out_ = nullptr;
  ScanOptions opts_;
  CaptureFacts facts_;
  bool collecting_ = false;
  uint64_t records_ = 0;
  bool done_ = false;
};

// Adapter: layouts from the file's embedded schemas (etl/schema.h).
std::shared_ptr<LayoutResolver> schemaLayoutResolver(const etl::SchemaRegistry* registry);

}  // namespace capture

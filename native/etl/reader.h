// The portable .etl reader: walks the buffer chain, decompresses, decodes
// records and hands them out in the order ProcessTrace delivers them
// (header buffer first, then per-CPU streams merged by timestamp).
#pragma once
#include <cstdint>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <functional>
#include "event_record.h"
#include "diagnostics.h"
#include "logfile_header.h"
#include "buffer.h"
#include "trace_source.h"

namespace etl {

struct ReaderOptions {
  // Called for every diagnostic as it is found (the reader also keeps them).
  std::function<void(const Diagnostic&)> onDiagnostic;
  // Cap on diagnostics kept in memory; later ones are only counted.
  size_t maxKeptDiagnostics = 1000;
};

struct ReaderStats {
  uint64_t buffers = 0;            // buffers found in the chain
  uint64_t compressedBuffers = 0;
  uint64_t badBuffers = 0;         // skipped (bad header, decompression failure)
  uint64_t records = 0;            // records delivered
  uint64_t unknownRecords = 0;     // markers we could not classify (reported)
  uint64_t buffersWithLossFlag = 0;
  uint64_t bytesSkipped = 0;       // file bytes not decoded because of damage
  uint64_t diagnostics = 0;
  // What the buffer index says about a circular file (docs/etl-format.md, Delivery order):
  // the data buffers' SequenceNumbers count every buffer the session flushed,
  // so the oldest one left tells how many were overwritten.
  uint64_t oldestSequence = 0;     // lowest SequenceNumber of a data buffer (0: none)
  uint64_t newestSequence = 0;
  bool wrapped = false;            // FILE_MODE_CIRCULAR and buffers were overwritten
  // UTC FILETIME the oldest remaining buffer was flushed at: every overwritten
  // buffer was flushed before it, so from then on the file misses nothing. 0: unknown.
  int64_t completeFrom = 0;
  // Event bytes the data buffers hold (uncompressed): against the session's size
  // limit, whether the capture filled its file.
  uint64_t eventBytes = 0;
};

class FileSource;

class EtlReader : public TraceSource {
 public:
  // Opens and indexes the file (reads every buffer header; no event data).
  // Throws EtlError when the file cannot be read or is not an .etl.
  explicit EtlReader(const std::string& path, ReaderOptions opts = {});
  ~EtlReader() override;
  EtlReader(const EtlReader&) = delete;
  EtlReader& operator=(const EtlReader&) = delete;

  const LogfileHeader& header() const override { return header_; }
  const char* backendName() const override { return "portable"; }
  const std::string& path() const { return path_; }
  uint64_t fileSize() const override { return fileSize_; }
  const std::vector<BufferInfo>& buffers() const { return index_; }

  // Next record in delivery order; false at the end. `rec` points into
  // reader-owned memory valid until the next call.
  bool next(EventRecord& rec) override;

  // Bytes of the file consumed so far (for progress), in file-offset terms.
  uint64_t bytesDone() const override { return bytesDone_; }

  const ReaderStats& stats() const override { return stats_; }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  // Diagnostics added since the last call (for streaming them to JS).
  std::vector<Diagnostic> takeNewDiagnostics() override;

 private:
  struct Stream;
  void index();
  void summarizeDataBuffers();
  // True when every byte from `from` to the end of the file is zero.
  bool zerosToEnd(uint64_t from);
  bool loadBuffer(Stream& s, size_t indexPos);
  bool decodeAt(Stream& s, EventRecord& rec);
  void report(Severity sev, Code code, const std::string& what, uint64_t offset, int64_t buffer);

  std::string path_;
  ReaderOptions opts_;
  std::unique_ptr<FileSource> file_;
  uint64_t fileSize_ = 0;
  LogfileHeader header_;
  std::vector<BufferInfo> index_;
  std::vector<std::unique_ptr<Stream>> streams_;  // [0] = header buffer, then one per CPU
  // CPU streams with a pending record, as a min-heap on (time, rank); the key
  // is kept in the entry so ordering never chases the stream pointers.
  struct HeapEntry {
    int64_t time;
    size_t rank;
    size_t stream;
  };
  std::vector<HeapEntry> heap_;
  void siftDown(size_t i);
  bool started_ = false;
  size_t lastStream_ = SIZE_MAX;                 // stream of the record last handed out
  uint64_t bytesDone_ = 0;
  ReaderStats stats_;
  std::vector<Diagnostic> diagnostics_;
  size_t diagTaken_ = 0;
  std::vector<uint8_t> scratch_;                  // compressed bytes, reused
  std::vector<uint8_t> inflate_;                  // decompression output, swapped into a stream on success
  uint64_t heldBytes_ = 0;                        // capacity of all streams' buffers (bounded)
};

}  // namespace etl

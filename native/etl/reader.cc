#include "reader.h"
#include <algorithm>
#include <cstring>
#include <map>
#include "bytes.h"
#include "file_source.h"
#include "record.h"
#include "xpress.h"

namespace etl {

// One delivery stream: the header buffer, or all buffers of one CPU in
// SequenceNumber order. Holds one (decompressed) buffer at a time.
struct EtlReader::Stream {
  std::vector<size_t> buffers;  // positions in index_
  size_t nextBuffer = 0;
  std::vector<uint8_t> data;    // header + event area of the current buffer
  uint32_t end = 0;             // end of events in data
  uint32_t pos = 0;             // next record
  const BufferInfo* cur = nullptr;
  EventRecord pending;
  bool hasPending = false;
  int64_t lastRaw = 0;
  size_t rank = 0;              // order of first appearance in the file (tie-break)
};

namespace {

// Cap on the buffers all CPU streams hold at once (each holds its current
// buffer, at most the nominal buffer size: 16 MiB in pktmon files, whose
// buffers fill ~1 MiB; 512 KiB in netsh files).
constexpr uint64_t kMaxHeldBytes = uint64_t(512) << 20;

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

const char* sniff(const uint8_t* p, size_t n) {
  if (n >= 4 && rd32(p) == 0x0A0D0D0A) return "a pcapng file";
  if (n >= 4 && (rd32(p) == 0xA1B2C3D4 || rd32(p) == 0xD4C3B2A1 || rd32(p) == 0xA1B23C4D)) return "a pcap file";
  if (n >= 4 && p[0] == 'P' && p[1] == 'K' && p[2] == 3 && p[3] == 4) return "a zip archive";
  if (n >= 4 && p[0] == 'M' && p[1] == 'S' && p[2] == 'C' && p[3] == 'F') return "a cabinet (.cab) file";
  size_t printable = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t' || (p[i] >= 0x20 && p[i] < 0x7F)) printable++;
  if (n > 0 && printable == n) return "a text file";
  return nullptr;
}

bool plausibleHeader(const BufferHeader& h) {
  return h.bufferSize >= kBufferHeaderSize && h.type <= 8 &&
         (h.compressed() || (h.offset >= kBufferHeaderSize && h.offset <= h.bufferSize));
}

}  // namespace

EtlReader::EtlReader(const std::string& path, ReaderOptions opts) : path_(path), opts_(std::move(opts)) {
  file_ = std::make_unique<FileSource>(path);
  fileSize_ = file_->size();
  index();
}

EtlReader::~EtlReader() = default;

void EtlReader::report(Severity sev, Code code, const std::string& what, uint64_t offset, int64_t buffer) {
  Diagnostic d;
  d.severity = sev;
  d.code = code;
  d.offset = offset;
  d.buffer = buffer;
  d.message = path_ + ": " + (buffer >= 0 ? "buffer " + std::to_string(buffer) + " " : std::string()) + "at offset " +
              std::to_string(offset) + " (" + hex(offset) + "): " + what;
  stats_.diagnostics++;
  if (opts_.onDiagnostic) opts_.onDiagnostic(d);
  if (diagnostics_.size() < opts_.maxKeptDiagnostics) diagnostics_.push_back(std::move(d));
}

std::vector<Diagnostic> EtlReader::takeNewDiagnostics() {
  std::vector<Diagnostic> out(diagnostics_.begin() + std::ptrdiff_t(diagTaken_), diagnostics_.end());
  diagTaken_ = diagnostics_.size();
  return out;
}

void EtlReader::index() {
  uint8_t hb[kBufferHeaderSize + 0x20];
  if (fileSize_ == 0) throw EtlError{Code::NotEtl, path_ + ": empty file, not an .etl trace", 0, -1};
  size_t first = size_t(std::min<uint64_t>(fileSize_, sizeof hb));
  if (!file_->readAt(0, hb, first)) throw EtlError{Code::Io, path_ + ": read error at offset 0", 0, -1};
  if (first < sizeof hb) {
    const char* what = sniff(hb, first);
    throw EtlError{Code::NotEtl, path_ + ": not an .etl trace: " + std::to_string(fileSize_) + " bytes, too short" +
                                  (what ? std::string(" (looks like ") + what + ")" : ""), 0, -1};
  }
  BufferHeader h0 = BufferHeader::parse(hb);
  uint32_t marker = rd32(hb + kBufferHeaderSize);
  uint8_t htype = hb[kBufferHeaderSize + 2];
  if (h0.type != kBufferHeader || hb[kBufferHeaderSize + 3] != 0xC0 || (htype != 1 && htype != 2) ||
      rd16(hb + kBufferHeaderSize + 6) != 0) {
    const char* what = sniff(hb, first);
    throw EtlError{Code::NotEtl, path_ + ": not an .etl trace: offset 0 does not hold a trace header buffer" +
                                  (what ? std::string(" (looks like ") + what + ")" : std::string(" (first event marker ") + hex(marker) + ")"),
                   0, 0};
  }
  if (h0.bufferSize < kBufferHeaderSize || h0.compressed())
    throw EtlError{Code::NotEtl, path_ + ": buffer 0 at offset 0: header buffer has BufferSize " + std::to_string(h0.bufferSize) +
                                  (h0.compressed() ? " and is marked compressed" : ""), 0, 0};
  // The logfile header event lives in buffer #0.
  uint64_t b0Avail = std::min<uint64_t>(h0.bufferSize, fileSize_);
  uint32_t b0End = h0.offset >= kBufferHeaderSize && h0.offset <= b0Avail ? h0.offset : uint32_t(b0Avail);
  std::vector<uint8_t> b0(b0End);
  if (!file_->readAt(0, b0.data(), b0.size())) throw EtlError{Code::Io, path_ + ": read error in buffer 0", 0, 0};
  uint32_t evSize = rd16(b0.data() + kBufferHeaderSize + 4);
  if (evSize < 0x20 || kBufferHeaderSize + evSize > b0End)
    throw EtlError{Code::NotEtl, path_ + ": buffer 0 at offset 72: logfile header event size " + std::to_string(evSize) + " is invalid", 72, 0};
  std::string err = header_.parse(b0.data() + kBufferHeaderSize + 0x20, evSize - 0x20, htype == 2);
  if (!err.empty()) throw EtlError{Code::NotEtl, path_ + ": buffer 0 at offset 104: " + err, 104, 0};
  // EndTime is written when the session stops: a file read while its netsh or pktmon session still
  // runs has none, and lacks the events still held in the session's buffers (docs/etl-format.md,
  // A trace still being written).
  if (header_.endTime == 0)
    report(Severity::Warning, Code::EndMissing,
           "the logfile header has no end time: the trace was still being written (its session not stopped); events not yet flushed to the file are missing",
           kBufferHeaderSize + 0x20 + 0x10, 0);
  header_.referenceRaw = rdi64(b0.data() + kBufferHeaderSize + 0x10);
  if (header_.pointerSize != 4 && header_.pointerSize != 8) header_.pointerSize = htype == 2 ? 8 : 4;

  // Walk the chain by each buffer's own BufferSize.
  uint64_t pos = 0;
  uint32_t idx = 0;
  const bool fileCompressed = (header_.logFileMode & 0x04000000) != 0;
  while (pos < fileSize_) {
    uint64_t left = fileSize_ - pos;
    if (left < kBufferHeaderSize) {
      report(Severity::Warning, Code::Truncated, std::to_string(left) + " trailing bytes, too few for a buffer header: the end of the trace is missing (still being written, or cut)", pos, idx);
      stats_.bytesSkipped += left;
      break;
    }
    if (!file_->readAt(pos, hb, kBufferHeaderSize)) {
      report(Severity::Error, Code::Io, "read error", pos, idx);
      stats_.bytesSkipped += left;
      break;
    }
    BufferInfo bi;
    bi.fileOffset = pos;
    bi.index = idx;
    bi.header = BufferHeader::parse(hb);
    if (bi.header.bufferSize < kBufferHeaderSize && zerosToEnd(pos)) {
      // Space the file system or the session reserved ahead of the data (a trace copied while it
      // was being written): nothing more to read, and nothing damaged.
      report(Severity::Warning, Code::EndMissing, "the last " + std::to_string(left) +
             " bytes are zeros, buffers not yet written: the end of the trace is missing (still being written?)", pos, idx);
      stats_.bytesSkipped += left;
      break;
    }
    if (bi.header.bufferSize < kBufferHeaderSize) {
      report(Severity::Error, Code::BufferSize, "BufferSize " + std::to_string(bi.header.bufferSize) + " is smaller than the 72-byte buffer header", pos, idx);
      // Uncompressed files use one buffer size throughout: try to pick the chain up again there.
      uint64_t stride = header_.bufferSize;
      uint8_t nb[kBufferHeaderSize];
      if (!fileCompressed && stride >= kBufferHeaderSize && stride <= left) {
        bool resync = stride == left || (left - stride >= kBufferHeaderSize && file_->readAt(pos + stride, nb, kBufferHeaderSize) &&
                                         plausibleHeader(BufferHeader::parse(nb)));
        if (resync) {
          bi.usable = false;
          bi.onDisk = uint32_t(stride);
          index_.push_back(bi);
          stats_.buffers++;
          stats_.badBuffers++;
          stats_.bytesSkipped += stride;
          pos += stride;
          idx++;
          continue;
        }
      }
      stats_.bytesSkipped += left;
      report(Severity::Error, Code::ChainBroken, "cannot find the next buffer; " + std::to_string(left) + " bytes not read", pos, idx);
      break;
    }
    if (bi.header.bufferSize > left) {
      report(Severity::Warning, Code::Truncated, "BufferSize " + std::to_string(bi.header.bufferSize) + " runs past the end of the file (" +
                                                 std::to_string(left) + " bytes left): the end of the trace is missing (still being written, or cut)", pos, idx);
      bi.onDisk = uint32_t(left);
    } else {
      bi.onDisk = bi.header.bufferSize;
    }
    if (bi.header.compressed()) stats_.compressedBuffers++;
    if (bi.header.flags & (kEventsLost | kBufferLost)) stats_.buffersWithLossFlag++;
    index_.push_back(bi);
    stats_.buffers++;
    pos += bi.onDisk;
    idx++;
  }
  summarizeDataBuffers();
  // A circular file that wrapped holds fewer buffers than the session wrote: that is its nature, not damage.
  if (header_.buffersWritten && header_.buffersWritten != index_.size() && !stats_.wrapped)
    report(Severity::Warning, Code::BufferCount, "the logfile header says " + std::to_string(header_.buffersWritten) + " buffers were written; the file holds " +
                                                  std::to_string(index_.size()), fileSize_, -1);

  // Streams: buffer #0 first, then one per CPU in order of first appearance.
  auto s0 = std::make_unique<Stream>();
  s0->buffers.push_back(0);
  s0->rank = 0;
  streams_.push_back(std::move(s0));
  std::map<uint16_t, size_t> byCpu;
  for (size_t i = 1; i < index_.size(); i++) {
    if (!index_[i].usable) continue;
    uint16_t cpu = index_[i].header.processor;
    auto it = byCpu.find(cpu);
    if (it == byCpu.end()) {
      auto s = std::make_unique<Stream>();
      s->rank = streams_.size();
      it = byCpu.emplace(cpu, streams_.size()).first;
      streams_.push_back(std::move(s));
    }
    streams_[it->second]->buffers.push_back(i);
  }
  for (size_t k = 1; k < streams_.size(); k++) {
    auto& b = streams_[k]->buffers;
    std::stable_sort(b.begin(), b.end(), [&](size_t a, size_t c) {
      return index_[a].header.sequenceNumber < index_[c].header.sequenceNumber;
    });
  }
}

// What the data buffers say as a whole: their sequence numbers, the event bytes they hold, and
// whether a circular file wrapped (docs/etl-format.md, Delivery order). A circular file
// (FILE_MODE_CIRCULAR) overwrites its oldest data buffers once full; the header buffer stays
// first. The session numbers the buffers it flushes 1, 2, 3... (SequenceNumber) and counts them
// all in BuffersWritten, so a wrapped file has a first remaining sequence number above 1 and
// fewer buffers than BuffersWritten says.
void EtlReader::summarizeDataBuffers() {
  constexpr uint32_t kFileModeCircular = 0x2;
  const BufferInfo* oldest = nullptr;
  for (size_t i = 1; i < index_.size(); i++) {
    const BufferInfo& b = index_[i];
    if (!b.usable) continue;
    if (!oldest || b.header.sequenceNumber < oldest->header.sequenceNumber) oldest = &b;
    stats_.newestSequence = std::max(stats_.newestSequence, b.header.sequenceNumber);
    if (b.header.offset > kBufferHeaderSize) stats_.eventBytes += b.header.offset - kBufferHeaderSize;
  }
  if (!oldest) return;
  stats_.oldestSequence = oldest->header.sequenceNumber;
  if (!(header_.logFileMode & kFileModeCircular)) return;
  stats_.wrapped = header_.buffersWritten > index_.size() || stats_.oldestSequence > 1;
  if (!stats_.wrapped) return;
  // Every overwritten buffer was flushed before the oldest one left, whose flush time stamp is in
  // the session clock in files the kernel wrote (and a FILETIME in relogged ones). Only a time
  // inside the session is believed.
  const int64_t ts = int64_t(oldest->header.timeStamp);
  const int64_t lo = header_.startTime, hi = header_.endTime > 0 ? header_.endTime : INT64_MAX;
  const int64_t asClock = header_.toFileTime(ts);
  if (asClock >= lo && asClock <= hi) stats_.completeFrom = asClock;
  else if (ts >= lo && ts <= hi) stats_.completeFrom = ts;
}

bool EtlReader::zerosToEnd(uint64_t from) {
  std::vector<uint8_t> chunk(std::min<uint64_t>(fileSize_ - from, 1 << 20));
  for (uint64_t at = from; at < fileSize_;) {
    size_t n = size_t(std::min<uint64_t>(chunk.size(), fileSize_ - at));
    if (!file_->readAt(at, chunk.data(), n)) return false;
    for (size_t i = 0; i < n; i++)
      if (chunk[i]) return false;
    at += n;
  }
  return true;
}

bool EtlReader::loadBuffer(Stream& s, size_t ip) {
  const BufferInfo& bi = index_[ip];
  const BufferHeader& h = bi.header;
  const int64_t bidx = bi.index;
  s.cur = &bi;
  s.pos = kBufferHeaderSize;
  s.end = kBufferHeaderSize;
  bytesDone_ += bi.onDisk;
  if (!bi.usable) return false;
  if (!h.compressed()) {
    uint32_t end = h.offset;
    if (end < kBufferHeaderSize || end > h.bufferSize) {
      uint32_t alt = h.savedOffset >= kBufferHeaderSize && h.savedOffset <= h.bufferSize ? h.savedOffset : h.bufferSize;
      if (bi.index != 0 || end > h.bufferSize)  // buffer #0's Offset is sometimes stale; only a real overrun is worth a word
        report(Severity::Warning, Code::BufferOffset, "Offset " + std::to_string(end) + " lies outside the buffer (BufferSize " +
                                                       std::to_string(h.bufferSize) + "); using " + std::to_string(alt), bi.fileOffset, bidx);
      end = alt;
    }
    if (end > bi.onDisk) {
      report(Severity::Warning, Code::Truncated, "events end at " + std::to_string(end) + " but only " + std::to_string(bi.onDisk) +
                                                 " bytes of the buffer are in the file; reading what is there", bi.fileOffset, bidx);
      stats_.bytesSkipped += end - bi.onDisk;
      end = bi.onDisk;
    }
    if (s.data.size() < end) {
      heldBytes_ -= s.data.capacity();
      s.data.resize(end);
      heldBytes_ += s.data.capacity();
    }
    if (!file_->readAt(bi.fileOffset, s.data.data(), end)) {
      report(Severity::Error, Code::Io, "read error", bi.fileOffset, bidx);
      stats_.badBuffers++;
      return false;
    }
    s.end = end;
    return true;
  }
  // Compressed: the header is stored plain, the event area is one XPRESS stream.
  if (bi.onDisk < h.bufferSize) {
    report(Severity::Error, Code::Truncated, "compressed buffer cut by the end of the file; skipped", bi.fileOffset, bidx);
    stats_.badBuffers++;
    stats_.bytesSkipped += bi.onDisk;
    return false;
  }
  uint64_t limit = std::min<uint64_t>(std::max<uint64_t>(header_.bufferSize, 1u << 20), 256u << 20);
  if (h.offset < kBufferHeaderSize || h.offset - kBufferHeaderSize > limit) {
    report(Severity::Error, Code::BufferOffset, "compressed buffer claims " + std::to_string(h.offset) + " bytes of events (limit " +
                                                 std::to_string(limit + kBufferHeaderSize) + "); skipped", bi.fileOffset, bidx);
    stats_.badBuffers++;
    stats_.bytesSkipped += bi.onDisk;
    return false;
  }
  uint32_t csize = h.bufferSize - kBufferHeaderSize;
  // Real event buffers compress about 10:1 at most (events differ in time, sizes, payloads).
  // XPRESS can encode far more than that in a few bytes; a buffer claiming over 1024:1 is
  // hostile, and inflating it would only burn CPU time (thousands of them: hours).
  constexpr uint64_t kMaxRatio = 1024;
  if (uint64_t(h.offset - kBufferHeaderSize) > uint64_t(csize) * kMaxRatio + 4096) {
    report(Severity::Error, Code::CompressionRatio, "compressed buffer of " + std::to_string(csize) + " bytes claims " +
                                                    std::to_string(h.offset - kBufferHeaderSize) + " bytes of events (over " +
                                                    std::to_string(kMaxRatio) + ":1, not a real trace buffer); skipped", bi.fileOffset, bidx);
    stats_.badBuffers++;
    stats_.bytesSkipped += bi.onDisk;
    return false;
  }
  if (scratch_.size() < csize) scratch_.resize(csize);
  // Decompress into one reader-wide buffer and give it to the stream only on
  // success: a buffer that merely claims a huge size (hostile header) then
  // costs one allocation per file, not one kept per CPU stream (found by
  // fuzzing: 25 such buffers on 25 CPUs held 6.4 GB).
  if (inflate_.size() < h.offset) inflate_.resize(h.offset);
  // Every CPU stream holds its current buffer while the streams are merged:
  // a crafted file whose tiny buffers really inflate to the limit on many
  // CPUs must not multiply that without bound. Checked before inflating.
  uint64_t heldAfter = heldBytes_ - s.data.capacity() + inflate_.capacity();
  if (heldAfter > kMaxHeldBytes) {
    report(Severity::Error, Code::MemoryLimit, "this buffer (" + std::to_string(h.offset) + " bytes decompressed) and those the " +
                                                std::to_string(streams_.size() - 1) + " CPU streams hold would exceed " +
                                                std::to_string(kMaxHeldBytes >> 20) + " MiB; skipped", bi.fileOffset, bidx);
    stats_.badBuffers++;
    stats_.bytesSkipped += bi.onDisk;
    return false;
  }
  if (!file_->readAt(bi.fileOffset, inflate_.data(), kBufferHeaderSize) ||
      !file_->readAt(bi.fileOffset + kBufferHeaderSize, scratch_.data(), csize)) {
    report(Severity::Error, Code::Io, "read error", bi.fileOffset, bidx);
    stats_.badBuffers++;
    return false;
  }
  size_t outSize = h.offset - kBufferHeaderSize;
  uint8_t* out = inflate_.data() + kBufferHeaderSize;
  // Buffer #0's State names the compression format (2 LZNT1, 3 XPRESS); XPRESS is all we have seen.
  uint32_t format = index_.empty() ? 3 : (index_[0].header.state & 0xFFFF);
  DecompressResult r = format == 2 ? lznt1Decompress(scratch_.data(), csize, out, outSize)
                                   : xpressDecompress(scratch_.data(), csize, out, outSize);
  if (!r.ok && format != 2) {
    DecompressResult alt = lznt1Decompress(scratch_.data(), csize, out, outSize);
    if (alt.ok) r = alt;
  }
  if (!r.ok) {
    report(Severity::Error, Code::Decompress, "cannot decompress (" + r.error + "); buffer skipped", bi.fileOffset, bidx);
    stats_.badBuffers++;
    stats_.bytesSkipped += bi.onDisk;
    return false;
  }
  heldBytes_ = heldAfter;
  s.data.swap(inflate_);  // the stream's previous buffer (done with) becomes the next scratch
  s.end = h.offset;
  return true;
}

// Decodes the next record of stream s into s.pending, loading buffers as needed.
bool EtlReader::decodeAt(Stream& s, EventRecord& rec) {
  for (;;) {
    if (!s.cur || s.pos >= s.end) {
      if (s.nextBuffer >= s.buffers.size()) {
        // Stream done: its buffer memory goes back to the budget of the others
        // (the larger of it and the inflate scratch is kept as the scratch).
        heldBytes_ -= s.data.capacity();
        if (s.data.capacity() > inflate_.capacity()) s.data.swap(inflate_);
        std::vector<uint8_t>().swap(s.data);
        return false;
      }
      if (!loadBuffer(s, s.buffers[s.nextBuffer++])) {
        s.end = s.pos;  // nothing to read here
        continue;
      }
    }
    DecodeResult r = decodeRecord(s.data.data(), s.end, s.pos, header_.pointerSize, rec);
    const BufferInfo& bi = *s.cur;
    if (r.status == DecodeStatus::Ok) {
      rec.bufferIndex = bi.index;
      rec.bufferFileOffset = bi.fileOffset;
      rec.bufferCompressed = bi.header.compressed();
      rec.cpu = bi.header.processor;
      if (!r.hasTime) rec.rawTime = s.lastRaw;
      s.lastRaw = rec.rawTime;
      rec.fileTime = header_.toFileTime(rec.rawTime);
      s.pos = r.next;
      return true;
    }
    if (r.status == DecodeStatus::End) {
      s.pos = s.end;
      continue;
    }
    // Damaged or unknown record: the rest of this buffer cannot be walked.
    uint64_t where = bi.header.compressed() ? bi.fileOffset : bi.fileOffset + s.pos;
    std::string at = bi.header.compressed() ? "record at decompressed offset " + std::to_string(s.pos) + ": " : "record: ";
    if (r.status == DecodeStatus::Unknown) stats_.unknownRecords++;
    report(r.status == DecodeStatus::Unknown ? Severity::Warning : Severity::Error,
           r.status == DecodeStatus::Unknown ? Code::UnknownRecord : Code::RecordSize,
           at + r.error + "; " + std::to_string(s.end - s.pos) + " bytes of this buffer skipped", where, bi.index);
    stats_.bytesSkipped += s.end - s.pos;
    s.pos = s.end;
  }
}

namespace {
inline bool later(int64_t ta, size_t ra, int64_t tb, size_t rb) { return ta != tb ? ta > tb : ra > rb; }
}  // namespace

void EtlReader::siftDown(size_t i) {
  const size_t n = heap_.size();
  HeapEntry e = heap_[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && later(heap_[c].time, heap_[c].rank, heap_[c + 1].time, heap_[c + 1].rank)) ++c;
    if (!later(e.time, e.rank, heap_[c].time, heap_[c].rank)) break;
    heap_[i] = heap_[c];
    i = c;
  }
  heap_[i] = e;
}

bool EtlReader::next(EventRecord& rec) {
  if (!started_) {
    started_ = true;
    for (size_t k = 0; k < streams_.size(); k++) streams_[k]->hasPending = decodeAt(*streams_[k], streams_[k]->pending);
    // The header buffer goes first, whole; the CPU streams are merged after it.
    for (size_t k = 1; k < streams_.size(); k++)
      if (streams_[k]->hasPending) heap_.push_back({streams_[k]->pending.rawTime, streams_[k]->rank, k});
    for (size_t i = heap_.size() / 2; i-- > 0;) siftDown(i);
  } else if (lastStream_ != SIZE_MAX) {
    // Advance the stream whose record the caller has now finished with. A CPU
    // stream stays at the top of the heap while its record is out; its next
    // record replaces it there (one sift instead of a pop and a push).
    Stream& s = *streams_[lastStream_];
    s.hasPending = decodeAt(s, s.pending);
    if (lastStream_ != 0) {
      if (s.hasPending) {
        heap_[0].time = s.pending.rawTime;
        siftDown(0);
      } else {
        heap_[0] = heap_.back();
        heap_.pop_back();
        if (!heap_.empty()) siftDown(0);
      }
    }
    lastStream_ = SIZE_MAX;
  }
  size_t k;
  if (streams_[0]->hasPending) {
    k = 0;
  } else {
    if (heap_.empty()) return false;
    k = heap_[0].stream;
  }
  rec = streams_[k]->pending;
  lastStream_ = k;
  stats_.records++;
  return true;
}

}  // namespace etl

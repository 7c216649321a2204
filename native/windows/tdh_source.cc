// The Windows backend: the same TraceSource interface implemented with the ETW
// consumer API (OpenTrace/ProcessTrace), as etl2pcapng reads files. Used with
// `--backend tdh` to cross-check the portable reader on Windows: same records,
// same order, same timestamps.
//
// ProcessTrace pushes events through a callback on its own thread; next() pulls
// them from a bounded queue, so memory stays flat whatever the file size.
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <evntcons.h>
#include <evntrace.h>
#include <deque>
#include <string>
#include <vector>
#include "etl/reader.h"
#include "etl/trace_source.h"

namespace etl {
namespace {

std::wstring widen(const std::string& s) {
  int n = MultiByteToWideChar(CP_UTF8, 0, s.c_str(), int(s.size()), nullptr, 0);
  std::wstring w(size_t(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.c_str(), int(s.size()), &w[0], n);
  return w;
}

std::string narrow(const wchar_t* w) {
  if (!w) return {};
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return {};
  std::string s(size_t(n - 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w, -1, &s[0], n, nullptr, nullptr);
  return s;
}

Guid fromWin(const GUID& g) {
  Guid o;
  o.data1 = g.Data1;
  o.data2 = g.Data2;
  o.data3 = g.Data3;
  for (int i = 0; i < 8; i++) o.data4[i] = g.Data4[i];
  return o;
}

struct Owned {
  EventRecord rec;
  std::vector<uint8_t> user;
  std::vector<uint8_t> ext;  // re-encoded in the on-disk item layout (docs/etl-format.md, Extended data items)
};

class TdhSource : public TraceSource {
 public:
  explicit TdhSource(const std::string& path) : path_(path) {
    InitializeCriticalSection(&lock_);
    InitializeConditionVariable(&notEmpty_);
    InitializeConditionVariable(&notFull_);
    wpath_ = widen(path);
    ZeroMemory(&log_, sizeof log_);
    log_.LogFileName = &wpath_[0];
    log_.ProcessTraceMode = PROCESS_TRACE_MODE_EVENT_RECORD;
    log_.EventRecordCallback = &TdhSource::onEvent;
    log_.BufferCallback = &TdhSource::onBuffer;
    log_.Context = this;
    handle_ = OpenTraceW(&log_);
    if (handle_ == INVALID_PROCESSTRACE_HANDLE)
      throw EtlError{Code::Open, path + ": OpenTrace failed with Windows error " + std::to_string(GetLastError()), 0, -1};
    const TRACE_LOGFILE_HEADER& h = log_.LogfileHeader;
    header_.bufferSize = h.BufferSize;
    header_.majorVersion = h.VersionDetail.MajorVersion;
    header_.minorVersion = h.VersionDetail.MinorVersion;
    header_.subVersion = h.VersionDetail.SubVersion;
    header_.subMinorVersion = h.VersionDetail.SubMinorVersion;
    header_.providerVersion = h.ProviderVersion;
    header_.numberOfProcessors = h.NumberOfProcessors;
    header_.endTime = h.EndTime.QuadPart;
    header_.timerResolution = h.TimerResolution;
    header_.maximumFileSize = h.MaximumFileSize;
    header_.logFileMode = h.LogFileMode;
    header_.buffersWritten = h.BuffersWritten;
    header_.pointerSize = h.PointerSize;
    header_.eventsLost = h.EventsLost;
    header_.cpuSpeedMHz = h.CpuSpeedInMHz;
    header_.timeZoneBias = h.TimeZone.Bias;
    header_.bootTime = h.BootTime.QuadPart;
    header_.perfFreq = h.PerfFreq.QuadPart;
    header_.startTime = h.StartTime.QuadPart;
    header_.clockType = h.ReservedFlags;
    header_.buffersLost = h.BuffersLost;
    header_.loggerName = narrow(log_.LoggerName);
    header_.logFileName = narrow(log_.LogFileName);
    WIN32_FILE_ATTRIBUTE_DATA fa;
    if (GetFileAttributesExW(wpath_.c_str(), GetFileExInfoStandard, &fa))
      fileSize_ = (uint64_t(fa.nFileSizeHigh) << 32) | fa.nFileSizeLow;
    thread_ = CreateThread(nullptr, 0, &TdhSource::run, this, 0, nullptr);
    if (!thread_) {
      CloseTrace(handle_);
      throw EtlError{Code::Open, path + ": cannot start the ProcessTrace thread", 0, -1};
    }
  }

  ~TdhSource() override {
    EnterCriticalSection(&lock_);
    stop_ = true;
    WakeAllConditionVariable(&notFull_);
    LeaveCriticalSection(&lock_);
    WaitForSingleObject(thread_, INFINITE);
    CloseHandle(thread_);
    CloseTrace(handle_);
    DeleteCriticalSection(&lock_);
  }

  const LogfileHeader& header() const override { return header_; }
  const char* backendName() const override { return "tdh"; }
  const ReaderStats& stats() const override { return stats_; }
  uint64_t bytesDone() const override { return bytesDone_; }
  uint64_t fileSize() const override { return fileSize_; }
  std::vector<Diagnostic> takeNewDiagnostics() override {
    std::vector<Diagnostic> out;
    out.swap(diagnostics_);
    return out;
  }

  bool next(EventRecord& rec) override {
    EnterCriticalSection(&lock_);
    while (queue_.empty() && !finished_) SleepConditionVariableCS(&notEmpty_, &lock_, INFINITE);
    if (queue_.empty()) {
      if (status_ != ERROR_SUCCESS && !reported_) {
        reported_ = true;
        Diagnostic d;
        d.severity = Severity::Error;
        d.code = Code::ProcessTrace;
        d.message = path_ + ": ProcessTrace stopped with Windows error " + std::to_string(status_);
        diagnostics_.push_back(d);
      }
      LeaveCriticalSection(&lock_);
      return false;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    WakeConditionVariable(&notFull_);
    LeaveCriticalSection(&lock_);
    rec = current_.rec;
    rec.userData = current_.user.data();
    rec.userDataLen = uint32_t(current_.user.size());
    rec.extData = current_.ext.empty() ? nullptr : current_.ext.data();
    rec.extDataLen = uint32_t(current_.ext.size());
    stats_.records++;
    return true;
  }

 private:
  static DWORD WINAPI run(LPVOID p) {
    auto* self = static_cast<TdhSource*>(p);
    TRACEHANDLE h = self->handle_;
    ULONG st = ProcessTrace(&h, 1, nullptr, nullptr);
    EnterCriticalSection(&self->lock_);
    self->status_ = st;
    self->finished_ = true;
    WakeAllConditionVariable(&self->notEmpty_);
    LeaveCriticalSection(&self->lock_);
    return 0;
  }

  static ULONG WINAPI onBuffer(PEVENT_TRACE_LOGFILEW log) {
    auto* self = static_cast<TdhSource*>(log->Context);
    self->stats_.buffers++;
    self->bytesDone_ += log->Filled;
    return self->stop_ ? FALSE : TRUE;
  }

  static VOID WINAPI onEvent(PEVENT_RECORD r) {
    auto* self = static_cast<TdhSource*>(r->UserContext);
    Owned o;
    const EVENT_HEADER& h = r->EventHeader;
    EventRecord& e = o.rec;
    const bool classic = (h.Flags & EVENT_HEADER_FLAG_CLASSIC_HEADER) != 0;
    e.kind = classic ? RecordKind::Full : RecordKind::Event;
    e.pointer64 = (h.Flags & EVENT_HEADER_FLAG_64_BIT_HEADER) != 0;
    e.rawTime = h.TimeStamp.QuadPart;
    e.fileTime = h.TimeStamp.QuadPart;  // FILETIME: no RAW_TIMESTAMP mode
    e.cpu = uint16_t(GetEventProcessorIndex(r));
    e.pid = h.ProcessId;
    e.tid = h.ThreadId;
    e.provider = fromWin(h.ProviderId);
    e.version = h.EventDescriptor.Version;
    e.channel = h.EventDescriptor.Channel;
    e.level = h.EventDescriptor.Level;
    e.opcode = h.EventDescriptor.Opcode;
    e.task = h.EventDescriptor.Task;
    e.keywords = h.EventDescriptor.Keyword;
    // Classic events have no id of their own; like the portable reader, use the opcode.
    e.id = classic ? h.EventDescriptor.Opcode : h.EventDescriptor.Id;
    e.eventFlags = h.Flags;
    e.eventProperty = h.EventProperty;
    e.activityId = fromWin(h.ActivityId);
    if (r->UserData && r->UserDataLength)
      o.user.assign(static_cast<const uint8_t*>(r->UserData), static_cast<const uint8_t*>(r->UserData) + r->UserDataLength);
    for (USHORT i = 0; i < r->ExtendedDataCount; i++) {
      const EVENT_HEADER_EXTENDED_DATA_ITEM& x = r->ExtendedData[i];
      size_t len = (8 + size_t(x.DataSize) + 7) & ~size_t(7);
      size_t at = o.ext.size();
      o.ext.resize(at + len, 0);
      uint8_t* p = o.ext.data() + at;
      p[0] = uint8_t(len);
      p[1] = uint8_t(len >> 8);
      p[2] = uint8_t(x.ExtType);
      p[3] = uint8_t(x.ExtType >> 8);
      p[4] = i + 1 < r->ExtendedDataCount ? 1 : 0;
      p[6] = uint8_t(x.DataSize);
      p[7] = uint8_t(x.DataSize >> 8);
      memcpy(p + 8, reinterpret_cast<const void*>(x.DataPtr), x.DataSize);
    }
    EnterCriticalSection(&self->lock_);
    while (self->queue_.size() >= kQueueMax && !self->stop_) SleepConditionVariableCS(&self->notFull_, &self->lock_, INFINITE);
    if (!self->stop_) {
      self->queue_.push_back(std::move(o));
      WakeConditionVariable(&self->notEmpty_);
    }
    LeaveCriticalSection(&self->lock_);
  }

  static constexpr size_t kQueueMax = 4096;
  std::string path_;
  std::wstring wpath_;
  EVENT_TRACE_LOGFILEW log_;
  TRACEHANDLE handle_ = 0;
  HANDLE thread_ = nullptr;
  CRITICAL_SECTION lock_;
  CONDITION_VARIABLE notEmpty_, notFull_;
  std::deque<Owned> queue_;
  bool finished_ = false, stop_ = false, reported_ = false;
  ULONG status_ = ERROR_SUCCESS;
  Owned current_;
  LogfileHeader header_;
  ReaderStats stats_;
  std::vector<Diagnostic> diagnostics_;
  uint64_t bytesDone_ = 0, fileSize_ = 0;
};

}  // namespace

std::unique_ptr<TraceSource> openTdhSource(const std::string& path) { return std::make_unique<TdhSource>(path); }

}  // namespace etl
#endif  // _WIN32

// One interface for every way of reading a trace: the portable reader
// (EtlReader, default everywhere) and, on Windows, the ETW consumer API
// (native/windows/tdh_source.cc), used to cross-check the portable one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "diagnostics.h"
#include "event_record.h"
#include "logfile_header.h"

namespace etl {

struct ReaderStats;

class TraceSource {
 public:
  virtual ~TraceSource() = default;
  virtual const LogfileHeader& header() const = 0;
  // Next record in ProcessTrace order; pointers valid until the next call.
  virtual bool next(EventRecord& rec) = 0;
  virtual const ReaderStats& stats() const = 0;
  virtual std::vector<Diagnostic> takeNewDiagnostics() = 0;
  virtual uint64_t bytesDone() const = 0;
  virtual uint64_t fileSize() const = 0;
  virtual const char* backendName() const = 0;
};

enum class Backend { Portable, Tdh };

// Throws EtlError; Backend::Tdh throws on platforms without it.
std::unique_ptr<TraceSource> openTraceSource(const std::string& path, Backend backend);

// True where the TDH backend is compiled in (Windows builds).
bool tdhBackendAvailable();

}  // namespace etl

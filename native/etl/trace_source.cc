#include "trace_source.h"
#include "reader.h"

namespace etl {

#ifdef _WIN32
std::unique_ptr<TraceSource> openTdhSource(const std::string& path);  // native/windows/tdh_source.cc
bool tdhBackendAvailable() { return true; }
#else
bool tdhBackendAvailable() { return false; }
#endif

std::unique_ptr<TraceSource> openTraceSource(const std::string& path, Backend backend) {
  if (backend == Backend::Tdh) {
#ifdef _WIN32
    return openTdhSource(path);
#else
    throw EtlError{Code::Backend, "the tdh backend uses the Windows ETW consumer API and exists only on Windows; use the portable backend", 0, -1};
#endif
  }
  return std::make_unique<EtlReader>(path);
}

}  // namespace etl

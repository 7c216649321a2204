#include "convert_js.h"

namespace addon {

Napi::Object diagnosticToJs(Napi::Env env, const etl::Diagnostic& d, const std::string& file) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("severity", d.severity == etl::Severity::Error ? "error" : "warning");
  o.Set("code", etl::codeName(d.code));
  o.Set("message", d.message);
  o.Set("file", file);
  o.Set("offset", Napi::Number::New(env, double(d.offset)));
  o.Set("buffer", Napi::Number::New(env, double(d.buffer)));
  return o;
}

Napi::Object headerToJs(Napi::Env env, const etl::LogfileHeader& h, const std::string& file) {
  Napi::Object o = Napi::Object::New(env);
  static const char* clocks[] = {"raw", "QPC", "system time", "CPU cycle counter"};
  o.Set("file", file);
  o.Set("pointerSize", h.pointerSize);
  o.Set("osVersion", std::to_string(h.majorVersion) + "." + std::to_string(h.minorVersion));
  o.Set("osBuild", h.providerVersion);
  o.Set("layoutVersion", std::to_string(h.subVersion) + "." + std::to_string(h.subMinorVersion));
  o.Set("numberOfProcessors", h.numberOfProcessors);
  o.Set("clockType", h.clockType);
  o.Set("clockName", h.clockType < 4 ? clocks[h.clockType] : "unknown");
  o.Set("perfFreq", bigI64(env, h.perfFreq));
  o.Set("cpuSpeedMHz", h.cpuSpeedMHz);
  o.Set("startTime", bigI64(env, h.startTime));
  o.Set("endTime", bigI64(env, h.endTime));
  o.Set("bootTime", bigI64(env, h.bootTime));
  o.Set("timerResolution", h.timerResolution);
  o.Set("logFileMode", h.logFileMode);
  o.Set("bufferSize", h.bufferSize);
  o.Set("buffersWritten", h.buffersWritten);
  o.Set("maximumFileSize", h.maximumFileSize);
  o.Set("eventsLost", h.eventsLost);
  o.Set("buffersLost", h.buffersLost);
  o.Set("timeZoneBiasMinutes", h.timeZoneBias);
  o.Set("loggerName", h.loggerName);
  o.Set("logFileName", h.logFileName);
  return o;
}

Napi::Error errorToJs(Napi::Env env, etl::Code code, const std::string& message, const std::string& file,
                      uint64_t offset, int64_t buffer) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", std::string("ETL_") + etl::codeName(code));
  err.Set("file", file);
  err.Set("offset", Napi::Number::New(env, double(offset)));
  err.Set("buffer", Napi::Number::New(env, double(buffer)));
  return err;
}

Napi::Error etlErrorToJs(Napi::Env env, const etl::EtlError& e, const std::string& file) {
  return errorToJs(env, e.code, e.message, file, e.offset, e.buffer);
}

}  // namespace addon

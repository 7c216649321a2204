// Small helpers shared by the N-API glue files: C++ values → JS values.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>
#include "etl/diagnostics.h"
#include "etl/logfile_header.h"

namespace addon {

inline Napi::Value bigU64(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }
inline Napi::Value bigI64(Napi::Env env, int64_t v) { return Napi::BigInt::New(env, v); }

Napi::Object diagnosticToJs(Napi::Env env, const etl::Diagnostic& d, const std::string& file);
Napi::Object headerToJs(Napi::Env env, const etl::LogfileHeader& h, const std::string& file);
// A JS Error carrying code ("ETL_" + the code's name), file, offset and buffer.
Napi::Error errorToJs(Napi::Env env, etl::Code code, const std::string& message, const std::string& file,
                      uint64_t offset, int64_t buffer);
Napi::Error etlErrorToJs(Napi::Env env, const etl::EtlError& e, const std::string& file);

}  // namespace addon

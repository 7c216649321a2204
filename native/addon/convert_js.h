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
// Throws a JS Error carrying code/offset/buffer from an EtlError.
Napi::Error etlErrorToJs(Napi::Env env, const etl::EtlError& e, const std::string& file);

}  // namespace addon

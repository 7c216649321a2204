#pragma once
#include <napi.h>

namespace addon {
// Registers TraceReader and summarize() on the addon's exports.
void InitTraceReader(Napi::Env env, Napi::Object exports);
}  // namespace addon

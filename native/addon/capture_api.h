#pragma once
#include <napi.h>

namespace addon {
// Registers convert() and scanPackets() (native/addon/convert.cc).
void InitCapture(Napi::Env env, Napi::Object exports);
}  // namespace addon

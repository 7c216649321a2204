#pragma once
#include <napi.h>

namespace addon {
// Registers xpressDecompress and lznt1Decompress (tests compare them with an independent decoder).
void InitDecompress(Napi::Env env, Napi::Object exports);
}  // namespace addon

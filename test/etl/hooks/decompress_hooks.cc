// A test-only addon (never shipped): xpressDecompress(src, size) and
// lznt1Decompress(src, size), the reader's decoders on one stream, for tests
// that compare them with an independent decoder (test/tools/gen/reference.ts)
// on real and random streams. Built by test/support/hooks.ts with the
// binding.gyp beside it.
#include <napi.h>
#include "etl/xpress.h"

namespace {

using Decoder = etl::DecompressResult (*)(const uint8_t*, size_t, uint8_t*, size_t);

template <Decoder decode>
Napi::Value Decompress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "expected (src: Uint8Array, size: number)");
  Napi::Uint8Array src = info[0].As<Napi::Uint8Array>();
  double want = info[1].As<Napi::Number>().DoubleValue();
  if (!(want >= 0 && want <= double(256u << 20))) throw Napi::RangeError::New(env, "size must be 0..256 MiB");
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, size_t(want));
  etl::DecompressResult r = decode(src.Data(), src.ElementLength(), out.Data(), out.Length());
  if (!r.ok) throw Napi::Error::New(env, r.error);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("xpressDecompress", Napi::Function::New(env, Decompress<etl::xpressDecompress>, "xpressDecompress"));
  exports.Set("lznt1Decompress", Napi::Function::New(env, Decompress<etl::lznt1Decompress>, "lznt1Decompress"));
  return exports;
}

}  // namespace

NODE_API_MODULE(etl_imds_test_hooks, Init)

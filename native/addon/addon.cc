// Addon entry point: each area registers its own functions.
#include <napi.h>
#include "decompress_js.h"
#include "trace_reader.h"
#if __has_include("capture_api.h")
#include "capture_api.h"
#define ETL_HAVE_CAPTURE 1
#endif

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  addon::InitTraceReader(env, exports);
  addon::InitDecompress(env, exports);
#ifdef ETL_HAVE_CAPTURE
  addon::InitCapture(env, exports);
#endif
  exports.Set("backend", "portable");
  return exports;
}

NODE_API_MODULE(etl_imds, Init)

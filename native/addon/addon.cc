// Addon entry point: each area registers its own functions.
#include <napi.h>
#include <utility>
#include "constants.h"
#include "etl/diagnostics.h"
#include "trace_reader.h"
#if __has_include("capture_api.h")
#include "capture_api.h"
#define ETL_HAVE_CAPTURE 1
#endif

// What the TypeScript side checks its own copies against (test/native/binding.test.ts):
// the diagnostic codes and the constants of native/constants.h.
static void InitContract(Napi::Env env, Napi::Object exports) {
  const auto& names = etl::codeNames();
  Napi::Array codes = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) codes.Set(uint32_t(i), names[i]);
  exports.Set("codes", codes);

  Napi::Object imds = Napi::Object::New(env);
  imds.Set("ipv4", Napi::Buffer<uint8_t>::Copy(env, known::kImdsIpv4, sizeof known::kImdsIpv4));
  imds.Set("ipv6", Napi::Buffer<uint8_t>::Copy(env, known::kImdsIpv6, sizeof known::kImdsIpv6));
  imds.Set("port", known::kImdsPort);
  Napi::Object providers = Napi::Object::New(env);
  const std::pair<const char*, const etl::Guid*> guids[] = {
      {"ndisPacketCapture", &known::kNdisPacketCapture}, {"pktMon", &known::kPktMon},
      {"ndisWanCapture", &known::kNdisWanCapture},       {"kernelProcess", &known::kKernelProcess},
      {"tcpip", &known::kTcpip},                         {"eventTrace", &known::kEventTrace},
      {"eventMetadata", &known::kEventMetadata},         {"processClass", &known::kProcessClass},
      {"threadClass", &known::kThreadClass},             {"imageClass", &known::kImageClass},
      {"eventTraceConfig", &known::kEventTraceConfig},   {"systemConfigEx", &known::kSystemConfigEx},
  };
  for (const auto& [name, guid] : guids) providers.Set(name, guid->toString());
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("imds", imds);
  constants.Set("providers", providers);
  exports.Set("constants", constants);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitContract(env, exports);
  addon::InitTraceReader(env, exports);
#ifdef ETL_HAVE_CAPTURE
  addon::InitCapture(env, exports);
#endif
  exports.Set("backend", "portable");
  return exports;
}

NODE_API_MODULE(etl_imds, Init)

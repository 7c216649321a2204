#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>
#include "etl/event_record.h"

namespace etl { struct Schema; class SchemaRegistry; }

namespace addon {
// Registers TraceReader and summarize() on the addon's exports.
void InitTraceReader(Napi::Env env, Napi::Object exports);

// One event as TraceReader.readBatch() hands it to JS (the TraceEvent type):
// rec's header fields, `data` as userData, properties decoded with `schema`
// (may be null) and value maps from `reg` (may be null).
Napi::Object eventToJs(Napi::Env env, const etl::EventRecord& rec, const uint8_t* data, size_t len,
                       const etl::Schema* schema, const etl::SchemaRegistry* reg);
}  // namespace addon

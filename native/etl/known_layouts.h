// Built-in schemas: the layouts of the events this project reads, for files
// that carry no schema of their own (a kernel logger's file, a trace that was
// not merged). They are ordinary etl::Schema objects, decoded by the same
// decode() as the schemas a file embeds, with the property names Windows'
// own schemas use. The table itself, one entry per event and version, is
// known_layouts.cc: the one place a layout is written down.
#pragma once
#include <cstdint>
#include <vector>
#include "event_record.h"
#include "guid.h"
#include "schema.h"

namespace etl {

// The built-in schema for this record, or nullptr. Manifest events
// (EVENT_HEADER) match by (provider, event id), classic and kernel events by
// (event class, opcode); among the versions written down, the newest one not
// newer than the record's is used (providers append fields in new versions).
const Schema* knownLayout(const EventRecord& rec);
const Schema* knownLayout(const Guid& providerOrClass, uint16_t idOrOpcode, uint8_t version, bool classic);
// Every built-in schema (for tests and fuzzing).
const std::vector<const Schema*>& allKnownLayouts();

}  // namespace etl

// Decoding one record (trace header + payload) from a buffer's event area,
// docs/etl-format.md, Record kinds and markers.
#pragma once
#include <cstdint>
#include <string>
#include "event_record.h"

namespace etl {

enum class DecodeStatus { Ok, End, Bad, Unknown };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::Ok;
  uint32_t next = 0;         // offset of the following record (8-aligned)
  bool hasTime = true;       // false for WPP messages without a timestamp
  std::string error;         // for Bad / Unknown
};

// Decodes the record at `pos` of `data` (a whole buffer, header included;
// events end at `end`). Fills the header-derived fields of `rec`
// (not fileTime, cpu or buffer fields, which the reader sets).
DecodeResult decodeRecord(const uint8_t* data, uint32_t end, uint32_t pos, uint32_t filePointerSize, EventRecord& rec);

}  // namespace etl

// EVENT_DESCRIPTOR (16 bytes): an event's identity as both the EVENT_HEADER of
// a record and a TRACE_EVENT_INFO schema blob carry it (docs/etl-format.md,
// EVENT_HEADER; docs/etl-format.md, Embedded schemas). The caller has checked
// that 16 bytes are there.
#pragma once
#include <cstdint>
#include "bytes.h"

namespace etl {

struct EventDescriptor {
  uint16_t id = 0;
  uint8_t version = 0;
  uint8_t channel = 0;
  uint8_t level = 0;
  uint8_t opcode = 0;
  uint16_t task = 0;
  uint64_t keyword = 0;
};

inline EventDescriptor readEventDescriptor(const uint8_t* p) {
  EventDescriptor d;
  d.id = rd16(p);
  d.version = p[2];
  d.channel = p[3];
  d.level = p[4];
  d.opcode = p[5];
  d.task = rd16(p + 6);
  d.keyword = rd64(p + 8);
  return d;
}

}  // namespace etl

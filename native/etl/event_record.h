// One decoded ETW record, as the portable reader hands it to consumers
// (capture decoders, the schema decoder, the N-API layer). Pointers point
// into the reader's current buffer and are valid until the next call to
// EtlReader::next().
#pragma once
#include <cstdint>
#include <cstddef>
#include "event_descriptor.h"
#include "guid.h"

namespace etl {

// Which on-disk header produced the record (docs/etl-format.md, Record kinds and markers).
enum class RecordKind : uint8_t {
  System,        // SYSTEM_TRACE_HEADER (types 1/2) or compact (3/4)
  PerfInfo,      // PERFINFO_TRACE_HEADER (0x10/0x11): no PID/TID
  Full,          // EVENT_TRACE_HEADER, classic MOF (0x0A/0x14)
  Instance,      // EVENT_INSTANCE_GUID_HEADER (0x0B/0x15)
  Event,         // EVENT_HEADER, manifest/TraceLogging (0x12/0x13)
  Message,       // WPP MESSAGE_TRACE_HEADER (byte3 0x90)
};

struct EventRecord {
  // Where the record sits: the buffer's index in file order (0 = header
  // buffer) and the file offset of that buffer; recordOffset is the record's
  // offset inside the (decompressed) buffer, header included.
  uint32_t bufferIndex = 0;
  uint64_t bufferFileOffset = 0;
  uint32_t recordOffset = 0;
  bool bufferCompressed = false;

  RecordKind kind = RecordKind::Event;
  uint8_t headerType = 0;     // byte 2 of the marker (0 for Message)
  uint16_t size = 0;          // record size including header
  bool pointer64 = true;      // payload pointer width (from the header type)

  int64_t rawTime = 0;        // session clock
  int64_t fileTime = 0;       // UTC FILETIME (100 ns since 1601)
  uint16_t cpu = 0;
  uint32_t pid = 0xFFFFFFFF;  // 0xFFFFFFFF when the header has none
  uint32_t tid = 0xFFFFFFFF;

  // Provider identity. For EVENT_HEADER records: provider GUID and the event
  // descriptor. For classic/system records: the event-class GUID (for system
  // records the kernel group's GUID, docs/etl-format.md, Kernel group GUIDs), id = 0, opcode = Type.
  Guid provider{};
  uint16_t id = 0;
  uint8_t version = 0;
  uint8_t channel = 0;
  uint8_t level = 0;
  uint8_t opcode = 0;
  uint16_t task = 0;
  uint64_t keywords = 0;
  uint16_t eventFlags = 0;    // EVENT_HEADER.Flags (0 for other kinds)
  uint16_t eventProperty = 0; // EVENT_HEADER.EventProperty
  uint16_t hookId = 0;        // SYSTEM/PERFINFO: Type | Group << 8
  Guid activityId{};

  // Extended data items (EVENT_HEADER with EXTENDED_INFO), raw on-disk chain.
  const uint8_t* extData = nullptr;
  uint32_t extDataLen = 0;

  // Payload (user data / MOF data / message arguments).
  const uint8_t* userData = nullptr;
  uint32_t userDataLen = 0;

  EventDescriptor descriptor() const { return EventDescriptor{id, version, channel, level, opcode, task, keywords}; }
  void setDescriptor(const EventDescriptor& d) {
    id = d.id;
    version = d.version;
    channel = d.channel;
    level = d.level;
    opcode = d.opcode;
    task = d.task;
    keywords = d.keyword;
  }
};

}  // namespace etl

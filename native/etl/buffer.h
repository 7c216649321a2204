// WMI_BUFFER_HEADER (72 bytes, same for 32- and 64-bit files), docs/etl-format.md, Buffer header.
#pragma once
#include <cstdint>

namespace etl {

constexpr uint32_t kBufferHeaderSize = 0x48;

enum BufferFlag : uint16_t {
  kFlushMarker = 0x0001,
  kEventsLost = 0x0002,
  kBufferLost = 0x0004,
  kRtBackupCorrupt = 0x0008,
  kRtBackup = 0x0010,
  kProcIndex = 0x0020,
  kCompressed = 0x0040,
};

enum BufferType : uint16_t { kBufferGeneric = 0, kBufferRundown = 1, kBufferHeader = 4 };

struct BufferHeader {
  uint32_t bufferSize = 0;     // on-disk size: stride to the next buffer
  uint32_t savedOffset = 0;
  uint64_t timeStamp = 0;
  uint64_t sequenceNumber = 0;
  uint16_t processor = 0;
  uint16_t loggerId = 0;
  uint32_t state = 0;
  uint32_t offset = 0;         // filled size (uncompressed), header included
  uint16_t flags = 0;
  uint16_t type = 0;

  static BufferHeader parse(const uint8_t* p);  // p has kBufferHeaderSize bytes
  bool compressed() const { return flags & kCompressed; }
};

// What the index keeps per buffer: enough to order and load it later.
struct BufferInfo {
  uint64_t fileOffset = 0;
  uint32_t index = 0;          // position in file order
  BufferHeader header;
  uint32_t onDisk = 0;         // bytes present in the file (< bufferSize if truncated)
  bool usable = true;          // false when its header is damaged
};

}  // namespace etl

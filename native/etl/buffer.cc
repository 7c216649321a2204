#include "buffer.h"
#include "bytes.h"

namespace etl {

BufferHeader BufferHeader::parse(const uint8_t* p) {
  BufferHeader h;
  h.bufferSize = rd32(p + 0x00);
  h.savedOffset = rd32(p + 0x04);
  h.timeStamp = rd64(p + 0x10);
  h.sequenceNumber = rd64(p + 0x18);
  h.flags = rd16(p + 0x34);
  h.type = rd16(p + 0x36);
  // ProcessorIndex (16-bit) is valid only with PROC_INDEX; otherwise the low byte.
  h.processor = (h.flags & kProcIndex) ? uint16_t(rd16(p + 0x28) & 0x07FF) : p[0x28];
  h.loggerId = rd16(p + 0x2A);
  h.state = rd32(p + 0x2C);
  h.offset = rd32(p + 0x30);
  return h;
}

}  // namespace etl

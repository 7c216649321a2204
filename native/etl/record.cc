#include "record.h"
#include "bytes.h"
#include "event_descriptor.h"
#include "providers.h"

namespace etl {

namespace {

// Header sizes per TRACE_HEADER_TYPE (docs/etl-format.md, Record kinds and markers); 0 = not decodable.
struct TypeInfo {
  uint32_t headerSize;
  bool sizeAt4;   // Packet.Size at +4 (SYSTEM/COMPACT/PERFINFO) rather than +0
  bool ptr64;
  RecordKind kind;
};

bool typeInfo(uint8_t t, TypeInfo& ti) {
  switch (t) {
    case 0x01: ti = {0x20, true, false, RecordKind::System}; return true;
    case 0x02: ti = {0x20, true, true, RecordKind::System}; return true;
    case 0x03: ti = {0x18, true, false, RecordKind::System}; return true;
    case 0x04: ti = {0x18, true, true, RecordKind::System}; return true;
    case 0x0A: ti = {0x30, false, false, RecordKind::Full}; return true;
    case 0x14: ti = {0x30, false, true, RecordKind::Full}; return true;
    case 0x0B: ti = {0x48, false, false, RecordKind::Instance}; return true;
    case 0x15: ti = {0x48, false, true, RecordKind::Instance}; return true;
    case 0x10: ti = {0x10, true, false, RecordKind::PerfInfo}; return true;
    case 0x11: ti = {0x10, true, true, RecordKind::PerfInfo}; return true;
    case 0x12: ti = {0x50, false, false, RecordKind::Event}; return true;
    case 0x13: ti = {0x50, false, true, RecordKind::Event}; return true;
    default: return false;
  }
}

std::string hex32(uint32_t v) {
  static const char* d = "0123456789abcdef";
  std::string s = "0x";
  for (int i = 7; i >= 0; i--) s.push_back(d[(v >> (i * 4)) & 0xF]);
  return s;
}

DecodeResult bad(DecodeStatus st, const std::string& why) {
  DecodeResult r;
  r.status = st;
  r.error = why;
  return r;
}

DecodeResult decodeMessage(const uint8_t* p, uint32_t avail, uint32_t filePtr, EventRecord& rec) {
  // WPP MESSAGE_TRACE_HEADER: u16 size, reserved, 0x90, u16 MessageNumber, u16 OptionFlags.
  uint32_t size = rd16(p);
  if (size < 8) return bad(DecodeStatus::Bad, "message record size " + std::to_string(size) + " smaller than its 8-byte header");
  if (size > avail) return bad(DecodeStatus::Bad, "message record size " + std::to_string(size) + " runs past the buffer's filled size");
  uint16_t opts = rd16(p + 6);
  uint32_t q = 8;
  auto need = [&](uint32_t n) { return q + n <= size; };
  DecodeResult r;
  rec.kind = RecordKind::Message;
  rec.headerType = 0;
  rec.size = uint16_t(size);
  rec.id = rd16(p + 4);
  rec.provider = Guid{};
  if (opts & 0x0001) {  // sequence
    if (!need(4)) return bad(DecodeStatus::Bad, "message record too short for its sequence number");
    q += 4;
  }
  if (opts & 0x0002) {  // message GUID
    if (!need(16)) return bad(DecodeStatus::Bad, "message record too short for its GUID");
    rec.provider = Guid::fromBytes(p + q);
    q += 16;
  } else if (opts & 0x0004) {  // component id
    if (!need(4)) return bad(DecodeStatus::Bad, "message record too short for its component id");
    q += 4;
  }
  r.hasTime = false;
  if (opts & (0x0008 | 0x0010)) {
    if (!need(8)) return bad(DecodeStatus::Bad, "message record too short for its timestamp");
    rec.rawTime = rdi64(p + q);
    r.hasTime = true;
    q += 8;
  }
  if (opts & 0x0020) {
    if (!need(8)) return bad(DecodeStatus::Bad, "message record too short for its thread/process ids");
    rec.tid = rd32(p + q);
    rec.pid = rd32(p + q + 4);
    q += 8;
  }
  rec.pointer64 = (opts & 0x0080) ? true : (opts & 0x0040) ? false : filePtr == 8;
  rec.userData = p + q;
  rec.userDataLen = size - q;
  r.status = DecodeStatus::Ok;
  r.next = 0;
  return r;
}

}  // namespace

DecodeResult decodeRecord(const uint8_t* data, uint32_t end, uint32_t pos, uint32_t filePtr, EventRecord& rec) {
  if (pos >= end) return bad(DecodeStatus::End, "");
  uint32_t avail = end - pos;
  if (avail < 4) {
    // Fewer bytes than any header: only acceptable as 0xFF fill.
    return bad(DecodeStatus::Bad, "record header cut by the buffer's filled size (" + std::to_string(avail) + " bytes left)");
  }
  const uint8_t* p = data + pos;
  uint32_t marker = rd32(p);
  if (marker == 0xFFFFFFFFu) return bad(DecodeStatus::End, "");
  rec.recordOffset = pos;
  rec.pid = 0xFFFFFFFFu;
  rec.tid = 0xFFFFFFFFu;
  rec.extData = nullptr;
  rec.extDataLen = 0;
  rec.eventFlags = 0;
  rec.eventProperty = 0;
  rec.hookId = 0;
  rec.keywords = 0;
  rec.channel = rec.level = rec.opcode = 0;
  rec.task = 0;
  rec.version = 0;
  rec.activityId = Guid{};

  uint8_t flags = p[3];
  if (flags == 0x90) {
    DecodeResult r = decodeMessage(p, avail, filePtr, rec);
    if (r.status == DecodeStatus::Ok) r.next = uint32_t(align8(uint64_t(pos) + rec.size));
    return r;
  }
  if (flags != 0xC0) return bad(DecodeStatus::Unknown, "unknown record marker " + hex32(marker));
  uint8_t type = p[2];
  TypeInfo ti;
  if (!typeInfo(type, ti)) return bad(DecodeStatus::Unknown, "unsupported trace header type " + hex32(marker));
  if (avail < ti.headerSize) return bad(DecodeStatus::Bad, "record header (" + std::to_string(ti.headerSize) + " bytes) cut by the buffer's filled size");
  uint32_t size = ti.sizeAt4 ? rd16(p + 4) : rd16(p);
  if (size < ti.headerSize) return bad(DecodeStatus::Bad, "record size " + std::to_string(size) + " smaller than its header (" + std::to_string(ti.headerSize) + ")");
  if (size > avail) return bad(DecodeStatus::Bad, "record size " + std::to_string(size) + " runs past the buffer's filled size");

  rec.kind = ti.kind;
  rec.headerType = type;
  rec.size = uint16_t(size);
  rec.pointer64 = ti.ptr64;
  uint32_t payload = ti.headerSize;

  switch (ti.kind) {
    case RecordKind::System: {
      rec.version = uint8_t(rd16(p));
      rec.hookId = rd16(p + 6);
      rec.tid = rd32(p + 8);
      rec.pid = rd32(p + 0xC);
      rec.rawTime = rdi64(p + 0x10);
      rec.opcode = uint8_t(rec.hookId & 0xFF);
      rec.id = rec.opcode;
      rec.provider = kernelEventClass(rec.hookId);
      break;
    }
    case RecordKind::PerfInfo: {
      uint16_t ver = rd16(p);
      rec.version = uint8_t(ver & ~0x8700);
      rec.hookId = rd16(p + 6);
      rec.rawTime = rdi64(p + 8);
      rec.opcode = uint8_t(rec.hookId & 0xFF);
      rec.id = rec.opcode;
      rec.provider = kernelEventClass(rec.hookId);
      uint32_t ext = ((ver & 0x8000) ? 8 : 0) + 8 * ((ver >> 8) & 7);
      if (payload + ext > size) return bad(DecodeStatus::Bad, "PERFINFO record too short for its PEBS/PMC extension");
      payload += ext;
      break;
    }
    case RecordKind::Full:
    case RecordKind::Instance: {
      rec.opcode = p[4];
      rec.level = p[5];
      rec.version = uint8_t(rd16(p + 6));
      rec.tid = rd32(p + 8);
      rec.pid = rd32(p + 0xC);
      rec.rawTime = rdi64(p + 0x10);
      rec.provider = Guid::fromBytes(p + 0x18);
      rec.id = rec.opcode;
      break;
    }
    case RecordKind::Event: {
      rec.eventFlags = rd16(p + 4);
      rec.eventProperty = rd16(p + 6);
      rec.tid = rd32(p + 8);
      rec.pid = rd32(p + 0xC);
      rec.rawTime = rdi64(p + 0x10);
      rec.provider = Guid::fromBytes(p + 0x18);
      rec.setDescriptor(readEventDescriptor(p + 0x28));
      rec.activityId = Guid::fromBytes(p + 0x40);
      if (rec.eventFlags & 0x0001) {
        // Extended data items: each u16 item length (8-aligned), u16 type, u16 linkage, u16 data size.
        uint32_t q = payload;
        for (;;) {
          if (q + 8 > size) return bad(DecodeStatus::Bad, "extended data item header runs past the record");
          uint32_t itemLen = rd16(p + q);
          uint16_t linkage = rd16(p + q + 4);
          uint32_t dataSize = rd16(p + q + 6);
          if (itemLen < 8 + dataSize) itemLen = uint32_t(align8(8 + dataSize));
          if (q + itemLen > size) return bad(DecodeStatus::Bad, "extended data item runs past the record");
          q += itemLen;
          if (!(linkage & 1)) break;
        }
        rec.extData = p + payload;
        rec.extDataLen = q - payload;
        payload = q;
      }
      break;
    }
    case RecordKind::Message:
      break;
  }
  rec.userData = p + payload;
  rec.userDataLen = size - payload;
  DecodeResult r;
  r.status = DecodeStatus::Ok;
  r.next = uint32_t(align8(uint64_t(pos) + size));
  return r;
}

}  // namespace etl

// TraceLogging self-describing events: the metadata in each event's
// EVENT_SCHEMA_TL extended item and the provider traits, mapped onto the TDH
// Schema shape (docs/etl-format.md, TraceLogging metadata; the TraceLogging metadata description in
// TraceLoggingProvider.h, restated, not copied).
#include <cstdint>
#include <string>
#include <vector>

#include "bytes.h"
#include "schema.h"
#include "schema_internal.h"
#include "text.h"

namespace etl {

namespace {

using detail::kMaxDepth;

OutType mapTlOutType(uint8_t out, InType in) {
  auto bySize = [&](OutType o8, OutType o16, OutType o32, OutType o64, OutType other) {
    switch (in) {
      case InType::Int8: case InType::UInt8: return o8;
      case InType::Int16: case InType::UInt16: return o16;
      case InType::Int32: case InType::UInt32: case InType::HexInt32: case InType::Boolean: return o32;
      case InType::Int64: case InType::UInt64: case InType::HexInt64: return o64;
      default: return other;
    }
  };
  switch (out) {
    case 0: return OutType::Null;
    case 1: return OutType::NoPrint;
    case 2: return OutType::String;
    case 3: return OutType::Boolean;
    case 4: return bySize(OutType::HexInt8, OutType::HexInt16, OutType::HexInt32, OutType::HexInt64,
                          OutType::HexBinary);
    case 5: return OutType::Pid;
    case 6: return OutType::Tid;
    case 7: return OutType::Port;
    case 8: return OutType::Ipv4;
    case 9: return OutType::Ipv6;
    case 10: return OutType::SocketAddress;
    case 11: return OutType::Xml;
    case 12: return OutType::Json;
    case 13: return OutType::Win32Error;
    case 14: return OutType::NtStatus;
    case 15: return OutType::HResult;
    case 16: return OutType::DateTime;  // FILETIME carried in a 64-bit integer
    case 17: return bySize(OutType::Byte, OutType::Short, OutType::Int, OutType::Long, OutType::Null);
    case 18: return bySize(OutType::UnsignedByte, OutType::UnsignedShort, OutType::UnsignedInt,
                           OutType::UnsignedLong, OutType::Null);
    case 33: case 34: case 35: case 36: case 37: case 38: return OutType(out);
    default: return OutType::Null;
  }
}

bool mapTlInType(uint8_t t, InType* out) {
  switch (t) {
    case 0: *out = InType::Null; return true;
    case 14: case 25: *out = InType::ManifestCountedBinary; return true;  // u16 size + bytes
    case 16: *out = InType::Pointer; return true;
    case 22: *out = InType::ManifestCountedString; return true;
    case 23: *out = InType::ManifestCountedAnsiString; return true;
    case 24: *out = InType::Reserved24; return true;  // struct, handled by the caller
    default:
      if (t <= 21) { *out = InType(t); return true; }
      return false;
  }
}

struct TlField {
  std::string name;
  uint8_t in = 0;
  uint8_t out = 0;
  uint32_t tags = 0;
  uint16_t ccount = 0;
};

// Extension bytes: read while bit 7 is set; the first four carry 28 tag bits,
// high bits first.
bool readTlTags(const uint8_t* m, uint32_t end, uint32_t* pos, uint32_t* tags) {
  uint32_t t = 0;
  for (int k = 0;; ++k) {
    if (*pos >= end) return false;
    uint8_t b = m[(*pos)++];
    if (k < 4) t |= uint32_t(b & 0x7F) << (21 - 7 * k);
    if (!(b & 0x80)) break;
  }
  if (tags) *tags = t;
  return true;
}

bool readTlName(const uint8_t* m, uint32_t end, uint32_t* pos, std::string* out) {
  if (*pos >= end) return false;
  size_t n = strnlen8(m + *pos, end - *pos);
  if (*pos + n >= end) return false;
  *out = bytesToUtf8(m + *pos, n);
  *pos += uint32_t(n) + 1;
  return true;
}


bool parseTlFields(const uint8_t* m, uint32_t end, uint32_t pos, std::vector<TlField>* out,
                   std::string* error) {
  while (pos < end) {
    TlField f;
    uint32_t at = pos;
    if (!readTlName(m, end, &pos, &f.name)) {
      if (error) *error = "field name at metadata offset " + std::to_string(at) + " is not NUL-terminated";
      return false;
    }
    if (pos >= end) {
      if (error) *error = "field '" + f.name + "' has no in-type byte";
      return false;
    }
    f.in = m[pos++];
    if (f.in & 0x80) {
      if (pos >= end) {
        if (error) *error = "field '" + f.name + "' announces an out-type past the metadata end";
        return false;
      }
      f.out = m[pos++];
      if ((f.out & 0x80) && !readTlTags(m, end, &pos, &f.tags)) {
        if (error) *error = "field '" + f.name + "' tags run past the metadata end";
        return false;
      }
    }
    uint8_t countBits = f.in & 0x60;
    if (countBits == 0x20 || countBits == 0x60) {
      if (pos + 2 > end) {
        if (error) *error = "field '" + f.name + "' count/size runs past the metadata end";
        return false;
      }
      uint16_t v = rd16(m + pos);
      pos += 2;
      if (countBits == 0x20) {
        f.ccount = v;
      } else {
        if (uint32_t(v) > end - pos) {
          if (error) *error = "field '" + f.name + "' custom schema runs past the metadata end";
          return false;
        }
        pos += v;
      }
    }
    out->push_back(std::move(f));
  }
  return true;
}

// Places the logical fields of one level (want < 0: all that remain) at
// consecutive property indexes, then recurses into structs so that their
// members also sit consecutively (TDH's structStart/structCount shape).
bool placeTlLevel(const std::vector<TlField>& raw, size_t* next, int want, Schema& s, int depth,
                  std::string* error);

// A field's extent in the raw list: 1 + the extents of its members.
bool tlExtent(const std::vector<TlField>& raw, size_t at, size_t* extent, int depth) {
  if (depth > kMaxDepth || at >= raw.size()) return false;
  size_t n = 1;
  const TlField& f = raw[at];
  if ((f.in & 0x1F) == 24 && (f.in & 0x60) != 0x60) {
    int members = f.out & 0x7F;
    for (int k = 0; k < members; ++k) {
      size_t sub;
      if (!tlExtent(raw, at + n, &sub, depth + 1)) return false;
      n += sub;
    }
  }
  *extent = n;
  return true;
}

bool placeTlLevel(const std::vector<TlField>& raw, size_t* next, int want, Schema& s, int depth,
                  std::string* error) {
  if (depth > kMaxDepth) {
    if (error) *error = "TraceLogging structs nested deeper than " + std::to_string(kMaxDepth);
    return false;
  }
  // First pass: the fields of this level (skipping over struct members).
  std::vector<size_t> rawIdx;
  size_t cur = *next;
  while (want < 0 ? cur < raw.size() : int(rawIdx.size()) < want) {
    size_t ext;
    if (!tlExtent(raw, cur, &ext, depth)) {
      if (error) *error = "TraceLogging struct announces more fields than the metadata holds";
      return false;
    }
    rawIdx.push_back(cur);
    cur += ext;
  }
  *next = cur;
  size_t first = s.properties.size();
  for (size_t r : rawIdx) {
    const TlField& f = raw[r];
    PropertyInfo p;
    p.name = f.name;
    p.tags = f.tags;
    if (f.tags) p.flags |= prop::HasTags;
    uint8_t base = f.in & 0x1F, countBits = f.in & 0x60;
    if (!mapTlInType(base, &p.inType)) {
      if (error) *error = "field '" + f.name + "': unknown TraceLogging in-type " + std::to_string(base);
      return false;
    }
    if (countBits == 0x60) {
      // Custom-serialized value (its schema is in the metadata): u16 size + bytes.
      p.inType = InType::ManifestCountedBinary;
      p.flags |= prop::HasCustomSchema;
    } else if (countBits == 0x20) {
      p.isArray = true;
      p.count = f.ccount;
      p.flags |= prop::ParamFixedCount;
    } else if (countBits == 0x40) {
      p.isArray = true;
      p.countPrefix = true;
    }
    if (base == 24 && countBits != 0x60) {
      p.flags |= prop::Struct;
      p.inType = InType::Null;
      p.structCount = f.out & 0x7F;
    } else {
      p.outType = mapTlOutType(f.out & 0x7F, p.inType);
    }
    s.properties.push_back(std::move(p));
  }
  // Second pass: members of each struct of this level.
  for (size_t k = 0; k < rawIdx.size(); ++k) {
    size_t pi = first + k;
    if (!s.properties[pi].isStruct()) continue;
    size_t memberCursor = rawIdx[k] + 1;
    uint32_t start = uint32_t(s.properties.size());
    int members = int(s.properties[pi].structCount);
    if (!placeTlLevel(raw, &memberCursor, members, s, depth + 1, error)) return false;
    s.properties[pi].structStart = start;
  }
  return true;
}

}  // namespace

std::optional<Schema> parseTraceLoggingMetadata(const uint8_t* m, uint32_t len, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Schema> {
    if (error) *error = "TraceLogging metadata: " + why;
    return std::nullopt;
  };
  if (!m || len < 4) return fail("only " + std::to_string(len) + " bytes");
  uint32_t size = rd16(m);
  if (size > len) return fail("size field " + std::to_string(size) + " exceeds the " + std::to_string(len) + "-byte item");
  if (size < 4) return fail("size field " + std::to_string(size) + " is too small");
  uint32_t end = size, pos = 2;
  Schema s;
  s.source = SchemaSource::TraceLogging;
  s.decodingSource = 3;  // DecodingSourceTlg
  if (!readTlTags(m, end, &pos, &s.tags)) return fail("event tags run past the end");
  if (!readTlName(m, end, &pos, &s.eventName)) return fail("event name is not NUL-terminated");
  std::vector<TlField> raw;
  std::string err;
  if (!parseTlFields(m, end, pos, &raw, &err)) return fail(err);
  size_t next = 0;
  if (!placeTlLevel(raw, &next, -1, s, 0, &err)) return fail(err);
  // Top level = the fields placed first; count them again from the raw walk.
  size_t cur = 0;
  uint32_t top = 0;
  while (cur < raw.size()) {
    size_t ext = 0;
    tlExtent(raw, cur, &ext, 0);
    cur += ext;
    ++top;
  }
  s.topLevelCount = top;
  finalizeSchema(s);
  return s;
}

std::optional<std::string> parseProviderTraitsName(const uint8_t* t, uint32_t len) {
  if (!t || len < 3) return std::nullopt;
  uint32_t size = rd16(t);
  uint32_t end = size <= len ? size : len;
  if (end < 3) return std::nullopt;
  size_t n = strnlen8(t + 2, end - 2);
  if (2 + n >= end) return std::nullopt;
  return bytesToUtf8(t + 2, n);
}

bool findExtendedItem(const EventRecord& rec, uint16_t extType, const uint8_t** data, uint32_t* len) {
  const uint8_t* p = rec.extData;
  uint32_t left = rec.extDataLen;
  while (p && left >= 8) {
    uint32_t itemLen = rd16(p), dataSize = rd16(p + 6);
    uint16_t type = rd16(p + 2), linkage = rd16(p + 4);
    if (itemLen < 8 || itemLen > left || dataSize > itemLen - 8) return false;
    if (type == extType) {
      *data = p + 8;
      *len = dataSize;
      return true;
    }
    if (!(linkage & 1)) return false;
    p += itemLen;
    left -= itemLen;
  }
  return false;
}

}  // namespace etl

// Payload decoding by schema (decode) and hot-path field access (findField,
// readUnsignedField). Everything is bounds-checked: a malformed payload or
// schema gives an error string, never a read outside the payload.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bytes.h"
#include "schema.h"
#include "schema_internal.h"
#include "text.h"

namespace etl {

namespace {

using detail::boolSize;
using detail::isIntegerInType;
using detail::kMaxDepth;

struct Ctx {
  const Schema& s;
  const uint8_t* data;
  uint32_t len;
  bool p64;
  // Last integer value of each property (for count/length references).
  std::vector<uint64_t> ints;
  std::vector<uint8_t> haveInt;
  bool truncated = false;
  std::string error;
  // Array elements decoded without consuming payload (NULL in-types, empty
  // structs), over the whole payload: nested arrays of them would otherwise
  // multiply per-array bounds (found by fuzz_schema: 12000 x 12000 elements).
  uint64_t emptyItems = 0;

  Ctx(const Schema& sc, const uint8_t* d, uint32_t l, bool w)
      : s(sc), data(d), len(l), p64(w), ints(sc.properties.size()), haveInt(sc.properties.size()) {}

  bool need(const PropertyInfo& p, uint32_t pos, uint64_t n) {
    if (n <= uint64_t(len - pos)) return true;
    truncated = true;
    error = "property '" + p.name + "' needs " + std::to_string(n) + " bytes at payload offset " +
            std::to_string(pos) + ", only " + std::to_string(len - pos) + " left";
    return false;
  }
  bool fail(const std::string& why) {
    if (error.empty()) error = why;
    return false;
  }
};

std::optional<uint64_t> readFixedTopLevel(Ctx& c, uint32_t idx);

bool paramValue(Ctx& c, const PropertyInfo& p, int32_t idx, const char* what, uint64_t* v) {
  if (idx >= 0 && uint32_t(idx) < c.haveInt.size()) {
    if (c.haveInt[idx]) {
      *v = c.ints[idx];
      return true;
    }
    // Hot path (findField without a walk): read it at its static offset.
    if (auto r = readFixedTopLevel(c, uint32_t(idx))) {
      *v = *r;
      return true;
    }
  }
  return c.fail("property '" + p.name + "': " + what + " property " + std::to_string(idx) +
                " has no integer value decoded before it");
}

uint64_t readUInt(const uint8_t* p, uint32_t n) {
  switch (n) {
    case 1: return p[0];
    case 2: return rd16(p);
    case 4: return rd32(p);
    default: return rd64(p);
  }
}

int64_t readInt(const uint8_t* p, uint32_t n) {
  switch (n) {
    case 1: return int8_t(p[0]);
    case 2: return int16_t(rd16(p));
    case 4: return int32_t(rd32(p));
    default: return int64_t(rd64(p));
  }
}

void setInt(Ctx& c, int32_t propIndex, uint64_t v) {
  if (propIndex >= 0) {
    c.ints[propIndex] = v;
    c.haveInt[propIndex] = 1;
  }
}

// One non-struct element at *pos. `out` may be null (sizing only). On false
// the element may be partially filled (e.g. an unterminated string) and
// c.error says why decoding stopped.
bool decodeScalar(Ctx& c, const PropertyInfo& p, int32_t propIndex, bool hasLen, uint64_t L,
                  uint32_t* pos, Value* out) {
  const uint8_t* at = c.data + *pos;
  uint32_t left = c.len - *pos;
  if (out) {
    out->inType = p.inType;
    out->outType = p.outType;
  }
  auto integer = [&](uint32_t n, bool isSigned) {
    if (!c.need(p, *pos, n)) return false;
    uint64_t u = readUInt(at, n);
    setInt(c, propIndex, u);
    if (out) {
      if (p.outType == OutType::Boolean) {
        out->kind = Value::Kind::Bool;
        out->b = u != 0;
      } else if (isSigned) {
        out->kind = Value::Kind::Int;
        out->i = readInt(at, n);
      } else {
        out->kind = Value::Kind::UInt;
        out->u = u;
      }
    }
    *pos += n;
    return true;
  };
  auto binary = [&](const uint8_t* b, uint32_t n) {
    if (out) {
      out->kind = Value::Kind::Binary;
      out->bytes = b;
      out->bytesLen = n;
    }
  };
  auto str16 = [&](const uint8_t* b, size_t units) {
    if (out) {
      out->kind = Value::Kind::String;
      out->str = utf16ToWtf8(b, strnlen16(b, units));
    }
  };
  auto str8 = [&](const uint8_t* b, size_t n) {
    if (out) {
      out->kind = Value::Kind::String;
      out->str = bytesToUtf8(b, strnlen8(b, n));
    }
  };
  // u16 (or u32 for HexDump) byte count, then the bytes.
  auto counted = [&](uint32_t prefix, bool bigEndian, int kind /*0 utf16, 1 8-bit, 2 binary*/) {
    if (!c.need(p, *pos, prefix)) return false;
    uint32_t n = prefix == 4 ? rd32(at) : bigEndian ? uint32_t(at[0] << 8 | at[1]) : rd16(at);
    if (!c.need(p, *pos + prefix, n)) return false;
    const uint8_t* b = at + prefix;
    if (kind == 0) str16(b, n / 2);
    else if (kind == 1) str8(b, n);
    else binary(b, n);
    *pos += prefix + n;
    return true;
  };

  switch (p.inType) {
    case InType::Null:
      return true;
    case InType::Int8: return integer(1, true);
    case InType::UInt8: return integer(1, false);
    case InType::Int16: return integer(2, true);
    case InType::UInt16: return integer(2, false);
    case InType::Int32: return integer(4, true);
    case InType::UInt32: case InType::HexInt32: return integer(4, false);
    case InType::Int64: return integer(8, true);
    case InType::UInt64: case InType::HexInt64: return integer(8, false);
    case InType::Pointer: case InType::SizeT: return integer(c.p64 ? 8 : 4, false);
    case InType::Boolean: {
      uint32_t n = boolSize(p);
      if (!c.need(p, *pos, n)) return false;
      uint64_t u = readUInt(at, n);
      setInt(c, propIndex, u);
      if (out) {
        out->kind = Value::Kind::Bool;
        out->b = u != 0;
      }
      *pos += n;
      return true;
    }
    case InType::Float: {
      if (!c.need(p, *pos, 4)) return false;
      if (out) {
        uint32_t u = rd32(at);
        float f;
        std::memcpy(&f, &u, 4);
        out->kind = Value::Kind::Double;
        out->d = f;
      }
      *pos += 4;
      return true;
    }
    case InType::Double: {
      if (!c.need(p, *pos, 8)) return false;
      if (out) {
        uint64_t u = rd64(at);
        std::memcpy(&out->d, &u, 8);
        out->kind = Value::Kind::Double;
      }
      *pos += 8;
      return true;
    }
    case InType::Guid:
      if (!c.need(p, *pos, 16)) return false;
      if (out) {
        out->kind = Value::Kind::Guid;
        out->guid = Guid::fromBytes(at);
      }
      *pos += 16;
      return true;
    case InType::FileTime:
      if (!c.need(p, *pos, 8)) return false;
      if (out) {
        out->kind = Value::Kind::FileTime;
        out->i = int64_t(rd64(at));
      }
      *pos += 8;
      return true;
    case InType::SystemTime:
      if (!c.need(p, *pos, 16)) return false;
      if (out) {
        if (auto ft = systemTimeToFileTime(at)) {
          out->kind = Value::Kind::FileTime;
          out->i = *ft;
        } else {
          binary(at, 16);  // out-of-range fields: keep the raw 16 bytes
        }
      }
      *pos += 16;
      return true;
    case InType::Sid:
    case InType::WbemSid: {
      uint32_t skip = 0;
      if (p.inType == InType::WbemSid) {
        // Kernel MOF "Sid": u32 0 = no SID (4 bytes); else TOKEN_USER (2 pointers) + SID.
        if (!c.need(p, *pos, 4)) return false;
        if (rd32(at) == 0) {
          if (out) out->kind = Value::Kind::Sid;
          *pos += 4;
          return true;
        }
        skip = c.p64 ? 16 : 8;
      }
      if (!c.need(p, *pos, uint64_t(skip) + 8)) return false;
      uint32_t sub = at[skip + 1];
      uint32_t n = 8 + 4 * sub;
      if (!c.need(p, *pos, uint64_t(skip) + n)) return false;
      if (out) {
        out->kind = Value::Kind::Sid;
        out->str = sidToString(at + skip, sub);
        out->bytes = at + skip;
        out->bytesLen = n;
      }
      *pos += skip + n;
      return true;
    }
    case InType::UnicodeString:
    case InType::NonNullTerminatedString: {
      if (hasLen) {
        if (!c.need(p, *pos, L * 2)) return false;
        str16(at, size_t(L));
        *pos += uint32_t(L * 2);
        return true;
      }
      if (p.inType == InType::NonNullTerminatedString) {  // the rest of the payload
        str16(at, left / 2);
        *pos += left & ~1u;
        return true;
      }
      if (!c.need(p, *pos, 2)) return false;  // not even a terminator: missing
      size_t units = left / 2, n = strnlen16(at, units);
      if (n == units) {
        // No terminator: the string runs to the end of the payload. Real
        // writers do this for a last string (PktMon event 73 on 22621), and
        // TDH reads the rest of the event; anything after it will be short.
        str16(at, n);
        *pos += uint32_t(n * 2);
        return true;
      }
      str16(at, n);
      *pos += uint32_t(n * 2 + 2);
      return true;
    }
    case InType::AnsiString:
    case InType::NonNullTerminatedAnsiString: {
      if (hasLen) {
        if (!c.need(p, *pos, L)) return false;
        str8(at, size_t(L));
        *pos += uint32_t(L);
        return true;
      }
      if (p.inType == InType::NonNullTerminatedAnsiString) {
        str8(at, left);
        *pos += left;
        return true;
      }
      if (!c.need(p, *pos, 1)) return false;
      size_t n = strnlen8(at, left);
      if (n == left) {  // unterminated: runs to the end (as for UTF-16 above)
        str8(at, n);
        *pos += uint32_t(n);
        return true;
      }
      str8(at, n);
      *pos += uint32_t(n + 1);
      return true;
    }
    case InType::UnicodeChar:
      if (!c.need(p, *pos, 2)) return false;
      str16(at, 1);
      if (out && rd16(at) == 0) out->str.clear();
      *pos += 2;
      return true;
    case InType::AnsiChar:
      if (!c.need(p, *pos, 1)) return false;
      if (out) {
        out->kind = Value::Kind::String;
        out->str = bytesToUtf8(at, 1);
      }
      *pos += 1;
      return true;
    case InType::Binary: {
      uint64_t n;
      if (hasLen) n = L;
      else if (p.outType == OutType::Ipv6) n = 16;
      else n = left;  // no length: the rest of the payload
      if (!c.need(p, *pos, n)) return false;
      binary(at, uint32_t(n));
      *pos += uint32_t(n);
      return true;
    }
    case InType::ManifestCountedString: case InType::CountedString:
      return counted(2, false, 0);
    case InType::ManifestCountedAnsiString: case InType::CountedAnsiString:
      return counted(2, false, 1);
    case InType::ReversedCountedString: return counted(2, true, 0);
    case InType::ReversedCountedAnsiString: return counted(2, true, 1);
    case InType::ManifestCountedBinary: return counted(2, false, 2);
    case InType::HexDump: return counted(4, false, 2);
    default:
      return c.fail("property '" + p.name + "': unsupported in-type " + std::to_string(unsigned(p.inType)));
  }
}

bool decodeProperty(Ctx& c, uint32_t idx, uint32_t* pos, DecodedProperty* out, int depth);

bool decodeStructBody(Ctx& c, const PropertyInfo& p, uint32_t* pos, Value* out, int depth) {
  if (out) {
    out->kind = Value::Kind::Struct;
    out->members.reserve(p.structCount);
  }
  for (uint32_t k = 0; k < p.structCount; ++k) {
    DecodedProperty m;
    bool ok = decodeProperty(c, p.structStart + k, pos, out ? &m : nullptr, depth + 1);
    if (out && (ok || m.value.kind != Value::Kind::None)) out->members.push_back(std::move(m));
    if (!ok) return false;
  }
  return true;
}

bool decodeProperty(Ctx& c, uint32_t idx, uint32_t* pos, DecodedProperty* out, int depth) {
  if (depth > kMaxDepth) return c.fail("structs nested deeper than " + std::to_string(kMaxDepth));
  if (idx >= c.s.properties.size()) return c.fail("property index " + std::to_string(idx) + " out of range");
  const PropertyInfo& p = c.s.properties[idx];
  Value* v = out ? &out->value : nullptr;
  if (out) {
    out->name = p.name;
    v->inType = p.inType;
    v->outType = p.outType;
  }
  bool hasLen = false;
  uint64_t L = 0;
  if (!p.isStruct()) {
    if (p.lengthProperty >= 0) {
      if (!paramValue(c, p, p.lengthProperty, "length", &L)) return false;
      hasLen = true;
    } else if (p.hasLength) {
      hasLen = true;
      L = p.length;
    }
  }
  if (!p.isArray) {
    if (p.isStruct()) return decodeStructBody(c, p, pos, v, depth);
    return decodeScalar(c, p, int32_t(idx), hasLen, L, pos, v);
  }
  uint64_t count = p.count;
  if (p.countProperty >= 0) {
    if (!paramValue(c, p, p.countProperty, "count", &count)) return false;
  } else if (p.countPrefix) {
    if (!c.need(p, *pos, 2)) return false;
    count = rd16(c.data + *pos);
    *pos += 2;
  }
  // Every element of non-zero size uses at least one byte; zero-size ones
  // (NULL, empty structs) are bounded separately so a hostile count cannot
  // make us loop or allocate without limit.
  uint64_t limit = uint64_t(c.len - *pos) + 4096;
  if (count > limit)
    return c.fail("property '" + p.name + "': array count " + std::to_string(count) +
                  " cannot fit in the " + std::to_string(c.len - *pos) + " bytes left");
  // Arrays of characters are strings.
  if (!p.isStruct() && (p.inType == InType::AnsiChar || p.inType == InType::UnicodeChar)) {
    uint32_t unit = p.inType == InType::UnicodeChar ? 2 : 1;
    if (!c.need(p, *pos, count * unit)) return false;
    if (v) {
      v->kind = Value::Kind::String;
      const uint8_t* at = c.data + *pos;
      v->str = unit == 2 ? utf16ToWtf8(at, strnlen16(at, size_t(count)))
                         : bytesToUtf8(at, strnlen8(at, size_t(count)));
    }
    *pos += uint32_t(count * unit);
    return true;
  }
  if (v) {
    v->kind = Value::Kind::Array;
    v->items.reserve(size_t(count < 4096 ? count : 4096));
  }
  for (uint64_t k = 0; k < count; ++k) {
    Value item;
    uint32_t before = *pos;
    bool ok = p.isStruct() ? decodeStructBody(c, p, pos, v ? &item : nullptr, depth)
                           : decodeScalar(c, p, int32_t(idx), hasLen, L, pos, v ? &item : nullptr);
    if (ok && *pos == before && ++c.emptyItems > 4096)
      return c.fail("property '" + p.name + "': more than 4096 array elements of zero size in one payload");
    if (v && (ok || item.kind != Value::Kind::None)) {
      if (item.kind == Value::Kind::None && !p.isStruct()) {
        item.inType = p.inType;
        item.outType = p.outType;
      }
      v->items.push_back(std::move(item));
    }
    if (!ok) return false;
  }
  return true;
}

// Value of an integer top-level property that sits at a static offset.
std::optional<uint64_t> readFixedTopLevel(Ctx& c, uint32_t idx) {
  int w = c.p64 ? 1 : 0;
  if (idx >= c.s.topLevelCount) return std::nullopt;
  const PropertyInfo& p = c.s.properties[idx];
  int32_t off = c.s.fixedOffset[w][idx], sz = c.s.fixedSize[w][idx];
  if (off < 0 || sz <= 0 || p.isArray || p.isStruct() || !isIntegerInType(p.inType)) return std::nullopt;
  if (sz > 8 || uint64_t(off) + uint64_t(sz) > c.len) return std::nullopt;
  return readUInt(c.data + off, uint32_t(sz));
}

}  // namespace

DecodedPayload decode(const Schema& schema, const uint8_t* data, uint32_t len, bool pointer64) {
  DecodedPayload r;
  if (!data) len = 0;
  static const uint8_t kEmpty[1] = {0};
  Ctx c(schema, data ? data : kEmpty, len, pointer64);
  uint32_t pos = 0;
  uint32_t top = schema.topLevelCount < schema.properties.size() ? schema.topLevelCount
                                                                 : uint32_t(schema.properties.size());
  r.properties.reserve(top);
  for (uint32_t k = 0; k < top; ++k) {
    DecodedProperty dp;
    bool ok = decodeProperty(c, k, &pos, &dp, 0);
    if (ok || dp.value.kind != Value::Kind::None) r.properties.push_back(std::move(dp));
    if (!ok) break;
  }
  r.truncated = c.truncated;
  r.error = c.error;
  r.bytesUsed = pos;
  return r;
}

// ---- Field access ----------------------------------------------------------------

std::optional<FieldSpan> findField(const Schema& s, int index, const uint8_t* data, uint32_t len,
                                   bool p64) {
  if (index < 0 || uint32_t(index) >= s.topLevelCount || uint32_t(index) >= s.properties.size() || !data)
    return std::nullopt;
  int w = p64 ? 1 : 0;
  int32_t off = s.fixedOffset[w].size() > size_t(index) ? s.fixedOffset[w][index] : -1;
  int32_t sz = s.fixedSize[w].size() > size_t(index) ? s.fixedSize[w][index] : -1;
  if (off >= 0 && sz >= 0) {
    if (uint64_t(off) + uint64_t(sz) > len) return std::nullopt;
    return FieldSpan{uint32_t(off), uint32_t(sz)};
  }
  Ctx c(s, data, len, p64);
  uint32_t pos = 0;
  if (off >= 0) {
    pos = uint32_t(off);  // everything before is static; params are read lazily
  } else {
    for (int k = 0; k < index; ++k)
      if (!decodeProperty(c, uint32_t(k), &pos, nullptr, 0)) return std::nullopt;
  }
  uint32_t start = pos;
  if (start > len || !decodeProperty(c, uint32_t(index), &pos, nullptr, 0)) return std::nullopt;
  return FieldSpan{start, pos - start};
}

std::optional<FieldSpan> findField(const Schema& s, std::string_view name, const uint8_t* data,
                                   uint32_t len, bool p64) {
  return findField(s, s.indexOf(name), data, len, p64);
}

std::optional<uint64_t> readUnsignedField(const Schema& s, int index, const uint8_t* data, uint32_t len,
                                          bool p64) {
  if (index < 0 || uint32_t(index) >= s.topLevelCount || uint32_t(index) >= s.properties.size())
    return std::nullopt;
  const PropertyInfo& p = s.properties[index];
  if (p.isArray || p.isStruct() || !isIntegerInType(p.inType)) return std::nullopt;
  auto span = findField(s, index, data, len, p64);
  if (!span || span->size == 0 || span->size > 8) return std::nullopt;
  return readUInt(data + span->offset, span->size);
}

bool fieldSpans(const Schema& s, uint32_t last, const uint8_t* data, uint32_t len, bool p64,
                std::vector<FieldSpan>& out, std::string* error) {
  out.clear();
  if (last >= s.topLevelCount || last >= s.properties.size() || !data) {
    if (error) *error = "the schema has no field " + std::to_string(last);
    return false;
  }
  Ctx c(s, data, len, p64);
  uint32_t pos = 0;
  for (uint32_t k = 0; k <= last; ++k) {
    uint32_t start = pos;
    if (!decodeProperty(c, k, &pos, nullptr, 0)) {
      if (error) *error = c.error;
      return false;
    }
    out.push_back(FieldSpan{start, pos - start});
  }
  return true;
}

}  // namespace etl

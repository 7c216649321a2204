// Schema parsing (TDH blobs, TraceLogging metadata) and payload decoding.
// Layouts: etl-format.md §3.7 and §10.5; TDH type semantics from tdh.h's
// _TDH_IN_TYPE/_TDH_OUT_TYPE and the TraceLogging metadata description in
// TraceLoggingProvider.h (restated, not copied).
#include "schema.h"

#include <cstdio>
#include <cstring>

#include "bytes.h"
#include "providers.h"

namespace etl {

namespace {

constexpr uint32_t kTeiHeader = 0x70;   // TRACE_EVENT_INFO fixed part
constexpr uint32_t kPropInfoSize = 24;  // EVENT_PROPERTY_INFO
constexpr int kMaxDepth = 32;           // struct nesting cap (hostile schemas)

// ---- text helpers ----------------------------------------------------------

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// UTF-16LE code units [p, p+2*n) → UTF-8; unpaired surrogates become U+FFFD.
std::string utf16ToUtf8(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    uint32_t c = rd16(p + 2 * k);
    if (c >= 0xD800 && c <= 0xDBFF && k + 1 < n) {
      uint32_t c2 = rd16(p + 2 * (k + 1));
      if (c2 >= 0xDC00 && c2 <= 0xDFFF) {
        appendUtf8(out, 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00));
        ++k;
        continue;
      }
    }
    if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD;
    appendUtf8(out, c);
  }
  return out;
}

// 8-bit strings: kept as-is when they are valid UTF-8 (TraceLogging allows a
// UTF-8 out-type and ASCII is both), else read as Latin-1 so the result is
// always valid UTF-8.
std::string bytesToUtf8(const uint8_t* p, size_t n) {
  bool valid = true;
  for (size_t k = 0; k < n && valid;) {
    uint8_t c = p[k];
    size_t extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 4;
    if (extra == 4 || extra >= n - k) {
      valid = extra == 0;
      break;
    }
    for (size_t e = 1; e <= extra; ++e)
      if ((p[k + e] & 0xC0) != 0x80) valid = false;
    k += extra + 1;
  }
  if (valid) return std::string(reinterpret_cast<const char*>(p), n);
  std::string out;
  for (size_t j = 0; j < n; ++j) appendUtf8(out, p[j]);
  return out;
}

// Trims at the first NUL (fixed-length strings are often NUL-padded).
size_t strnlen16(const uint8_t* p, size_t units) {
  for (size_t k = 0; k < units; ++k)
    if (rd16(p + 2 * k) == 0) return k;
  return units;
}
size_t strnlen8(const uint8_t* p, size_t n) {
  const void* z = std::memchr(p, 0, n);
  return z ? size_t(static_cast<const uint8_t*>(z) - p) : n;
}

std::string sidToString(const uint8_t* p, uint32_t subCount) {
  uint64_t auth = 0;
  for (int k = 0; k < 6; ++k) auth = auth << 8 | p[2 + k];
  char buf[32];
  std::string s = "S-" + std::to_string(p[0]) + "-";
  if (auth >= (uint64_t(1) << 32)) {
    std::snprintf(buf, sizeof buf, "0x%012llX", (unsigned long long)auth);
    s += buf;
  } else {
    s += std::to_string(auth);
  }
  for (uint32_t k = 0; k < subCount; ++k) s += "-" + std::to_string(rd32(p + 8 + 4 * k));
  return s;
}

// SYSTEMTIME (no time zone) → FILETIME; nullopt when a field is out of range.
std::optional<int64_t> systemTimeToFileTime(const uint8_t* p) {
  int64_t y = rd16(p), m = rd16(p + 2), d = rd16(p + 6);
  int64_t hh = rd16(p + 8), mm = rd16(p + 10), ss = rd16(p + 12), ms = rd16(p + 14);
  if (y < 1601 || y > 30827 || m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 ||
      ss > 59 || ms > 999)
    return std::nullopt;
  // Days since 1970-01-01 (proleptic Gregorian, "days from civil").
  int64_t yy = m <= 2 ? y - 1 : y;
  int64_t era = yy / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  const int64_t kDays1601To1970 = 134774;
  int64_t secs = (days + kDays1601To1970) * 86400 + hh * 3600 + mm * 60 + ss;
  return secs * 10000000 + ms * 10000;
}

// UTF-16 NUL-terminated string at a blob-relative offset (0 = absent).
bool blobString(const uint8_t* blob, uint32_t len, uint32_t off, std::string* out,
                const char* what, std::string* error) {
  out->clear();
  if (off == 0) return true;
  if (off >= len) {
    if (error) *error = std::string(what) + " offset " + std::to_string(off) + " is outside the " +
                        std::to_string(len) + "-byte blob";
    return false;
  }
  size_t units = (len - off) / 2;
  size_t n = strnlen16(blob + off, units);
  if (n == units) {
    if (error) *error = std::string(what) + " at offset " + std::to_string(off) + " is not NUL-terminated";
    return false;
  }
  *out = utf16ToUtf8(blob + off, n);
  return true;
}

bool isVariableInType(InType t) {
  switch (t) {
    case InType::UnicodeString: case InType::AnsiString: case InType::Binary:
    case InType::NonNullTerminatedString: case InType::NonNullTerminatedAnsiString:
      return true;
    default:
      return false;
  }
}

bool isIntegerInType(InType t) {
  switch (t) {
    case InType::Int8: case InType::UInt8: case InType::Int16: case InType::UInt16:
    case InType::Int32: case InType::UInt32: case InType::Int64: case InType::UInt64:
    case InType::HexInt32: case InType::HexInt64: case InType::Pointer: case InType::SizeT:
    case InType::Boolean:
      return true;
    default:
      return false;
  }
}

uint32_t boolSize(const PropertyInfo& p) {
  // win:Boolean is a 4-byte BOOL; a MOF blob may say 1 in `length`.
  return p.length == 1 ? 1 : 4;
}

// Size of one element that needs no payload bytes to be known; -1 otherwise.
int64_t staticElementSize(const PropertyInfo& p, bool p64) {
  switch (p.inType) {
    case InType::Null: return 0;
    case InType::Int8: case InType::UInt8: case InType::AnsiChar: return 1;
    case InType::Int16: case InType::UInt16: case InType::UnicodeChar: return 2;
    case InType::Int32: case InType::UInt32: case InType::HexInt32: case InType::Float: return 4;
    case InType::Int64: case InType::UInt64: case InType::HexInt64: case InType::Double:
    case InType::FileTime: return 8;
    case InType::Boolean: return boolSize(p);
    case InType::Guid: case InType::SystemTime: return 16;
    case InType::Pointer: case InType::SizeT: return p64 ? 8 : 4;
    case InType::UnicodeString: case InType::NonNullTerminatedString:
      return p.hasLength && p.lengthProperty < 0 ? int64_t(p.length) * 2 : -1;
    case InType::AnsiString: case InType::NonNullTerminatedAnsiString:
      return p.hasLength && p.lengthProperty < 0 ? int64_t(p.length) : -1;
    case InType::Binary:
      if (p.lengthProperty >= 0) return -1;
      if (p.hasLength) return p.length;
      return p.outType == OutType::Ipv6 ? 16 : -1;
    default:
      return -1;
  }
}

int64_t staticSize(const Schema& s, const PropertyInfo& p, bool p64, int depth) {
  if (depth > kMaxDepth) return -1;
  if (p.isArray && (p.countProperty >= 0 || p.countPrefix)) return -1;
  int64_t elem;
  if (p.isStruct()) {
    elem = 0;
    for (uint32_t k = 0; k < p.structCount; ++k) {
      int64_t m = staticSize(s, s.properties[p.structStart + k], p64, depth + 1);
      if (m < 0) return -1;
      elem += m;
    }
  } else {
    elem = staticElementSize(p, p64);
  }
  if (elem < 0) return -1;
  int64_t n = p.isArray ? int64_t(p.count) : 1;
  int64_t total = elem * n;
  return total > INT32_MAX ? -1 : total;
}

// ---- TraceLogging type mapping ----------------------------------------------

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

}  // namespace

// ---- Schema -----------------------------------------------------------------

int Schema::indexOf(std::string_view name) const {
  for (uint32_t k = 0; k < topLevelCount && k < properties.size(); ++k)
    if (properties[k].name == name) return int(k);
  return -1;
}

void finalizeSchema(Schema& s) {
  for (int w = 0; w < 2; ++w) {
    s.fixedOffset[w].assign(s.topLevelCount, -1);
    s.fixedSize[w].assign(s.topLevelCount, -1);
    int64_t off = 0;
    for (uint32_t k = 0; k < s.topLevelCount; ++k) {
      int64_t sz = staticSize(s, s.properties[k], w == 1, 0);
      s.fixedSize[w][k] = int32_t(sz);
      if (off >= 0) s.fixedOffset[w][k] = int32_t(off);
      off = (off >= 0 && sz >= 0 && off + sz <= INT32_MAX) ? off + sz : -1;
    }
  }
}

// ---- TRACE_EVENT_INFO ---------------------------------------------------------

std::optional<Schema> parseTraceEventInfo(const uint8_t* b, uint32_t len, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Schema> {
    if (error) *error = "TRACE_EVENT_INFO: " + why;
    return std::nullopt;
  };
  if (!b || len < kTeiHeader)
    return fail("blob is " + std::to_string(len) + " bytes, shorter than the " +
                std::to_string(kTeiHeader) + "-byte header");
  Schema s;
  s.source = SchemaSource::TdhBlob;
  s.provider = Guid::fromBytes(b);
  s.eventGuid = Guid::fromBytes(b + 0x10);
  s.eventId = rd16(b + 0x20);
  s.version = b[0x22];
  s.channel = b[0x23];
  s.level = b[0x24];
  s.opcode = b[0x25];
  s.task = rd16(b + 0x26);
  s.keyword = rd64(b + 0x28);
  s.decodingSource = rd32(b + 0x30);
  uint32_t propCount = rd32(b + 0x64), topCount = rd32(b + 0x68);
  if (propCount > (len - kTeiHeader) / kPropInfoSize)
    return fail("PropertyCount " + std::to_string(propCount) + " does not fit in the " +
                std::to_string(len) + "-byte blob");
  if (topCount > propCount)
    return fail("TopLevelPropertyCount " + std::to_string(topCount) + " > PropertyCount " +
                std::to_string(propCount));
  std::string err;
  struct { uint32_t at; std::string* out; const char* what; } names[] = {
      {0x34, &s.providerName, "ProviderName"}, {0x38, &s.levelName, "LevelName"},
      {0x3C, &s.channelName, "ChannelName"},   {0x40, &s.keywordsName, "KeywordsName"},
      {0x44, &s.taskName, "TaskName"},         {0x48, &s.opcodeName, "OpcodeName"},
      {0x4C, &s.eventMessage, "EventMessage"}, {0x5C, &s.eventName, "EventName"},
  };
  for (auto& n : names)
    if (!blobString(b, len, rd32(b + n.at), n.out, n.what, &err)) return fail(err);
  // Fallback display name; generic opcodes ("win:Info") name nothing.
  if (s.eventName.empty())
    s.eventName = !s.taskName.empty() ? s.taskName : s.opcodeName.rfind("win:", 0) == 0 ? "" : s.opcodeName;

  s.topLevelCount = topCount;
  s.properties.resize(propCount);
  for (uint32_t i = 0; i < propCount; ++i) {
    const uint8_t* e = b + kTeiHeader + kPropInfoSize * i;
    PropertyInfo& p = s.properties[i];
    p.flags = rd32(e);
    std::string what = "property " + std::to_string(i);
    if (!blobString(b, len, rd32(e + 4), &p.name, (what + " name").c_str(), &err)) return fail(err);
    what += " '" + p.name + "'";
    uint16_t countOrIndex = rd16(e + 16), lengthOrIndex = rd16(e + 18);
    if (p.flags & prop::Struct) {
      p.structStart = rd16(e + 8);
      p.structCount = rd16(e + 10);
      if (uint64_t(p.structStart) + p.structCount > propCount)
        return fail(what + ": struct members " + std::to_string(p.structStart) + "+" +
                    std::to_string(p.structCount) + " exceed PropertyCount " + std::to_string(propCount));
      if (p.structCount && i >= p.structStart && i < p.structStart + p.structCount)
        return fail(what + ": struct contains itself");
    } else {
      p.inType = InType(rd16(e + 8));
      p.outType = OutType(rd16(e + 10));
      uint32_t mapOff = rd32(e + 12);
      if (!(p.flags & prop::HasCustomSchema) &&
          !blobString(b, len, mapOff, &p.mapName, (what + " map name").c_str(), &err))
        return fail(err);
    }
    if (p.flags & prop::HasTags) p.tags = rd32(e + 20) & 0x0FFFFFFF;
    if (p.flags & prop::ParamCount) {
      if (countOrIndex >= propCount || countOrIndex == i)
        return fail(what + ": count property index " + std::to_string(countOrIndex) + " is invalid");
      p.isArray = true;
      p.countProperty = countOrIndex;
    } else {
      p.count = countOrIndex;
      p.isArray = (p.flags & prop::ParamFixedCount) || countOrIndex > 1;
    }
    if (p.flags & prop::ParamLength) {
      if (lengthOrIndex >= propCount || lengthOrIndex == i)
        return fail(what + ": length property index " + std::to_string(lengthOrIndex) + " is invalid");
      p.hasLength = true;
      p.lengthProperty = lengthOrIndex;
    } else {
      p.length = lengthOrIndex;
      p.hasLength = (p.flags & prop::ParamFixedLength) || (lengthOrIndex > 0 && isVariableInType(p.inType));
    }
  }
  // Reject struct cycles (A contains B contains A) by bounding the depth.
  std::vector<int> depth(propCount, 0);
  for (uint32_t pass = 0; pass <= kMaxDepth; ++pass) {
    bool changed = false;
    for (uint32_t i = 0; i < propCount; ++i) {
      const PropertyInfo& p = s.properties[i];
      if (!p.isStruct()) continue;
      for (uint32_t k = 0; k < p.structCount; ++k) {
        int& d = depth[p.structStart + k];
        if (d < depth[i] + 1) { d = depth[i] + 1; changed = true; }
      }
    }
    if (!changed) break;
    if (pass == kMaxDepth) return fail("struct members form a cycle or nest too deep");
  }
  finalizeSchema(s);
  return s;
}

// ---- EVENT_MAP_INFO --------------------------------------------------------------

std::optional<ValueMap> parseEventMapInfo(const uint8_t* b, uint32_t len, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ValueMap> {
    if (error) *error = "EVENT_MAP_INFO: " + why;
    return std::nullopt;
  };
  if (!b || len < 16) return fail("blob is " + std::to_string(len) + " bytes, shorter than its 16-byte header");
  ValueMap m;
  std::string err;
  if (!blobString(b, len, rd32(b), &m.name, "map name", &err)) return fail(err);
  m.flags = rd32(b + 4);
  uint32_t count = rd32(b + 8);
  if (count > (len - 16) / 8)
    return fail("EntryCount " + std::to_string(count) + " does not fit in the " + std::to_string(len) + "-byte blob");
  bool patternMap = (m.flags & 0x4) != 0;  // pattern maps hold string inputs; kept without values
  for (uint32_t k = 0; k < count; ++k) {
    const uint8_t* e = b + 16 + 8 * k;
    std::string name;
    if (!blobString(b, len, rd32(e), &name, "map entry", &err)) return fail(err);
    // Names carry the manifest's trailing space in many providers.
    while (!name.empty() && name.back() == ' ') name.pop_back();
    m.entries.emplace_back(patternMap ? k : rd32(e + 4), std::move(name));
  }
  return m;
}

// ---- TraceLogging ---------------------------------------------------------------

namespace {

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

// ---- Decoding -----------------------------------------------------------------

namespace {

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
      out->str = utf16ToUtf8(b, strnlen16(b, units));
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
      v->str = unit == 2 ? utf16ToUtf8(at, strnlen16(at, size_t(count)))
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

// ---- Registry ------------------------------------------------------------------------

void SchemaRegistry::reject(const EventRecord& rec, const std::string& why) {
  ++rejected_;
  if (rejections_.size() < 100)
    rejections_.push_back("metadata record in buffer " + std::to_string(rec.bufferIndex) + " at offset " +
                          std::to_string(rec.recordOffset) + ": " + why);
}

SchemaRegistry::AddResult SchemaRegistry::addMetadataRecord(const EventRecord& rec, std::string* error) {
  if (rec.kind != RecordKind::Full || rec.provider != guids::EventMetadata) return AddResult::NotMetadata;
  if (rec.opcode != kMetadataTypeEventInfo && rec.opcode != kMetadataTypeMapInfo) return AddResult::NotMetadata;
  std::string err;
  if (rec.opcode == kMetadataTypeEventInfo) {
    auto s = parseTraceEventInfo(rec.userData, rec.userDataLen, &err);
    if (!s) {
      reject(rec, err);
      if (error) *error = err;
      return AddResult::Rejected;
    }
    // MOF classes (DECODING_SOURCE Wbem) are keyed by class GUID + type.
    bool classic = s->decodingSource == 1 && !s->eventGuid.isZero();
    Key key = classic ? Key{s->eventGuid, s->opcode, s->version} : Key{s->provider, s->eventId, s->version};
    auto& table = classic ? byClass_ : byEvent_;
    if (table.count(key)) return AddResult::Duplicate;
    table.emplace(key, std::make_unique<Schema>(std::move(*s)));
    return AddResult::Added;
  }
  if (rec.userDataLen < 16 || !rec.userData) {
    err = "EVENT_MAP_INFO record payload is " + std::to_string(rec.userDataLen) + " bytes, no room for the provider GUID";
    reject(rec, err);
    if (error) *error = err;
    return AddResult::Rejected;
  }
  Guid provider = Guid::fromBytes(rec.userData);
  auto m = parseEventMapInfo(rec.userData + 16, rec.userDataLen - 16, &err);
  if (!m) {
    reject(rec, err);
    if (error) *error = err;
    return AddResult::Rejected;
  }
  auto key = std::make_pair(provider, m->name);
  if (maps_.count(key)) return AddResult::Duplicate;
  maps_.emplace(std::move(key), std::move(*m));
  return AddResult::Added;
}

const Schema* SchemaRegistry::find(const Guid& provider, uint16_t id, uint8_t version) const {
  auto it = byEvent_.find(Key{provider, id, version});
  return it == byEvent_.end() ? nullptr : it->second.get();
}

const Schema* SchemaRegistry::findClassic(const Guid& eventGuid, uint8_t opcode, uint8_t version) const {
  auto it = byClass_.find(Key{eventGuid, opcode, version});
  return it == byClass_.end() ? nullptr : it->second.get();
}

const Schema* SchemaRegistry::traceLoggingSchema(const EventRecord& rec, std::string* error) {
  if (rec.kind != RecordKind::Event) return nullptr;
  const uint8_t* meta;
  uint32_t metaLen;
  if (!findExtendedItem(rec, kExtTypeSchemaTl, &meta, &metaLen)) return nullptr;
  std::string key(reinterpret_cast<const char*>(&rec.provider), sizeof(Guid));
  key.append(reinterpret_cast<const char*>(meta), metaLen);
  auto it = tl_.find(key);
  if (it != tl_.end()) return it->second.get();
  std::string err;
  auto s = parseTraceLoggingMetadata(meta, metaLen, &err);
  if (!s) {
    if (error) *error = err;
    return nullptr;
  }
  s->provider = rec.provider;
  s->eventId = rec.id;
  s->version = rec.version;
  s->channel = rec.channel;
  s->level = rec.level;
  s->opcode = rec.opcode;
  s->task = rec.task;
  s->keyword = rec.keywords;
  const uint8_t* traits;
  uint32_t traitsLen;
  if (findExtendedItem(rec, kExtTypeProvTraits, &traits, &traitsLen))
    if (auto name = parseProviderTraitsName(traits, traitsLen)) s->providerName = *name;
  auto owned = std::make_unique<Schema>(std::move(*s));
  const Schema* out = owned.get();
  tl_.emplace(std::move(key), std::move(owned));
  return out;
}

const Schema* SchemaRegistry::schemaFor(const EventRecord& rec, std::string* error) {
  if (rec.kind == RecordKind::Event) {
    std::string err;
    if (const Schema* s = traceLoggingSchema(rec, &err)) return s;
    if (!err.empty()) {
      if (error) *error = err;
      return nullptr;
    }
    return find(rec.provider, rec.id, rec.version);
  }
  if (rec.kind == RecordKind::Full || rec.kind == RecordKind::Instance)
    return findClassic(rec.provider, rec.opcode, rec.version);
  return nullptr;
}

const ValueMap* SchemaRegistry::findMap(const Guid& provider, const std::string& name) const {
  auto it = maps_.find(std::make_pair(provider, name));
  return it == maps_.end() ? nullptr : &it->second;
}

std::optional<std::string> SchemaRegistry::mapValue(const Guid& provider, const std::string& mapName,
                                                    uint64_t value) const {
  const ValueMap* m = findMap(provider, mapName);
  if (!m) return std::nullopt;
  if (!m->isBitmap()) {
    for (const auto& e : m->entries)
      if (e.first == value) return e.second;
    return std::nullopt;
  }
  std::string out;
  uint64_t covered = 0;
  for (const auto& e : m->entries) {
    if (e.first != 0 && (value & e.first) == e.first) {
      if (!out.empty()) out += " | ";
      out += e.second;
      covered |= e.first;
    }
  }
  if (value == 0 || covered != value) return std::nullopt;  // unnamed bits: let the caller print the number
  return out;
}

}  // namespace etl

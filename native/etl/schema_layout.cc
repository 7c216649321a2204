// Static sizes and offsets of schema properties: what finalizeSchema()
// precomputes so that fixed fields are found without walking the payload.
#include <cstdint>

#include "schema.h"
#include "schema_internal.h"

namespace etl {
namespace detail {

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

uint32_t boolSize(const PropertyInfo& p) { return p.length == 1 ? 1 : 4; }

}  // namespace detail

namespace {

using detail::boolSize;
using detail::kMaxDepth;

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

}  // namespace etl

// Little-endian reads. Callers check bounds first; these never read past
// the pointer they are given plus the type's size.
#pragma once
#include <cstdint>
#include <cstring>

namespace etl {

inline uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t rd64(const uint8_t* p) { return uint64_t(rd32(p)) | uint64_t(rd32(p + 4)) << 32; }
inline int64_t rdi64(const uint8_t* p) { return int64_t(rd64(p)); }
inline uint64_t align8(uint64_t v) { return (v + 7) & ~uint64_t(7); }

}  // namespace etl

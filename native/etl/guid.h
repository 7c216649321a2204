// GUIDs as stored on disk (Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, Data4 raw).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <optional>

namespace etl {

struct Guid {
  uint32_t data1 = 0;
  uint16_t data2 = 0;
  uint16_t data3 = 0;
  uint8_t data4[8] = {0, 0, 0, 0, 0, 0, 0, 0};

  static Guid fromBytes(const uint8_t* p) {
    Guid g;
    g.data1 = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    g.data2 = uint16_t(p[4] | p[5] << 8);
    g.data3 = uint16_t(p[6] | p[7] << 8);
    std::memcpy(g.data4, p + 8, 8);
    return g;
  }
  bool operator==(const Guid& o) const {
    return data1 == o.data1 && data2 == o.data2 && data3 == o.data3 &&
           std::memcmp(data4, o.data4, 8) == 0;
  }
  bool operator!=(const Guid& o) const { return !(*this == o); }
  bool operator<(const Guid& o) const {
    if (data1 != o.data1) return data1 < o.data1;
    if (data2 != o.data2) return data2 < o.data2;
    if (data3 != o.data3) return data3 < o.data3;
    return std::memcmp(data4, o.data4, 8) < 0;
  }
  bool isZero() const { return *this == Guid{}; }
  // Lower-case, no braces: 2ed6006e-4729-4609-b423-3ee7bcd678ef
  std::string toString() const;
  // Accepts with or without braces, any case.
  static std::optional<Guid> parse(const std::string& s);
};

struct GuidHash {
  size_t operator()(const Guid& g) const {
    uint64_t a, b;
    std::memcpy(&a, &g, 8);
    std::memcpy(&b, g.data4, 8);
    return size_t(a * 0x9E3779B97F4A7C15ull ^ b);
  }
};

}  // namespace etl

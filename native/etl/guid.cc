#include "guid.h"
#include <cctype>
#include <cstdio>

namespace etl {

std::string Guid::toString() const {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", data1, data2, data3,
                data4[0], data4[1], data4[2], data4[3], data4[4], data4[5], data4[6], data4[7]);
  return buf;
}

std::optional<Guid> Guid::parse(const std::string& in) {
  std::string s;
  for (char c : in)
    if (c != '{' && c != '}' && c != '-') s.push_back(char(std::tolower(static_cast<unsigned char>(c))));
  if (s.size() != 32) return std::nullopt;
  uint8_t v[16];
  for (int i = 0; i < 16; i++) {
    int hi = std::isdigit(static_cast<unsigned char>(s[2 * i])) ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
    int lo = std::isdigit(static_cast<unsigned char>(s[2 * i + 1])) ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return std::nullopt;
    v[i] = uint8_t(hi << 4 | lo);
  }
  Guid g;
  g.data1 = uint32_t(v[0]) << 24 | uint32_t(v[1]) << 16 | uint32_t(v[2]) << 8 | v[3];
  g.data2 = uint16_t(v[4] << 8 | v[5]);
  g.data3 = uint16_t(v[6] << 8 | v[7]);
  std::memcpy(g.data4, v + 8, 8);
  return g;
}

}  // namespace etl

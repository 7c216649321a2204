#include "text.h"

#include <cstdio>
#include <cstring>

#include "bytes.h"

namespace etl {

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

namespace {
std::string utf16To8(const uint8_t* p, size_t n, bool keepUnpaired) {
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
    if (c >= 0xD800 && c <= 0xDFFF && !keepUnpaired) c = 0xFFFD;
    appendUtf8(out, c);
  }
  return out;
}
}  // namespace

std::string utf16ToUtf8(const uint8_t* p, size_t n) { return utf16To8(p, n, false); }

std::string utf16ToWtf8(const uint8_t* p, size_t n) { return utf16To8(p, n, true); }

bool hasUnpairedSurrogate(const std::string& s) {
  // A surrogate code point takes three bytes starting ED A0..ED BF; valid UTF-8 never has them.
  for (size_t k = 0; k + 1 < s.size(); ++k)
    if (uint8_t(s[k]) == 0xED && (uint8_t(s[k + 1]) & 0xE0) == 0xA0) return true;
  return false;
}

std::u16string wtf8ToUtf16(const std::string& s) {
  std::u16string out;
  out.reserve(s.size());
  const auto* b = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t k = 0; k < n;) {
    uint32_t c = b[k];
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (len > n - k) len = 1;
    if (len == 1 && c >= 0x80) c = 0xFFFD;  // not a sequence this file's encoders write
    if (len == 2) c = (c & 0x1F) << 6 | (b[k + 1] & 0x3F);
    if (len == 3) c = (c & 0x0F) << 12 | (b[k + 1] & 0x3F) << 6 | (b[k + 2] & 0x3F);
    if (len == 4) c = (c & 0x07) << 18 | (b[k + 1] & 0x3F) << 12 | (b[k + 2] & 0x3F) << 6 | (b[k + 3] & 0x3F);
    k += len;
    if (c >= 0x10000) {
      c -= 0x10000;
      out += char16_t(0xD800 + (c >> 10));
      out += char16_t(0xDC00 + (c & 0x3FF));
    } else {
      out += char16_t(c);
    }
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

}  // namespace etl

#include "logfile_header.h"
#include <cstdint>
#include "bytes.h"

namespace etl {

std::string utf16ToUtf8(const uint8_t* p, size_t maxBytes, size_t* consumed) {
  std::string out;
  size_t i = 0;
  bool terminated = false;
  while (i + 1 < maxBytes) {
    uint32_t c = rd16(p + i);
    i += 2;
    if (c == 0) {
      terminated = true;
      break;
    }
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < maxBytes) {
      uint32_t lo = rd16(p + i);
      if (lo >= 0xDC00 && lo < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        i += 2;
      } else {
        c = 0xFFFD;
      }
    } else if (c >= 0xD800 && c < 0xE000) {
      c = 0xFFFD;
    }
    if (c < 0x80) {
      out.push_back(char(c));
    } else if (c < 0x800) {
      out.push_back(char(0xC0 | c >> 6));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(char(0xE0 | c >> 12));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    } else {
      out.push_back(char(0xF0 | c >> 18));
      out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(char(0x80 | (c & 0x3F)));
    }
  }
  (void)terminated;
  if (consumed) *consumed = i;
  return out;
}

std::string LogfileHeader::parse(const uint8_t* p, size_t len, bool is64Layout) {
  is64 = is64Layout;
  const size_t fixed = is64 ? 0x118 : 0x110;
  if (len < fixed) return "logfile header event too short (" + std::to_string(len) + " bytes, need " + std::to_string(fixed) + ")";
  bufferSize = rd32(p + 0x00);
  majorVersion = p[0x04];
  minorVersion = p[0x05];
  subVersion = p[0x06];
  subMinorVersion = p[0x07];
  providerVersion = rd32(p + 0x08);
  numberOfProcessors = rd32(p + 0x0C);
  endTime = rdi64(p + 0x10);
  timerResolution = rd32(p + 0x18);
  maximumFileSize = rd32(p + 0x1C);
  logFileMode = rd32(p + 0x20);
  buffersWritten = rd32(p + 0x24);
  startBuffers = rd32(p + 0x28);
  pointerSize = rd32(p + 0x2C);
  eventsLost = rd32(p + 0x30);
  cpuSpeedMHz = rd32(p + 0x34);
  const size_t tz = is64 ? 0x48 : 0x40;
  timeZoneBias = int32_t(rd32(p + tz));
  timeZoneStandardName = utf16ToUtf8(p + tz + 4, 64);
  const size_t after = is64 ? 0xF8 : 0xF0;  // 8-aligned after TIME_ZONE_INFORMATION
  bootTime = rdi64(p + after);
  perfFreq = rdi64(p + after + 8);
  startTime = rdi64(p + after + 16);
  clockType = rd32(p + after + 24);
  buffersLost = rd32(p + after + 28);
  size_t used = 0;
  loggerName = utf16ToUtf8(p + fixed, len - fixed, &used);
  size_t used2 = 0;
  if (fixed + used < len) logFileName = utf16ToUtf8(p + fixed + used, len - fixed - used, &used2);
  return "";
}

// Clock fields come from the file: a hostile header or record time must give
// a wrong time, never signed overflow (UB; found by fuzz_reader). Saturate.
static int64_t satAdd(int64_t a, int64_t b) {
  if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
  if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
  return a + b;
}
static int64_t satSub(int64_t a, int64_t b) {
  if (b < 0 && a > INT64_MAX + b) return INT64_MAX;
  if (b > 0 && a < INT64_MIN + b) return INT64_MIN;
  return a - b;
}

// (a * b) / c with a 128-bit intermediate, rounding toward -infinity; b > 0,
// c > 0; a result beyond int64 saturates.
static int64_t mulDivFloor(int64_t a, int64_t b, int64_t c) {
#if defined(__SIZEOF_INT128__)
  __int128 n = (__int128)a * b;
  __int128 q = n / c;
  if ((n % c != 0) && ((n < 0) != (c < 0))) q -= 1;
  if (q > INT64_MAX) return INT64_MAX;
  if (q < INT64_MIN) return INT64_MIN;
  return int64_t(q);
#else
  // Portable path (MSVC): split a into quotient and remainder by c.
  int64_t q = a / c, r = a % c;
  if (r != 0 && ((r < 0) != (c < 0))) { q -= 1; r += c; }
  // a = q*c + r, 0 <= r < c  =>  a*b/c = q*b + r*b/c
  if (q > INT64_MAX / b) return INT64_MAX;
  if (q < INT64_MIN / b) return INT64_MIN;
  // r*b fits for any real clock (c up to ~9e11 with b = 1e7); beyond, only a hostile header.
  int64_t q2 = r <= INT64_MAX / b ? r * b / c : int64_t(double(r) * double(b) / double(c));
  return satAdd(q * b, q2);
#endif
}

int64_t LogfileHeader::toFileTime(int64_t raw) const {
  int64_t delta = satSub(raw, referenceRaw);
  switch (clockType) {
    case kClockSystemTime:
      return satAdd(startTime, delta);
    case kClockCpuCycle:
      if (cpuSpeedMHz) return satAdd(startTime, mulDivFloor(delta, 10, cpuSpeedMHz));
      return startTime;
    case kClockQpc:
    default:
      if (perfFreq > 0) {
        if (perfFreq == 10000000) return satAdd(startTime, delta);
        return satAdd(startTime, mulDivFloor(delta, 10000000, perfFreq));
      }
      return satAdd(startTime, delta);
  }
}

}  // namespace etl

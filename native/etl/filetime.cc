#include "filetime.h"
#include <cstdio>

namespace etl {

std::string fileTimeIso(int64_t ft) {
  if (ft < 0) return std::to_string(ft);
  int64_t secs = ft / 10000000, frac = ft % 10000000;
  int64_t days = secs / 86400, rem = secs % 86400;
  // Civil date from a day count (days since 0000-03-01, in 400-year eras).
  int64_t z = days - 134774 + 719468;  // 1601-01-01 -> 1970-01-01, then 1970-01-01 -> 0000-03-01
  int64_t era = z / 146097, doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  char b[48];
  std::snprintf(b, sizeof b, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%07lldZ", (long long)y, (long long)m, (long long)d,
                (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60), (long long)frac);
  return b;
}

}  // namespace etl

// FILETIME (100 ns ticks since 1601-01-01 UTC) as text: the one formatter of the
// project. Event properties of type FILETIME get it here, and TypeScript's
// fileTimeToIso (src/time.ts) calls it through the addon.
#pragma once
#include <cstdint>
#include <string>

namespace etl {

// "YYYY-MM-DDTHH:MM:SS.fffffffZ", proleptic Gregorian, exact to 100 ns; years
// past 9999 (FILETIME reaches 30828) take five digits. A negative value, which
// names no time, is written as its number.
std::string fileTimeIso(int64_t ft);

}  // namespace etl

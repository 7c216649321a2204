// Text from event payloads and schema blobs: UTF-16 and 8-bit strings to
// UTF-8, SIDs and SYSTEMTIMEs. Every function reads only the bytes it is given.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace etl {

void appendUtf8(std::string& out, uint32_t codePoint);
// UTF-16LE code units [p, p+2*n) → UTF-8; unpaired surrogates become U+FFFD.
std::string utf16ToUtf8(const uint8_t* p, size_t n);
// The same, but an unpaired surrogate keeps its code point, encoded as UTF-8 would encode it
// (WTF-8): event property values, which JavaScript must get back exactly (a command line is
// whatever its process was given; docs/scan-output.md, Text from the trace).
std::string utf16ToWtf8(const uint8_t* p, size_t n);
// Whether a string from utf16ToWtf8 holds an unpaired surrogate (it is then not valid UTF-8).
bool hasUnpairedSurrogate(const std::string& s);
// WTF-8 (or UTF-8) → UTF-16 code units, unpaired surrogates included.
std::u16string wtf8ToUtf16(const std::string& s);
// 8-bit text: kept when it is valid UTF-8, else read as Latin-1.
std::string bytesToUtf8(const uint8_t* p, size_t n);
// Length up to the first NUL (UTF-16 units / bytes), at most `units` / `n`.
size_t strnlen16(const uint8_t* p, size_t units);
size_t strnlen8(const uint8_t* p, size_t n);
// Binary SID (revision, count, 6-byte authority, count x u32) → "S-1-5-18".
// The caller has checked that 8 + 4 * subCount bytes are there.
std::string sidToString(const uint8_t* p, uint32_t subCount);
// SYSTEMTIME (no time zone) → FILETIME; nullopt when a field is out of range.
std::optional<int64_t> systemTimeToFileTime(const uint8_t* p);

}  // namespace etl

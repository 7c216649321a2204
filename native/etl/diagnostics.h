// Problems found while reading a file. The reader keeps going where it can
// (a bad buffer is skipped) and records what it skipped; callers decide
// whether a warning is fatal (--strict).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace etl {

enum class Severity : uint8_t { Warning, Error };

struct Diagnostic {
  Severity severity = Severity::Warning;
  std::string code;     // stable identifier, e.g. "buffer-size", "record-size"
  std::string message;  // human text; includes file, offset and buffer index
  uint64_t offset = 0;  // file byte offset
  int64_t buffer = -1;  // buffer index in file order, -1 if not tied to one
};

// Thrown for problems that stop reading altogether (unreadable file, not an .etl).
struct EtlError {
  std::string code;
  std::string message;
  uint64_t offset = 0;
  int64_t buffer = -1;
};

}  // namespace etl

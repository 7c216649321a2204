// The logfile-header event of buffer #0 (TRACE_LOGFILE_HEADER, docs/etl-format.md, Logfile header)
// and the clock conversion it defines (§6).
#pragma once
#include <cstdint>
#include <string>

namespace etl {

enum ClockType : uint32_t { kClockRaw = 0, kClockQpc = 1, kClockSystemTime = 2, kClockCpuCycle = 3 };

struct LogfileHeader {
  uint32_t bufferSize = 0;
  uint8_t majorVersion = 0, minorVersion = 0, subVersion = 0, subMinorVersion = 0;
  uint32_t providerVersion = 0;  // OS build
  uint32_t numberOfProcessors = 0;
  int64_t endTime = 0;
  uint32_t timerResolution = 0;
  uint32_t maximumFileSize = 0;
  uint32_t logFileMode = 0;
  uint32_t buffersWritten = 0;
  uint32_t startBuffers = 0;
  uint32_t pointerSize = 0;
  uint32_t eventsLost = 0;
  uint32_t cpuSpeedMHz = 0;
  int32_t timeZoneBias = 0;      // minutes, UTC = local + bias
  std::string timeZoneStandardName;
  int64_t bootTime = 0;
  int64_t perfFreq = 0;
  int64_t startTime = 0;
  uint32_t clockType = 0;        // ReservedFlags
  uint32_t buffersLost = 0;
  std::string loggerName;
  std::string logFileName;
  int64_t referenceRaw = 0;      // raw clock value of the header event = startTime
  bool is64 = true;              // layout (from the SYSTEM header type)

  // Parses the header event's payload (after its SYSTEM_TRACE_HEADER).
  // Returns an empty string on success, else what is wrong.
  std::string parse(const uint8_t* p, size_t len, bool is64Layout);

  // Raw session clock → UTC FILETIME, integer math only.
  int64_t toFileTime(int64_t raw) const;
};

// UTF-16LE (NUL-terminated or bounded) → UTF-8. Stops at len bytes.
std::string utf16ToUtf8(const uint8_t* p, size_t maxBytes, size_t* consumed = nullptr);

}  // namespace etl

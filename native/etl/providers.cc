#include "providers.h"
#include <cctype>
#include <optional>

#include "constants.h"

namespace etl {

namespace {
Guid G(const char* s) { return *Guid::parse(s); }

constexpr int kNoGroup = -1;

struct Known {
  Guid guid;
  const char* name;
  // EVENT_TRACE_GROUP_* of the kernel records that carry this class only as a
  // HookId (docs/etl-format.md, Kernel group GUIDs), or kNoGroup.
  int group;
};

const Known* table(size_t& n) {
  static const Known k[] = {
      {known::kEventTrace, "EventTrace", 0x00},
      {known::kEventMetadata, "EventMetadata", kNoGroup},
      {known::kSystemConfigEx, "SystemConfig", kNoGroup},
      {known::kEventTraceConfig, "EventTraceConfig", 0x0B},
      {G("b3e675d7-2554-4f18-830b-2762732560de"), "KernelTraceControl-ImageId", kNoGroup},
      {G("ed54dff8-c409-4cf6-bf83-05e1e61a09c4"), "WinSAT", kNoGroup},
      {known::kProcessClass, "Process", 0x03},
      {known::kThreadClass, "Thread", 0x05},
      {known::kImageClass, "ImageLoad", 0x14},
      {G("3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c"), "DiskIo", 0x01},
      {G("3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c"), "PageFault", 0x02},
      {G("90cbdc39-4a3e-11d1-84f4-0000f80464e3"), "FileIo", 0x04},
      {G("9a280ac0-c8e0-11d1-84e2-00c04fb998a2"), "TcpIp", 0x06},
      {G("bf3a50c5-a9c9-4988-a005-2df0b7c80f80"), "UdpIp", 0x08},
      {G("ae53722e-c863-11d2-8659-00c04fa321a1"), "Registry", 0x09},
      {G("13976d09-a327-438c-950b-7f03192815c7"), "DbgPrint", 0x0A},
      {G("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"), "PerfInfo", 0x0F},
      {G("def2fe46-7bd6-4b80-bd94-f57fe20d0ce3"), "StackWalk", 0x18},
      {G("45d8cccd-539f-4b72-a8b7-5c683142609a"), "ALPC", 0x1A},
      {G("3282fc76-feed-498e-8aa7-e70f459d430e"), "Job", 0x07},
      {known::kNdisPacketCapture, "Microsoft-Windows-NDIS-PacketCapture", kNoGroup},
      {known::kPktMon, "Microsoft-Windows-PktMon", kNoGroup},
      {known::kNdisWanCapture, "Microsoft-Windows-Ras-NdisWanPacketCapture", kNoGroup},
      {known::kKernelProcess, "Microsoft-Windows-Kernel-Process", kNoGroup},
      {known::kTcpip, "Microsoft-Windows-TCPIP", kNoGroup},
      {G("7dd42a49-5329-4832-8dfd-43d979153a88"), "Microsoft-Windows-Kernel-Network", kNoGroup},
      {G("e13c0d23-ccbc-4e12-931b-d9cc2eee27e4"), "Microsoft-Windows-DotNETRuntime", kNoGroup},
      {G("a669021c-c450-4609-a035-5af59af4df18"), "Microsoft-Windows-DotNETRuntimeRundown", kNoGroup},
      {G("2a576b87-09a7-520e-c21a-4942f0271d67"), "Microsoft-Antimalware-Scan-Interface", kNoGroup},
      {G("a0c1853b-5c40-4b15-8766-3cf1c58f985a"), "Microsoft-Windows-PowerShell", kNoGroup},
  };
  n = sizeof k / sizeof k[0];
  return k;
}
}  // namespace

Guid kernelEventClass(uint16_t hookId) {
  uint8_t group = uint8_t(hookId >> 8), type = uint8_t(hookId & 0xFF);
  // The kernel logs image loads in the PROCESS group (type 10 = Load), but
  // they are events of the Image class (docs/etl-format.md, Kernel group GUIDs).
  if (group == 0x03 && type == 0x0A) return known::kImageClass;
  size_t n;
  const Known* k = table(n);
  for (size_t i = 0; i < n; i++)
    if (k[i].group == group) return k[i].guid;
  return Guid{};
}

const char* providerName(const Guid& g) {
  size_t n;
  const Known* k = table(n);
  for (size_t i = 0; i < n; i++)
    if (k[i].guid == g) return k[i].name;
  return nullptr;
}

std::optional<Guid> providerByName(const std::string& name) {
  size_t n;
  const Known* k = table(n);
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string want = lower(name);
  for (size_t i = 0; i < n; i++)
    if (lower(k[i].name) == want) return k[i].guid;
  // Short forms: "PktMon" for "Microsoft-Windows-PktMon".
  for (size_t i = 0; i < n; i++)
    if (lower(k[i].name) == "microsoft-windows-" + want) return k[i].guid;
  return std::nullopt;
}

}  // namespace etl

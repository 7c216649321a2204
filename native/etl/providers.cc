#include "providers.h"
#include <cctype>
#include <optional>

namespace etl {

namespace {
Guid G(const char* s) { return *Guid::parse(s); }

struct Known {
  Guid guid;
  const char* name;
};

const Known* table(size_t& n) {
  static const Known k[] = {
      {G("68fdd900-4a3e-11d1-84f4-0000f80464e3"), "EventTrace"},
      {G("bbccf6c1-6cd1-48c4-80ff-839482e37671"), "EventMetadata"},
      {G("9b79ee91-b5fd-41c0-a243-4248e266e9d0"), "SystemConfig"},
      {G("01853a65-418f-4f36-aefc-dc0f1d2fd235"), "EventTraceConfig"},
      {G("b3e675d7-2554-4f18-830b-2762732560de"), "KernelTraceControl-ImageId"},
      {G("ed54dff8-c409-4cf6-bf83-05e1e61a09c4"), "WinSAT"},
      {G("3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c"), "Process"},
      {G("3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c"), "Thread"},
      {G("2cb15d1d-5fc1-11d2-abe1-00a0c911f518"), "ImageLoad"},
      {G("3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c"), "DiskIo"},
      {G("3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c"), "PageFault"},
      {G("90cbdc39-4a3e-11d1-84f4-0000f80464e3"), "FileIo"},
      {G("9a280ac0-c8e0-11d1-84e2-00c04fb998a2"), "TcpIp"},
      {G("bf3a50c5-a9c9-4988-a005-2df0b7c80f80"), "UdpIp"},
      {G("ae53722e-c863-11d2-8659-00c04fa321a1"), "Registry"},
      {G("13976d09-a327-438c-950b-7f03192815c7"), "DbgPrint"},
      {G("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc"), "PerfInfo"},
      {G("def2fe46-7bd6-4b80-bd94-f57fe20d0ce3"), "StackWalk"},
      {G("45d8cccd-539f-4b72-a8b7-5c683142609a"), "ALPC"},
      {G("3282fc76-feed-498e-8aa7-e70f459d430e"), "Job"},
      {G("2ed6006e-4729-4609-b423-3ee7bcd678ef"), "Microsoft-Windows-NDIS-PacketCapture"},
      {G("4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac"), "Microsoft-Windows-PktMon"},
      {G("d84521f7-2235-4237-a7c0-14e3a9676286"), "Microsoft-Windows-Ras-NdisWanPacketCapture"},
      {G("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716"), "Microsoft-Windows-Kernel-Process"},
      {G("2f07e2ee-15db-40f1-90ef-9d7ba282188a"), "Microsoft-Windows-TCPIP"},
      {G("7dd42a49-5329-4832-8dfd-43d979153a88"), "Microsoft-Windows-Kernel-Network"},
      {G("e13c0d23-ccbc-4e12-931b-d9cc2eee27e4"), "Microsoft-Windows-DotNETRuntime"},
      {G("a669021c-c450-4609-a035-5af59af4df18"), "Microsoft-Windows-DotNETRuntimeRundown"},
      {G("2a576b87-09a7-520e-c21a-4942f0271d67"), "Microsoft-Antimalware-Scan-Interface"},
      {G("a0c1853b-5c40-4b15-8766-3cf1c58f985a"), "Microsoft-Windows-PowerShell"},
  };
  n = sizeof k / sizeof k[0];
  return k;
}
}  // namespace

Guid kernelGroupGuid(uint8_t group) {
  switch (group) {
    case 0x00: return G("68fdd900-4a3e-11d1-84f4-0000f80464e3");
    case 0x01: return G("3d6fa8d4-fe05-11d0-9dda-00c04fd7ba7c");
    case 0x02: return G("3d6fa8d3-fe05-11d0-9dda-00c04fd7ba7c");
    case 0x03: return G("3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c");
    case 0x04: return G("90cbdc39-4a3e-11d1-84f4-0000f80464e3");
    case 0x05: return G("3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c");
    case 0x06: return G("9a280ac0-c8e0-11d1-84e2-00c04fb998a2");
    case 0x07: return G("3282fc76-feed-498e-8aa7-e70f459d430e");
    case 0x08: return G("bf3a50c5-a9c9-4988-a005-2df0b7c80f80");
    case 0x09: return G("ae53722e-c863-11d2-8659-00c04fa321a1");
    case 0x0A: return G("13976d09-a327-438c-950b-7f03192815c7");
    case 0x0B: return G("01853a65-418f-4f36-aefc-dc0f1d2fd235");
    case 0x0F: return G("ce1dbfb4-137e-4da6-87b0-3f59aa102cbc");
    case 0x14: return G("2cb15d1d-5fc1-11d2-abe1-00a0c911f518");
    case 0x18: return G("def2fe46-7bd6-4b80-bd94-f57fe20d0ce3");
    case 0x1A: return G("45d8cccd-539f-4b72-a8b7-5c683142609a");
    default: return Guid{};
  }
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

namespace guids {
const Guid EventTrace = G("68fdd900-4a3e-11d1-84f4-0000f80464e3");
const Guid EventMetadata = G("bbccf6c1-6cd1-48c4-80ff-839482e37671");
const Guid NdisPacketCapture = G("2ed6006e-4729-4609-b423-3ee7bcd678ef");
const Guid PktMon = G("4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac");
const Guid NdisWanCapture = G("d84521f7-2235-4237-a7c0-14e3a9676286");
const Guid KernelProcess = G("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716");
const Guid Tcpip = G("2f07e2ee-15db-40f1-90ef-9d7ba282188a");
const Guid ProcessClass = G("3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c");
const Guid SystemConfig = G("9b79ee91-b5fd-41c0-a243-4248e266e9d0");
}  // namespace guids

}  // namespace etl

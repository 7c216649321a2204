// Names for well-known provider and event-class GUIDs, and the GUIDs of the
// kernel event groups that SYSTEM/PERFINFO records carry only as a HookId.
#pragma once
#include <cstdint>
#include <string>
#include "guid.h"

namespace etl {

// Group (high byte of HookId) → event-class GUID; zero GUID when unknown.
Guid kernelGroupGuid(uint8_t group);

// Display name for a GUID, or nullptr.
const char* providerName(const Guid& g);

// Reverse lookup, case-insensitive; nullopt if unknown.
std::optional<Guid> providerByName(const std::string& name);

namespace guids {
extern const Guid EventTrace;        // {68fdd900-4a3e-11d1-84f4-0000f80464e3}
extern const Guid EventMetadata;     // {bbccf6c1-6cd1-48c4-80ff-839482e37671}
extern const Guid NdisPacketCapture; // {2ed6006e-4729-4609-b423-3ee7bcd678ef}
extern const Guid PktMon;            // {4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}
extern const Guid NdisWanCapture;    // Microsoft-Windows-Ras-NdisWanPacketCapture
extern const Guid KernelProcess;     // {22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}
extern const Guid Tcpip;             // {2f07e2ee-15db-40f1-90ef-9d7ba282188a}
extern const Guid ProcessClass;      // {3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c}
extern const Guid SystemConfig;      // {9b79ee91-b5fd-41c0-a243-4248e266e9d0}
}  // namespace guids

}  // namespace etl

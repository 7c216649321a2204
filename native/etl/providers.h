// Names for well-known provider and event-class GUIDs, and the event class of
// the kernel records that carry it only as a HookId. The GUIDs the code acts
// on are in constants.h.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include "guid.h"

namespace etl {

// Event class of a SYSTEM/PERFINFO record from its HookId (group in the high
// byte, type in the low byte); zero GUID when the group is unknown.
Guid kernelEventClass(uint16_t hookId);

// Display name for a GUID, or nullptr.
const char* providerName(const Guid& g);

// Reverse lookup, case-insensitive; nullopt if unknown.
std::optional<Guid> providerByName(const std::string& name);

}  // namespace etl

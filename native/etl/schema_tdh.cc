// TDH blobs the merger embeds as EventMetadataGuid records: TRACE_EVENT_INFO
// (one event's schema) and EVENT_MAP_INFO (value maps). Layouts:
// docs/etl-format.md, Embedded schemas; field semantics from tdh.h (restated, not copied).
#include <cstdint>
#include <string>

#include "bytes.h"
#include "event_descriptor.h"
#include "schema.h"
#include "schema_internal.h"
#include "text.h"

namespace etl {

namespace {

constexpr uint32_t kTeiHeader = 0x70;   // TRACE_EVENT_INFO fixed part
constexpr uint32_t kPropInfoSize = 24;  // EVENT_PROPERTY_INFO
using detail::isVariableInType;
using detail::kMaxDepth;

// UTF-16 NUL-terminated string at a blob-relative offset (0 = absent).
bool blobString(const uint8_t* blob, uint32_t len, uint32_t off, std::string* out,
                const char* what, std::string* error) {
  out->clear();
  if (off == 0) return true;
  if (off >= len) {
    if (error) *error = std::string(what) + " offset " + std::to_string(off) + " is outside the " +
                        std::to_string(len) + "-byte blob";
    return false;
  }
  size_t units = (len - off) / 2;
  size_t n = strnlen16(blob + off, units);
  if (n == units) {
    if (error) *error = std::string(what) + " at offset " + std::to_string(off) + " is not NUL-terminated";
    return false;
  }
  *out = utf16ToUtf8(blob + off, n);
  return true;
}

}  // namespace

std::optional<Schema> parseTraceEventInfo(const uint8_t* b, uint32_t len, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Schema> {
    if (error) *error = "TRACE_EVENT_INFO: " + why;
    return std::nullopt;
  };
  if (!b || len < kTeiHeader)
    return fail("blob is " + std::to_string(len) + " bytes, shorter than the " +
                std::to_string(kTeiHeader) + "-byte header");
  Schema s;
  s.source = SchemaSource::TdhBlob;
  s.provider = Guid::fromBytes(b);
  s.eventGuid = Guid::fromBytes(b + 0x10);
  s.descriptor = readEventDescriptor(b + 0x20);
  s.decodingSource = rd32(b + 0x30);
  uint32_t propCount = rd32(b + 0x64), topCount = rd32(b + 0x68);
  if (propCount > (len - kTeiHeader) / kPropInfoSize)
    return fail("PropertyCount " + std::to_string(propCount) + " does not fit in the " +
                std::to_string(len) + "-byte blob");
  if (topCount > propCount)
    return fail("TopLevelPropertyCount " + std::to_string(topCount) + " > PropertyCount " +
                std::to_string(propCount));
  std::string err;
  struct { uint32_t at; std::string* out; const char* what; } names[] = {
      {0x34, &s.providerName, "ProviderName"}, {0x38, &s.levelName, "LevelName"},
      {0x3C, &s.channelName, "ChannelName"},   {0x40, &s.keywordsName, "KeywordsName"},
      {0x44, &s.taskName, "TaskName"},         {0x48, &s.opcodeName, "OpcodeName"},
      {0x4C, &s.eventMessage, "EventMessage"}, {0x5C, &s.eventName, "EventName"},
  };
  for (auto& n : names)
    if (!blobString(b, len, rd32(b + n.at), n.out, n.what, &err)) return fail(err);
  // Fallback display name; generic opcodes ("win:Info") name nothing.
  if (s.eventName.empty())
    s.eventName = !s.taskName.empty() ? s.taskName : s.opcodeName.rfind("win:", 0) == 0 ? "" : s.opcodeName;

  s.topLevelCount = topCount;
  s.properties.resize(propCount);
  for (uint32_t i = 0; i < propCount; ++i) {
    const uint8_t* e = b + kTeiHeader + kPropInfoSize * i;
    PropertyInfo& p = s.properties[i];
    p.flags = rd32(e);
    std::string what = "property " + std::to_string(i);
    if (!blobString(b, len, rd32(e + 4), &p.name, (what + " name").c_str(), &err)) return fail(err);
    what += " '" + p.name + "'";
    uint16_t countOrIndex = rd16(e + 16), lengthOrIndex = rd16(e + 18);
    if (p.flags & prop::Struct) {
      p.structStart = rd16(e + 8);
      p.structCount = rd16(e + 10);
      if (uint64_t(p.structStart) + p.structCount > propCount)
        return fail(what + ": struct members " + std::to_string(p.structStart) + "+" +
                    std::to_string(p.structCount) + " exceed PropertyCount " + std::to_string(propCount));
      if (p.structCount && i >= p.structStart && i < p.structStart + p.structCount)
        return fail(what + ": struct contains itself");
    } else {
      p.inType = InType(rd16(e + 8));
      p.outType = OutType(rd16(e + 10));
      uint32_t mapOff = rd32(e + 12);
      if (!(p.flags & prop::HasCustomSchema) &&
          !blobString(b, len, mapOff, &p.mapName, (what + " map name").c_str(), &err))
        return fail(err);
    }
    if (p.flags & prop::HasTags) p.tags = rd32(e + 20) & 0x0FFFFFFF;
    if (p.flags & prop::ParamCount) {
      if (countOrIndex >= propCount || countOrIndex == i)
        return fail(what + ": count property index " + std::to_string(countOrIndex) + " is invalid");
      p.isArray = true;
      p.countProperty = countOrIndex;
    } else {
      p.count = countOrIndex;
      p.isArray = (p.flags & prop::ParamFixedCount) || countOrIndex > 1;
    }
    if (p.flags & prop::ParamLength) {
      if (lengthOrIndex >= propCount || lengthOrIndex == i)
        return fail(what + ": length property index " + std::to_string(lengthOrIndex) + " is invalid");
      p.hasLength = true;
      p.lengthProperty = lengthOrIndex;
    } else {
      p.length = lengthOrIndex;
      p.hasLength = (p.flags & prop::ParamFixedLength) || (lengthOrIndex > 0 && isVariableInType(p.inType));
    }
  }
  // Reject struct cycles (A contains B contains A) by bounding the depth.
  std::vector<int> depth(propCount, 0);
  for (uint32_t pass = 0; pass <= kMaxDepth; ++pass) {
    bool changed = false;
    for (uint32_t i = 0; i < propCount; ++i) {
      const PropertyInfo& p = s.properties[i];
      if (!p.isStruct()) continue;
      for (uint32_t k = 0; k < p.structCount; ++k) {
        int& d = depth[p.structStart + k];
        if (d < depth[i] + 1) { d = depth[i] + 1; changed = true; }
      }
    }
    if (!changed) break;
    if (pass == kMaxDepth) return fail("struct members form a cycle or nest too deep");
  }
  finalizeSchema(s);
  return s;
}

// ---- EVENT_MAP_INFO --------------------------------------------------------------

std::optional<ValueMap> parseEventMapInfo(const uint8_t* b, uint32_t len, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ValueMap> {
    if (error) *error = "EVENT_MAP_INFO: " + why;
    return std::nullopt;
  };
  if (!b || len < 16) return fail("blob is " + std::to_string(len) + " bytes, shorter than its 16-byte header");
  ValueMap m;
  std::string err;
  if (!blobString(b, len, rd32(b), &m.name, "map name", &err)) return fail(err);
  m.flags = rd32(b + 4);
  uint32_t count = rd32(b + 8);
  if (count > (len - 16) / 8)
    return fail("EntryCount " + std::to_string(count) + " does not fit in the " + std::to_string(len) + "-byte blob");
  bool patternMap = (m.flags & 0x4) != 0;  // pattern maps hold string inputs; kept without values
  for (uint32_t k = 0; k < count; ++k) {
    const uint8_t* e = b + 16 + 8 * k;
    std::string name;
    if (!blobString(b, len, rd32(e), &name, "map entry", &err)) return fail(err);
    // Names carry the manifest's trailing space in many providers.
    while (!name.empty() && name.back() == ' ') name.pop_back();
    m.entries.emplace_back(patternMap ? k : rd32(e + 4), std::move(name));
  }
  return m;
}

}  // namespace etl

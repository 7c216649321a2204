// SchemaRegistry: the schemas a file carries (EventMetadataGuid records,
// TraceLogging metadata), looked up per record.
#include <memory>
#include <string>

#include "providers.h"
#include "constants.h"
#include "known_layouts.h"
#include "schema.h"

namespace etl {

void SchemaRegistry::reject(const EventRecord& rec, const std::string& why) {
  ++rejected_;
  if (rejections_.size() < 100)
    rejections_.push_back("metadata record in buffer " + std::to_string(rec.bufferIndex) + " at offset " +
                          std::to_string(rec.recordOffset) + ": " + why);
}

SchemaRegistry::AddResult SchemaRegistry::addMetadataRecord(const EventRecord& rec, std::string* error) {
  if (rec.kind != RecordKind::Full || rec.provider != known::kEventMetadata) return AddResult::NotMetadata;
  if (rec.opcode != kMetadataTypeEventInfo && rec.opcode != kMetadataTypeMapInfo) return AddResult::NotMetadata;
  std::string err;
  if (rec.opcode == kMetadataTypeEventInfo) {
    auto s = parseTraceEventInfo(rec.userData, rec.userDataLen, &err);
    if (!s) {
      reject(rec, err);
      if (error) *error = err;
      return AddResult::Rejected;
    }
    // MOF classes (DECODING_SOURCE Wbem) are keyed by class GUID + type.
    bool classic = s->decodingSource == 1 && !s->eventGuid.isZero();
    Key key = classic ? Key{s->eventGuid, s->descriptor.opcode, s->descriptor.version}
                         : Key{s->provider, s->descriptor.id, s->descriptor.version};
    auto& table = classic ? byClass_ : byEvent_;
    if (table.count(key)) return AddResult::Duplicate;
    table.emplace(key, std::make_unique<Schema>(std::move(*s)));
    return AddResult::Added;
  }
  if (rec.userDataLen < 16 || !rec.userData) {
    err = "EVENT_MAP_INFO record payload is " + std::to_string(rec.userDataLen) + " bytes, no room for the provider GUID";
    reject(rec, err);
    if (error) *error = err;
    return AddResult::Rejected;
  }
  Guid provider = Guid::fromBytes(rec.userData);
  auto m = parseEventMapInfo(rec.userData + 16, rec.userDataLen - 16, &err);
  if (!m) {
    reject(rec, err);
    if (error) *error = err;
    return AddResult::Rejected;
  }
  auto key = std::make_pair(provider, m->name);
  if (maps_.count(key)) return AddResult::Duplicate;
  maps_.emplace(std::move(key), std::move(*m));
  return AddResult::Added;
}

const Schema* SchemaRegistry::find(const Guid& provider, uint16_t id, uint8_t version) const {
  auto it = byEvent_.find(Key{provider, id, version});
  return it == byEvent_.end() ? nullptr : it->second.get();
}

const Schema* SchemaRegistry::findClassic(const Guid& eventGuid, uint8_t opcode, uint8_t version) const {
  auto it = byClass_.find(Key{eventGuid, opcode, version});
  return it == byClass_.end() ? nullptr : it->second.get();
}

const Schema* SchemaRegistry::traceLoggingSchema(const EventRecord& rec, std::string* error) {
  if (rec.kind != RecordKind::Event) return nullptr;
  const uint8_t* meta;
  uint32_t metaLen;
  if (!findExtendedItem(rec, kExtTypeSchemaTl, &meta, &metaLen)) return nullptr;
  std::string key(reinterpret_cast<const char*>(&rec.provider), sizeof(Guid));
  key.append(reinterpret_cast<const char*>(meta), metaLen);
  auto it = tl_.find(key);
  if (it != tl_.end()) return it->second.get();
  std::string err;
  auto s = parseTraceLoggingMetadata(meta, metaLen, &err);
  if (!s) {
    if (error) *error = err;
    return nullptr;
  }
  s->provider = rec.provider;
  s->descriptor = rec.descriptor();
  const uint8_t* traits;
  uint32_t traitsLen;
  if (findExtendedItem(rec, kExtTypeProvTraits, &traits, &traitsLen))
    if (auto name = parseProviderTraitsName(traits, traitsLen)) s->providerName = *name;
  auto owned = std::make_unique<Schema>(std::move(*s));
  const Schema* out = owned.get();
  tl_.emplace(std::move(key), std::move(owned));
  return out;
}

const Schema* SchemaRegistry::schemaFor(const EventRecord& rec, std::string* error) {
  const Schema* s = nullptr;
  if (rec.kind == RecordKind::Event) {
    std::string err;
    if (const Schema* tl = traceLoggingSchema(rec, &err)) return tl;
    if (!err.empty()) {
      if (error) *error = err;
      return nullptr;
    }
    s = find(rec.provider, rec.id, rec.version);
  } else if (rec.kind != RecordKind::Message) {
    s = findClassic(rec.provider, rec.opcode, rec.version);
  }
  if (!s && knownLayouts_) s = knownLayout(rec);
  return s;
}

const ValueMap* SchemaRegistry::findMap(const Guid& provider, const std::string& name) const {
  auto it = maps_.find(std::make_pair(provider, name));
  return it == maps_.end() ? nullptr : &it->second;
}

std::optional<std::string> SchemaRegistry::mapValue(const Guid& provider, const std::string& mapName,
                                                    uint64_t value) const {
  const ValueMap* m = findMap(provider, mapName);
  if (!m) return std::nullopt;
  if (!m->isBitmap()) {
    for (const auto& e : m->entries)
      if (e.first == value) return e.second;
    return std::nullopt;
  }
  std::string out;
  uint64_t covered = 0;
  for (const auto& e : m->entries) {
    if (e.first != 0 && (value & e.first) == e.first) {
      if (!out.empty()) out += " | ";
      out += e.second;
      covered |= e.first;
    }
  }
  if (value == 0 || covered != value) return std::nullopt;  // unnamed bits: let the caller print the number
  return out;
}

}  // namespace etl

// Schema decoding: a TDH TRACE_EVENT_INFO blob, an EVENT_MAP_INFO blob or
// TraceLogging metadata goes into a SchemaRegistry the way the reader's
// records bring them, then a payload is decoded with the resulting schema.
// Input: [mode u8][blob length u16][blob][map length u16][map blob][payload...]
//   mode bit 0: 64-bit pointers; bits 1-2: 0 TDH blob, 1 TraceLogging
//   metadata (EVENT_SCHEMA_TL extended item), 2 TDH blob + EVENT_MAP_INFO,
//   3 TraceLogging with a PROV_TRAITS item taken from the map blob;
//   bit 3: instead, the payload under a built-in layout (etl/known_layouts.h),
//   the one at index blob length modulo their count.
#include <cstdint>
#include <memory>
#include <string>
#include "constants.h"
#include "etl/known_layouts.h"
#include "etl/providers.h"
#include "etl/schema.h"
#include "fuzz_common.h"

namespace {

uint64_t touch(const etl::Value& v, int depth = 0) {
  FUZZ_CHECK(depth < 64, "decoded value nested deeper than the schema allows");
  uint64_t h = v.u ^ uint64_t(v.i) ^ v.str.size();
  for (uint32_t k = 0; k < v.bytesLen; ++k) h += v.bytes[k];
  for (const auto& it : v.items) h += touch(it, depth + 1);
  for (const auto& m : v.members) h += touch(m.value, depth + 1) + m.name.size();
  return h;
}

// Exact-size heap copy of a slice of the input.
struct Slice {
  std::unique_ptr<uint8_t[]> p;
  uint32_t n = 0;
  explicit Slice(const std::vector<uint8_t>& v) : p(new uint8_t[v.size() + 1]), n(uint32_t(v.size())) {
    if (!v.empty()) std::memcpy(p.get(), v.data(), v.size());
  }
  const uint8_t* data() const { return n ? p.get() : nullptr; }
};

// An extended-data chain: EVENT_HEADER_EXTENDED_DATA_ITEM headers (8 bytes:
// size, type, linkage, data size) each followed by its data, 8-aligned.
std::vector<uint8_t> extItem(uint16_t type, const std::vector<uint8_t>& d, bool more) {
  size_t n = d.size() > 0xFFF0 ? 0xFFF0 : d.size();
  size_t item = (8 + n + 7) & ~size_t(7);
  std::vector<uint8_t> v(item, 0);
  v[0] = uint8_t(item); v[1] = uint8_t(item >> 8);
  v[2] = uint8_t(type); v[3] = uint8_t(type >> 8);
  v[4] = more ? 1 : 0;
  v[6] = uint8_t(n); v[7] = uint8_t(n >> 8);
  if (n) std::memcpy(v.data() + 8, d.data(), n);
  return v;
}

void exercise(etl::SchemaRegistry& reg, const etl::Schema& s, const uint8_t* payload, uint32_t len, bool p64,
              volatile uint64_t& sink) {
  etl::DecodedPayload d = etl::decode(s, payload, len, p64);
  FUZZ_CHECK(d.bytesUsed <= len, "decode used " + std::to_string(d.bytesUsed) + " of " + std::to_string(len));
  for (const auto& p : d.properties) sink = sink + touch(p.value) + p.name.size();
  FUZZ_CHECK(s.topLevelCount <= s.properties.size(), "topLevelCount beyond the property list");
  for (int w = 0; w < 2; ++w) {
    FUZZ_CHECK(s.fixedOffset[w].size() == s.fixedSize[w].size(), "fixed layout tables differ in size");
  }
  for (uint32_t i = 0; i < s.topLevelCount && i < 128; ++i) {
    const etl::PropertyInfo& pi = s.properties[i];
    auto span = etl::findField(s, int(i), payload, len, p64);
    if (span) FUZZ_CHECK(uint64_t(span->offset) + span->size <= len, "findField span past the payload");
    auto byName = etl::findField(s, pi.name, payload, len, p64);
    // By name finds the first property of that name, which may be an earlier one.
    if (byName && !span) FUZZ_CHECK(s.indexOf(pi.name) != int(i), "by-name lookup found what by-index did not");
    if (auto v = etl::readUnsignedField(s, int(i), payload, len, p64)) {
      if (!pi.mapName.empty())
        if (auto name = reg.mapValue(s.provider, pi.mapName, *v)) sink = sink + name->size();
    }
  }
  // One walk over the leading fields: contiguous spans inside the payload.
  if (s.topLevelCount > 0 && s.topLevelCount <= s.properties.size()) {
    std::vector<etl::FieldSpan> spans;
    uint32_t last = (s.topLevelCount < 128 ? s.topLevelCount : 128) - 1;
    if (etl::fieldSpans(s, last, payload, len, p64, spans)) {
      uint64_t at = 0;
      for (const auto& sp : spans) {
        FUZZ_CHECK(sp.offset == at, "fieldSpans are not contiguous");
        at += sp.size;
      }
      FUZZ_CHECK(at <= len, "fieldSpans run past the payload");
    }
  }
  FUZZ_CHECK(!etl::findField(s, -1, payload, len, p64), "findField accepted index -1");
  FUZZ_CHECK(!etl::findField(s, int(s.properties.size()) + 1, payload, len, p64), "findField accepted a bad index");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  uint8_t mode = c.u8();
  bool p64 = mode & 1;
  int kind = (mode >> 1) & 3;
  Slice blob(c.bytes(c.u16()));
  Slice map(c.bytes(c.u16()));
  Slice payload(c.rest());
  volatile uint64_t sink = 0;
  etl::SchemaRegistry reg;

  if (mode & 8) {
    const auto& layouts = etl::allKnownLayouts();
    FUZZ_CHECK(!layouts.empty(), "no built-in layouts");
    const etl::Schema& s = *layouts[blob.n % layouts.size()];
    exercise(reg, s, payload.data(), payload.n, p64, sink);
    return 0;
  }

  if (kind == 0 || kind == 2) {
    // Map first, as the registry may see it in any order.
    if (kind == 2) {
      etl::EventRecord m;
      m.kind = etl::RecordKind::Full;
      m.provider = known::kEventMetadata;
      m.opcode = etl::kMetadataTypeMapInfo;
      m.userData = map.data();
      m.userDataLen = map.n;
      reg.addMetadataRecord(m);
      std::string err;
      if (map.n >= 16) etl::parseEventMapInfo(map.data() + 16, map.n - 16, &err);
    }
    etl::EventRecord r;
    r.kind = etl::RecordKind::Full;
    r.provider = known::kEventMetadata;
    r.opcode = etl::kMetadataTypeEventInfo;
    r.userData = blob.data();
    r.userDataLen = blob.n;
    std::string err;
    auto added = reg.addMetadataRecord(r, &err);
    std::string err2;
    auto direct = etl::parseTraceEventInfo(blob.data(), blob.n, &err2);
    FUZZ_CHECK((added == etl::SchemaRegistry::AddResult::Rejected) == !direct.has_value(),
               "registry and parser disagree on a blob: " + err + " / " + err2);
    if (!direct) {
      FUZZ_CHECK(!err2.empty(), "rejected blob without a reason");
      return 0;
    }
    // Look the schema up the way an event finds it.
    etl::EventRecord ev;
    bool classic = direct->decodingSource == 1 && !direct->eventGuid.isZero();
    ev.kind = classic ? etl::RecordKind::Full : etl::RecordKind::Event;
    ev.provider = classic ? direct->eventGuid : direct->provider;
    ev.id = direct->descriptor.id;
    ev.opcode = direct->descriptor.opcode;
    ev.version = direct->descriptor.version;
    ev.userData = payload.data();
    ev.userDataLen = payload.n;
    const etl::Schema* s = reg.schemaFor(ev);
    FUZZ_CHECK(s != nullptr, "an added schema is not found by its own event");
    exercise(reg, *s, payload.data(), payload.n, p64, sink);
    return 0;
  }

  // TraceLogging: the metadata travels in the event's own extended data.
  std::vector<uint8_t> meta(blob.data(), blob.data() + blob.n);
  std::vector<uint8_t> chain;
  if (kind == 3) {
    std::vector<uint8_t> traits(map.data(), map.data() + map.n);
    chain = extItem(etl::kExtTypeProvTraits, traits, true);
  }
  std::vector<uint8_t> item = extItem(etl::kExtTypeSchemaTl, meta, false);
  chain.insert(chain.end(), item.begin(), item.end());
  Slice ext(chain);
  etl::EventRecord ev;
  ev.kind = etl::RecordKind::Event;
  ev.provider = etl::Guid{0x12345678, 0x1234, 0x5678, {1, 2, 3, 4, 5, 6, 7, 8}};
  ev.id = 0;
  ev.extData = ext.data();
  ev.extDataLen = ext.n;
  ev.userData = payload.data();
  ev.userDataLen = payload.n;
  std::string err;
  const etl::Schema* s = reg.traceLoggingSchema(ev, &err);
  if (!s) {
    FUZZ_CHECK(!err.empty(), "TraceLogging metadata rejected without a reason");
    return 0;
  }
  FUZZ_CHECK(reg.traceLoggingSchema(ev) == s, "TraceLogging schema not cached");
  exercise(reg, *s, payload.data(), payload.n, p64, sink);
  if (kind == 3 && map.n) etl::parseProviderTraitsName(map.data(), map.n);
  return 0;
}

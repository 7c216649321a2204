// Event schemas and a payload decoder that needs no manifests:
//  - TDH TRACE_EVENT_INFO / EVENT_MAP_INFO blobs that the merger embeds as
//    EventMetadataGuid records (docs/etl-format.md, Embedded schemas);
//  - TraceLogging self-describing metadata carried in each event's
//    EVENT_SCHEMA_TL extended item (docs/etl-format.md, TraceLogging metadata).
// Both end up in the same Schema shape and are decoded by the same decode().
// Everything read from a blob or payload is bounds-checked: malformed input
// gives an error string, never a crash.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include "event_descriptor.h"
#include "event_record.h"
#include "guid.h"

namespace etl {

// _TDH_IN_TYPE numbering (tdh.h). TraceLogging in-types are mapped onto it.
enum class InType : uint16_t {
  Null = 0, UnicodeString = 1, AnsiString = 2,
  Int8 = 3, UInt8 = 4, Int16 = 5, UInt16 = 6, Int32 = 7, UInt32 = 8, Int64 = 9, UInt64 = 10,
  Float = 11, Double = 12, Boolean = 13, Binary = 14, Guid = 15, Pointer = 16,
  FileTime = 17, SystemTime = 18, Sid = 19, HexInt32 = 20, HexInt64 = 21,
  ManifestCountedString = 22, ManifestCountedAnsiString = 23, Reserved24 = 24,
  ManifestCountedBinary = 25,
  CountedString = 300, CountedAnsiString = 301, ReversedCountedString = 302,
  ReversedCountedAnsiString = 303, NonNullTerminatedString = 304,
  NonNullTerminatedAnsiString = 305, UnicodeChar = 306, AnsiChar = 307, SizeT = 308,
  HexDump = 309, WbemSid = 310,
};

// _TDH_OUT_TYPE numbering (tdh.h). TraceLogging out-types are mapped onto it.
enum class OutType : uint16_t {
  Null = 0, String = 1, DateTime = 2, Byte = 3, UnsignedByte = 4, Short = 5,
  UnsignedShort = 6, Int = 7, UnsignedInt = 8, Long = 9, UnsignedLong = 10, Float = 11,
  Double = 12, Boolean = 13, Guid = 14, HexBinary = 15, HexInt8 = 16, HexInt16 = 17,
  HexInt32 = 18, HexInt64 = 19, Pid = 20, Tid = 21, Port = 22, Ipv4 = 23, Ipv6 = 24,
  SocketAddress = 25, CimDateTime = 26, EtwTime = 27, Xml = 28, ErrorCode = 29,
  Win32Error = 30, NtStatus = 31, HResult = 32, CultureInsensitiveDateTime = 33, Json = 34,
  Utf8 = 35, Pkcs7WithTypeInfo = 36, CodePointer = 37, DateTimeUtc = 38,
  ReducedString = 300, NoPrint = 301,
};

// EVENT_PROPERTY_INFO.Flags (PROPERTY_FLAGS).
namespace prop {
constexpr uint32_t Struct = 0x1;
constexpr uint32_t ParamLength = 0x2;
constexpr uint32_t ParamCount = 0x4;
constexpr uint32_t WbemXmlFragment = 0x8;
constexpr uint32_t ParamFixedLength = 0x10;
constexpr uint32_t ParamFixedCount = 0x20;
constexpr uint32_t HasTags = 0x40;
constexpr uint32_t HasCustomSchema = 0x80;
}  // namespace prop

struct PropertyInfo {
  std::string name;             // UTF-8
  uint32_t flags = 0;           // prop::* as found in the blob
  InType inType = InType::Null;
  OutType outType = OutType::Null;
  std::string mapName;          // ValueMap/BitMap name, empty if none

  // Array: isArray with a fixed count, or a count read from an earlier
  // property (countProperty = its index in Schema::properties), or a UINT16
  // count stored just before the values (TraceLogging variable arrays).
  bool isArray = false;
  uint32_t count = 1;
  int32_t countProperty = -1;
  bool countPrefix = false;

  // Length of strings/binary: fixed (hasLength, `length` units: characters
  // for UTF-16 strings, bytes otherwise) or read from an earlier property.
  bool hasLength = false;
  uint32_t length = 0;
  int32_t lengthProperty = -1;

  // Struct: members are properties[structStart .. structStart+structCount).
  uint32_t structStart = 0;
  uint32_t structCount = 0;
  uint32_t tags = 0;

  bool isStruct() const { return (flags & prop::Struct) != 0; }
};

// Where a schema came from: a TDH blob or TraceLogging metadata in the file,
// or the built-in layouts (known_layouts.h) for files that carry none.
enum class SchemaSource : uint8_t { TdhBlob, TraceLogging, Builtin };

struct Schema {
  SchemaSource source = SchemaSource::TdhBlob;
  Guid provider{};
  Guid eventGuid{};             // TRACE_EVENT_INFO.EventGuid (MOF class), zero if none
  EventDescriptor descriptor;   // id, version, opcode, ... of the event described
  uint32_t decodingSource = 0;  // DECODING_SOURCE: 0 manifest, 1 WBEM/MOF, 2 WPP, 3 TLG
  uint32_t tags = 0;

  // Display name: EventName, else TaskName, else OpcodeName (TDH blobs);
  // the event name for TraceLogging.
  std::string eventName;
  std::string providerName, taskName, opcodeName, levelName, channelName, keywordsName;
  std::string eventMessage;

  // Flat list in TDH order: top-level properties first (topLevelCount of
  // them), struct members wherever structStart points.
  std::vector<PropertyInfo> properties;
  uint32_t topLevelCount = 0;

  // Hot-path layout, filled by finalizeSchema(): byte offset of top-level
  // property i when every property before it has a size known without
  // reading the payload, else -1. [0] = 32-bit pointers, [1] = 64-bit.
  std::vector<int32_t> fixedOffset[2];
  std::vector<int32_t> fixedSize[2];  // static size of top-level i, -1 if variable

  // Index of the top-level property with that name, -1 if none.
  int indexOf(std::string_view name) const;
};

// One map of an EVENT_MAP_INFO blob (ValueMap / BitMap).
struct ValueMap {
  std::string name;
  uint32_t flags = 0;           // MAP_FLAGS: 1 manifest valuemap, 2 manifest bitmap, 8 WBEM valuemap, 0x10 WBEM bitmap
  bool isBitmap() const { return (flags & (0x2 | 0x10)) != 0; }
  std::vector<std::pair<uint32_t, std::string>> entries;  // value → name, blob order
};

// ---- Decoded values --------------------------------------------------------

struct DecodedProperty;

struct Value {
  enum class Kind : uint8_t {
    None,      // not decoded (NULL in-type)
    Int,       // i
    UInt,      // u (unsigned, hex, pointers, size_t)
    Double,    // d (Float and Double)
    Bool,      // b (Boolean, or an integer with OutType Boolean)
    String,    // str, UTF-8; WTF-8 when a UTF-16 value holds an unpaired surrogate (etl/text.h)
    Guid,      // guid
    FileTime,  // i = FILETIME (100 ns since 1601); SYSTEMTIME is converted to it
    Sid,       // str = "S-1-5-18"; bytes/bytesLen = the raw SID
    Binary,    // bytes/bytesLen point into the decoded data
    Array,     // items
    Struct,    // members
  };
  Kind kind = Kind::None;
  InType inType = InType::Null;
  OutType outType = OutType::Null;  // e.g. Ipv4/Ipv6/SocketAddress for Binary values
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  bool b = false;
  std::string str;
  Guid guid{};
  const uint8_t* bytes = nullptr;
  uint32_t bytesLen = 0;
  std::vector<Value> items;
  std::vector<DecodedProperty> members;
};

struct DecodedProperty {
  std::string name;
  Value value;
};

struct DecodedPayload {
  std::vector<DecodedProperty> properties;  // what decoded, in schema order
  bool truncated = false;   // a value ran past the end of the data; decoding stopped there
  std::string error;        // why decoding stopped early (truncation or a schema problem)
  uint32_t bytesUsed = 0;   // payload bytes consumed
};

// Decodes `data` with `schema`. pointer64 = payload pointer width (from the
// record's header type). Never reads outside [data, data+len).
DecodedPayload decode(const Schema& schema, const uint8_t* data, uint32_t len, bool pointer64);

// ---- Hot-path field access -------------------------------------------------

struct FieldSpan {
  uint32_t offset = 0;  // from the start of the payload
  uint32_t size = 0;
};

// Where top-level property `index` sits in the payload, without building any
// values: O(1) when everything before it has a static size (Schema::fixedOffset),
// else a walk over the preceding properties. nullopt if the index is bad, the
// payload is too short, or the walk cannot size a preceding property.
std::optional<FieldSpan> findField(const Schema& schema, int index, const uint8_t* data,
                                   uint32_t len, bool pointer64);
std::optional<FieldSpan> findField(const Schema& schema, std::string_view name,
                                   const uint8_t* data, uint32_t len, bool pointer64);
// Integer field value (1/2/4/8-byte little-endian integers, pointers,
// booleans), zero-extended; nullopt if absent, not an integer, or out of range.
std::optional<uint64_t> readUnsignedField(const Schema& schema, int index, const uint8_t* data,
                                          uint32_t len, bool pointer64);
// Where top-level properties 0..last sit, in one walk over the payload (for
// layouts with variable fields read one after the other). False when the
// payload ends early or the schema cannot size a field; *error says which.
bool fieldSpans(const Schema& schema, uint32_t last, const uint8_t* data, uint32_t len, bool pointer64,
                std::vector<FieldSpan>& out, std::string* error = nullptr);

// ---- Parsers ---------------------------------------------------------------

// TDH TRACE_EVENT_INFO blob → Schema (finalized). nullopt + *error if malformed.
std::optional<Schema> parseTraceEventInfo(const uint8_t* blob, uint32_t len, std::string* error);

// EVENT_MAP_INFO blob → ValueMap. nullopt + *error if malformed.
std::optional<ValueMap> parseEventMapInfo(const uint8_t* blob, uint32_t len, std::string* error);

// TraceLogging event metadata (the EVENT_SCHEMA_TL item data: u16 size, tags,
// name, fields) → Schema (finalized; provider/descriptor left for the caller).
std::optional<Schema> parseTraceLoggingMetadata(const uint8_t* meta, uint32_t len, std::string* error);

// Provider name from PROV_TRAITS data (u16 size, UTF-8 name, traits).
std::optional<std::string> parseProviderTraitsName(const uint8_t* traits, uint32_t len);

// Computes Schema::fixedOffset/fixedSize; the parsers call it.
void finalizeSchema(Schema& schema);

// Data of the first extended item of `extType` in the record's raw chain
// (docs/etl-format.md, TraceLogging metadata); false if absent or the chain is malformed.
bool findExtendedItem(const EventRecord& rec, uint16_t extType, const uint8_t** data, uint32_t* len);

constexpr uint16_t kExtTypeSchemaTl = 0x000B;
constexpr uint16_t kExtTypeProvTraits = 0x000C;
constexpr uint8_t kMetadataTypeEventInfo = 0x20;  // EVENT_METADATA_LOG_TYPE_TRACE_EVENT_INFO
constexpr uint8_t kMetadataTypeMapInfo = 0x21;    // EVENT_MAP_INFO

// ---- Registry --------------------------------------------------------------

class SchemaRegistry {
 public:
  enum class AddResult : uint8_t {
    NotMetadata,  // not an EventMetadataGuid record of a known type; ignored
    Added,
    Duplicate,    // same key already known; the first one is kept
    Rejected,     // malformed blob; reason in *error and rejections()
  };

  // Feed every record; EventMetadataGuid records (FULL header, Class.Type
  // 0x20/0x21) are parsed and stored, everything else is NotMetadata.
  AddResult addMetadataRecord(const EventRecord& rec, std::string* error = nullptr);

  // TDH-blob schema by (provider, event id, version) — EVENT_HEADER events.
  const Schema* find(const Guid& provider, uint16_t id, uint8_t version) const;
  // TDH-blob schema of a MOF class event by (class GUID, Class.Type, version).
  const Schema* findClassic(const Guid& eventGuid, uint8_t opcode, uint8_t version) const;

  // Schema of a TraceLogging event from its own EVENT_SCHEMA_TL item (cached
  // by provider + metadata bytes). nullptr if the record has none or it is
  // malformed (*error then says why).
  const Schema* traceLoggingSchema(const EventRecord& rec, std::string* error = nullptr);

  // The schema for any record: TraceLogging metadata first, then a TDH blob
  // by (provider, id, version), then by (class GUID, opcode, version), then
  // (unless switched off) the built-in layout (known_layouts.h).
  const Schema* schemaFor(const EventRecord& rec, std::string* error = nullptr);
  // Whether schemaFor() falls back to the built-in layouts (default true).
  void useKnownLayouts(bool on) { knownLayouts_ = on; }

  // Maps from EVENT_MAP_INFO records.
  const ValueMap* findMap(const Guid& provider, const std::string& name) const;
  // Name of `value` in the map (bitmaps: set bits' names joined by " | ").
  std::optional<std::string> mapValue(const Guid& provider, const std::string& mapName,
                                      uint64_t value) const;

  size_t schemaCount() const { return byEvent_.size() + byClass_.size(); }
  size_t mapCount() const { return maps_.size(); }
  size_t traceLoggingCount() const { return tl_.size(); }
  // One line per rejected metadata record (capped at 100).
  const std::vector<std::string>& rejections() const { return rejections_; }
  uint64_t rejectedCount() const { return rejected_; }

 private:
  struct Key {
    Guid guid;
    uint16_t id;
    uint8_t version;
    bool operator<(const Key& o) const {
      if (guid != o.guid) return guid < o.guid;
      if (id != o.id) return id < o.id;
      return version < o.version;
    }
  };
  void reject(const EventRecord& rec, const std::string& why);

  std::map<Key, std::unique_ptr<Schema>> byEvent_;
  std::map<Key, std::unique_ptr<Schema>> byClass_;
  std::map<std::pair<Guid, std::string>, ValueMap> maps_;
  std::unordered_map<std::string, std::unique_ptr<Schema>> tl_;  // provider bytes + metadata bytes
  std::vector<std::string> rejections_;
  uint64_t rejected_ = 0;
  bool knownLayouts_ = true;
};

}  // namespace etl

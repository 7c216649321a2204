// Whole-file reading: the input is an .etl file. It goes through everything a
// user's file goes through: EtlReader's buffer walk, record decoding and
// per-CPU merge; the schema registry and decode() of every record that has a
// schema; then the convert engine (packet extraction + pcapng writer) into
// memory, whose output must be well-formed pcapng.
#include <cstdint>
#include <string>
#include "capture/engine.h"
#include "etl/reader.h"
#include "etl/schema.h"
#include "fuzz_common.h"
#include "pcapng/output.h"

namespace {

// Touches every byte a decoded value points at (ASan checks the pointers).
uint64_t touch(const etl::Value& v) {
  uint64_t h = v.u ^ uint64_t(v.i) ^ v.str.size();
  for (uint32_t k = 0; k < v.bytesLen; ++k) h += v.bytes[k];
  for (const auto& it : v.items) h += touch(it);
  for (const auto& m : v.members) h += touch(m.value) + m.name.size();
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::TempFile tmp("reader");
  const std::string& path = tmp.write(data, size);
  volatile uint64_t sink = 0;
  uint64_t records = 0;
  try {
    etl::ReaderOptions ro;
    ro.maxKeptDiagnostics = 50;
    etl::EtlReader reader(path, ro);
    etl::SchemaRegistry schemas;
    etl::EventRecord rec;
    uint64_t lastFileOffset = 0;
    while (reader.next(rec)) {
      ++records;
      FUZZ_CHECK(rec.size == 0 || rec.userDataLen <= rec.size, "payload larger than its record");
      for (uint32_t k = 0; k < rec.userDataLen; ++k) sink = sink + rec.userData[k];
      for (uint32_t k = 0; k < rec.extDataLen; ++k) sink = sink + rec.extData[k];
      lastFileOffset = rec.bufferFileOffset;
      FUZZ_CHECK(lastFileOffset < size, "record in a buffer past the end of the file");
      schemas.addMetadataRecord(rec);
      std::string err;
      if (const etl::Schema* s = schemas.schemaFor(rec, &err)) {
        etl::DecodedPayload d = etl::decode(*s, rec.userData, rec.userDataLen, rec.pointer64);
        FUZZ_CHECK(d.bytesUsed <= rec.userDataLen, "decode used more bytes than the payload has");
        for (const auto& p : d.properties) sink = sink + touch(p.value);
        for (uint32_t i = 0; i < s->topLevelCount && i < 64; ++i) {
          if (auto span = etl::findField(*s, int(i), rec.userData, rec.userDataLen, rec.pointer64))
            FUZZ_CHECK(uint64_t(span->offset) + span->size <= rec.userDataLen, "findField span past the payload");
          if (auto v = etl::readUnsignedField(*s, int(i), rec.userData, rec.userDataLen, rec.pointer64)) {
            const etl::PropertyInfo& pi = s->properties[i];
            if (!pi.mapName.empty()) {
              auto name = schemas.mapValue(s->provider, pi.mapName, *v);
              if (name) sink = sink + name->size();
            }
          }
        }
      }
    }
    const etl::ReaderStats& st = reader.stats();
    FUZZ_CHECK(st.records == records, "stats.records differs from the records delivered");
    FUZZ_CHECK(reader.bytesDone() <= size, "bytesDone past the file size");
    for (const auto& d : reader.diagnostics())
      FUZZ_CHECK(d.message.find(path) != std::string::npos, "diagnostic does not name the file: " + d.message);
  } catch (const etl::EtlError& e) {
    FUZZ_CHECK(!e.message.empty(), "EtlError without a message");
    return 0;  // not an .etl: the clear error is the expected outcome
  }

  // The convert engine over the same file, output kept in memory.
  try {
    pcapng::MemoryOutput out;
    capture::ConvertOptions o;
    capture::ConvertSummary sum = capture::convertTrace(path, out, o);
    FUZZ_CHECK(sum.records == records, "convert saw " + std::to_string(sum.records) + " records, the reader " +
                                           std::to_string(records));
    fuzz::PcapngSummary p = fuzz::checkPcapng(out.data, false);
    FUZZ_CHECK(p.packets == sum.packets, "EPB count differs from the summary");
    FUZZ_CHECK(p.interfaces == sum.interfaces.size(), "IDB count differs from the summary");
  } catch (const etl::EtlError& e) {
    fuzz::fail("convert threw EtlError on a file the reader opened", e.message);
  }
  return 0;
}

// Native driver: reads a file through the same core the addon uses and prints
// one line per record (or a summary). Used for sanitizer runs and debugging.
//   etl_dump FILE [--summary]
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include "etl/providers.h"
#include "etl/reader.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: etl_dump FILE [--summary]\n");
    return 1;
  }
  bool summary = argc > 2 && std::strcmp(argv[2], "--summary") == 0;
  try {
    etl::EtlReader r(argv[1]);
    etl::EventRecord rec;
    std::map<std::string, uint64_t> counts;
    while (r.next(rec)) {
      const char* name = etl::providerName(rec.provider);
      std::string prov = name ? name : rec.provider.toString();
      if (summary) {
        counts[prov + " " + std::to_string(rec.id)]++;
        continue;
      }
      std::printf("%" PRId64 " cpu=%u pid=%u tid=%u %s id=%u op=%u v=%u len=%u buf=%u\n", rec.fileTime, rec.cpu, rec.pid, rec.tid,
                  prov.c_str(), rec.id, rec.opcode, rec.version, rec.userDataLen, rec.bufferIndex);
    }
    for (auto& [k, v] : counts) std::printf("%s: %" PRIu64 "\n", k.c_str(), v);
    const auto& s = r.stats();
    std::printf("buffers=%" PRIu64 " compressed=%" PRIu64 " records=%" PRIu64 " unknown=%" PRIu64 " bad=%" PRIu64 " skipped=%" PRIu64 "\n",
                s.buffers, s.compressedBuffers, s.records, s.unknownRecords, s.badBuffers, s.bytesSkipped);
    for (auto& d : r.diagnostics()) std::fprintf(stderr, "%s\n", d.message.c_str());
  } catch (const etl::EtlError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 2;
  }
  return 0;
}

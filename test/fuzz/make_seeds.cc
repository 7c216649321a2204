// Seed inputs for the fuzz targets, cut from a real .etl file, in each
// target's own input format (see the comment at the top of each fuzz_*.cc):
//   make_seeds FILE.etl OUTDIR   → OUTDIR/{decompress,schema,extractor,pcapng}/<name>-N
// Run by make-corpus.sh at CI time; the seeds are never committed (some
// source files have no license).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>
#include "constants.h"
#include "capture/extractor.h"
#include "fuzz_common.h"
#include "etl/providers.h"
#include "etl/reader.h"
#include "etl/schema.h"

namespace fs = std::filesystem;

namespace {

std::string outDir, base;
std::map<std::string, int> counters;

void put16(std::vector<uint8_t>& v, uint32_t x) { v.push_back(uint8_t(x)); v.push_back(uint8_t(x >> 8)); }
void put32(std::vector<uint8_t>& v, uint32_t x) { put16(v, x & 0xFFFF); put16(v, x >> 16); }

void save(const std::string& target, const std::vector<uint8_t>& bytes) {
  fs::path d = fs::path(outDir) / target;
  fs::create_directories(d);
  fs::path p = d / (base + "-" + std::to_string(counters[target]++));
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

int eventIndex(const etl::EventRecord& r) {
  for (size_t i = 0; i < fuzz::kPacketEventCount; ++i)
    if (r.provider == *fuzz::kPacketEvents[i].provider && r.id == fuzz::kPacketEvents[i].id) return int(i);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds FILE.etl OUTDIR\n");
    return 1;
  }
  outDir = argv[2];
  base = fs::path(argv[1]).stem().string();
  try {
    etl::EtlReader reader(argv[1]);

    // decompress: the first compressed buffers as they are on disk.
    std::ifstream f(argv[1], std::ios::binary);
    int nc = 0;
    for (const etl::BufferInfo& b : reader.buffers()) {
      if (!b.header.compressed() || !b.usable || b.onDisk < b.header.bufferSize || nc >= 6) continue;
      if (b.header.offset < 72 || b.header.bufferSize < 72) continue;
      std::vector<uint8_t> s{0};
      put32(s, b.header.offset - 72);
      std::vector<uint8_t> comp(b.header.bufferSize - 72);
      f.seekg(std::streamoff(b.fileOffset + 72));
      f.read(reinterpret_cast<char*>(comp.data()), std::streamsize(comp.size()));
      s.insert(s.end(), comp.begin(), comp.end());
      save("decompress", s);
      ++nc;
    }

    etl::SchemaRegistry schemas;
    std::map<std::pair<etl::Guid, std::string>, std::vector<uint8_t>> maps;  // raw EVENT_MAP_INFO payloads
    std::map<const etl::Schema*, std::vector<uint8_t>> blobs;                // raw TRACE_EVENT_INFO payloads
    std::set<const etl::Schema*> seeded;
    std::set<std::string> tlSeen;
    std::vector<uint8_t> ext, pcap;
    int extRecords = 0, pcapPackets = 0;
    auto flushExt = [&] {
      if (extRecords && counters["extractor"] < 12) save("extractor", ext);  // a dozen per file is plenty
      ext.assign(1, 0);
      extRecords = 0;
    };
    auto flushPcap = [&] {
      if (pcapPackets && counters["pcapng"] < 6) save("pcapng", pcap);
      pcap.clear();
      put16(pcap, 4096);                  // output buffer
      put16(pcap, 0); pcap.push_back(0);  // hardware
      std::string os = "Windows 10.0 build 20348", appl = "etl-imds";
      put16(pcap, uint32_t(os.size())); pcap.push_back(0); pcap.insert(pcap.end(), os.begin(), os.end());
      put16(pcap, uint32_t(appl.size())); pcap.push_back(0); pcap.insert(pcap.end(), appl.begin(), appl.end());
      pcap.push_back(0);                  // op: interface, Ethernet
      put16(pcap, 1); put32(pcap, 0); pcap.push_back(3);
      for (int k = 0; k < 7; ++k) pcap.push_back(uint8_t(k));
      std::string name = "eth:7:0";
      put16(pcap, uint32_t(name.size())); pcap.push_back(0); pcap.insert(pcap.end(), name.begin(), name.end());
      put16(pcap, 0); pcap.push_back(0);
      pcapPackets = 0;
    };
    flushExt();
    flushPcap();

    etl::EventRecord rec;
    while (reader.next(rec)) {
      // Metadata records: remember the raw blobs by what they define.
      if (rec.kind == etl::RecordKind::Full && rec.provider == known::kEventMetadata && rec.userData) {
        std::vector<uint8_t> raw(rec.userData, rec.userData + rec.userDataLen);
        if (rec.opcode == etl::kMetadataTypeMapInfo && rec.userDataLen > 16) {
          std::string err;
          if (auto m = etl::parseEventMapInfo(rec.userData + 16, rec.userDataLen - 16, &err))
            maps.emplace(std::make_pair(etl::Guid::fromBytes(rec.userData), m->name), raw);
        }
        schemas.addMetadataRecord(rec);
        if (rec.opcode == etl::kMetadataTypeEventInfo) {
          std::string err;
          if (auto s = etl::parseTraceEventInfo(rec.userData, rec.userDataLen, &err)) {
            bool classic = s->decodingSource == 1 && !s->eventGuid.isZero();
            const etl::Schema* known = classic ? schemas.findClassic(s->eventGuid, s->descriptor.opcode, s->descriptor.version)
                                               : schemas.find(s->provider, s->descriptor.id, s->descriptor.version);
            if (known && !blobs.count(known)) blobs[known] = raw;
          }
        }
        continue;
      }
      // schema: the first event of each embedded schema, with its blob (and a map it uses).
      const etl::Schema* s = schemas.schemaFor(rec);
      if (s && s->source == etl::SchemaSource::TdhBlob && !seeded.count(s) && blobs.count(s) && seeded.size() < 200) {
        seeded.insert(s);
        const std::vector<uint8_t>& blob = blobs[s];
        std::vector<uint8_t> mapRaw;
        for (const auto& p : s->properties)
          if (!p.mapName.empty()) {
            auto it = maps.find(std::make_pair(s->provider, p.mapName));
            if (it != maps.end()) { mapRaw = it->second; break; }
          }
        if (blob.size() <= 0xFFFF && mapRaw.size() <= 0xFFFF) {
          std::vector<uint8_t> seed{uint8_t((rec.pointer64 ? 1 : 0) | (mapRaw.empty() ? 0 : 4))};
          put16(seed, uint32_t(blob.size()));
          seed.insert(seed.end(), blob.begin(), blob.end());
          put16(seed, uint32_t(mapRaw.size()));
          seed.insert(seed.end(), mapRaw.begin(), mapRaw.end());
          seed.insert(seed.end(), rec.userData, rec.userData + rec.userDataLen);
          save("schema", seed);
        }
      }
      const uint8_t* meta;
      uint32_t metaLen;
      if (rec.kind == etl::RecordKind::Event && etl::findExtendedItem(rec, etl::kExtTypeSchemaTl, &meta, &metaLen) &&
          tlSeen.size() < 200 && tlSeen.insert(std::string(reinterpret_cast<const char*>(meta), metaLen)).second) {
        const uint8_t* traits = nullptr;
        uint32_t traitsLen = 0;
        bool hasTraits = etl::findExtendedItem(rec, etl::kExtTypeProvTraits, &traits, &traitsLen);
        std::vector<uint8_t> seed{uint8_t((rec.pointer64 ? 1 : 0) | (hasTraits ? 6 : 2))};
        put16(seed, metaLen);
        seed.insert(seed.end(), meta, meta + metaLen);
        put16(seed, traitsLen);
        if (traitsLen) seed.insert(seed.end(), traits, traits + traitsLen);
        seed.insert(seed.end(), rec.userData, rec.userData + rec.userDataLen);
        save("schema", seed);
      }
      // extractor: packet-source records in the fuzzer's record format.
      int ei = eventIndex(rec);
      if (ei >= 0 && rec.kind == etl::RecordKind::Event && rec.userDataLen <= 0xFFFF) {
        uint8_t kwb = ((rec.keywords & capture::kw::PacketStart) ? 1 : 0) | ((rec.keywords & capture::kw::PacketEnd) ? 2 : 0) |
                      ((rec.keywords & capture::kw::Native80211) ? 4 : 0) | ((rec.keywords & capture::kw::WirelessWan) ? 8 : 0) |
                      ((rec.keywords & capture::kw::SendPath) ? 16 : 0) | ((rec.keywords & capture::kw::ReceivePath) ? 32 : 0) |
                      (rec.pointer64 ? 0 : 0x40);
        ext.push_back(uint8_t(ei));
        ext.push_back(kwb);
        ext.push_back(uint8_t(rec.cpu & 7));
        put16(ext, rec.userDataLen);
        ext.insert(ext.end(), rec.userData, rec.userData + rec.userDataLen);
        if (++extRecords >= 48 || ext.size() > 24000) flushExt();
      }
      // pcapng: packet bytes of NDIS fragments / PktMon packets as writer input.
      if (ei == 0 || ei == 5) {
        uint32_t off = ei == 0 ? 12 : 34;
        if (rec.userDataLen > off) {
          uint32_t n = std::min<uint32_t>(rec.userDataLen - off, 0xFFFF);
          pcap.push_back(1);
          pcap.push_back(0);
          for (int k = 0; k < 8; ++k) pcap.push_back(uint8_t(rec.fileTime >> (8 * k)));
          put16(pcap, n);
          pcap.insert(pcap.end(), rec.userData + off, rec.userData + off + n);
          put32(pcap, n + 4);
          pcap.push_back(0x17);
          put32(pcap, rec.pid);
          put32(pcap, rec.tid);
          pcap.push_back(0);
          std::string comment = "PID=" + std::to_string(rec.pid) + " TID=" + std::to_string(rec.tid);
          put16(pcap, uint32_t(comment.size())); pcap.push_back(0); pcap.insert(pcap.end(), comment.begin(), comment.end());
          if (++pcapPackets >= 24 || pcap.size() > 24000) flushPcap();
        }
      }
    }
    flushExt();
    flushPcap();
  } catch (const etl::EtlError& e) {
    std::fprintf(stderr, "%s\n", e.message.c_str());
    return 2;
  }
  for (auto& [k, v] : counters) std::printf("%s: %s %d\n", base.c_str(), k.c_str(), v);
  return 0;
}

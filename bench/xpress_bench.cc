// XPRESS (MS-XCA plain LZ77) decompression throughput on the compressed buffers
// of a real-form .etl: every compressed buffer of the file is loaded into memory
// once, then decompressed with the project's decoder (native/etl/xpress.cc) over
// and over for at least --seconds; prints JSON with output MB/s (decompressed
// bytes per second, 1 MB = 10^6 bytes). No I/O inside the timed loop.
//
//   xpress_bench <file.etl> [--seconds S]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "etl/buffer.h"
#include "etl/xpress.h"

namespace {

struct Block {
  std::vector<uint8_t> in;
  size_t outSize;
};

int fail(const std::string& m) {
  std::fprintf(stderr, "xpress_bench: %s\n", m.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return fail("usage: xpress_bench <file.etl> [--seconds S]");
  double seconds = 2.0;
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
  std::FILE* f = std::fopen(argv[1], "rb");
  if (!f) return fail(std::string("cannot open ") + argv[1]);
  std::vector<Block> blocks;
  size_t maxOut = 0;
  uint64_t pos = 0, inTotal = 0, outTotal = 0;
  uint8_t hb[etl::kBufferHeaderSize];
  // Walk the buffer chain by each buffer's BufferSize (docs/etl-format.md, Buffer header).
  while (std::fseek(f, long(pos), SEEK_SET) == 0 && std::fread(hb, 1, sizeof hb, f) == sizeof hb) {
    etl::BufferHeader h = etl::BufferHeader::parse(hb);
    if (h.bufferSize < etl::kBufferHeaderSize) return fail("bad BufferSize at offset " + std::to_string(pos));
    if (h.compressed()) {
      if (h.offset < etl::kBufferHeaderSize || h.offset > (256u << 20))
        return fail("bad Offset at offset " + std::to_string(pos));
      Block b;
      b.in.resize(h.bufferSize - etl::kBufferHeaderSize);
      if (std::fread(b.in.data(), 1, b.in.size(), f) != b.in.size()) return fail("short read at " + std::to_string(pos));
      b.outSize = h.offset - etl::kBufferHeaderSize;
      maxOut = std::max(maxOut, b.outSize);
      inTotal += b.in.size();
      outTotal += b.outSize;
      blocks.push_back(std::move(b));
    }
    pos += h.bufferSize;
  }
  std::fclose(f);
  if (blocks.empty()) return fail("no compressed buffers in the file");
  std::vector<uint8_t> out(maxOut);
  // One checked pass first: every buffer must decompress.
  for (size_t i = 0; i < blocks.size(); ++i) {
    etl::DecompressResult r = etl::xpressDecompress(blocks[i].in.data(), blocks[i].in.size(), out.data(), blocks[i].outSize);
    if (!r.ok) return fail("buffer " + std::to_string(i) + ": " + r.error);
  }
  using clock = std::chrono::steady_clock;
  uint64_t produced = 0, rounds = 0, sink = 0;
  auto t0 = clock::now();
  double elapsed = 0;
  do {
    for (const Block& b : blocks) {
      etl::DecompressResult r = etl::xpressDecompress(b.in.data(), b.in.size(), out.data(), b.outSize);
      produced += r.produced;
      sink += out[r.produced / 2];
    }
    ++rounds;
    elapsed = std::chrono::duration<double>(clock::now() - t0).count();
  } while (elapsed < seconds);
  std::printf("{\"buffers\":%zu,\"compressedBytes\":%llu,\"decompressedBytes\":%llu,\"rounds\":%llu,\"seconds\":%.4f,"
              "\"outputMBps\":%.1f,\"inputMBps\":%.1f,\"sink\":%llu}\n",
              blocks.size(), (unsigned long long)inTotal, (unsigned long long)outTotal, (unsigned long long)rounds, elapsed,
              double(produced) / elapsed / 1e6, double(inTotal * rounds) / elapsed / 1e6, (unsigned long long)sink);
  return 0;
}

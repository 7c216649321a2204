// XPRESS (MS-XCA plain LZ77) and LZNT1 decompression with random expected
// output sizes. Input: [mode u8][expected size u32][compressed stream...].
// The output buffer has exactly the expected size, so ASan catches any write
// or read outside it; results must be self-consistent.
#include <cstdint>
#include <memory>
#include <string>
#include "etl/xpress.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Cursor c(data, size);
  uint8_t mode = c.u8();
  // Up to 4 MiB of output: large enough for any real buffer's event area
  // (pktmon's are 1 MiB) while keeping each run fast.
  size_t outSize = c.u32() & 0x3FFFFF;
  if (mode & 0x80) outSize &= 0xFFFF;  // bias half the runs towards small outputs
  std::vector<uint8_t> in = c.rest();
  // Exact-size heap copies: vector storage may have slack only ASan's container
  // annotations know about; new[] has none.
  std::unique_ptr<uint8_t[]> src(new uint8_t[in.size() + 1]);
  if (!in.empty()) std::memcpy(src.get(), in.data(), in.size());
  std::unique_ptr<uint8_t[]> out(new uint8_t[outSize + 1]);
  const uint8_t* ip = in.empty() ? nullptr : src.get();
  etl::DecompressResult r = (mode & 1) ? etl::lznt1Decompress(ip, in.size(), out.get(), outSize)
                                       : etl::xpressDecompress(ip, in.size(), out.get(), outSize);
  FUZZ_CHECK(r.consumed <= in.size(), "consumed " + std::to_string(r.consumed) + " of " + std::to_string(in.size()));
  FUZZ_CHECK(r.produced <= outSize, "produced " + std::to_string(r.produced) + " of " + std::to_string(outSize));
  if (r.ok) {
    FUZZ_CHECK(r.produced == outSize, "ok but short output");
    FUZZ_CHECK(r.error.empty(), r.error);
    // Decompressing the same stream into a smaller buffer must fail or stop
    // at that size with the same prefix (no state that depends on the size).
    if (outSize > 0) {
      size_t shorter = outSize / 2;
      std::unique_ptr<uint8_t[]> out2(new uint8_t[shorter + 1]);
      etl::DecompressResult r2 = (mode & 1) ? etl::lznt1Decompress(ip, in.size(), out2.get(), shorter)
                                            : etl::xpressDecompress(ip, in.size(), out2.get(), shorter);
      FUZZ_CHECK(r2.produced <= shorter, "shorter run overran");
      if (r2.ok) FUZZ_CHECK(std::memcmp(out.get(), out2.get(), shorter) == 0, "prefix differs");
    }
  } else {
    FUZZ_CHECK(!r.error.empty(), "failure without a message");
  }
  return 0;
}

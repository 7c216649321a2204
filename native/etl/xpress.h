// MS-XCA "Plain LZ77" (XPRESS) decompression, the format of compressed ETW
// buffers (docs/etl-format.md, XPRESS (plain LZ77)).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace etl {

struct DecompressResult {
  bool ok = false;
  size_t produced = 0;   // bytes written to out
  size_t consumed = 0;   // input bytes used
  std::string error;     // why it failed, with the input position
};

// Decompresses `in` into exactly `outSize` bytes of `out`. Fails (never reads
// or writes out of bounds) on a match that points before the output start,
// on output overrun, or when the stream ends before outSize bytes.
DecompressResult xpressDecompress(const uint8_t* in, size_t inSize, uint8_t* out, size_t outSize);

// LZNT1 (MS-XCA §2.5), kept as a fallback: no real .etl has needed it yet.
DecompressResult lznt1Decompress(const uint8_t* in, size_t inSize, uint8_t* out, size_t outSize);

}  // namespace etl

#include <cstring>
#include "xpress.h"

namespace etl {

DecompressResult lznt1Decompress(const uint8_t* in, size_t inSize, uint8_t* out, size_t outSize) {
  DecompressResult r;
  size_t ip = 0, op = 0;
  auto failAt = [&](const char* why) {
    r.ok = false;
    r.consumed = ip;
    r.produced = op;
    r.error = std::string(why) + " at compressed byte " + std::to_string(ip);
    return r;
  };
  while (inSize - ip >= 2 && op < outSize) {
    uint16_t h = uint16_t(in[ip] | in[ip + 1] << 8);
    ip += 2;
    if (h == 0) break;
    size_t n = (h & 0x0FFF) + 1;
    if (n > inSize - ip) return failAt("chunk runs past the input");
    size_t chunkEnd = ip + n;
    size_t base = op;
    if (!(h & 0x8000)) {
      if (n > outSize - op) return failAt("chunk runs past the expected output size");
      std::memcpy(out + op, in + ip, n);
      op += n;
      ip = chunkEnd;
      continue;
    }
    while (ip < chunkEnd) {
      uint8_t tag = in[ip++];
      for (int bit = 0; bit < 8 && ip < chunkEnd; bit++) {
        if (!(tag & (1 << bit))) {
          if (op >= outSize) return failAt("literal past the expected output size");
          out[op++] = in[ip++];
          continue;
        }
        if (chunkEnd - ip < 2) return failAt("truncated match");
        uint16_t t = uint16_t(in[ip] | in[ip + 1] << 8);
        ip += 2;
        size_t p = op - base;
        if (p == 0) return failAt("match at the start of a chunk");
        unsigned shift = 12;
        uint16_t mask = 0x0FFF;
        for (size_t k = p - 1; k >= 16; k >>= 1) {
          shift--;
          mask >>= 1;
        }
        size_t dist = (t >> shift) + 1;
        size_t len = (t & mask) + 3;
        if (dist > p) return failAt("match distance points before the chunk start");
        if (len > outSize - op) return failAt("match runs past the expected output size");
        for (size_t i = 0; i < len; i++, op++) out[op] = out[op - dist];
      }
    }
  }
  r.ok = op == outSize;
  r.consumed = ip;
  r.produced = op;
  if (!r.ok) r.error = "stream ended before the expected output size at compressed byte " + std::to_string(ip);
  return r;
}

}  // namespace etl

#include "xpress.h"
#include <algorithm>
#include <cstring>

namespace etl {

static DecompressResult fail(size_t in, size_t out, const char* why) {
  DecompressResult r;
  r.ok = false;
  r.consumed = in;
  r.produced = out;
  r.error = std::string(why) + " at compressed byte " + std::to_string(in) + ", output byte " + std::to_string(out);
  return r;
}

// Copies exactly n bytes in fixed 16-byte steps, writing up to 15 bytes past
// dst + n: only for non-overlapping ranges (gap >= 16) with that slack left
// in the output. Fixed-size copies are single vector moves; a memcpy call per
// short match or literal run was the decoder's largest cost.
static inline void copy16s(uint8_t* dst, const uint8_t* src, size_t n) {
  uint8_t* const end = dst + n;
  do {
    std::memcpy(dst, src, 16);
    dst += 16;
    src += 16;
  } while (dst < end);
}

DecompressResult xpressDecompress(const uint8_t* in, size_t inSize, uint8_t* out, size_t outSize) {
  size_t ip = 0, op = 0;
  uint32_t flags = 0;
  int nflags = 0;
  size_t halfPos = SIZE_MAX;  // byte whose high nibble is still unused
  while (op < outSize) {
    if (nflags == 0) {
      if (inSize - ip < 4) break;
      flags = uint32_t(in[ip]) | uint32_t(in[ip + 1]) << 8 | uint32_t(in[ip + 2]) << 16 | uint32_t(in[ip + 3]) << 24;
      ip += 4;
      nflags = 32;
    }
    // Flags are used from the top bit down; a 0 is a literal byte. A run of
    // literals is copied at once.
    const uint32_t pending = flags << (32 - nflags);
    if (!(pending & 0x80000000u)) {
      size_t run = pending ? size_t(__builtin_clz(pending)) : 32;
      if (run > size_t(nflags)) run = size_t(nflags);
      bool shortInput = false;
      if (run > inSize - ip) {
        run = inSize - ip;
        shortInput = true;
      }
      if (run > outSize - op) run = outSize - op;
      if (inSize - ip >= 32 && outSize - op >= 32) {
        copy16s(out + op, in + ip, run);  // run <= 32, both sides have 32 bytes
      } else {
        std::memcpy(out + op, in + ip, run);
      }
      ip += run;
      op += run;
      nflags -= int(run);
      if (shortInput) break;
      continue;
    }
    nflags--;
    if (inSize - ip < 2) break;
    uint32_t tok = uint32_t(in[ip]) | uint32_t(in[ip + 1]) << 8;
    ip += 2;
    size_t dist = (tok >> 3) + 1;
    size_t len = tok & 7;
    if (len == 7) {
      if (halfPos == SIZE_MAX) {
        if (ip >= inSize) return fail(ip, op, "truncated match length");
        halfPos = ip;
        len = in[ip++] & 0x0F;
      } else {
        len = in[halfPos] >> 4;
        halfPos = SIZE_MAX;
      }
      if (len == 15) {
        if (ip >= inSize) return fail(ip, op, "truncated match length");
        len = in[ip++];
        if (len == 255) {
          if (inSize - ip < 2) return fail(ip, op, "truncated match length");
          len = uint32_t(in[ip]) | uint32_t(in[ip + 1]) << 8;
          ip += 2;
          if (len == 0) {
            if (inSize - ip < 4) return fail(ip, op, "truncated match length");
            len = uint32_t(in[ip]) | uint32_t(in[ip + 1]) << 8 | uint32_t(in[ip + 2]) << 16 | uint32_t(in[ip + 3]) << 24;
            ip += 4;
          }
          if (len < 22) return fail(ip, op, "invalid match length");
          len -= 22;
        }
        len += 15;
      }
      len += 7;
    }
    len += 3;
    if (dist > op) return fail(ip, op, "match distance points before the start of the output");
    if (len > outSize - op) return fail(ip, op, "match runs past the expected output size");
    const uint8_t* src = out + op - dist;
    uint8_t* dst = out + op;
    if (dist >= 16 && outSize - op - len >= 16) {
      copy16s(dst, src, len);
    } else if (dist >= len) {
      std::memcpy(dst, src, len);
    } else {
      // Overlapping copy repeats the last `dist` bytes. Copy in chunks whose
      // period doubles (any multiple of dist is a period of the output), so a
      // hostile 4 GiB-length run costs memcpy speed, not one step per byte.
      size_t period = dist, left = len;
      while (left > 0) {
        size_t n = std::min(period, left);
        std::memcpy(dst, dst - period, n);
        dst += n;
        left -= n;
        period += n;
      }
    }
    op += len;
  }
  if (op != outSize) return fail(ip, op, "stream ended before the expected output size");
  DecompressResult r;
  r.ok = true;
  r.produced = op;
  r.consumed = ip;
  return r;
}

}  // namespace etl

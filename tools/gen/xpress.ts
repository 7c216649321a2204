// MS-XCA "Plain LZ77" (XPRESS) encoder, as Windows uses for compressed .etl buffers
// (docs/etl-format.md, XPRESS (plain LZ77)). Written from the MS-XCA §2.3 description: 32-bit flag words
// (MSB first, 1 = match), 16-bit match tokens (distance-1 << 3 | length bits) and the
// shared-nibble length extension. Greedy hash-chain matcher over the 8 KiB window.

const WINDOW = 8192;             // 13 distance bits
const MIN_MATCH = 3;
const HASH_BITS = 15;
const MAX_CHAIN = 24;            // bounded search keeps the encoder linear

export interface XpressOptions {
  /** Longest match to search for; Windows' own output uses long matches too. */
  maxMatch?: number;
  /** Hash-chain depth; 0 gives an all-literal (still valid) stream. */
  chain?: number;
}

export function xpressCompress(src: Uint8Array, opts: XpressOptions = {}): Buffer {
  const n = src.length;
  const maxMatch = opts.maxMatch ?? 0xffff;
  const chainMax = opts.chain ?? MAX_CHAIN;
  // Worst case is all literals: n bytes + one flag word per 32 items + the final word.
  const out = Buffer.alloc(n + 4 * (Math.ceil(n / 32) + 2) + 16);
  let op = 4;                    // flag word slot at 0
  let flagPos = 0;
  let flags = 0;
  let flagCount = 0;
  let nibblePos = -1;            // byte holding a half-used length nibble

  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(WINDOW).fill(-1);
  const hash = (i: number): number =>
    (Math.imul((src[i]! << 16) | (src[i + 1]! << 8) | src[i + 2]!, 0x9e3779b1) >>> (32 - HASH_BITS));
  const insert = (i: number): void => {
    if (i + 2 >= n) return;
    const h = hash(i);
    prev[i & (WINDOW - 1)] = head[h]!;
    head[h] = i;
  };
  const pushFlag = (bit: number): void => {
    flags = ((flags << 1) | bit) >>> 0;
    flagCount++;
    if (flagCount === 32) {
      out.writeUInt32LE(flags, flagPos);
      flagPos = op;
      op += 4;
      flags = 0;
      flagCount = 0;
    }
  };

  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (chainMax > 0 && i + MIN_MATCH <= n) {
      const limit = Math.min(maxMatch, n - i);
      let cand = head[hash(i)]!;
      let depth = chainMax;
      while (cand >= 0 && i - cand <= WINDOW && depth-- > 0) {
        if (src[cand + bestLen] === src[i + bestLen]) {
          let l = 0;
          while (l < limit && src[cand + l] === src[i + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = i - cand;
            if (l === limit) break;
          }
        }
        const p = prev[cand & (WINDOW - 1)]!;
        if (p >= cand) break;    // stale slot from an older window pass
        cand = p;
      }
    }
    if (bestLen < MIN_MATCH) {
      out[op++] = src[i]!;
      pushFlag(0);
      insert(i);
      i++;
      continue;
    }
    // Match token: distance-1 in the high 13 bits, length-3 (capped at 7) in the low 3.
    const len = bestLen - MIN_MATCH;
    const tokLen = Math.min(len, 7);
    out.writeUInt16LE((((bestDist - 1) << 3) | tokLen) & 0xffff, op);
    op += 2;
    if (len >= 7) {
      const rest = len - 7;
      const nib = Math.min(rest, 15);
      if (nibblePos < 0) {
        nibblePos = op;
        out[op++] = nib;
      } else {
        out[nibblePos] = out[nibblePos]! | (nib << 4);
        nibblePos = -1;
      }
      if (rest >= 15) {
        const rest2 = rest - 15;
        if (rest2 < 255) {
          out[op++] = rest2;
        } else {
          out[op++] = 255;
          if (len <= 0xffff) {
            out.writeUInt16LE(len, op); op += 2;   // len = total - 3, never 0 here
          } else {
            out.writeUInt16LE(0, op); op += 2;
            out.writeUInt32LE(len, op); op += 4;
          }
        }
      }
    }
    pushFlag(1);
    for (let k = 0; k < bestLen; k++) insert(i + k);
    i += bestLen;
  }
  // Unused flag bits are set to 1: a decoder that reads a "match" with no bytes left stops.
  const remaining = 32 - flagCount;
  flags = remaining === 32 ? 0xffffffff : (((flags << remaining) >>> 0) | ((1 << remaining) - 1)) >>> 0;
  out.writeUInt32LE(flags >>> 0, flagPos);
  return out.subarray(0, op);
}

// Little-endian byte building for the .etl writer. One growable buffer, reused.

export class ByteWriter {
  private buf: Buffer;
  length = 0;

  constructor(initial = 256) {
    this.buf = Buffer.alloc(initial);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): this { this.ensure(1); this.buf.writeUInt8(v & 0xff, this.length); this.length += 1; return this; }
  u16(v: number): this { this.ensure(2); this.buf.writeUInt16LE(v & 0xffff, this.length); this.length += 2; return this; }
  u16be(v: number): this { this.ensure(2); this.buf.writeUInt16BE(v & 0xffff, this.length); this.length += 2; return this; }
  u32(v: number): this { this.ensure(4); this.buf.writeUInt32LE(v >>> 0, this.length); this.length += 4; return this; }
  i32(v: number): this { this.ensure(4); this.buf.writeInt32LE(v | 0, this.length); this.length += 4; return this; }
  u64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)), this.length);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; return this; }
  zeros(n: number): this { this.ensure(n); this.buf.fill(0, this.length, this.length + n); this.length += n; return this; }
  guid(g: string): this { return this.bytes(guidBytes(g)); }
  /** UTF-16LE with a terminating NUL, as ETW stores WString. */
  wstrz(s: string): this { return this.bytes(Buffer.from(s + '\0', 'utf16le')); }
  /** ANSI (latin1) with a terminating NUL. */
  strz(s: string): this { return this.bytes(Buffer.from(s + '\0', 'latin1')); }
  align(n: number, fill = 0): this {
    const pad = (n - (this.length % n)) % n;
    this.ensure(pad);
    this.buf.fill(fill, this.length, this.length + pad);
    this.length += pad;
    return this;
  }
  patchU16(at: number, v: number): void { this.buf.writeUInt16LE(v & 0xffff, at); }
  patchU32(at: number, v: number): void { this.buf.writeUInt32LE(v >>> 0, at); }
  /** A copy of what was written. */
  toBuffer(): Buffer { return Buffer.from(this.buf.subarray(0, this.length)); }
  /** A view (valid until the next write). */
  view(): Buffer { return this.buf.subarray(0, this.length); }
  reset(): this { this.length = 0; return this; }
}

/** Windows GUID layout: Data1 u32 LE, Data2/Data3 u16 LE, Data4 8 raw bytes. */
export function guidBytes(g: string): Buffer {
  const hex = g.replace(/[{}-]/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${g}`);
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  raw.copy(out, 8, 8, 16);
  return out;
}

/** Deterministic PRNG (mulberry32) so a seed gives the same trace every time. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 0x9e3779b9; }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(a: readonly T[]): T { const v = a[Math.floor(this.next() * a.length)]; if (v === undefined) throw new Error('pick from empty'); return v; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256); return b; }
}

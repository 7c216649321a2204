// Independent readers for the generator tests, written from the MS-XCA description and
// docs/etl-format.md, sharing no code with tools/gen.

/** MS-XCA §2.4 Plain LZ77 decoder. Throws on a stream that reads past its end. */
export function xpressDecode(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let op = 0; let ip = 0; let flags = 0; let nflags = 0; let half = -1;
  const need = (n: number): void => { if (ip + n > src.length) throw new Error(`read past end at ${ip}`); };
  while (op < expected) {
    if (nflags === 0) { need(4); flags = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0; ip += 4; nflags = 32; }
    nflags--;
    if (((flags >>> nflags) & 1) === 0) { need(1); out[op++] = src[ip++]!; continue; }
    if (ip + 2 > src.length) break;
    const tok = src[ip]! | (src[ip + 1]! << 8); ip += 2;
    const dist = (tok >> 3) + 1;
    let len = tok & 7;
    if (len === 7) {
      if (half < 0) { need(1); half = ip; len = src[ip++]! & 15; } else { len = src[half]! >> 4; half = -1; }
      if (len === 15) {
        need(1); len = src[ip++]!;
        if (len === 255) {
          need(2); len = src[ip]! | (src[ip + 1]! << 8); ip += 2;
          if (len === 0) { need(4); len = (src[ip]! | (src[ip + 1]! << 8) | (src[ip + 2]! << 16) | (src[ip + 3]! << 24)) >>> 0; ip += 4; }
          if (len < 22) throw new Error('bad long length');
          len -= 22;
        }
        len += 15;
      }
      len += 7;
    }
    len += 3;
    if (dist > op) throw new Error(`match before start at ${op}`);
    if (op + len > expected) throw new Error('output overrun');
    for (let k = 0; k < len; k++) { out[op] = out[op - dist]!; op++; }
  }
  if (op !== expected) throw new Error(`decoded ${op} of ${expected}`);
  return out;
}

export interface WalkedRecord {
  buffer: number; cpu: number; seq: bigint; offset: number; size: number; type: number; raw: Buffer;
}
export interface WalkedFile {
  buffers: { offset: number; size: number; filled: number; seq: bigint; cpu: number; flags: number; type: number; compressed: boolean }[];
  records: WalkedRecord[];
  header: { bufferSize: number; version: number[]; build: number; cpus: number; logFileMode: number; buffersWritten: number; pointerSize: number; perfFreq: bigint; startTime: bigint; endTime: bigint; clock: number; loggerName: string; ref: bigint };
}

/** Walks the buffer chain and every record; throws on anything malformed. */
export function walkEtl(f: Buffer): WalkedFile {
  const buffers: WalkedFile['buffers'] = [];
  const records: WalkedRecord[] = [];
  let pos = 0;
  while (pos < f.length) {
    if (pos + 0x48 > f.length) throw new Error(`trailing ${f.length - pos} bytes at ${pos}`);
    const size = f.readUInt32LE(pos);
    const filled = f.readUInt32LE(pos + 0x30);
    const flags = f.readUInt16LE(pos + 0x34);
    const type = f.readUInt16LE(pos + 0x36);
    if (size < 0x48 || pos + size > f.length) throw new Error(`buffer ${buffers.length}: size ${size} at ${pos}`);
    if (filled < 0x48) throw new Error(`buffer ${buffers.length}: Offset ${filled}`);
    const compressed = (flags & 0x40) !== 0;
    const cpu = flags & 0x20 ? f.readUInt16LE(pos + 0x28) & 0x7ff : f[pos + 0x28]!;
    const seq = f.readBigUInt64LE(pos + 0x18);
    let data: Buffer;
    if (compressed) data = Buffer.from(xpressDecode(f.subarray(pos + 0x48, pos + size), filled - 0x48));
    else {
      if (filled > size) throw new Error(`buffer ${buffers.length}: Offset past BufferSize`);
      for (let i = pos + filled; i < pos + size; i++) if (f[i] !== 0xff) throw new Error(`buffer ${buffers.length}: fill byte ${f[i]} at ${i}`);
      data = f.subarray(pos + 0x48, pos + filled);
    }
    let p = 0;
    while (p < data.length) {
      const t = data[p + 2]!;
      if (data[p + 3] !== 0xc0) throw new Error(`buffer ${buffers.length}: marker ${data.readUInt32LE(p).toString(16)} at ${p}`);
      const sz = t === 1 || t === 2 ? data.readUInt16LE(p + 4) : data.readUInt16LE(p);
      if (sz < 0x18 || p + sz > data.length) throw new Error(`buffer ${buffers.length}: record size ${sz} at ${p}`);
      records.push({ buffer: buffers.length, cpu, seq, offset: p + 0x48, size: sz, type: t, raw: Buffer.from(data.subarray(p, p + sz)) });
      p += (sz + 7) & ~7;
    }
    if (((p - data.length) >= 8)) throw new Error('walk overran');
    buffers.push({ offset: pos, size, filled, seq, cpu, flags, type, compressed });
    pos += size;
  }
  const h0 = records[0];
  if (!h0 || h0.buffer !== 0 || h0.type !== 2 || h0.raw.readUInt16LE(6) !== 0) throw new Error('no 64-bit logfile header event');
  const lh = h0.raw.subarray(0x20);
  const strings = lh.subarray(0x118).toString('utf16le').split('\0');
  return {
    buffers, records,
    header: {
      bufferSize: lh.readUInt32LE(0), version: [lh[4]!, lh[5]!, lh[6]!, lh[7]!], build: lh.readUInt32LE(8), cpus: lh.readUInt32LE(12),
      endTime: lh.readBigUInt64LE(0x10), logFileMode: lh.readUInt32LE(0x20), buffersWritten: lh.readUInt32LE(0x24), pointerSize: lh.readUInt32LE(0x2c),
      perfFreq: lh.readBigUInt64LE(0x100), startTime: lh.readBigUInt64LE(0x108), clock: lh.readUInt32LE(0x110), loggerName: strings[0] ?? '',
      ref: h0.raw.readBigUInt64LE(0x10),
    },
  };
}

export function guidString(b: Buffer, at: number): string {
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return `${h(b.readUInt32LE(at), 8)}-${h(b.readUInt16LE(at + 4), 4)}-${h(b.readUInt16LE(at + 6), 4)}-${b.subarray(at + 8, at + 10).toString('hex')}-${b.subarray(at + 10, at + 16).toString('hex')}`;
}

/** Property names of a TRACE_EVENT_INFO blob, by its offsets. */
export function schemaProps(blob: Buffer): { id: number; names: string[]; provider: string } {
  const ws = (o: number): string => { let e = o; while (blob.readUInt16LE(e) !== 0) e += 2; return blob.subarray(o, e).toString('utf16le'); };
  const n = blob.readUInt32LE(0x64);
  const names: string[] = [];
  for (let i = 0; i < n; i++) names.push(ws(blob.readUInt32LE(0x70 + 24 * i + 4)));
  return { id: blob.readUInt16LE(0x20), names, provider: ws(blob.readUInt32LE(0x34)) };
}

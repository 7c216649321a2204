// Just enough of the .etl layout (docs/etl-format.md, File layout to Record kinds and markers) to pull kernel Process
// MOF records (SYSTEM and PERFINFO headers, group 0x03) out of an uncompressed
// kernel-logger file for the process-table tests, independently of the native
// reader. fileTime here is the raw session clock: monotonic, so fine for
// ordering, but not UTC.

import type { TraceEvent } from '../../../src/native/types.js';
import { MOF_GUID } from './payloads.js';

export function kernelProcessRecords(file: Buffer): TraceEvent[] {
  const out: TraceEvent[] = [];
  let pos = 0;
  let bufferIndex = 0;
  while (pos + 0x48 <= file.length) {
    const bufferSize = file.readUInt32LE(pos);
    const filled = file.readUInt32LE(pos + 0x30);
    const flags = file.readUInt16LE(pos + 0x34);
    if (bufferSize < 0x48 || pos + bufferSize > file.length) throw new Error(`bad buffer at ${pos}`);
    if (flags & 0x40) throw new Error('compressed buffers are not handled here');
    const end = pos + Math.min(filled, bufferSize);
    let p = pos + 0x48;
    while (p + 8 <= end) {
      if (file.readUInt32LE(p) === 0xffffffff) break;
      const type = file[p + 2]!;
      const marker = file[p + 3]!;
      if (marker !== 0xc0) throw new Error(`unexpected marker at ${p}`);
      let size: number;
      if (type === 1 || type === 2 || type === 0x10 || type === 0x11) {
        size = file.readUInt16LE(p + 4);
        const hook = file.readUInt16LE(p + 6);
        const headerSize = type <= 2 ? 0x20 : 0x10;
        if ((hook >> 8) === 3 && size >= headerSize && p + size <= end) {
          out.push({
            fileTime: file.readBigUInt64LE(p + (type <= 2 ? 0x10 : 0x08)),
            cpu: 0,
            pid: type <= 2 ? file.readUInt32LE(p + 0x0c) : 0xffffffff,
            tid: type <= 2 ? file.readUInt32LE(p + 0x08) : 0xffffffff,
            kind: type <= 2 ? 'system' : 'perfinfo',
            provider: MOF_GUID,
            id: 0,
            version: file.readUInt16LE(p) & 0xff,
            opcode: hook & 0xff,
            level: 0,
            task: 0,
            keywords: 0n,
            channel: 0,
            pointerSize: type === 2 || type === 0x11 ? 8 : 4,
            userData: new Uint8Array(file.subarray(p + headerSize, p + size)),
            bufferIndex,
            fileOffset: pos,
          });
        }
      } else if (type === 0x0a || type === 0x14 || type === 0x12 || type === 0x13) {
        size = file.readUInt16LE(p);
      } else {
        throw new Error(`unexpected header type ${type} at ${p}`);
      }
      if (size === 0) throw new Error(`record size 0 at ${p}`);
      p += (size + 7) & ~7;
    }
    pos += bufferSize;
    bufferIndex++;
  }
  // ProcessTrace order is by time; stable for ties.
  return out.map((e, i) => [e, i] as const).sort((a, b) => (a[0].fileTime < b[0].fileTime ? -1 : a[0].fileTime > b[0].fileTime ? 1 : a[1] - b[1])).map(([e]) => e);
}

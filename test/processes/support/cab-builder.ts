// Builds Microsoft Cabinet files for tests, for the features gcab does not
// write: reserve fields, previous/next cabinet names, several folders,
// Quantum/LZX-typed folders, MSZIP blocks that use the previous block's
// output as dictionary. cabextract (libmspack) reads what this writes, which
// the cab tests check, so the builder is held to an independent reader.

import { deflateRawSync } from 'node:zlib';
import { cabChecksum } from '../../../src/processes/cab.js';

export interface BuildFile {
  name: string;
  data: Uint8Array;
  attributes?: number;
}

export interface BuildFolder {
  compression: 'none' | 'mszip' | 'quantum' | 'lzx';
  files: BuildFile[];
  /** Uncompressed bytes per CFDATA block (max 32768). */
  blockSize?: number;
  /** MSZIP: let each block refer back into the previous output (default true). */
  dictionary?: boolean;
}

export interface BuildOptions {
  folders: BuildFolder[];
  reserve?: { header: number; folder: number; data: number };
  prev?: [cabinet: string, disk: string];
  next?: [cabinet: string, disk: string];
  checksums?: boolean;
  setId?: number;
  index?: number;
}

const TYPE: Record<BuildFolder['compression'], number> = { none: 0, mszip: 1, quantum: 0x0a02, lzx: 0x1503 };

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export function buildCab(o: BuildOptions): Buffer {
  const reserve = o.reserve;
  const fill = (n: number, v: number) => Buffer.alloc(n, v);
  const strings: Buffer[] = [];
  let flags = 0;
  if (o.prev) {
    flags |= 1;
    strings.push(Buffer.from(`${o.prev[0]}\0${o.prev[1]}\0`, 'latin1'));
  }
  if (o.next) {
    flags |= 2;
    strings.push(Buffer.from(`${o.next[0]}\0${o.next[1]}\0`, 'latin1'));
  }
  if (reserve) flags |= 4;
  const reserveFields = reserve ? Buffer.concat([u16(reserve.header), Buffer.from([reserve.folder, reserve.data]), fill(reserve.header, 0xa5)]) : Buffer.alloc(0);
  const folderEntrySize = 8 + (reserve?.folder ?? 0);
  const headerLen = 36 + reserveFields.length + strings.reduce((n, s) => n + s.length, 0);
  const foldersLen = o.folders.length * folderEntrySize;

  const fileEntries: Buffer[] = [];
  const folderBlocks: Buffer[][] = [];
  o.folders.forEach((folder, fi) => {
    let offset = 0;
    for (const f of folder.files) {
      const name = Buffer.from(f.name, f.attributes && f.attributes & 0x80 ? 'utf8' : 'latin1');
      fileEntries.push(Buffer.concat([u32(f.data.length), u32(offset), u16(fi), u16(0x5a21), u16(0x6000), u16(f.attributes ?? 0x20), name, Buffer.from([0])]));
      offset += f.data.length;
    }
    const all = Buffer.concat(folder.files.map((f) => Buffer.from(f.data)));
    const size = folder.blockSize ?? 32768;
    const blocks: Buffer[] = [];
    let window = Buffer.alloc(0);
    for (let p = 0; p < all.length; p += size) {
      const chunk = all.subarray(p, Math.min(all.length, p + size));
      let payload: Buffer;
      if (folder.compression === 'mszip') {
        const useDict = (folder.dictionary ?? true) && window.length > 0;
        payload = Buffer.concat([Buffer.from('CK'), deflateRawSync(chunk, useDict ? { dictionary: window } : {})]);
        window = Buffer.concat([window, chunk]).subarray(-32768);
      } else {
        payload = Buffer.from(chunk); // stored, or stand-in bytes for Quantum/LZX
      }
      const sizes = Buffer.concat([u16(payload.length), u16(chunk.length)]);
      const csum = o.checksums === false ? 0 : cabChecksum(sizes, cabChecksum(payload, 0));
      blocks.push(Buffer.concat([u32(csum), sizes, fill(reserve?.data ?? 0, 0x5a), payload]));
    }
    folderBlocks.push(blocks);
  });
  const filesLen = fileEntries.reduce((n, b) => n + b.length, 0);
  const coffFiles = headerLen + foldersLen;
  let dataAt = coffFiles + filesLen;
  const folderEntries = o.folders.map((folder, fi) => {
    const entry = Buffer.concat([u32(dataAt), u16(folderBlocks[fi]!.length), u16(TYPE[folder.compression]), fill(reserve?.folder ?? 0, 0x3c)]);
    dataAt += folderBlocks[fi]!.reduce((n, b) => n + b.length, 0);
    return entry;
  });
  const total = dataAt;
  const header = Buffer.concat([
    Buffer.from('MSCF', 'latin1'), u32(0), u32(total), u32(0), u32(coffFiles), u32(0),
    Buffer.from([3, 1]), u16(o.folders.length), u16(fileEntries.length), u16(flags), u16(o.setId ?? 0x1234), u16(o.index ?? 0),
  ]);
  return Buffer.concat([header, reserveFields, ...strings, ...folderEntries, ...fileEntries, ...folderBlocks.flat()]);
}

// Minimal Microsoft Cabinet (MSCF) reader: enough to pull processes.txt out of
// the .cab netsh writes beside its trace. Reads CFHEADER (reserve fields,
// previous/next cabinet names), CFFOLDER, CFFILE and CFDATA; decompresses
// stored and MSZIP folders. Every length is checked against the buffer first.

import { inflateRawSync } from 'node:zlib';
import { ProcessesError } from './errors.js';

export interface CabMember {
  name: string;
  data: Buffer;
  /** Index of the folder holding the member. */
  folder: number;
  /** Raw DOS date and time fields of CFFILE. */
  dosDate: number;
  dosTime: number;
  attributes: number;
}

export interface CabInfo {
  setId: number;
  index: number;               // iCabinet: position in a set
  previousCabinet?: string;
  nextCabinet?: string;
  folders: { compression: CabCompression; dataBlocks: number; offset: number }[];
  files: { name: string; size: number; folder: number; offsetInFolder: number }[];
}

export type CabCompression = 'none' | 'mszip' | 'quantum' | 'lzx' | 'unknown';

export interface ReadCabOptions {
  /** Only members for which this returns true are decompressed and returned. */
  select?: (name: string) => boolean;
  /** Upper bound on decompressed bytes produced in all (default 512 MiB). */
  maxOutputBytes?: number;
  /** Check CFDATA checksums where the writer set them (default true). */
  verifyChecksums?: boolean;
}

const SIGNATURE = 0x4643534d; // 'MSCF'
const FLAG_PREV = 0x0001;
const FLAG_NEXT = 0x0002;
const FLAG_RESERVE = 0x0004;
const HEADER_SIZE = 36;
const FOLDER_SIZE = 8;
const FILE_FIXED = 16;
const DATA_FIXED = 8;
const MAX_BLOCK = 32768;          // CFDATA cbUncomp limit in the format
const MSZIP_WINDOW = 32768;
const MAX_NAME = 1024;            // CB_MAX_FILENAME is 256; be lenient but bounded
const FOLDER_CONTINUED_FROM_PREV = 0xfffd;
const FOLDER_CONTINUED_TO_NEXT = 0xfffe;
const FOLDER_CONTINUED_PREV_AND_NEXT = 0xffff;

interface Layout {
  info: CabInfo;
  folderReserve: number;
  dataReserve: number;
  end: number;                     // cbCabinet
  rawFolders: { offset: number; blocks: number; typeCompress: number }[];
  rawFiles: { name: string; size: number; offsetInFolder: number; folder: number; date: number; time: number; attributes: number; at: number }[];
}

/** Structure of a cabinet without decompressing anything. */
export function inspectCab(buf: Uint8Array): CabInfo {
  return parseLayout(buf).info;
}

export function readCab(buf: Uint8Array, options: ReadCabOptions = {}): CabMember[] {
  const layout = parseLayout(buf);
  const select = options.select ?? (() => true);
  const verify = options.verifyChecksums ?? true;
  let budget = options.maxOutputBytes ?? 512 * 1024 * 1024;

  const wanted = layout.rawFiles.filter((f) => select(f.name));
  for (const f of wanted) {
    if (f.folder === FOLDER_CONTINUED_FROM_PREV || f.folder === FOLDER_CONTINUED_TO_NEXT || f.folder === FOLDER_CONTINUED_PREV_AND_NEXT) {
      throw new ProcessesError('cab-unsupported', `cab: member ${JSON.stringify(f.name)} (CFFILE at offset ${f.at}) spans cabinets of a set; only whole members in one cabinet are read`, f.at);
    }
    if (f.folder >= layout.rawFolders.length) {
      throw new ProcessesError('cab-format', `cab: member ${JSON.stringify(f.name)} (CFFILE at offset ${f.at}) names folder ${f.folder} but the cabinet has ${layout.rawFolders.length}`, f.at);
    }
    const type = layout.rawFolders[f.folder]!.typeCompress & 0x000f;
    if (type !== 0 && type !== 1) {
      const kind = compressionName(layout.rawFolders[f.folder]!.typeCompress);
      throw new ProcessesError('cab-unsupported', `cab: member ${JSON.stringify(f.name)} is in folder ${f.folder} compressed with ${kind === 'unknown' ? `unknown method ${type}` : kind.toUpperCase()}; only stored and MSZIP folders are read`, f.at);
    }
  }

  // Decompress each needed folder once, as far as its last wanted byte,
  // keeping only the bytes of wanted members.
  const byFolder = new Map<number, typeof wanted>();
  for (const f of wanted) {
    const list = byFolder.get(f.folder);
    if (list) list.push(f);
    else byFolder.set(f.folder, [f]);
  }
  const dataOf = new Map<(typeof wanted)[number], Buffer>();
  for (const [folderIndex, inFolder] of byFolder) {
    let need = 0;
    let keep = 0;
    for (const f of inFolder) {
      need = Math.max(need, f.offsetInFolder + f.size);
      keep += f.size;
    }
    if (keep > budget) {
      throw new ProcessesError('cab-limit', `cab: members in folder ${folderIndex} need ${keep} decompressed bytes, over the limit of ${budget} left`);
    }
    const pieces = new Map<(typeof wanted)[number], Buffer[]>(inFolder.map((f) => [f, []]));
    const produced = decompressFolder(buf, layout, folderIndex, need, verify, budget, (at, block) => {
      const blockEnd = at + block.length;
      for (const f of inFolder) {
        const from = Math.max(at, f.offsetInFolder);
        const to = Math.min(blockEnd, f.offsetInFolder + f.size);
        if (from < to) pieces.get(f)!.push(block.subarray(from - at, to - at));
      }
    });
    budget -= produced;
    for (const f of inFolder) {
      const data = Buffer.concat(pieces.get(f)!);
      if (data.length !== f.size) {
        throw new ProcessesError('cab-truncated', `cab: member ${JSON.stringify(f.name)} (CFFILE at offset ${f.at}) ends at byte ${f.offsetInFolder + f.size} of folder ${f.folder}, which holds ${produced} bytes`, f.at);
      }
      dataOf.set(f, data);
    }
  }

  return wanted.map((f) => ({
    name: f.name,
    data: dataOf.get(f)!,
    folder: f.folder,
    dosDate: f.date,
    dosTime: f.time,
    attributes: f.attributes,
  }));
}

function compressionName(typeCompress: number): CabCompression {
  switch (typeCompress & 0x000f) {
    case 0: return 'none';
    case 1: return 'mszip';
    case 2: return 'quantum';
    case 3: return 'lzx';
    default: return 'unknown';
  }
}

function parseLayout(buf: Uint8Array): Layout {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);

  if (buf.length < HEADER_SIZE) {
    throw new ProcessesError('cab-truncated', `cab: ${buf.length} bytes is shorter than the ${HEADER_SIZE}-byte CFHEADER`, 0);
  }
  if (u32(0) !== SIGNATURE) throw new ProcessesError('cab-format', 'cab: no MSCF signature at offset 0: not a cabinet', 0);
  const cbCabinet = u32(8);
  const coffFiles = u32(16);
  const versionMinor = buf[24]!;
  const versionMajor = buf[25]!;
  const cFolders = u16(26);
  const cFiles = u16(28);
  const flags = u16(30);
  const setId = u16(32);
  const iCabinet = u16(34);
  if (versionMajor !== 1) {
    throw new ProcessesError('cab-format', `cab: format version ${versionMajor}.${versionMinor} at offset 24; only 1.x exists`, 24);
  }
  if (cbCabinet < HEADER_SIZE) throw new ProcessesError('cab-format', `cab: cbCabinet ${cbCabinet} at offset 8 is smaller than the header`, 8);
  if (cbCabinet > buf.length) {
    throw new ProcessesError('cab-truncated', `cab: cbCabinet at offset 8 says ${cbCabinet} bytes, but only ${buf.length} are present`, 8);
  }
  if (flags & ~(FLAG_PREV | FLAG_NEXT | FLAG_RESERVE)) {
    throw new ProcessesError('cab-format', `cab: unknown CFHEADER flags 0x${flags.toString(16)} at offset 30`, 30);
  }
  const end = cbCabinet;
  let p = HEADER_SIZE;
  let headerReserve = 0;
  let folderReserve = 0;
  let dataReserve = 0;
  if (flags & FLAG_RESERVE) {
    if (p + 4 > end) throw new ProcessesError('cab-truncated', `cab: reserve sizes at offset ${p} run past the cabinet end (${end})`, p);
    headerReserve = u16(p);
    folderReserve = buf[p + 2]!;
    dataReserve = buf[p + 3]!;
    p += 4;
    if (headerReserve > 60000) throw new ProcessesError('cab-format', `cab: cbCFHeader ${headerReserve} at offset ${p - 4} is over the format's 60000`, p - 4);
    if (p + headerReserve > end) throw new ProcessesError('cab-truncated', `cab: ${headerReserve}-byte header reserve at offset ${p} runs past the cabinet end (${end})`, p);
    p += headerReserve;
  }
  const readString = (what: string): string => {
    const start = p;
    const limit = Math.min(end, start + 256);
    let q = start;
    while (q < limit && buf[q] !== 0) q++;
    if (q >= limit) throw new ProcessesError('cab-format', `cab: ${what} at offset ${start} has no NUL within ${limit - start} bytes`, start);
    p = q + 1;
    return latin1(buf.subarray(start, q));
  };
  const info: CabInfo = { setId, index: iCabinet, folders: [], files: [] };
  if (flags & FLAG_PREV) {
    info.previousCabinet = readString('szCabinetPrev');
    readString('szDiskPrev');
  }
  if (flags & FLAG_NEXT) {
    info.nextCabinet = readString('szCabinetNext');
    readString('szDiskNext');
  }

  const folderSize = FOLDER_SIZE + folderReserve;
  if (p + cFolders * folderSize > end) {
    throw new ProcessesError('cab-truncated', `cab: ${cFolders} CFFOLDER entries of ${folderSize} bytes at offset ${p} run past the cabinet end (${end})`, p);
  }
  const rawFolders: Layout['rawFolders'] = [];
  for (let i = 0; i < cFolders; i++) {
    const at = p + i * folderSize;
    const offset = u32(at);
    const blocks = u16(at + 4);
    const typeCompress = u16(at + 6);
    if (offset >= end && blocks > 0) {
      throw new ProcessesError('cab-truncated', `cab: folder ${i} (CFFOLDER at offset ${at}) says its data starts at ${offset}, past the cabinet end (${end})`, at);
    }
    rawFolders.push({ offset, blocks, typeCompress });
    info.folders.push({ compression: compressionName(typeCompress), dataBlocks: blocks, offset });
  }

  if (coffFiles < HEADER_SIZE || coffFiles > end) {
    throw new ProcessesError('cab-format', `cab: coffFiles ${coffFiles} at offset 16 is outside the cabinet (${end} bytes)`, 16);
  }
  const rawFiles: Layout['rawFiles'] = [];
  p = coffFiles;
  for (let i = 0; i < cFiles; i++) {
    const at = p;
    if (p + FILE_FIXED > end) throw new ProcessesError('cab-truncated', `cab: CFFILE ${i} at offset ${p} runs past the cabinet end (${end})`, p);
    const size = u32(p);
    const offsetInFolder = u32(p + 4);
    const folder = u16(p + 8);
    const date = u16(p + 10);
    const time = u16(p + 12);
    const attributes = u16(p + 14);
    p += FILE_FIXED;
    const nameStart = p;
    const limit = Math.min(end, nameStart + MAX_NAME);
    let q = nameStart;
    while (q < limit && buf[q] !== 0) q++;
    if (q >= limit) throw new ProcessesError('cab-format', `cab: name of CFFILE ${i} at offset ${nameStart} has no NUL within ${limit - nameStart} bytes`, nameStart);
    const rawName = buf.subarray(nameStart, q);
    // _A_NAME_IS_UTF (0x80): UTF-8; otherwise an unspecified code page.
    const name = attributes & 0x80 ? new TextDecoder('utf-8').decode(rawName) : latin1(rawName);
    p = q + 1;
    if (offsetInFolder + size > 0xffffffff) {
      throw new ProcessesError('cab-format', `cab: member ${JSON.stringify(name)} (CFFILE at offset ${at}) ends past 4 GiB in its folder`, at);
    }
    rawFiles.push({ name, size, offsetInFolder, folder, date, time, attributes, at });
    info.files.push({ name, size, folder, offsetInFolder });
  }
  return { info, folderReserve, dataReserve, end, rawFolders, rawFiles };
}

/**
 * Walk a folder's CFDATA blocks up to `need` bytes of output, handing each
 * decompressed block to `sink` with its offset in the folder. Returns the
 * bytes produced. Stops with cab-limit if the blocks would produce more than
 * `budget` (only reachable when blocks claim more than the members need).
 */
function decompressFolder(
  buf: Uint8Array,
  layout: Layout,
  index: number,
  need: number,
  verify: boolean,
  budget: number,
  sink: (offset: number, block: Buffer) => void,
): number {
  const folder = layout.rawFolders[index]!;
  const type = folder.typeCompress & 0x000f;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let produced = 0;
  let window: Buffer = Buffer.alloc(0);   // last <= 32 KiB of folder output: MSZIP's dictionary
  let p = folder.offset;
  for (let b = 0; b < folder.blocks && produced < need; b++) {
    const at = p;
    if (p + DATA_FIXED + layout.dataReserve > layout.end) {
      throw new ProcessesError('cab-truncated', `cab: CFDATA block ${b} of folder ${index} at offset ${at} runs past the cabinet end (${layout.end})`, at);
    }
    const csum = view.getUint32(p, true);
    const cbData = view.getUint16(p + 4, true);
    const cbUncomp = view.getUint16(p + 6, true);
    p += DATA_FIXED + layout.dataReserve;
    if (p + cbData > layout.end) {
      throw new ProcessesError('cab-truncated', `cab: CFDATA block ${b} of folder ${index} at offset ${at} holds ${cbData} bytes, past the cabinet end (${layout.end})`, at);
    }
    if (cbUncomp === 0) {
      throw new ProcessesError('cab-unsupported', `cab: CFDATA block ${b} of folder ${index} at offset ${at} continues in the next cabinet of the set`, at);
    }
    if (cbUncomp > MAX_BLOCK) {
      throw new ProcessesError('cab-corrupt', `cab: CFDATA block ${b} of folder ${index} at offset ${at} claims ${cbUncomp} uncompressed bytes (max ${MAX_BLOCK})`, at);
    }
    if (produced + cbUncomp > budget) {
      throw new ProcessesError('cab-limit', `cab: folder ${index} would decompress past the limit of ${budget} bytes at CFDATA block ${b} (offset ${at})`, at);
    }
    const payload = buf.subarray(p, p + cbData);
    if (verify && csum !== 0) {
      const got = cabChecksum(buf.subarray(at + 4, at + 8), cabChecksum(payload, 0));
      if (got !== csum) {
        throw new ProcessesError('cab-corrupt', `cab: CFDATA block ${b} of folder ${index} at offset ${at}: checksum 0x${got.toString(16)} does not match the stored 0x${csum.toString(16)}`, at);
      }
    }
    p += cbData;

    let out: Buffer;
    if (type === 0) {
      if (cbData !== cbUncomp) {
        throw new ProcessesError('cab-corrupt', `cab: stored CFDATA block ${b} of folder ${index} at offset ${at} has ${cbData} bytes but says ${cbUncomp} uncompressed`, at);
      }
      out = Buffer.from(payload);
    } else {
      out = inflateMszip(payload, window, cbUncomp, `CFDATA block ${b} of folder ${index} at offset ${at}`, at);
      window = slideWindow(window, out);
    }
    sink(produced, out);
    produced += out.length;
  }
  if (produced < need) {
    throw new ProcessesError('cab-truncated', `cab: folder ${index} decompresses to ${produced} bytes, but its members need ${need}`, folder.offset);
  }
  return produced;
}

function inflateMszip(payload: Uint8Array, window: Buffer, expected: number, where: string, at: number): Buffer {
  if (payload.length < 2 || payload[0] !== 0x43 || payload[1] !== 0x4b) {
    throw new ProcessesError('cab-corrupt', `cab: ${where} lacks the MSZIP "CK" signature`, at);
  }
  let out: Buffer;
  try {
    out = inflateRawSync(payload.subarray(2), {
      ...(window.length > 0 ? { dictionary: window } : {}),
      maxOutputLength: MAX_BLOCK,
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ProcessesError('cab-corrupt', `cab: ${where}: MSZIP data does not inflate (${reason})`, at);
  }
  if (out.length !== expected) {
    throw new ProcessesError('cab-corrupt', `cab: ${where}: MSZIP data inflates to ${out.length} bytes, the block says ${expected}`, at);
  }
  return out;
}

function slideWindow(window: Buffer, out: Buffer): Buffer {
  if (out.length >= MSZIP_WINDOW) return Buffer.from(out.subarray(out.length - MSZIP_WINDOW));
  const keep = Math.min(window.length, MSZIP_WINDOW - out.length);
  return Buffer.concat([window.subarray(window.length - keep), out]);
}

/**
 * The CFDATA checksum: XOR of the data taken as little-endian u32 words, with
 * the 1-3 trailing bytes folded in first-byte-highest; then continued over the
 * cbData/cbUncomp fields (4 bytes) with the first result as the seed.
 */
export function cabChecksum(data: Uint8Array, seed: number): number {
  let sum = seed >>> 0;
  const words = data.length >>> 2;
  let i = 0;
  for (let w = 0; w < words; w++, i += 4) {
    sum ^= (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
  }
  let tail = 0;
  switch (data.length & 3) {
    case 3: tail |= data[i++]! << 16; // falls through
    case 2: tail |= data[i++]! << 8;  // falls through
    case 1: tail |= data[i++]!;
  }
  return (sum ^ tail) >>> 0;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

// readCab on cabinets made by gcab (Debian) and by our test builder (checked
// with cabextract, an independent reader), on the committed synthetic netsh
// cab, and on corrupt and random input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { readCab, inspectCab, cabChecksum } from '../../src/processes/cab.js';
import { ProcessesError } from '../../src/processes/errors.js';
import { parseTasklist } from '../../src/processes/tasklist.js';
import { processListFromCab } from '../../src/processes/sources.js';
import { buildCab } from './support/cab-builder.js';
import { repoRoot } from '../support/fixtures.js';

const have = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const haveGcab = have('gcab');
const haveCabextract = have('cabextract');
if (!haveGcab) process.stderr.write('SKIP (cab): gcab not installed (apt-get install -y gcab)\n');
if (!haveCabextract) process.stderr.write('SKIP (cab): cabextract not installed (apt-get install -y cabextract)\n');

const syntheticCab = readFileSync(path.join(repoRoot, 'fixtures/synthetic-processes.cab'));
const syntheticTxt = readFileSync(path.join(repoRoot, 'fixtures/synthetic-processes.txt'));

/** Text that compresses but not to nothing: lines with counters and some noise. */
function textData(bytes: number, seed: number): Buffer {
  let s = '';
  let x = seed >>> 0;
  for (let i = 0; s.length < bytes; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    s += `line ${i} svchost.exe ${x.toString(36)} ${'abcdefghij'.slice(x % 10)}\r\n`;
  }
  return Buffer.from(s.slice(0, bytes), 'latin1');
}
function randomData(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  let x = seed >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function ownError(f: () => unknown): ProcessesError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProcessesError) return e;
    throw e;
  }
  throw new Error('expected a ProcessesError');
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'etl-imds-cab-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('committed synthetic netsh cab', () => {
  it('holds processes.txt (MSZIP) equal to the text fixture, and report.txt', () => {
    const info = inspectCab(syntheticCab);
    expect(info.folders).toEqual([{ compression: 'mszip', dataBlocks: 1, offset: expect.any(Number) }]);
    const members = readCab(syntheticCab);
    expect(members.map((m) => m.name)).toEqual(['processes.txt', 'report.txt']);
    expect(members[0]!.data.equals(syntheticTxt)).toBe(true);
    expect(members[1]!.data.toString('latin1')).toContain('No real system data');
  });

  it('gives the process list through processListFromCab', () => {
    const list = processListFromCab(syntheticCab, 'synthetic-processes.cab');
    expect(list.member).toBe('processes.txt');
    expect(list.problems).toEqual([]);
    expect(list.rows).toEqual(parseTasklist(syntheticTxt));
    expect(list.rows.find((r) => r.pid === 7340)!.services).toHaveLength(5);
  });

  it('select reads only the wanted member', () => {
    const members = readCab(syntheticCab, { select: (n) => n === 'report.txt' });
    expect(members.map((m) => m.name)).toEqual(['report.txt']);
  });
});

describe.skipIf(!haveGcab)(`cabinets made by gcab${haveGcab ? '' : ' — SKIPPED: gcab not installed'}`, () => {
  const files: Record<string, Buffer> = {
    'processes.txt': syntheticTxt,
    'big-text.txt': textData(150_000, 1),       // 5 MSZIP blocks, back-references across blocks
    'random.bin': randomData(70_000, 2),         // incompressible
    'empty.txt': Buffer.alloc(0),
    'one.txt': Buffer.from('x'),
  };
  const make = (name: string, zip: boolean): Buffer => {
    const sub = path.join(dir, name.replace('.cab', ''));
    rmSync(sub, { recursive: true, force: true });
    execFileSync('mkdir', ['-p', sub]);
    for (const [n, d] of Object.entries(files)) writeFileSync(path.join(sub, n), d);
    const out = path.join(dir, name);
    execFileSync('gcab', ['-c', ...(zip ? ['-z'] : []), '-n', out, ...Object.keys(files).map((n) => path.join(sub, n))]);
    return readFileSync(out);
  };

  for (const zip of [true, false]) {
    it(`${zip ? 'MSZIP' : 'stored'}: several files, several CFDATA blocks, byte for byte`, () => {
      const cab = make(zip ? 'z.cab' : 's.cab', zip);
      const info = inspectCab(cab);
      expect(info.folders[0]!.compression).toBe(zip ? 'mszip' : 'none');
      // Over 32 KiB of data: several blocks in the folder.
      expect(info.folders[0]!.dataBlocks).toBeGreaterThanOrEqual(Math.ceil((150_000 + 70_000) / 32768));
      const members = readCab(cab);
      expect(members.map((m) => m.name)).toEqual(Object.keys(files));
      for (const m of members) expect(m.data.equals(files[m.name]!)).toBe(true);
    });
  }

  it('rejects a gcab cabinet with any CFDATA checksum broken', () => {
    const cab = make('c.cab', true);
    const info = inspectCab(cab);
    const bad = Buffer.from(cab);
    const inBlock = info.folders[0]!.offset + 8 + 20; // a byte inside the first block's data
    bad[inBlock] = bad[inBlock]! ^ 0x01;
    const err = ownError(() => readCab(bad));
    expect(err.code).toBe('cab-corrupt');
    expect(err.message).toMatch(/CFDATA block 0 of folder 0 at offset \d+: checksum/);
    // With checksums off, the same damage shows up as bad deflate data or wrong bytes, never silently as success with the right content.
    try {
      const members = readCab(bad, { verifyChecksums: false });
      expect(members.every((m) => m.data.equals(files[m.name]!))).toBe(false);
    } catch (e) {
      expect(e).toBeInstanceOf(ProcessesError);
    }
  });
});

describe('cabinets from the test builder', () => {
  const a = textData(100_000, 3);
  const b = randomData(5_000, 4);
  const c = Buffer.from('tiny');

  it.skipIf(!haveCabextract)('are valid for cabextract (libmspack), the independent check of the builder', () => {
    const cab = buildCab({
      reserve: { header: 20, folder: 6, data: 4 },
      prev: ['prev.cab', 'Disk 0'],
      next: ['next.cab', 'Disk 2'],
      folders: [
        { compression: 'mszip', files: [{ name: 'a.txt', data: a }, { name: 'b.bin', data: b }] },
        { compression: 'none', files: [{ name: 'c.txt', data: c }] },
      ],
    });
    const out = path.join(dir, 'builder.cab');
    writeFileSync(out, cab);
    const r = spawnSync('cabextract', ['-t', out], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toMatch(/All done, no errors/);
  });

  it('reads reserve fields, previous/next names and several folders', () => {
    const cab = buildCab({
      reserve: { header: 20, folder: 6, data: 4 },
      prev: ['prev.cab', 'Disk 0'],
      next: ['next.cab', 'Disk 2'],
      setId: 0x4242,
      index: 1,
      folders: [
        { compression: 'mszip', files: [{ name: 'a.txt', data: a }, { name: 'b.bin', data: b }] },
        { compression: 'none', files: [{ name: 'c.txt', data: c }] },
        { compression: 'mszip', files: [{ name: 'dir\\processes.txt', data: syntheticTxt }] },
      ],
    });
    const info = inspectCab(cab);
    expect(info).toMatchObject({ setId: 0x4242, index: 1, previousCabinet: 'prev.cab', nextCabinet: 'next.cab' });
    expect(info.folders.map((f) => f.compression)).toEqual(['mszip', 'none', 'mszip']);
    const members = readCab(cab);
    expect(members.map((m) => [m.name, m.folder])).toEqual([['a.txt', 0], ['b.bin', 0], ['c.txt', 1], ['dir\\processes.txt', 2]]);
    expect(members[0]!.data.equals(a)).toBe(true);
    expect(members[1]!.data.equals(b)).toBe(true);
    expect(members[2]!.data.equals(c)).toBe(true);
    expect(processListFromCab(cab, 'x.cab').rows).toHaveLength(30);
  });

  it('MSZIP blocks continue the previous block\'s dictionary (and need it)', () => {
    const cab = buildCab({ folders: [{ compression: 'mszip', files: [{ name: 'a.txt', data: a }] }] });
    const block0 = inspectCab(cab).folders[0]!.offset;
    const size0 = cab.readUInt16LE(block0 + 4);
    const block1 = block0 + 8 + size0;
    const size1 = cab.readUInt16LE(block1 + 4);
    // Block 1 alone, without block 0's output as dictionary, does not inflate to the right bytes.
    let alone: Buffer | undefined;
    try {
      alone = inflateRawSync(cab.subarray(block1 + 8 + 2, block1 + 8 + size1));
    } catch {
      alone = undefined;
    }
    expect(alone?.equals(a.subarray(32768, 65536)) ?? false).toBe(false);
    expect(readCab(cab)[0]!.data.equals(a)).toBe(true);
  });

  it('names the member when its folder is LZX or Quantum, unless it is not selected', () => {
    const cab = buildCab({
      folders: [
        { compression: 'none', files: [{ name: 'processes.txt', data: syntheticTxt }] },
        { compression: 'lzx', files: [{ name: 'big.etl', data: randomData(100, 5) }] },
        { compression: 'quantum', files: [{ name: 'q.txt', data: c }] },
      ],
    });
    const err = ownError(() => readCab(cab));
    expect(err.code).toBe('cab-unsupported');
    expect(err.message).toContain('"big.etl"');
    expect(err.message).toContain('LZX');
    expect(ownError(() => readCab(cab, { select: (n) => n === 'q.txt' })).message).toMatch(/"q\.txt".*QUANTUM/);
    expect(readCab(cab, { select: (n) => n === 'processes.txt' })[0]!.data.equals(syntheticTxt)).toBe(true);
    expect(processListFromCab(cab, 'x.cab').rows).toHaveLength(30);
  });

  it('accepts blocks without checksums (csum 0)', () => {
    const cab = buildCab({ checksums: false, folders: [{ compression: 'mszip', files: [{ name: 'a.txt', data: a }] }] });
    expect(readCab(cab)[0]!.data.equals(a)).toBe(true);
  });

  it('checksum: XOR of LE words, tail first-byte-highest', () => {
    expect(cabChecksum(Buffer.from([1, 0, 0, 0, 2, 0, 0, 0]), 0)).toBe(3);
    expect(cabChecksum(Buffer.from([0x11, 0x22, 0x33]), 0)).toBe(0x112233);
    expect(cabChecksum(Buffer.from([0x11]), 0x100)).toBe(0x111);
  });
});

describe('corrupt cabinets: a ProcessesError naming what and where', () => {
  const good = buildCab({
    reserve: { header: 4, folder: 2, data: 2 },
    next: ['n.cab', 'd'],
    folders: [
      { compression: 'mszip', files: [{ name: 'processes.txt', data: syntheticTxt }, { name: 'x.txt', data: textData(40_000, 9) }] },
      { compression: 'none', files: [{ name: 'y.txt', data: Buffer.from('hello') }] },
    ],
  });

  it('truncated at every length', () => {
    for (let n = 0; n < good.length; n++) {
      const err = ownError(() => readCab(good.subarray(0, n)));
      expect(err.code).toMatch(/^cab-/);
      expect(err.message).toMatch(/^cab: /);
    }
  });

  it('truncated at every length with cbCabinet rewritten to match (internal bounds)', () => {
    const codes = new Set<string>();
    for (let n = 36; n < good.length; n++) {
      const cut = Buffer.from(good.subarray(0, n));
      cut.writeUInt32LE(n, 8);
      const err = ownError(() => readCab(cut));
      codes.add(err.code);
      expect(err.message).toMatch(/offset \d+|needs \d+|decompresses/);
    }
    expect([...codes].sort()).toEqual(['cab-format', 'cab-truncated']);
  });

  it('bad signature, version, sizes, offsets, names', () => {
    const patch = (at: number, write: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      write(b.subarray(at));
      return b;
    };
    expect(ownError(() => readCab(patch(0, (b) => b.write('MSCX')))).message).toMatch(/not a cabinet/);
    expect(ownError(() => readCab(patch(25, (b) => (b[0] = 2)))).message).toMatch(/version 2\.3/);
    expect(ownError(() => readCab(patch(8, (b) => b.writeUInt32LE(good.length + 1)))).message).toMatch(/cbCabinet.*only \d+ are present/);
    expect(ownError(() => readCab(patch(16, (b) => b.writeUInt32LE(good.length + 5)))).message).toMatch(/coffFiles/);
    expect(ownError(() => readCab(patch(30, (b) => b.writeUInt16LE(0x0010)))).message).toMatch(/unknown CFHEADER flags/);
    expect(ownError(() => readCab(patch(36, (b) => b.writeUInt16LE(60001)))).message).toMatch(/cbCFHeader 60001/);
    const info = inspectCab(good);
    const coffFiles = good.readUInt32LE(16);
    // File 0 claims to be far longer than its folder.
    expect(ownError(() => readCab(patch(coffFiles, (b) => b.writeUInt32LE(10_000_000)))).message).toMatch(/needs \d+|decompresses to/);
    // File 0 points at a folder that does not exist.
    expect(ownError(() => readCab(patch(coffFiles + 8, (b) => b.writeUInt16LE(7)))).message).toMatch(/names folder 7/);
    // File 0 continues from a previous cabinet.
    expect(ownError(() => readCab(patch(coffFiles + 8, (b) => b.writeUInt16LE(0xfffd)))).code).toBe('cab-unsupported');
    // A CFDATA block that claims more than 32 KiB.
    const block0 = info.folders[0]!.offset;
    expect(ownError(() => readCab(patch(block0, (b) => { b.writeUInt32LE(0); b.writeUInt16LE(40_000, 6); }))).message).toMatch(/claims 40000 uncompressed/);
    // A block that continues into the next cabinet (cbUncomp 0).
    expect(ownError(() => readCab(patch(block0, (b) => { b.writeUInt32LE(0); b.writeUInt16LE(0, 6); }))).code).toBe('cab-unsupported');
    // Missing "CK".
    expect(ownError(() => readCab(patch(block0, (b) => { b.writeUInt32LE(0); b[8 + 2] = 0x58; }))).message).toMatch(/"CK"/);
    // An output limit.
    expect(ownError(() => readCab(good, { maxOutputBytes: 1000 })).code).toBe('cab-limit');
  });

  it('65533 folders and files sharing one block: every member, bounded output', () => {
    // A walk that re-read the shared block per member pair (65533²) would not end within the test's
    // timeout; no clock is read here (a busy machine would make any limit flaky).
    // Every folder points at the same one-byte stored block; every file is one byte in its own folder.
    const n = 0xfffd; // folder indices 0xfffd-0xffff mean "spans cabinets"
    const nameBytes = 2; // "f" + NUL
    const coffFiles = 36 + n * 8;
    const dataAt = coffFiles + n * (16 + nameBytes);
    const cab = Buffer.alloc(dataAt + 9);
    cab.write('MSCF', 0, 'latin1');
    cab.writeUInt32LE(cab.length, 8);
    cab.writeUInt32LE(coffFiles, 16);
    cab[24] = 3;
    cab[25] = 1;
    cab.writeUInt16LE(n, 26);
    cab.writeUInt16LE(n, 28);
    for (let i = 0; i < n; i++) {
      cab.writeUInt32LE(dataAt, 36 + i * 8);
      cab.writeUInt16LE(1, 36 + i * 8 + 4);
      const f = coffFiles + i * (16 + nameBytes);
      cab.writeUInt32LE(1, f);
      cab.writeUInt16LE(i, f + 8);
      cab.write('f', f + 16, 'latin1');
    }
    cab.writeUInt16LE(1, dataAt + 4);
    cab.writeUInt16LE(1, dataAt + 6);
    cab[dataAt + 8] = 0x41;
    const members = readCab(cab);
    expect(members).toHaveLength(n);
    expect(members.every((m) => m.data.length === 1 && m.data[0] === 0x41)).toBe(true);
    expect(ownError(() => readCab(cab, { maxOutputBytes: 1000 })).code).toBe('cab-limit');
  });

  it('random bytes and mutated cabinets: members or a ProcessesError, with bounded output', () => {
    const check = (input: Uint8Array) => {
      try {
        const members = readCab(input, { maxOutputBytes: 8 * 1024 * 1024 });
        for (const m of members) expect(m.data.length).toBeLessThanOrEqual(8 * 1024 * 1024);
      } catch (e) {
        if (!(e instanceof ProcessesError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 1000 });
    // Random bytes behind a valid-looking header reach the deeper parsers.
    const headed = fc.uint8Array({ minLength: 0, maxLength: 600 }).map((tail) => {
      const b = Buffer.concat([Buffer.from(good.subarray(0, 36)), Buffer.from(tail)]);
      b.writeUInt32LE(b.length, 8);
      return b;
    });
    fc.assert(fc.property(headed, check), { numRuns: 1000 });
    const bases = [good, syntheticCab];
    const mutation = fc.record({
      base: fc.integer({ min: 0, max: 1 }),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ base, flips, cut }) => {
        const b = Buffer.from(bases[base]!);
        for (const f of flips) b[f.at % b.length] = f.value;
        check(cut === undefined ? b : b.subarray(0, cut % (b.length + 1)));
        // Same again with checksums off, so mutations reach the inflater.
        try {
          readCab(cut === undefined ? b : b.subarray(0, cut % (b.length + 1)), { verifyChecksums: false, maxOutputBytes: 8 * 1024 * 1024 });
        } catch (e) {
          if (!(e instanceof ProcessesError)) throw e;
        }
      }),
      { numRuns: 1500 },
    );
  });
});

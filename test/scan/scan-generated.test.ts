// scan on traces made from real IMDS client traffic (fixtures/imds/*.json, captured
// with curl, the AWS SDK for JavaScript v3, botocore and raw sockets), in netsh and
// pktmon form, with each attribution source: per-PID counts must equal the truth.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  captureTcpipEvents,
  DEFAULT_START,
  FILETIME_SECOND,
  loadCapture,
  placeCapture,
  placedTruth,
  writeNetshEtl,
  writePktmonEtl,
  type PidMode,
} from '../../tools/gen/index.js';
import { scanFile } from '../../src/scan.js';
import { repoRoot } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-scan-gen-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = path.join(repoRoot, 'fixtures', 'imds');
const captures = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json'));

type Row = string;
function key(pid: number | null, cls: string, method: string | null, p: string | null, status: number | null): Row {
  return `${pid} ${cls} ${method} ${p} ${status}`;
}

const traceFor = (pid: number) => 1000 + (pid % 60000);
const imageFor = (pid: number) => `client${pid}.exe`;

describe('scan: generated traces from real client traffic', () => {
  it('has the real-client scenarios to test', () => {
    expect(captures.length).toBeGreaterThanOrEqual(10);
  });
  for (const form of ['netsh', 'pktmon'] as const) {
    for (const mode of ['packet', 'connection', 'none'] as PidMode[]) {
      for (const name of captures) {
        it(`${form}, PID from ${mode === 'none' ? 'TCPIP events' : mode}: ${name}`, async () => {
          const c = loadCapture(path.join(dir, name));
          const start = DEFAULT_START + 5n * FILETIME_SECOND;
          const o = { start, cpu: 1, pidMode: mode, pid: traceFor };
          const packets = placeCapture(c, o);
          const pids = [...new Set(c.truth.map((t) => traceFor(t.pid)))];
          const processes = pids.map((pid) => ({ pid, image: `\\Device\\HarddiskVolume2\\apps\\${imageFor(pid)}`, ppid: 600, sessionId: 0 }));
          const tcpipEvents = mode === 'none' ? captureTcpipEvents(c, o) : [];
          const file = path.join(tmp, `${form}-${mode}-${name}.etl`);
          const opts = { startTime: DEFAULT_START, processes, tcpipEvents, numberOfProcessors: 2 };
          if (form === 'netsh') await writeNetshEtl(file, packets, { ...opts, fragmentSize: 600 });
          else await writePktmonEtl(file, packets, opts);

          const r = await scanFile(file, { noAutoCab: true });
          expect(r.diagnostics).toEqual([]);
          const truth = placedTruth(c, o).map((t) => key(t.pid, t.class, t.method, t.path, t.status)).sort();
          const got = r.requests.map((q) => key(q.pid, q.class, q.method, q.path, q.status)).sort();
          expect(got).toEqual(truth);
          const want = mode === 'none' ? 'tcpip' : mode;
          for (const q of r.requests) {
            expect(q.attribution, `${q.method} ${q.path} pid ${q.pid}`).toBe(want);
            expect(q.image).toBe(imageFor(q.pid!));
          }
          // Per-process counts (the table users read) add up to the truth too.
          for (const pid of pids) {
            const p = r.processes.find((x) => x.pid === pid)!;
            for (const cls of ['v1', 'v2', 'token', 'unknown'] as const)
              expect(p[cls], `${pid} ${cls}`).toBe(c.truth.filter((t) => traceFor(t.pid) === pid && t.class === cls).length);
          }
        });
      }
    }
  }
});

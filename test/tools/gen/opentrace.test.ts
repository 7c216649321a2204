import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNetshEtl } from '../../../tools/gen/netsh.js';
import { writePktmonEtl } from '../../../tools/gen/pktmon.js';
import { loadCapture, placeCapture } from '../../../tools/gen/imds.js';
import { DEFAULT_START } from '../../../tools/gen/packet.js';

const root = join(import.meta.dirname, '..', '..', '..');
const addon = join(root, 'build', 'Release', 'etl_imds.node');
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-ot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(addon))(`generated traces read back with openTrace${existsSync(addon) ? '' : ' (skipped: native addon not built)'}`, () => {
  const cap = loadCapture(join(root, 'fixtures', 'imds', 'raw-keepalive.json'));
  const pk = placeCapture(cap, { start: DEFAULT_START, cpu: 1, pid: () => 4242 });

  async function read(path: string) {
    const { openTrace } = await import('../../../src/index.js');
    const out = [];
    for await (const b of openTrace(path).events()) out.push(...b.events);
    return out;
  }

  it('netsh form: every fragment event with its time, CPU, PID, TID and bytes', async () => {
    const path = join(dir, 'n.etl');
    await writeNetshEtl(path, pk, { numberOfProcessors: 2 });
    const ev = (await read(path)).filter((e) => e.provider === '2ed6006e-4729-4609-b423-3ee7bcd678ef' && e.id === 1001);
    expect(ev.map((e) => [e.fileTime, e.cpu, e.pid, e.tid])).toEqual(pk.map((p) => [p.time, p.cpu, p.pid, p.tid]));
    expect(ev.map((e) => Buffer.from(e.userData.subarray(12, e.userData.length - 16)).toString('hex'))).toEqual(pk.map((p) => Buffer.from(p.data).toString('hex')));
  });

  it('pktmon form: three appearances per packet after decompression', async () => {
    const path = join(dir, 'p.etl');
    await writePktmonEtl(path, pk, { numberOfProcessors: 2 });
    const ev = (await read(path)).filter((e) => e.provider === '4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac' && e.id === 160);
    expect(ev.length).toBe(pk.length * 3);
    expect(ev.filter((_, i) => i % 3 === 0).map((e) => Buffer.from(e.userData.subarray(34)).toString('hex'))).toEqual(pk.map((p) => Buffer.from(p.data).toString('hex')));
  });
});

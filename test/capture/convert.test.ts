// convert() and scanPackets() of the native capture engine, checked with
// tshark against real captures and against pktmon's own pcapng.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../src/native/binding.js';
import { openTrace } from '../../src/index.js';
import { haveShared, repoRoot, shared, skipReason } from '../support/fixtures.js';

const cap = native();

const hasTshark = spawnSync('tshark', ['-v']).status === 0;
if (!hasTshark) process.stderr.write('SKIP: tshark not installed; pcapng checks skipped\n');
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-convert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tshark(args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  // tshark's only stderr line when run as root; anything else is a real complaint.
  const err = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('Running as user "root"')).join('\n');
  return { out: r.stdout, err, status: r.status };
}
function fields(file: string, filter: string | null, ...names: string[]): string[][] {
  const args = ['-r', file, '-T', 'fields', ...names.flatMap((n) => ['-e', n])];
  if (filter) args.push('-Y', filter);
  const r = tshark(args);
  expect(r.err).toBe('');
  return r.out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** Packet events counted by the reader alone (not by the capture engine). */
async function packetEvents(file: string, match?: (payload: Buffer) => boolean): Promise<number> {
  const t = openTrace(file, {
    providers: ['2ed6006e-4729-4609-b423-3ee7bcd678ef', '4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac', 'd84521f7-2235-4237-a7c0-14e3a9676286'],
    ids: [1001, 1003, 160, 170, 5001, 5002],
  });
  let n = 0;
  for await (const b of t.events()) {
    for (const e of b.events) {
      // Every event in these fixtures is a whole packet (PACKET_START|END for NDIS).
      if (e.provider.startsWith('2ed6006e') && (e.keywords & 0xc0000000n) !== 0xc0000000n) continue;
      if (!match || match(Buffer.from(e.userData))) n++;
    }
  }
  t.close();
  return n;
}

const PACKET_FIXTURES = [
  'netsh/attackhost-wifi.etl',
  'pktmon/demikernel/PktMon.etl',
  'pktmon/finguard/PktMon.etl',
  'pktmon/nathaniel-29decde/PktMon.etl',
  'pktmon/stmcast/PktMon.etl',
];

describe.skipIf(!haveShared || !hasTshark)('convert on real captures', () => {
  it('pktmon/demikernel: 114 packets equal, in order and byte for byte, to pktmon\'s own pcapng', async () => {
    const out = join(dir, 'demikernel.pcapng');
    const s = await cap.convert(shared('pktmon/demikernel/PktMon.etl'), out);
    expect(s.packets).toBe(114);
    const ours = tshark(['-r', out, '-x']);
    const golden = tshark(['-r', shared('pktmon/demikernel/PktMon.cap.pcapng'), '-x']);
    expect(ours.err).toBe('');
    expect(ours.out.split('\n\n').length).toBeGreaterThanOrEqual(114);
    expect(ours.out).toBe(golden.out);
    // Same instants; ours keep the 100 ns digits that pktmon's microseconds drop.
    const t1 = fields(out, null, 'frame.time_epoch').map((r) => r[0]!);
    const t2 = fields(shared('pktmon/demikernel/PktMon.cap.pcapng'), null, 'frame.time_epoch').map((r) => r[0]!);
    expect(t1.map((t) => t.slice(0, -3))).toEqual(t2.map((t) => t.slice(0, -3)));
    expect(t1.some((t) => !t.endsWith('000'))).toBe(true);
    // Interface names from the component events written at the end of the log.
    expect(s.interfaces.map((i) => i.name)).toContain('netvsc.sys');
    expect(s.interfaces.every((i, k) => i.id === k && i.linkType === 1)).toBe(true);
    // PID/TID comment and direction from DirTag.
    const rows = fields(out, null, 'frame.comment', 'frame.packet_flags_direction');
    expect(rows.every((r) => /^PID=\d+ TID=\d+ PktNumber=/.test(r[0]!))).toBe(true);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['0x00000001', '0x00000002']));
  });

  for (const f of PACKET_FIXTURES) {
    it(`${f}: tshark reads our pcapng cleanly, one frame per packet event`, async () => {
      const out = join(dir, f.replace(/\//g, '_') + '.pcapng');
      const s = await cap.convert(shared(f), out);
      const events = await packetEvents(shared(f));
      expect(s.packets).toBe(events);
      expect(s.warningCount).toBe(0);
      const r = tshark(['-r', out]);
      expect(r.status).toBe(0);
      expect(r.err).toBe('');
      expect(r.out.split('\n').filter((l) => l !== '').length).toBe(events);
      const info = spawnSync('capinfos', ['-M', '-c', '-I', out], { encoding: 'utf8' });
      expect(info.status).toBe(0);
      expect(info.stdout).toContain(`Number of packets:   ${events}`);
    });
  }

  it('netsh/attackhost-wifi: one 802.11 frame carrying SSDP, outbound, with the PID comment', async () => {
    const out = join(dir, 'wifi.pcapng');
    const s = await cap.convert(shared('netsh/attackhost-wifi.etl'), out);
    expect(s.interfaces).toEqual([{ id: 0, name: 'wifi:8', description: '', linkType: 105, source: 'ndis', packets: 1 }]);
    const rows = fields(out, null, 'frame.protocols', 'frame.packet_flags_direction', 'frame.comment', 'wlan.fc.protected', 'frame.interface_name');
    expect(rows.length).toBe(1);
    expect(rows[0]![0]).toBe('wlan:llc:ip:udp:ssdp');
    expect(rows[0]![1]).toBe('0x00000002');
    expect(rows[0]![2]).toMatch(/^PID=\d+ TID=\d+$/);
    expect(rows[0]![3]).toBe('0');  // Protected bit cleared (ndiscap logs decrypted frames)
    expect(rows[0]![4]).toBe('wifi:8');
  });

  it('pktmon/stmcast: tshark finds the same "GET /" requests the .etl holds', async () => {
    const out = join(dir, 'stmcast.pcapng');
    await cap.convert(shared('pktmon/stmcast/PktMon.etl'), out);
    const inEtl = await packetEvents(shared('pktmon/stmcast/PktMon.etl'), (p) => p.includes('GET /'));
    expect(inEtl).toBe(120);
    expect(fields(out, 'frame contains "GET /"', 'frame.number').length).toBe(inEtl);
    // Frames pktmon labels Wi-Fi whose bytes are Ethernet go out as Ethernet:
    // every "GET /" frame then dissects down to TCP port 80.
    expect(fields(out, 'frame contains "GET /" && tcp.dstport == 80', 'frame.number').length).toBe(inEtl);
  });

  it('options: --dedupe keeps first appearances, --pid keeps one process, --imds-only keeps none here', async () => {
    const d = await cap.convert(shared('pktmon/demikernel/PktMon.etl'), join(dir, 'dedupe.pcapng'), { dedupe: true });
    expect(d.packets).toBe(38);  // SOURCES.md: 38 distinct packets
    expect(d.duplicates).toBe(114 - 38);
    const all = join(dir, 'nathaniel.pcapng');
    await cap.convert(shared('pktmon/nathaniel-29decde/PktMon.etl'), all);
    const pids = fields(all, null, 'frame.comment').map((r) => /^PID=(\d+)/.exec(r[0]!)![1]!);
    const pid = pids.find((p) => p !== '0')!;
    const want = pids.filter((p) => p === pid).length;
    const one = join(dir, 'pid.pcapng');
    const s = await cap.convert(shared('pktmon/nathaniel-29decde/PktMon.etl'), one, { pid: Number(pid) });
    expect(s.packets).toBe(want);
    expect(fields(one, null, 'frame.comment').every((r) => r[0]!.startsWith(`PID=${pid} `))).toBe(true);
    const none = join(dir, 'none.pcapng');
    const n = await cap.convert(shared('pktmon/stmcast/PktMon.etl'), none, { imdsOnly: true });
    expect(n.packets).toBe(0);
    expect(n.interfaces).toEqual([]);
    expect(tshark(['-r', none]).status).toBe(0);
  });

  it('writes to a temp file and renames: nothing left behind on cancel or on error', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const target = join(sub, 'out.pcapng');
    await expect(cap.convert(shared('pktmon/stmcast/PktMon.etl'), target, {}, () => false)).rejects.toMatchObject({ code: 'ETL_cancelled' });
    expect(readdirSync(sub)).toEqual([]);
    await expect(cap.convert(join(sub, 'missing.etl'), target)).rejects.toMatchObject({ code: 'ETL_open' });
    expect(readdirSync(sub)).toEqual([]);
    let calls = 0;
    const s = await cap.convert(shared('pktmon/stmcast/PktMon.etl'), target, {}, () => { calls++; });
    expect(calls).toBeGreaterThan(0);
    expect(readdirSync(sub)).toEqual(['out.pcapng']);
    expect(readFileSync(target).length).toBe(s.bytesWritten);
  });

  it('output "-" writes the same bytes to standard output', async () => {
    const loader = `const b = require('node-gyp-build')(${JSON.stringify(repoRoot)});
      b.convert(${JSON.stringify(shared('pktmon/demikernel/PktMon.etl'))}, '-').catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', loader], { cwd: repoRoot, maxBuffer: 1 << 26 });
    expect(r.status).toBe(0);
    const file = join(dir, 'stdout-ref.pcapng');
    await cap.convert(shared('pktmon/demikernel/PktMon.etl'), file);
    expect(r.stdout.length).toBeGreaterThan(1000);
    expect(Buffer.compare(r.stdout, readFileSync(file))).toBe(0);
  });
});

describe.skipIf(!haveShared)('convert: strict', () => {
  it('--strict fails on the first reader diagnostic or capture warning and leaves no file', async () => {
    // finguard is clean: strict passes.
    const sub = mkdtempSync(join(dir, 'strict-'));
    const s = await cap.convert(shared('pktmon/finguard/PktMon.etl'), join(sub, 'ok.pcapng'), { strict: true });
    expect(s.packets).toBe(406);
  });
  it('a damaged trace converts with its diagnostics counted, and fails under --strict with nothing left', async () => {
    const sub = mkdtempSync(join(dir, 'strict-'));
    const whole = readFileSync(shared('pktmon/nathaniel-29decde/PktMon.etl'));
    const cut = join(sub, 'cut.etl');  // a temp copy cut inside a buffer, never kept
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const lax = await cap.convert(cut, join(sub, 'lax.pcapng'));
    expect(lax.diagnostics.length).toBeGreaterThan(0);
    expect(lax.packets).toBeGreaterThan(0);
    await expect(cap.convert(cut, join(sub, 'strict.pcapng'), { strict: true })).rejects.toMatchObject({ code: 'ETL_strict' });
    expect(readdirSync(sub).sort()).toEqual(['cut.etl', 'lax.pcapng']);
  });
});

describe.skipIf(!hasTshark)('IMDS selection (fixtures/imds-sample.etl, synthetic)', () => {
  const sample = join(repoRoot, 'fixtures', 'imds-sample.etl');
  it.skipIf(!existsSync(sample))('scanPackets and --imds-only select exactly what tshark\'s IMDS filter selects', async () => {
    const full = join(dir, 'sample.pcapng');
    const all = await cap.convert(sample, full);
    const filter = 'tcp && ((ip.dst == 169.254.169.254 && tcp.dstport == 80) || (ip.src == 169.254.169.254 && tcp.srcport == 80) || (ipv6.dst == fd00:ec2::254 && tcp.dstport == 80) || (ipv6.src == fd00:ec2::254 && tcp.srcport == 80))';
    const want = fields(full, filter, 'frame.number').map((r) => Number(r[0]));
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(all.packets);
    const only = join(dir, 'sample-imds.pcapng');
    const s = await cap.convert(sample, only, { imdsOnly: true });
    expect(s.packets).toBe(want.length);
    const scan = cap.scanPackets(sample);
    const got: ScanBatch['packets'] = [];
    for (;;) {
      const b = await scan.next(7);  // small batches: several round trips
      got.push(...b.packets);
      if (b.done) break;
    }
    scan.close();
    expect(got.map((p) => p.frame)).toEqual(want);
    // ip = bytes from the IP header on: compare with tshark's view of the same frames.
    const ipRows = fields(full, filter, 'ip.src', 'ipv6.src', 'frame.packet_flags_direction', 'frame.interface_id');
    got.forEach((p, k) => {
      const v = p.ip[0]! >> 4;
      expect(v === 4 || v === 6).toBe(true);
      const src = v === 4 ? [...p.ip.subarray(12, 16)].join('.') : null;
      if (src) expect(src).toBe(ipRows[k]![0]);
      expect(p.direction).toBe(ipRows[k]![2] === '0x00000002' ? 'out' : ipRows[k]![2] === '0x00000001' ? 'in' : 'unknown');
      expect(p.interfaceId).toBe(Number(ipRows[k]![3]));
    });
  });
});

if (!haveShared) describe.skip(skipReason, () => { it('needs ../shared/fixtures', () => {}); });

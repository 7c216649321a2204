import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCapture } from '../../../tools/gen/imds.js';
import { writePcapng } from '../../../tools/gen/pcap.js';
import { captureScenario, SCENARIOS } from '../../../tools/gen/capture.js';

const root = join(import.meta.dirname, '..', '..', '..');
const fxDir = join(root, 'fixtures', 'imds');
const names = readdirSync(fxDir).filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json')).map((f) => f.replace(/\.json$/, ''));
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-cap-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasTshark = spawnSync('tshark', ['-v']).status === 0;

/** Requests as a byte-stream reader sees them: per connection, the client's payload in sequence order. */
function requestsOnWire(name: string): { port: number; method: string; path: string; token: boolean; ttl: boolean }[] {
  const { fixture } = loadCapture(join(fxDir, `${name}.json`));
  const streams = new Map<number, Map<number, Buffer>>();
  for (const p of fixture.packets) {
    if (p.dir !== 'out') continue;
    const f = Buffer.from(p.hex, 'hex');
    const ip = f.subarray(14);
    const v6 = f.readUInt16BE(12) === 0x86dd;
    const l4 = v6 ? 40 : (ip[0]! & 15) * 4;
    const total = v6 ? 40 + ip.readUInt16BE(4) : ip.readUInt16BE(2);
    const off = (ip[l4 + 12]! >> 4) * 4;
    const payload = ip.subarray(l4 + off, total);
    if (payload.length === 0) continue;
    const m = streams.get(p.clientPort) ?? new Map<number, Buffer>();
    m.set(ip.readUInt32BE(l4 + 4), Buffer.from(payload));          // retransmissions overwrite
    streams.set(p.clientPort, m);
  }
  const out: ReturnType<typeof requestsOnWire> = [];
  for (const [port, segs] of streams) {
    const text = Buffer.concat([...segs.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).toString('latin1');
    for (const head of text.split('\r\n\r\n').filter((h) => h.length > 0)) {
      const [line, ...hdrs] = head.split('\r\n');
      const [method, path] = line!.split(' ');
      const has = (h: string) => hdrs.some((x) => x.toLowerCase().startsWith(`${h}:`));
      out.push({ port, method: method!, path: path!, token: has('x-aws-ec2-metadata-token'), ttl: has('x-aws-ec2-metadata-token-ttl-seconds') });
    }
  }
  return out;
}

describe('committed real-client IMDS captures', () => {
  it('cover every scenario with a truth file', () => {
    expect(names.sort()).toEqual(SCENARIOS.map((s) => s.name).sort());
  });

  for (const name of names) {
    it(`${name}: the packets carry exactly the requests of the truth file`, () => {
      const { fixture, truth } = loadCapture(join(fxDir, `${name}.json`));
      expect(truth.length).toBeGreaterThan(0);
      const wire = requestsOnWire(name);
      const cls = (w: (typeof wire)[number]) => (w.method === 'PUT' && w.path === '/latest/api/token' && w.ttl ? 'token' : w.token ? 'v2' : 'v1');
      expect(wire.map((w) => `${w.port} ${cls(w)} ${w.method} ${w.path}`).sort())
        .toEqual(truth.map((t) => `${t.clientPort} ${t.class} ${t.method} ${t.path}`).sort());
      const ports = new Set(fixture.captured.clients.flatMap((c) => c.ports));
      expect(truth.every((t) => ports.has(t.clientPort) && t.pid === t.linuxPid * 4)).toBe(true);
      const imds = fixture.family === 4 ? '169.254.169.254' : 'fd00:ec2::254';
      expect(fixture.server.ip).toBe(imds);
    });
  }

  it('tshark reads the rewritten packets with good IP/TCP checksums and sees the HTTP', (ctx) => {
    if (!hasTshark) ctx.skip('tshark not installed');
    for (const name of names) {
      const { fixture, truth } = loadCapture(join(fxDir, `${name}.json`));
      const file = join(dir, `${name}.pcapng`);
      writeFileSync(file, writePcapng(fixture.packets.map((p) => ({ timeNs: BigInt(p.t) * 1000n + 1_717_416_000_000_000_000n, linkType: 1, data: Buffer.from(p.hex, 'hex') }))));
      // One tshark pass per file: checksum verdicts, expert severity and HTTP requests to IMDS:80.
      const rows = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
        '-e', 'tcp.checksum.status', '-e', 'ip.checksum.status', '-e', '_ws.expert.severity', '-e', 'http.request', '-e', 'tcp.dstport', '-e', fixture.family === 4 ? 'ip.dst' : 'ipv6.dst'], { encoding: 'utf8' })
        .split('\n').filter(Boolean).map((l) => l.split('|'));
      expect(rows.length, name).toBe(fixture.packets.length);
      expect(rows.every((r) => r[0] === '1' && (fixture.family === 6 || r[1] === '1')), `${name}: checksums`).toBe(true);
      expect(rows.filter((r) => r[2] && Number(r[2]) >= 6291456).length, `${name}: warnings`).toBe(0);   // PI_WARN
      const imds = fixture.family === 4 ? '169.254.169.254' : 'fd00:ec2::254';
      // Per-packet request count agrees where requests sit in their own segment (not split, not pipelined).
      if (!['raw-split', 'raw-pipelined'].includes(name)) expect(rows.filter((r) => r[3] && r[4] === '80' && r[5] === imds).length, name).toBe(truth.length);
    }
  });

  const live = process.getuid?.() === 0 && hasTshark && spawnSync('curl', ['--version']).status === 0;
  it.skipIf(!live)(`re-captures live with real clients${live ? '' : ' (skipped: needs root, tshark and curl)'}`, async () => {
    for (const s of SCENARIOS.filter((x) => ['curl-v1', 'raw-split', 'tokens-required'].includes(x.name))) {
      const { fixture, truth } = await captureScenario(s.name, s.description, s.clients, s.mock, root);
      const committed = loadCapture(join(fxDir, `${s.name}.json`)).truth;
      expect(truth.map((t) => `${t.client} ${t.class} ${t.method} ${t.path} ${t.status}`)).toEqual(committed.map((t) => `${t.client} ${t.class} ${t.method} ${t.path} ${t.status}`));
      expect(fixture.packets.length).toBeGreaterThan(truth.length * 2);
    }
  }, 60_000);
});

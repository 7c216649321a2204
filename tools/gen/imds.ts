// From committed capture fixtures (fixtures/imds/*.json) to generator packets, plus background
// traffic and the process list netsh puts in its .cab, so tests and the bench can build traces
// whose truth is known.

import { readFileSync } from 'node:fs';
import type { CaptureFixture, TruthRequest } from './capture.js';
import type { GenPacket } from './packet.js';
import type { GenTcpipEvent } from './providers.js';
import { fixChecksums } from './pcap.js';
import { Rng } from './bytes.js';
import { ipv4Bytes } from './providers.js';

export type { CaptureFixture, TruthRequest, CapturedPacket, ClientSpec, MockImdsOptions, ServedRequest } from './capture.js';

export interface LoadedCapture { fixture: CaptureFixture; truth: TruthRequest[] }

export function loadCapture(jsonPath: string): LoadedCapture {
  const fixture = JSON.parse(readFileSync(jsonPath, 'utf8')) as CaptureFixture;
  const truth = JSON.parse(readFileSync(jsonPath.replace(/\.json$/, '.truth.json'), 'utf8')) as TruthRequest[];
  if (!Array.isArray(fixture.packets) || !Array.isArray(truth)) throw new Error(`${jsonPath}: not a capture fixture`);
  return { fixture, truth };
}

/**
 * Where the PID on outbound packets comes from:
 * - 'packet': data-bearing, SYN and FIN segments carry the client's PID; pure ACKs PID 0 (DPC);
 * - 'connection': only the SYN carries it, everything else is logged with PID 4;
 * - 'none': every packet has PID 0 or 4; only TCPIP events can name the process.
 */
export type PidMode = 'packet' | 'connection' | 'none';

export interface PlaceOptions {
  /** FILETIME of the first packet. */
  start: bigint;
  cpu?: number;
  ifIndex?: number;
  pidMode?: PidMode;
  /** Client PID in the trace for a fixture PID (default: unchanged). */
  pid?: (fixturePid: number) => number;
  /** Added to every client port (keeps connections distinct when a fixture is reused). */
  portOffset?: number;
}

function tcpInfo(frame: Buffer): { l4: number; payload: number; flags: number; ip: Buffer } | undefined {
  const et = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  let l4: number; let total: number;
  if (et === 0x0800) { l4 = (ip[0]! & 0x0f) * 4; total = ip.readUInt16BE(2); }
  else if (et === 0x86dd) { l4 = 40; total = 40 + ip.readUInt16BE(4); }
  else return undefined;
  const off = (ip[l4 + 12]! >> 4) * 4;
  return { l4, payload: total - l4 - off, flags: ip[l4 + 13]!, ip };
}

/** Generator packets for one capture fixture, in capture order. */
export function placeCapture(c: LoadedCapture, o: PlaceOptions): GenPacket[] {
  const byPort = new Map<number, number>();
  for (const cl of c.fixture.captured.clients) for (const p of cl.ports) byPort.set(p, cl.pid);
  const mode = o.pidMode ?? 'packet';
  const mapPid = o.pid ?? ((p: number) => p);
  return c.fixture.packets.map((p, i) => {
    const data = Buffer.from(p.hex, 'hex');
    const t = tcpInfo(data);
    if (o.portOffset && t) {
      const at = p.dir === 'out' ? t.l4 : t.l4 + 2;
      t.ip.writeUInt16BE((p.clientPort + o.portOffset) & 0xffff, at);
      fixChecksums(t.ip);
    }
    const owner = byPort.get(p.clientPort);
    let pid = i % 3 === 0 ? 4 : 0;
    let tid = 0;
    if (p.dir === 'out' && owner !== undefined && t) {
      const syn = (t.flags & 0x02) !== 0;
      const fin = (t.flags & 0x01) !== 0;
      const carries = mode === 'packet' ? (t.payload > 0 || syn || fin) : mode === 'connection' ? syn && (t.flags & 0x10) === 0 : false;
      if (carries) { pid = mapPid(owner); tid = pid + 8; } else if (mode !== 'packet') pid = 4;
    }
    return {
      time: o.start + BigInt(p.t) * 10n, pid, tid, cpu: o.cpu ?? 0, direction: p.dir,
      ifIndex: o.ifIndex ?? 6, linkType: 'ethernet', data,
    } satisfies GenPacket;
  });
}

/** Microsoft-Windows-TCPIP TcpConnectTcbComplete for every connection of a capture. */
export function captureTcpipEvents(c: LoadedCapture, o: PlaceOptions): GenTcpipEvent[] {
  const mapPid = o.pid ?? ((p: number) => p);
  const out: GenTcpipEvent[] = [];
  const seen = new Set<number>();
  for (const cl of c.fixture.captured.clients) {
    for (const port of cl.ports) {
      if (seen.has(port)) continue;
      seen.add(port);
      const first = c.fixture.packets.find((p) => p.clientPort === port);
      if (!first) continue;
      out.push({
        time: o.start + BigInt(first.t) * 10n, kind: 'connect', pid: mapPid(cl.pid), cpu: o.cpu ?? 0,
        local: { ip: c.fixture.client.ip, port: (port + (o.portOffset ?? 0)) & 0xffff },
        remote: { ip: c.fixture.server.ip, port: 80 },
      });
    }
  }
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** Truth of a placed capture, with the PIDs as they appear in the trace. */
export function placedTruth(c: LoadedCapture, o: PlaceOptions): TruthRequest[] {
  const mapPid = o.pid ?? ((p: number) => p);
  return c.truth.map((t) => ({ ...t, pid: mapPid(t.pid), clientPort: (t.clientPort + (o.portOffset ?? 0)) & 0xffff }));
}

// ---- background traffic ---------------------------------------------------------------------

export interface BackgroundOptions {
  start: bigint;
  rng: Rng;
  clientIp?: string;
  clientMac?: string;
  gatewayMac?: string;
  ifIndex?: number;
  cpus?: number;
  /** Processes that own the background flows. */
  pids?: number[];
  /** Mean gap between packets in 100 ns units. */
  gap?: number;
}

/** An Ethernet + IPv4 + TCP/UDP frame with valid checksums. */
export function buildFrame(o: { srcMac: string; dstMac: string; src: string; dst: string; proto: 6 | 17; sport: number; dport: number; seq?: number; ack?: number; flags?: number; ttl?: number; id?: number; payload: Uint8Array }): Buffer {
  const l4len = (o.proto === 6 ? 20 : 8) + o.payload.length;
  const f = Buffer.alloc(14 + 20 + l4len);
  Buffer.from(o.dstMac.split(':').map((x) => parseInt(x, 16))).copy(f, 0);
  Buffer.from(o.srcMac.split(':').map((x) => parseInt(x, 16))).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(14);
  ip[0] = 0x45; ip.writeUInt16BE(20 + l4len, 2); ip.writeUInt16BE(o.id ?? 0, 4); ip.writeUInt16BE(0x4000, 6);
  ip[8] = o.ttl ?? 128; ip[9] = o.proto;
  ipv4Bytes(o.src).copy(ip, 12); ipv4Bytes(o.dst).copy(ip, 16);
  const l4 = ip.subarray(20);
  l4.writeUInt16BE(o.sport, 0); l4.writeUInt16BE(o.dport, 2);
  if (o.proto === 6) {
    l4.writeUInt32BE((o.seq ?? 0) >>> 0, 4); l4.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
    l4[12] = 5 << 4; l4[13] = o.flags ?? 0x18; l4.writeUInt16BE(64240, 14);
    l4.set(o.payload, 20);
  } else {
    l4.writeUInt16BE(l4len, 4);
    l4.set(o.payload, 8);
  }
  fixChecksums(ip);
  return f;
}

/**
 * Endless non-IMDS traffic: TLS-sized TCP segments to public addresses, DNS over UDP and a plain
 * HTTP/1.1 exchange with another port-80 server (which the IMDS selection must ignore).
 */
export function* backgroundTraffic(o: BackgroundOptions): Generator<GenPacket> {
  const rng = o.rng;
  const me = o.clientIp ?? '172.31.20.15';
  const myMac = o.clientMac ?? '0a:1b:2c:3d:4e:5f';
  const gw = o.gatewayMac ?? '0a:ff:ee:dd:cc:01';
  const pids = o.pids ?? [1234, 2088, 3340];
  const gap = o.gap ?? 2000;
  let time = o.start;
  let id = 1;
  const servers = ['52.94.236.248', '54.239.28.85', '13.107.42.14', '20.190.151.68', '3.5.0.1'];
  let n = 0;
  for (;;) {
    time += BigInt(1 + Math.floor(rng.next() * gap * 2));
    const kind = rng.next();
    const cpu = rng.int(0, (o.cpus ?? 4) - 1);
    const port = 49152 + rng.int(0, 15000);
    const pid = rng.pick(pids);
    let out = rng.next() < 0.4;
    let data: Buffer;
    if (kind < 0.08) {
      const q = Buffer.concat([Buffer.from([rng.int(0, 255), rng.int(0, 255), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from('\x03www\x07example\x03com\x00\x00\x01\x00\x01', 'latin1')]);
      data = out
        ? buildFrame({ srcMac: myMac, dstMac: gw, src: me, dst: '172.31.0.2', proto: 17, sport: port, dport: 53, payload: q, id: id++ })
        : buildFrame({ srcMac: gw, dstMac: myMac, src: '172.31.0.2', dst: me, proto: 17, sport: 53, dport: port, payload: q, id: id++, ttl: 64 });
    } else if (kind < 0.1) {
      out = true;
      const req = Buffer.from(`GET /index.html HTTP/1.1\r\nHost: 10.0.0.${rng.int(2, 250)}\r\nUser-Agent: Mozilla/5.0\r\n\r\n`, 'latin1');
      data = buildFrame({ srcMac: myMac, dstMac: gw, src: me, dst: `10.0.0.${rng.int(2, 250)}`, proto: 6, sport: port, dport: 80, seq: rng.int(0, 2 ** 31), ack: rng.int(0, 2 ** 31), payload: req, id: id++ });
    } else {
      const len = rng.next() < 0.5 ? rng.int(0, 80) : rng.int(1000, 1460);
      const payload = rng.bytes(len);
      if (len > 5) { payload[0] = 0x17; payload[1] = 3; payload[2] = 3; payload.writeUInt16BE(len - 5, 3); }
      const srv = rng.pick(servers);
      data = out
        ? buildFrame({ srcMac: myMac, dstMac: gw, src: me, dst: srv, proto: 6, sport: port, dport: 443, seq: rng.int(0, 2 ** 31), ack: rng.int(0, 2 ** 31), flags: len ? 0x18 : 0x10, payload, id: id++ })
        : buildFrame({ srcMac: gw, dstMac: myMac, src: srv, dst: me, proto: 6, sport: 443, dport: port, seq: rng.int(0, 2 ** 31), ack: rng.int(0, 2 ** 31), flags: len ? 0x18 : 0x10, payload, id: id++, ttl: 240 });
    }
    id &= 0xffff;
    n++;
    yield { time, pid: out ? pid : (n % 2 ? 0 : 4), tid: out ? pid + 4 : 0, cpu, direction: out ? 'out' : 'in', ifIndex: o.ifIndex ?? 6, linkType: 'ethernet', data };
  }
}

/**
 * One TCP connection to IMDS carrying the given request and response bytes as they are (for
 * requests no real client sends: hostile paths and headers): handshake, request, response, close.
 */
export function imdsExchange(o: { start: bigint; pid: number; clientPort: number; request: Uint8Array; response: Uint8Array; cpu?: number; ifIndex?: number }): GenPacket[] {
  const me = DEFAULT_CLIENT.ip;
  const imds = '169.254.169.254';
  const c = 0x1000;
  const s = 0x8000;
  const step = 1000n; // 100 µs between packets
  const out: GenPacket[] = [];
  const add = (dir: 'out' | 'in', flags: number, seq: number, ack: number, payload: Uint8Array) => {
    const data = dir === 'out'
      ? buildFrame({ srcMac: DEFAULT_CLIENT.mac, dstMac: DEFAULT_CLIENT.gateway, src: me, dst: imds, proto: 6, sport: o.clientPort, dport: 80, seq, ack, flags, payload })
      : buildFrame({ srcMac: DEFAULT_CLIENT.gateway, dstMac: DEFAULT_CLIENT.mac, src: imds, dst: me, proto: 6, sport: 80, dport: o.clientPort, seq, ack, flags, payload, ttl: 1 });
    const time = o.start + BigInt(out.length) * step;
    out.push({ time, pid: dir === 'out' ? o.pid : 0, tid: dir === 'out' ? o.pid + 4 : 0, cpu: o.cpu ?? 0, direction: dir, ifIndex: o.ifIndex ?? 6, linkType: 'ethernet', data });
  };
  const none = new Uint8Array(0);
  add('out', 0x02, c, 0, none);
  add('in', 0x12, s, c + 1, none);
  add('out', 0x10, c + 1, s + 1, none);
  add('out', 0x18, c + 1, s + 1, o.request);
  add('in', 0x18, s + 1, c + 1 + o.request.length, o.response);
  add('out', 0x11, c + 1 + o.request.length, s + 1 + o.response.length, none);
  add('in', 0x11, s + 1 + o.response.length, c + 2 + o.request.length, none);
  add('out', 0x10, c + 2 + o.request.length, s + 2 + o.response.length, none);
  return out;
}

const DEFAULT_CLIENT = { ip: '172.31.20.15', mac: '0a:1b:2c:3d:4e:5f', gateway: '0a:ff:ee:dd:cc:01' };

/** k-way merge of time-ordered packet streams (stable on ties: earlier stream first). */
export function* mergeByTime(...streams: Iterable<GenPacket>[]): Generator<GenPacket> {
  const its = streams.map((s) => s[Symbol.iterator]());
  const heads = its.map((it) => it.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (h.done) continue;
      if (best < 0 || h.value.time < (heads[best]!.value as GenPacket).time) best = i;
    }
    if (best < 0) return;
    yield heads[best]!.value as GenPacket;
    heads[best] = its[best]!.next();
  }
}

/** Stops a stream after `maxPackets` packets or once `maxBytes` of packet data went by. */
export function* take(src: Iterable<GenPacket>, limit: { maxPackets?: number; maxBytes?: number }): Generator<GenPacket> {
  let n = 0; let bytes = 0;
  for (const p of src) {
    if ((limit.maxPackets !== undefined && n >= limit.maxPackets) || (limit.maxBytes !== undefined && bytes >= limit.maxBytes)) return;
    n++; bytes += p.data.length;
    yield p;
  }
}

// ---- process list (the cab's processes.txt) ---------------------------------------------------

export interface TasklistEntry { image: string; pid: number; services?: string[] }

/** `tasklist /svc` text: CRLF lines, columns sized by the ===== rule, long service lists wrapped. */
export function tasklistSvc(entries: TasklistEntry[]): string {
  const w1 = 25; const w2 = 8; const w3 = 44;
  const pad = (s: string, n: number): string => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));
  const lines = ['', `${pad('Image Name', w1)} ${'PID'.padStart(w2)} ${pad('Services', w3)}`, `${'='.repeat(w1)} ${'='.repeat(w2)} ${'='.repeat(w3)}`];
  for (const e of entries) {
    const svc = e.services && e.services.length > 0 ? e.services : ['N/A'];
    const chunks: string[] = [];
    let cur = '';
    for (const s of svc) {
      const next = cur ? `${cur}, ${s}` : s;
      if (next.length > w3 && cur) { chunks.push(`${cur},`); cur = s; } else cur = next;
    }
    chunks.push(cur);
    chunks.forEach((c, i) => lines.push(`${pad(i === 0 ? e.image : '', w1)} ${(i === 0 ? String(e.pid) : '').padStart(w2)} ${pad(c, w3)}`));
  }
  return lines.join('\r\n') + '\r\n';
}

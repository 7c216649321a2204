// Builds real IPv4/IPv6 TCP packets (correct header and TCP checksums) and
// wraps them as ImdsPacket objects, for tests of the IMDS analysis.

import type { ImdsPacket } from '../../src/native/types.js';

export const IMDS_V4 = '169.254.169.254';
export const IMDS_V6 = 'fd00:ec2::254';

export const FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10;

const enc = new TextEncoder();
export const bytes = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? enc.encode(s) : s);

/** Address text to bytes (IPv4 dotted, IPv6 with ::, optional embedded IPv4). */
export function addrBytes(text: string): Uint8Array {
  if (!text.includes(':')) {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad IPv4 ${text}`);
    return Uint8Array.from(parts);
  }
  let words: number[] = [];
  const [h, t] = text.split('::') as [string, string | undefined];
  const conv = (s: string) => {
    if (s === '') return [];
    const out: number[] = [];
    for (const p of s.split(':')) {
      if (p.includes('.')) { const b = addrBytes(p); out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!); }
      else out.push(parseInt(p, 16));
    }
    return out;
  };
  const hw = conv(h);
  if (t === undefined) words = hw;
  else { const tw = conv(t); words = [...hw, ...new Array(8 - hw.length - tw.length).fill(0), ...tw]; }
  if (words.length !== 8) throw new Error(`bad IPv6 ${text}`);
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** RFC 1071 one's-complement sum over several byte arrays, folded, not inverted. */
function sum16(parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i + 1 < p.length; i += 2) sum += (p[i]! << 8) | p[i + 1]!;
    if (p.length % 2) sum += p[p.length - 1]! << 8;
    // Parts after an odd-length one would misalign; callers pass even-length prefixes.
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(parts: Uint8Array[]): number {
  return ~sum16(parts) & 0xffff;
}

export interface TcpFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Uint8Array | string;
  /** Raw option bytes (padded to 4 with NOPs/EOL by the builder). */
  options?: Uint8Array;
}

export interface IpFields {
  ttl?: number;
  id?: number;
  /** IPv4 options bytes (padded to 4). */
  v4Options?: Uint8Array;
  /** IPv6 extension headers in order: type and body (body excludes the next-header/length bytes). */
  v6Ext?: { type: number; body: Uint8Array }[];
  /** Override IPv4 flags/fragment offset word. */
  fragWord?: number;
  /** Bytes appended after the IP packet (link-layer padding). */
  trailer?: Uint8Array;
  /** Corrupt the TCP checksum (as offloaded sends look in captures). */
  badChecksum?: boolean;
}

function pad4(b: Uint8Array, fill = 1): Uint8Array {
  if (b.length % 4 === 0) return b;
  const out = new Uint8Array(b.length + (4 - (b.length % 4))).fill(fill);
  out.set(b);
  return out;
}

export function tcpHeaderAndPayload(src: Uint8Array, dst: Uint8Array, f: TcpFields, badChecksum = false): Uint8Array {
  const opts = f.options ? pad4(f.options) : new Uint8Array(0);
  const payload = bytes(f.payload ?? '');
  const hlen = 20 + opts.length;
  const seg = new Uint8Array(hlen + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, f.srcPort);
  dv.setUint16(2, f.dstPort);
  dv.setUint32(4, f.seq >>> 0);
  dv.setUint32(8, (f.ack ?? 0) >>> 0);
  seg[12] = (hlen / 4) << 4;
  seg[13] = f.flags;
  dv.setUint16(14, f.window ?? 64240);
  seg.set(opts, 20);
  seg.set(payload, hlen);
  const pseudo = src.length === 4 ? new Uint8Array(12) : new Uint8Array(40);
  const pv = new DataView(pseudo.buffer);
  if (src.length === 4) {
    pseudo.set(src, 0); pseudo.set(dst, 4); pseudo[9] = 6; pv.setUint16(10, seg.length);
  } else {
    pseudo.set(src, 0); pseudo.set(dst, 16); pv.setUint32(32, seg.length); pseudo[39] = 6;
  }
  let ck = internetChecksum([pseudo, seg]);
  if (badChecksum) ck = (ck + 0x1234) & 0xffff;
  dv.setUint16(16, ck);
  return seg;
}

/** A complete IP packet carrying a TCP segment; IPv4 or IPv6 by the address form. */
export function tcpPacket(srcAddr: string, dstAddr: string, f: TcpFields, ipf: IpFields = {}): Uint8Array {
  const src = addrBytes(srcAddr);
  const dst = addrBytes(dstAddr);
  if (src.length !== dst.length) throw new Error('address families differ');
  const seg = tcpHeaderAndPayload(src, dst, f, ipf.badChecksum);
  let pkt: Uint8Array;
  if (src.length === 4) {
    const opts = ipf.v4Options ? pad4(ipf.v4Options, 0) : new Uint8Array(0);
    const ihl = 20 + opts.length;
    pkt = new Uint8Array(ihl + seg.length);
    const dv = new DataView(pkt.buffer);
    pkt[0] = 0x40 | (ihl / 4);
    dv.setUint16(2, pkt.length);
    dv.setUint16(4, ipf.id ?? 0x1234);
    dv.setUint16(6, ipf.fragWord ?? 0x4000); // DF
    pkt[8] = ipf.ttl ?? 128;
    pkt[9] = 6;
    pkt.set(src, 12);
    pkt.set(dst, 16);
    pkt.set(opts, 20);
    dv.setUint16(10, internetChecksum([pkt.subarray(0, ihl)]));
    pkt.set(seg, ihl);
  } else {
    const ext = ipf.v6Ext ?? [];
    const extBytes: Uint8Array[] = [];
    for (let i = 0; i < ext.length; i++) {
      const e = ext[i]!;
      const next = i + 1 < ext.length ? ext[i + 1]!.type : 6;
      let hdr: Uint8Array;
      if (e.type === 44) {
        hdr = new Uint8Array(8); hdr.set(e.body.subarray(0, 6), 2);
      } else if (e.type === 51) {
        // AH: length field counts 4-octet units minus 2; IPv6 wants a multiple of 8.
        const total = Math.ceil((e.body.length + 2) / 8) * 8;
        hdr = new Uint8Array(total); hdr.set(e.body, 2); hdr[1] = total / 4 - 2;
      } else {
        const len = Math.ceil((e.body.length + 2) / 8) * 8;
        hdr = new Uint8Array(len); hdr.set(e.body, 2); hdr[1] = len / 8 - 1;
        if (e.body.length + 2 < len && (e.type === 0 || e.type === 60)) {
          // PadN option fills the rest of an options header.
          const padLen = len - 2 - e.body.length;
          if (padLen === 1) hdr[2 + e.body.length] = 0; // Pad1
          else { hdr[2 + e.body.length] = 1; hdr[3 + e.body.length] = padLen - 2; }
        }
      }
      hdr[0] = next;
      extBytes.push(hdr);
    }
    const extLen = extBytes.reduce((n, b) => n + b.length, 0);
    pkt = new Uint8Array(40 + extLen + seg.length);
    const dv = new DataView(pkt.buffer);
    dv.setUint32(0, 0x60000000);
    dv.setUint16(4, extLen + seg.length);
    pkt[6] = ext.length > 0 ? ext[0]!.type : 6;
    pkt[7] = ipf.ttl ?? 128;
    pkt.set(src, 8);
    pkt.set(dst, 24);
    let o = 40;
    for (const b of extBytes) { pkt.set(b, o); o += b.length; }
    pkt.set(seg, o);
  }
  if (ipf.trailer) {
    const out = new Uint8Array(pkt.length + ipf.trailer.length);
    out.set(pkt); out.set(ipf.trailer, pkt.length);
    pkt = out;
  }
  return pkt;
}

/** Frame numbering and a clock shared by the flows of one synthetic trace. */
export class Capture {
  frame = 0;
  time = 133_000_000_000_000_000n; // a FILETIME in 2022
  step = 1000n; // 100 us between packets

  packet(ip: Uint8Array, extra: Partial<ImdsPacket> = {}): ImdsPacket {
    this.time += this.step;
    return {
      fileTime: this.time, cpu: 0, pid: 0, tid: 0, source: 'ndis', interfaceId: 0, direction: 'unknown',
      ip, frame: ++this.frame, ...extra,
    };
  }
}

export interface FlowOptions {
  client?: string;
  clientPort?: number;
  server?: string;
  clientIsn?: number;
  serverIsn?: number;
  pid?: number;
  tid?: number;
  /** PID logged on inbound packets (DPC context). */
  inboundPid?: number;
  /** TCP options on data segments (e.g. timestamps). */
  options?: Uint8Array;
}

export interface SendOptions {
  /** Cut points inside the data (segment boundaries). */
  cuts?: number[];
  pid?: number;
  tid?: number;
  flags?: number;
}

/** One TCP connection between a client and IMDS; builds its packets in order. */
export class Flow {
  readonly client: string;
  readonly clientPort: number;
  readonly server: string;
  cSeq: number;
  sSeq: number;
  readonly clientIsn: number;
  readonly serverIsn: number;
  pid: number;
  tid: number;
  inboundPid: number;

  constructor(readonly cap: Capture, o: FlowOptions = {}) {
    this.server = o.server ?? IMDS_V4;
    this.client = o.client ?? (this.server.includes(':') ? 'fd00:ec2::1:a' : '172.31.5.10');
    this.clientPort = o.clientPort ?? 49712;
    this.clientIsn = o.clientIsn ?? 0x1000_0000;
    this.serverIsn = o.serverIsn ?? 0xfff0_0000; // near the 32-bit wrap on purpose
    this.cSeq = this.clientIsn;
    this.sSeq = this.serverIsn;
    this.pid = o.pid ?? 4242;
    this.tid = o.tid ?? 777;
    this.inboundPid = o.inboundPid ?? 0;
    this.options = o.options;
  }

  private readonly options: Uint8Array | undefined;

  out(f: Omit<TcpFields, 'srcPort' | 'dstPort'>, extra: Partial<ImdsPacket> = {}, ipf: IpFields = {}): ImdsPacket {
    const ip = tcpPacket(this.client, this.server, { srcPort: this.clientPort, dstPort: 80, ...f }, ipf);
    return this.cap.packet(ip, { direction: 'out', pid: this.pid, tid: this.tid, ...extra });
  }

  in(f: Omit<TcpFields, 'srcPort' | 'dstPort'>, extra: Partial<ImdsPacket> = {}, ipf: IpFields = {}): ImdsPacket {
    const ip = tcpPacket(this.server, this.client, { srcPort: 80, dstPort: this.clientPort, ...f }, ipf);
    return this.cap.packet(ip, { direction: 'in', pid: this.inboundPid, tid: 0, ...extra });
  }

  handshake(): ImdsPacket[] {
    const mss = Uint8Array.of(2, 4, 0x05, 0xb4, 1, 3, 3, 8, 4, 2);
    const a = this.out({ seq: this.clientIsn, flags: SYN, options: mss });
    const b = this.in({ seq: this.serverIsn, ack: this.clientIsn + 1, flags: SYN | ACK, options: mss });
    this.cSeq = (this.clientIsn + 1) >>> 0;
    this.sSeq = (this.serverIsn + 1) >>> 0;
    const c = this.out({ seq: this.cSeq, ack: this.sSeq, flags: ACK });
    return [a, b, c];
  }

  /** Client data, cut into segments. */
  send(data: string | Uint8Array, o: SendOptions = {}): ImdsPacket[] {
    return this.segments(true, bytes(data), o);
  }

  /** Server data, cut into segments. */
  reply(data: string | Uint8Array, o: SendOptions = {}): ImdsPacket[] {
    return this.segments(false, bytes(data), o);
  }

  private segments(fromClient: boolean, data: Uint8Array, o: SendOptions): ImdsPacket[] {
    const cuts = [...new Set((o.cuts ?? []).filter((c) => c > 0 && c < data.length))].sort((x, y) => x - y);
    const bounds = [0, ...cuts, data.length];
    const out: ImdsPacket[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const piece = data.subarray(bounds[i]!, bounds[i + 1]!);
      if (piece.length === 0 && data.length > 0) continue;
      const flags = o.flags ?? (PSH | ACK);
      if (fromClient) {
        out.push(this.out({ seq: this.cSeq, ack: this.sSeq, flags, payload: piece, options: this.options },
          { pid: o.pid ?? this.pid, tid: o.tid ?? this.tid }));
        this.cSeq = (this.cSeq + piece.length) >>> 0;
      } else {
        out.push(this.in({ seq: this.sSeq, ack: this.cSeq, flags, payload: piece, options: this.options }));
        this.sSeq = (this.sSeq + piece.length) >>> 0;
      }
    }
    return out;
  }

  /** Client FIN, server FIN+ACK, client ACK. */
  close(): ImdsPacket[] {
    const a = this.out({ seq: this.cSeq, ack: this.sSeq, flags: FIN | ACK });
    this.cSeq = (this.cSeq + 1) >>> 0;
    const b = this.in({ seq: this.sSeq, ack: this.cSeq, flags: FIN | ACK });
    this.sSeq = (this.sSeq + 1) >>> 0;
    const c = this.out({ seq: this.cSeq, ack: this.sSeq, flags: ACK });
    return [a, b, c];
  }

  reset(): ImdsPacket {
    return this.out({ seq: this.cSeq, ack: this.sSeq, flags: RST | ACK });
  }
}

/** Real header forms of IMDS clients (docs/imds.md, Header forms of real clients). */
export const TOKEN = 'AQAEAFxjR1c5ZmJ4ZWxvZ2lu0123456789abcdefghijklmnopqrstuv=='; // 56-char shape, not a real token

export const REQUESTS = {
  jsV3Token: 'PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n',
  jsV3Get: `GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nx-aws-ec2-metadata-token: ${TOKEN}\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`,
  dotnetToken: 'PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\nUser-Agent: aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds\r\nHost: 169.254.169.254\r\nContent-Length: 0\r\n\r\n',
  dotnetGet: `GET /latest/meta-data/instance-id HTTP/1.1\r\nx-aws-ec2-metadata-token: ${TOKEN}\r\nUser-Agent: aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds\r\nHost: 169.254.169.254\r\n\r\n`,
  dotnetV1: 'GET /latest/meta-data/instance-id HTTP/1.1\r\nUser-Agent: aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds\r\nHost: 169.254.169.254\r\n\r\n',
  curlV2: `GET /latest/meta-data/placement/availability-zone HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-aws-ec2-metadata-token: ${TOKEN}\r\n\r\n`,
  curlV1: 'GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n',
  curlToken: 'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n',
  botoToken: 'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept-Encoding: identity\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600\r\nUser-Agent: Botocore/1.29.72 Python/3.11.2 Linux/6.1.0\r\nContent-Length: 0\r\n\r\n',
  botoV2: `GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept-Encoding: identity\r\nX-aws-ec2-metadata-token: ${TOKEN}\r\nUser-Agent: Botocore/1.29.72 Python/3.11.2 Linux/6.1.0\r\n\r\n`,
  botoV1: 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept-Encoding: identity\r\nUser-Agent: Botocore/1.29.72 Python/3.11.2 Linux/6.1.0\r\n\r\n',
  azure: 'GET /metadata/instance?api-version=2021-02-01 HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n',
  gcp: 'GET /computeMetadata/v1/instance/id HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata-Flavor: Google\r\n\r\n',
} as const;

export function response(status: number, body = '', extra = ''): string {
  const reason: Record<number, string> = { 100: 'Continue', 200: 'OK', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 400: 'Bad Request' };
  return `HTTP/1.1 ${status} ${reason[status] ?? 'X'}\r\n${extra}Content-Length: ${body.length}\r\nServer: EC2ws\r\n\r\n${body}`;
}

/** Writes packets as a pcapng with raw-IP link type (101), for tshark checks. */
export function toPcapng(packets: ImdsPacket[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint32(4, len, true);
    b.set(body, 8);
    dv.setUint32(len - 4, len, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true); sv.setUint16(4, 1, true); sv.setBigInt64(8, -1n, true);
  block(0x0a0d0d0a, shb);
  const idb = new Uint8Array(8);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, 101, true); iv.setUint32(4, 65535, true);
  block(1, idb);
  for (const p of packets) {
    const body = new Uint8Array(20 + p.ip.length + ((4 - (p.ip.length % 4)) % 4));
    const dv = new DataView(body.buffer);
    const us = (p.fileTime - 116444736000000000n) / 10n;
    dv.setUint32(4, Number(us >> 32n), true);
    dv.setUint32(8, Number(us & 0xffffffffn), true);
    dv.setUint32(12, p.ip.length, true);
    dv.setUint32(16, p.ip.length, true);
    body.set(p.ip, 20);
    block(6, body);
  }
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of blocks) { out.set(b, o); o += b.length; }
  return out;
}

// Minimal pcapng reader/writer and the address rewrite that turns loopback captures of real IMDS
// clients into traffic to 169.254.169.254:80 / [fd00:ec2::254]:80 with correct checksums.

import { IMDS } from '../../src/constants.js';
import { ipv4Bytes, ipv6Bytes } from './providers.js';

export interface PcapPacket {
  /** Nanoseconds since the Unix epoch. */
  timeNs: bigint;
  linkType: number;
  data: Buffer;
}

/** Reads Enhanced/Simple Packet Blocks of a little- or big-endian pcapng file. */
export function readPcapng(buf: Buffer, name = 'pcapng'): PcapPacket[] {
  const out: PcapPacket[] = [];
  let pos = 0;
  let le = true;
  let ifaces: { linkType: number; tsDiv: bigint; tsMul: bigint }[] = [];
  const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number): number => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  while (pos + 12 <= buf.length) {
    const type = buf.readUInt32LE(pos);
    if (type === 0x0a0d0d0a) {
      const magic = buf.readUInt32LE(pos + 8);
      if (magic === 0x1a2b3c4d) le = true;
      else if (magic === 0x4d3c2b1a) le = false;
      else throw new Error(`${name}: bad byte-order magic at ${pos}`);
      ifaces = [];
    }
    const len = u32(pos + 4);
    if (len < 12 || len % 4 !== 0 || pos + len > buf.length) throw new Error(`${name}: bad block length ${len} at offset ${pos}`);
    const btype = u32(pos);
    if (btype === 1) {
      const linkType = u16(pos + 8);
      let tsDiv = 1n; let tsMul = 1000n;            // default microseconds
      let o = pos + 16;
      while (o + 4 <= pos + len - 4) {
        const code = u16(o); const olen = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = buf[o + 4]!;
          if (r & 0x80) { const p = 2n ** BigInt(r & 0x7f); tsMul = 1_000_000_000n; tsDiv = p; }
          else { const p = 10n ** BigInt(r); tsMul = 1_000_000_000n; tsDiv = p; }
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType, tsDiv, tsMul });
    } else if (btype === 6) {
      const ifId = u32(pos + 8);
      const iface = ifaces[ifId];
      if (!iface) throw new Error(`${name}: packet for unknown interface ${ifId} at ${pos}`);
      const ts = (BigInt(u32(pos + 12)) << 32n) | BigInt(u32(pos + 16));
      const capLen = u32(pos + 20);
      if (28 + capLen > len) throw new Error(`${name}: captured length ${capLen} past block at ${pos}`);
      out.push({ timeNs: (ts * iface.tsMul) / iface.tsDiv, linkType: iface.linkType, data: Buffer.from(buf.subarray(pos + 28, pos + 28 + capLen)) });
    }
    pos += len;
  }
  return out;
}

/** One-interface pcapng (nanosecond timestamps), enough for tshark to check what we made. */
export function writePcapng(packets: PcapPacket[]): Buffer {
  const blocks: Buffer[] = [];
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(0x0a0d0d0a, 0); shb.writeUInt32LE(28, 4); shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12); shb.writeUInt16LE(0, 14); shb.writeBigInt64LE(-1n, 16); shb.writeUInt32LE(28, 24);
  blocks.push(shb);
  const linkType = packets[0]?.linkType ?? 1;
  const idb = Buffer.alloc(32);
  idb.writeUInt32LE(1, 0); idb.writeUInt32LE(32, 4); idb.writeUInt16LE(linkType, 8); idb.writeUInt32LE(0, 12);
  idb.writeUInt16LE(9, 16); idb.writeUInt16LE(1, 18); idb[20] = 9;              // if_tsresol = ns
  idb.writeUInt16LE(0, 24); idb.writeUInt16LE(0, 26); idb.writeUInt32LE(32, 28);
  blocks.push(idb);
  for (const p of packets) {
    const pad = (4 - (p.data.length % 4)) % 4;
    const len = 32 + p.data.length + pad;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(6, 0); b.writeUInt32LE(len, 4); b.writeUInt32LE(0, 8);
    b.writeUInt32LE(Number(p.timeNs >> 32n), 12); b.writeUInt32LE(Number(p.timeNs & 0xffffffffn), 16);
    b.writeUInt32LE(p.data.length, 20); b.writeUInt32LE(p.data.length, 24);
    p.data.copy(b, 28);
    b.writeUInt32LE(len, len - 4);
    blocks.push(b);
  }
  return Buffer.concat(blocks);
}

function sum16(b: Buffer, start: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += b.readUInt16BE(i);
  if ((end - start) % 2 === 1) s += b[end - 1]! << 8;
  return s;
}
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return (~s) & 0xffff;
}

/** Recomputes the IPv4 header checksum and the TCP/UDP checksum of an IP packet in place. */
export function fixChecksums(ip: Buffer): void {
  const v = ip[0]! >> 4;
  let proto: number; let l4: number; let pseudo: number; let l4len: number;
  if (v === 4) {
    const ihl = (ip[0]! & 0x0f) * 4;
    const total = ip.readUInt16BE(2);
    ip.writeUInt16BE(0, 10);
    ip.writeUInt16BE(fold(sum16(ip, 0, ihl)), 10);
    proto = ip[9]!; l4 = ihl; l4len = total - ihl;
    pseudo = sum16(ip, 12, 20) + proto + l4len;
  } else if (v === 6) {
    proto = ip[6]!; l4 = 40; l4len = ip.readUInt16BE(4);
    pseudo = sum16(ip, 8, 40) + proto + l4len;
  } else throw new Error(`not an IP packet (version ${v})`);
  if (l4 + l4len > ip.length) throw new Error('IP length past the captured bytes');
  const ck = proto === 6 ? 16 : proto === 17 ? 6 : -1;
  if (ck < 0) return;
  ip.writeUInt16BE(0, l4 + ck);
  let c = fold(sum16(ip, l4, l4 + l4len, pseudo));
  if (proto === 17 && c === 0) c = 0xffff;
  ip.writeUInt16BE(c, l4 + ck);
}

export interface RewriteOptions {
  serverPort: number;             // the mock's port on loopback
  clientIp4: string;
  clientIp6: string;
  imdsIp4?: string;
  imdsIp6?: string;
  clientMac: string;
  gatewayMac: string;
  /** Client TCP MSS to advertise (loopback uses 65495). */
  mss?: number;
}

export interface RewrittenPacket {
  timeNs: bigint;
  direction: 'out' | 'in';        // from the client's (the traced Windows host's) side
  clientPort: number;
  data: Buffer;                   // Ethernet frame
}

const macBytes = (m: string): Buffer => Buffer.from(m.split(':').map((x) => parseInt(x, 16)));

/**
 * Loopback Ethernet frames (Linux lo: zero MACs) between clients and the mock on serverPort become
 * frames between the client host and IMDS on port 80. Only packets of the mock's port are kept.
 */
export function rewriteImds(packets: PcapPacket[], o: RewriteOptions): RewrittenPacket[] {
  const out: RewrittenPacket[] = [];
  const imds4 = ipv4Bytes(o.imdsIp4 ?? IMDS.ipv4);
  const imds6 = ipv6Bytes(o.imdsIp6 ?? IMDS.ipv6);
  const cli4 = ipv4Bytes(o.clientIp4);
  const cli6 = ipv6Bytes(o.clientIp6);
  for (const p of packets) {
    if (p.linkType !== 1) throw new Error(`expected Ethernet (loopback) frames, got link type ${p.linkType}`);
    const f = Buffer.from(p.data);
    if (f.length < 14) continue;
    const etherType = f.readUInt16BE(12);
    const ip = f.subarray(14);
    let l4: number;
    if (etherType === 0x0800 && ip.length >= 20 && ip[9] === 6) l4 = (ip[0]! & 0x0f) * 4;
    else if (etherType === 0x86dd && ip.length >= 40 && ip[6] === 6) l4 = 40;
    else continue;
    if (ip.length < l4 + 20) continue;
    const sport = ip.readUInt16BE(l4);
    const dport = ip.readUInt16BE(l4 + 2);
    let direction: 'out' | 'in';
    if (dport === o.serverPort) direction = 'out';
    else if (sport === o.serverPort) direction = 'in';
    else continue;
    const clientPort = direction === 'out' ? sport : dport;
    const [srcIp, dstIp] = etherType === 0x0800
      ? (direction === 'out' ? [cli4, imds4] : [imds4, cli4])
      : (direction === 'out' ? [cli6, imds6] : [imds6, cli6]);
    if (etherType === 0x0800) {
      srcIp.copy(ip, 12); dstIp.copy(ip, 16);
      ip[8] = direction === 'out' ? 128 : 255;          // Windows sends with TTL 128
    } else {
      srcIp.copy(ip, 8); dstIp.copy(ip, 24);
      ip[7] = direction === 'out' ? 128 : 255;
    }
    if (direction === 'out') ip.writeUInt16BE(80, l4 + 2); else ip.writeUInt16BE(80, l4);
    // SYN options: advertise an Ethernet MSS instead of loopback's.
    const dataOff = (ip[l4 + 12]! >> 4) * 4;
    if (ip[l4 + 13]! & 0x02) {
      for (let q = l4 + 20; q < l4 + dataOff;) {
        const kind = ip[q]!;
        if (kind === 0) break;
        if (kind === 1) { q++; continue; }
        const olen = ip[q + 1]!;
        if (olen < 2) break;
        if (kind === 2 && olen === 4) ip.writeUInt16BE(o.mss ?? (etherType === 0x0800 ? 1460 : 1440), q + 2);
        q += olen;
      }
    }
    const [dmac, smac] = direction === 'out' ? [o.gatewayMac, o.clientMac] : [o.clientMac, o.gatewayMac];
    macBytes(dmac).copy(f, 0); macBytes(smac).copy(f, 6);
    fixChecksums(ip);
    out.push({ timeNs: p.timeNs, direction, clientPort, data: f });
  }
  return out;
}

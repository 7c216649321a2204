// Round trip: packets → generated netsh-form .etl (tools/gen) → convert() → pcapng → tshark.
// What tshark reads back must be the generated packets: same bytes in the same order, link
// types, directions, interface names, comments (with etl2pcapng's Wi-Fi / VMSwitch / VPN text),
// original lengths and 100 ns timestamps. Cases: multi-fragment Ethernet interleaved across
// interfaces and CPUs, Wi-Fi with 1002 metadata, VMSwitch 1003, Ras-NdisWan 5001/5002, raw IP,
// everything mixed, and a large random trace.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../../src/convert.js';
import { openTrace } from '../../src/index.js';
import { writeNetshEtl, type NetshOptions } from '../../tools/gen/netsh.js';
import type { GenPacket, GenVmSwitch, GenWifiMetadata } from '../../tools/gen/packet.js';
import { DEFAULT_START } from '../../tools/gen/packet.js';
import { NDIS_PACKETCAPTURE, NDIS_WAN } from '../../tools/gen/providers.js';
import { Rng } from '../../tools/gen/bytes.js';
import { readPcapng } from '../../tools/gen/pcap.js';

const hasTshark = spawnSync('tshark', ['-v']).status === 0;
if (!hasTshark) process.stderr.write('SKIP: tshark not installed; round-trip tests skipped\n');
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-roundtrip-'));
// RT_KEEP=1 keeps the generated .etl and .pcapng files for a look with Wireshark.
afterAll(() => { if (!process.env.RT_KEEP) rmSync(dir, { recursive: true, force: true }); });

// ---- packets ---------------------------------------------------------------------------------

const T0 = DEFAULT_START;
const UNIX_EPOCH_FILETIME = 116_444_736_000_000_000n;
const PI_WARN = 0x00600000;   // Wireshark expert severity: warnings and errors (malformed) are at or above

function ipv4Header(total: number, proto: number, src: number[], dst: number[], id: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45; h.writeUInt16BE(total, 2); h.writeUInt16BE(id & 0xffff, 4); h[8] = 64; h[9] = proto;
  Buffer.from(src).copy(h, 12); Buffer.from(dst).copy(h, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  h.writeUInt16BE(~sum & 0xffff, 10);
  return h;
}

function onesSum(parts: Buffer[]): number {
  let sum = 0;
  for (const b of Buffer.concat(parts).length % 2 ? [Buffer.concat([...parts, Buffer.alloc(1)])] : [Buffer.concat(parts)]) {
    for (let i = 0; i < b.length; i += 2) sum += b.readUInt16BE(i);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** UDP datagram to the discard port from a fixed ephemeral port, with its checksum over `pseudo`. */
function udp(rng: Rng, length: number, pseudo: Buffer): Buffer {
  const u = Buffer.concat([Buffer.alloc(8), rng.bytes(length - 8)]);
  // A text prefix keeps UDP heuristics (RTCP, Thrift...) from claiming random payloads.
  u.write('etl-imds', 8, Math.min(8, length - 8), 'latin1');
  u.writeUInt16BE(50000, 0); u.writeUInt16BE(9, 2); u.writeUInt16BE(length, 4);
  u.writeUInt16BE(~onesSum([pseudo, u]) & 0xffff || 0xffff, 6);
  return u;
}

/** IPv4/UDP packet of `size` bytes (IP header included), payload from the RNG. */
function ipv4Udp(rng: Rng, size: number, id = 1): Buffer {
  const dst = [10, 0, 0, rng.int(1, 254)];
  const ip = ipv4Header(size, 17, [172, 31, 20, 15], dst, id);
  const pseudo = Buffer.alloc(12);
  ip.copy(pseudo, 0, 12, 20); pseudo[9] = 17; pseudo.writeUInt16BE(size - 20, 10);
  return Buffer.concat([ip, udp(rng, size - 20, pseudo)]);
}

function ipv6Udp(rng: Rng, size: number): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60; h.writeUInt16BE(size - 40, 4); h[6] = 17; h[7] = 64;
  Buffer.from('26001f184a2b6c009d3e1a2b3c4d5e6f', 'hex').copy(h, 8);
  Buffer.from('2600000000000000000000000000000' + rng.int(1, 9), 'hex').copy(h, 24);
  const pseudo = Buffer.alloc(40);
  h.copy(pseudo, 0, 8, 40); pseudo.writeUInt32BE(size - 40, 32); pseudo[39] = 17;
  return Buffer.concat([h, udp(rng, size - 40, pseudo)]);
}

const MAC_A = Buffer.from('0a1b2c3d4e5f', 'hex');
const MAC_B = Buffer.from('0affeeddcc01', 'hex');

/** Ethernet II + IPv4/UDP, `size` bytes in all. */
function ethFrame(rng: Rng, size: number, id = 1): Buffer {
  const eth = Buffer.concat([MAC_B, MAC_A, Buffer.from([0x08, 0x00])]);
  return Buffer.concat([eth, ipv4Udp(rng, size - 14, id)]);
}

/** 802.11 data frame (FromDS) + LLC/SNAP + IPv4/UDP; `ipSize` bytes of IP. */
function wifiFrame(rng: Rng, ipSize: number, flags = 0x02): Buffer {
  const h = Buffer.alloc(24);
  h[0] = 0x08; h[1] = flags;
  MAC_A.copy(h, 4); MAC_B.copy(h, 10); MAC_B.copy(h, 16);
  h.writeUInt16LE(rng.int(0, 4095) << 4, 22);
  return Buffer.concat([h, Buffer.from('aaaa03000000' + '0800', 'hex'), ipv4Udp(rng, ipSize)]);
}

// ---- expectations ----------------------------------------------------------------------------

interface Expected {
  data: Buffer;        // bytes tshark must read back
  time: bigint;        // FILETIME of the packet's last event
  encap: string;       // tshark frame.encap_type: 1 Ethernet, 7 raw IP, 20 802.11
  linkType: number;    // the IDB's LINKTYPE_: 1, 101, 105
  dir: 'out' | 'in';
  comment: string;
  ifName: string;
  ifDescription?: string;
  origLen: number;
}

const ENCAP: Record<GenPacket['linkType'], string> = { 'ethernet': '1', 'raw-ip': '7', 'ieee802_11': '20' };
const LINKTYPE: Record<GenPacket['linkType'], number> = { 'ethernet': 1, 'raw-ip': 101, 'ieee802_11': 105 };
const PHY = ['Unknown', 'Fhss', 'Dsss', 'IrBaseband', '802.11a', '802.11b', '802.11g', '802.11n', '802.11ac', '802.11ad', '802.11ax'];

function fragmentsOf(p: GenPacket, defaultSize?: number): number {
  if (p.ndisWan) return 1;
  const size = p.fragmentSize ?? defaultSize;
  return size && size > 0 ? Math.max(1, Math.ceil(p.data.length / size)) : 1;
}

/** What etl2pcapng (and we) must write for a generated packet, worked out from the inputs alone. */
function expected(p: GenPacket, opts: NetshOptions = {}): Expected {
  const n = fragmentsOf(p, opts.fragmentSize);
  const time = p.time + BigInt(n - 1) * (p.fragmentGap ?? 0n);
  const lower = p.lowerIfIndex ?? opts.lowerIfIndex?.[p.ifIndex] ?? p.ifIndex;
  let data = Buffer.from(p.data);
  let comment = `PID=${p.pid} TID=${p.tid}`;
  let ifName: string;
  let ifDescription = lower !== p.ifIndex ? `LWF over IfIndex ${p.ifIndex}` : '';
  if (p.ndisWan) {
    ifName = `Rras:0:${p.ndisWan.routingDomainId}:${p.ndisWan.userName}`;
    ifDescription = '';
    comment += ` RoutingDomainId=${p.ndisWan.routingDomainId} Username=${p.ndisWan.userName}`;
  } else if (p.vmswitch) {
    const v = p.vmswitch;
    const vlan = v.vlanId ?? 0;
    ifName = `vNIC:${v.nicType}:${v.portName}:${lower}:${vlan}`;
    if (vlan !== 0) ifDescription += ` VlanID=${vlan} `;
    comment += ` VlanId=${vlan} SrcPortId=${v.portId} SrcNicType=${v.nicType} SrcNicName=${v.nicName} SrcPortName=${v.portName}`;
    if ((v.destinations ?? []).length > 0) comment += ` DstNicCount=${v.destinations!.length}`;
    comment += ` HashValue=${(v.hashValue ?? 0).toString(16).padStart(8, '0')}`;
  } else {
    ifName = p.linkType === 'ieee802_11' ? `wifi:${lower}` : p.linkType === 'raw-ip' ? `mbb:${lower}` : `eth:${lower}:0`;
  }
  if (p.wifiMetadata) {
    const m = p.wifiMetadata;
    comment += ` Packet Metadata: ReceiveFlags:0x${m.receiveFlags.toString(16)}, PhyType:${PHY[m.phyId] ?? 'Unknown'}, CenterCh:${m.centerFrequency}, ` +
      `NumMPDUsReceived:${m.mpdusReceived}, RSSI:${m.rssi}, DataRate:${m.dataRate}`;
  }
  // ndiscap logs 802.11 frames decrypted with the Protected bit still set; it is cleared (etl2pcapng §7.5).
  if (p.linkType === 'ieee802_11' && !p.ndisWan && data.length >= 2 && (data[1]! & 0x40)) { data = Buffer.from(data); data[1]! &= ~0x40; }
  // Original length: the IP header's length where the logged bytes are cut short (raw IP: no +14).
  let origLen = data.length;
  const ipAt = p.linkType === 'raw-ip' ? 0 : p.linkType === 'ethernet' && data.length >= 14 && data.readUInt16BE(12) === 0x0800 ? 14 : -1;
  if (ipAt >= 0 && data.length >= ipAt + 20 && data[ipAt]! >> 4 === 4) origLen = Math.max(origLen, ipAt + data.readUInt16BE(ipAt + 2));
  if (ipAt >= 0 && data.length >= ipAt + 40 && data[ipAt]! >> 4 === 6) origLen = Math.max(origLen, ipAt + 40 + data.readUInt16BE(ipAt + 4));
  return { data, time, encap: ENCAP[p.linkType], linkType: LINKTYPE[p.linkType], dir: p.direction, comment, ifName, ifDescription, origLen };
}

function epochText(ft: bigint): string {
  const t = ft - UNIX_EPOCH_FILETIME;
  return `${t / 10_000_000n}.${((t % 10_000_000n) * 100n).toString().padStart(9, '0')}`;
}

// ---- tshark ----------------------------------------------------------------------------------

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  // The only stderr line allowed: tshark's note when run as root.
  const err = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('Running as user "root"'));
  expect(err, `tshark ${args.join(' ')}`).toEqual([]);
  expect(r.status).toBe(0);
  return r.stdout;
}

interface ReadBack {
  interfaceId: number; ifName: string; ifDescription: string; encap: string; len: number; capLen: number;
  epoch: string; dir: string; comment: string; data: Buffer;
  /** Highest expert-info severity tshark's dissectors raised (0 = none), and the messages. */
  expert: number; expertText: string;
}

function readBack(file: string): ReadBack[] {
  const F = ['frame.interface_id', 'frame.interface_name', 'frame.interface_description', 'frame.encap_type', 'frame.len', 'frame.cap_len',
    'frame.time_epoch', 'frame.packet_flags_direction', 'frame.comment', '_ws.expert.severity', '_ws.expert.message'];
  const rows = tshark(['-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'quote=n', ...F.flatMap((f) => ['-e', f])])
    .split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  // Hex dump of the frame data source only: one block per frame, blank line between.
  const blocks = tshark(['-r', file, '-x', '--hexdump', 'frames', '--hexdump', 'noascii']).split(/\n\s*\n/).filter((b) => b.trim() !== '');
  expect(blocks.length).toBe(rows.length);
  return rows.map((r, i) => ({
    interfaceId: Number(r[0]), ifName: r[1]!, ifDescription: r[2] ?? '', encap: r[3]!, len: Number(r[4]), capLen: Number(r[5]),
    epoch: r[6]!, dir: r[7]!, comment: r[8] ?? '',
    expert: Math.max(0, ...(r[9] ?? '').split(',').filter(Boolean).map(Number)), expertText: r[10] ?? '',
    data: Buffer.from(blocks[i]!.split('\n').map((l) => l.replace(/^[0-9a-f]{4,}\s+/, '').trim().replace(/ /g, '')).join(''), 'hex'),
  }));
}

/** Generate, convert with the TS API, read back with tshark, compare packet by packet. */
async function roundTrip(name: string, packets: GenPacket[], opts: NetshOptions = {}): Promise<{ got: ReadBack[]; want: Expected[] }> {
  const etl = join(dir, `${name}.etl`);
  const out = join(dir, `${name}.pcapng`);
  const gen = await writeNetshEtl(etl, packets, opts);
  expect(gen.packets).toBe(packets.length);
  const sum = await convert(etl, out, { force: true });
  expect(sum.warningCount, JSON.stringify(sum.warningSamples)).toBe(0);
  expect(sum.stats).toEqual(expect.objectContaining({ malformed: 0, missingStart: 0, missingEnd: 0, oversize: 0, packets: packets.length }));
  expect(sum.packets).toBe(packets.length);
  // Expected order: by the time of each packet's last event (all event times are distinct here).
  const want = packets.map((p) => expected(p, opts)).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const got = readBack(out);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    const at = `${name} frame ${i + 1}`;
    expect(g.data.equals(w.data), `${at}: bytes (${g.data.length} vs ${w.data.length})`).toBe(true);
    expect(g.capLen, at).toBe(w.data.length);
    expect(g.len, `${at}: original length`).toBe(w.origLen);
    expect(g.encap, `${at}: encapsulation`).toBe(w.encap);
    expect(g.dir, `${at}: direction`).toBe(w.dir === 'out' ? '0x00000002' : '0x00000001');
    expect(g.comment, at).toBe(w.comment);
    expect(g.ifName, at).toBe(w.ifName);
    expect(g.ifDescription, at).toBe(w.ifDescription ?? '');
    expect(g.epoch, `${at}: timestamp`).toBe(epochText(w.time));
    expect(g.expert, `${at}: tshark expert info: ${g.expertText}`).toBeLessThan(PI_WARN);
  }
  // The IDBs' link type numbers, read with our own small pcapng reader (tshark shows only its encapsulation).
  const raw = readPcapng(readFileSync(out), out);
  expect(raw.map((r) => r.linkType)).toEqual(want.map((w) => w.linkType));
  // Interface ids: in order of each interface's first packet.
  const firstSeen = [...new Set(want.map((w) => w.ifName))];
  expect(got.map((g) => g.interfaceId)).toEqual(want.map((w) => firstSeen.indexOf(w.ifName)));
  expect(sum.interfaces.map((f) => f.name)).toEqual(firstSeen);
  return { got, want };
}

const pkt = (p: Partial<GenPacket> & Pick<GenPacket, 'time' | 'data'>): GenPacket =>
  ({ pid: 1200, tid: 1300, cpu: 0, direction: 'out', ifIndex: 7, linkType: 'ethernet', ...p });

// ---- cases -----------------------------------------------------------------------------------

describe.skipIf(!hasTshark)('netsh round trip: generated packets = packets tshark reads back', () => {
  it('multi-fragment Ethernet: two interfaces interleaved on one CPU, two CPUs interleaved, an LWF, a 120 KB LSO frame', async () => {
    const rng = new Rng(1);
    const big = Buffer.concat([MAC_B, MAC_A, Buffer.from([0x88, 0xb5]), rng.bytes(120_000 - 14)]);   // no IP: length stands as logged
    const packets: GenPacket[] = [
      // CPU 0: iface 7 fragments at 10, 40, 70; iface 8 at 20, 50 (same CPU, interleaved).
      pkt({ time: T0 + 10n, cpu: 0, ifIndex: 7, data: ethFrame(rng, 2900), fragmentSize: 1000, fragmentGap: 30n, pid: 4, tid: 60 }),
      pkt({ time: T0 + 20n, cpu: 0, ifIndex: 8, direction: 'in', data: ethFrame(rng, 1800), fragmentSize: 1000, fragmentGap: 30n, pid: 0, tid: 0 }),
      // CPU 1 and CPU 2 interleaved with each other and with CPU 0.
      pkt({ time: T0 + 25n, cpu: 1, ifIndex: 7, data: ethFrame(rng, 1514), fragmentSize: 300, fragmentGap: 7n, pid: 2024, tid: 2028 }),
      pkt({ time: T0 + 26n, cpu: 2, ifIndex: 8, direction: 'in', data: ethFrame(rng, 999), fragmentSize: 256, fragmentGap: 9n }),
      // LowerIfIndex 3 under miniport 9 (a filter driver's view): "LWF over IfIndex 9".
      pkt({ time: T0 + 100n, cpu: 3, ifIndex: 9, lowerIfIndex: 3, data: ethFrame(rng, 60), pid: 77, tid: 78 }),
      pkt({ time: T0 + 110n, cpu: 1, ifIndex: 7, data: big, fragmentSize: 60_000, fragmentGap: 1000n }),
      // Single-event packets keep working next to multi-fragment ones.
      pkt({ time: T0 + 120n, cpu: 0, ifIndex: 8, direction: 'in', data: ethFrame(rng, 64) }),
      // A frame logged cut short (packettruncatebytes): the original length comes from the IPv4 header.
      pkt({ time: T0 + 130n, cpu: 2, ifIndex: 7, data: ethFrame(rng, 1514).subarray(0, 128) }),
    ];
    const { got } = await roundTrip('eth-fragments', packets);
    expect(got.find((g) => g.capLen === 128)!.len).toBe(1514);
    expect(got.some((g) => g.capLen === 120_000)).toBe(true);
  });

  it('Wi-Fi: 1002 metadata before 802.11 frames (single and multi-fragment), Protected bit cleared, frames without metadata', async () => {
    const rng = new Rng(2);
    const meta = (k: number): GenWifiMetadata => ({ receiveFlags: k, phyId: 7 + (k % 5), centerFrequency: 5180 + 20 * k, mpdusReceived: k + 1, rssi: -40 - k, dataRate: 100 + k });
    const packets: GenPacket[] = [
      pkt({ time: T0 + 10n, cpu: 1, ifIndex: 12, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 400), wifiMetadata: meta(1), pid: 0, tid: 0 }),
      pkt({ time: T0 + 20n, cpu: 1, ifIndex: 12, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 1400, 0x42), wifiMetadata: meta(2), fragmentSize: 500, fragmentGap: 3n }),
      pkt({ time: T0 + 40n, cpu: 0, ifIndex: 12, direction: 'out', linkType: 'ieee802_11', data: wifiFrame(rng, 200, 0x01), pid: 5555, tid: 5556 }),
      // Metadata with a PHY id past the table (etl2pcapng prints Unknown) and a negative/odd set of values.
      pkt({ time: T0 + 50n, cpu: 2, ifIndex: 13, lowerIfIndex: 14, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 100, 0x42),
        wifiMetadata: { receiveFlags: 0x80000001, phyId: 42, centerFrequency: 2412, mpdusReceived: 65535, rssi: -128, dataRate: 255 } }),
    ];
    // Receive paths on several CPUs at once: each 1002 belongs to the frame its CPU logs next,
    // not to whichever frame of the interface completes next.
    packets.push(
      pkt({ time: T0 + 100n, cpu: 0, ifIndex: 12, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 900), wifiMetadata: meta(3), fragmentSize: 300, fragmentGap: 10n }),
      pkt({ time: T0 + 105n, cpu: 1, ifIndex: 12, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 80) }),
      pkt({ time: T0 + 115n, cpu: 2, ifIndex: 12, direction: 'in', linkType: 'ieee802_11', data: wifiFrame(rng, 90), wifiMetadata: meta(4) }),
    );
    const { got } = await roundTrip('wifi', packets);
    expect(got.every((g) => g.data[1]! & 0x40 ? false : true)).toBe(true);
    // tshark dissects them as 802.11 data with the IP inside.
    const proto = tshark(['-r', join(dir, 'wifi.pcapng'), '-T', 'fields', '-e', 'frame.protocols']).trim().split('\n');
    expect(new Set(proto)).toEqual(new Set(['wlan:llc:ip:udp:data']));
    // The metadata events are in the trace with their schema-decoded fields.
    const events = await eventsOf(join(dir, 'wifi.etl'), NDIS_PACKETCAPTURE, 1002);
    expect(events.map((e) => e.properties)).toEqual([
      expect.objectContaining({ MiniportIfIndex: 12, LowerIfIndex: 12, MetadataSize: 48 }),
      expect.objectContaining({ MiniportIfIndex: 12, LowerIfIndex: 12, MetadataSize: 48 }),
      expect.objectContaining({ MiniportIfIndex: 13, LowerIfIndex: 14, MetadataSize: 48 }),
      expect.objectContaining({ MiniportIfIndex: 12, LowerIfIndex: 12, MetadataSize: 48 }),
      expect.objectContaining({ MiniportIfIndex: 12, LowerIfIndex: 12, MetadataSize: 48 }),
    ]);
  });

  it('VMSwitch 1003: vNIC interfaces per (port, VLAN), OOB VLAN and RSS hash, destinations, multi-fragment', async () => {
    const rng = new Rng(3);
    const vmA: GenVmSwitch = { portId: 5, portName: '6F1B1C2D-AAAA-4C1D-9E8F-0123456789AB', nicName: 'Network Adapter', nicType: 'Synthetic', vlanId: 12, hashValue: 0xdeadbeef, destinations: [1n, 2n] };
    const vmB: GenVmSwitch = { portId: 9, portName: 'ExternalPort', nicName: 'ext', nicType: 'External', hashValue: 0x1234 };
    const packets: GenPacket[] = [
      pkt({ time: T0 + 10n, cpu: 0, ifIndex: 20, data: ethFrame(rng, 1500), vmswitch: vmA, fragmentSize: 700, fragmentGap: 5n, pid: 4, tid: 40 }),
      pkt({ time: T0 + 12n, cpu: 0, ifIndex: 20, direction: 'in', data: ethFrame(rng, 300), vmswitch: vmB, fragmentSize: 100, fragmentGap: 5n }),
      pkt({ time: T0 + 40n, cpu: 1, ifIndex: 20, lowerIfIndex: 21, data: ethFrame(rng, 90), vmswitch: { ...vmA, vlanId: 30, priority: 5, hashValue: 7, destinations: [] } }),
      pkt({ time: T0 + 50n, cpu: 3, ifIndex: 20, data: ethFrame(rng, 8000), vmswitch: { ...vmB, hashValue: 0xffffffff, destinations: [3n] } }),
    ];
    await roundTrip('vmswitch', packets);
    const ev = await eventsOf(join(dir, 'vmswitch.etl'), NDIS_PACKETCAPTURE, 1003);
    expect(ev.length).toBe(3 + 3 + 1 + 1);
    expect(ev[0]!.properties).toEqual(expect.objectContaining({ SourcePortId: 5, SourceNicType: 'Synthetic', DestinationCount: 2, FragmentSize: 700, OOBDataSize: 208 }));
  });

  it('Ras-NdisWan 5001/5002 (VPN): one interface per tunnel and user, Ethernet frames, RoutingDomainId/Username comment', async () => {
    const rng = new Rng(4);
    const t1 = { routingDomainId: '{5B9C1B2A-0D41-4F2E-9A3C-7E8F90A1B2C3}', userName: 'alice' };
    const t2 = { routingDomainId: '{00000000-0000-0000-0000-000000000000}', userName: 'jürgen' };
    const packets: GenPacket[] = [
      pkt({ time: T0 + 10n, cpu: 0, ifIndex: 0, data: ethFrame(rng, 1400), ndisWan: t1, pid: 900, tid: 901 }),
      pkt({ time: T0 + 11n, cpu: 1, ifIndex: 0, direction: 'in', data: ethFrame(rng, 600), ndisWan: t1, pid: 0, tid: 0 }),
      pkt({ time: T0 + 12n, cpu: 1, ifIndex: 0, direction: 'out', data: ethFrame(rng, 70), ndisWan: t2 }),
      // fragmentSize does not split Ras-NdisWan events: every one is a whole packet.
      pkt({ time: T0 + 13n, cpu: 2, ifIndex: 0, direction: 'in', data: ethFrame(rng, 3000), ndisWan: t2, fragmentSize: 500 }),
    ];
    await roundTrip('ndiswan', packets);
    const ev = [...await eventsOf(join(dir, 'ndiswan.etl'), NDIS_WAN, 5001), ...await eventsOf(join(dir, 'ndiswan.etl'), NDIS_WAN, 5002)];
    expect(ev.length).toBe(4);
    expect(ev.map((e) => e.properties?.RRASUserName).sort()).toEqual(['alice', 'alice', 'jürgen', 'jürgen']);
  });

  it('raw IP (mbb): IPv4 and IPv6, whole, cut short and multi-fragment; original length without etl2pcapng\'s +14', async () => {
    const rng = new Rng(5);
    const packets: GenPacket[] = [
      pkt({ time: T0 + 10n, cpu: 0, ifIndex: 30, linkType: 'raw-ip', data: ipv4Udp(rng, 60) }),
      pkt({ time: T0 + 20n, cpu: 0, ifIndex: 30, linkType: 'raw-ip', direction: 'in', data: ipv6Udp(rng, 1280) }),
      pkt({ time: T0 + 30n, cpu: 1, ifIndex: 30, linkType: 'raw-ip', data: ipv4Udp(rng, 1500).subarray(0, 128) }),
      pkt({ time: T0 + 40n, cpu: 1, ifIndex: 30, linkType: 'raw-ip', direction: 'in', data: ipv6Udp(rng, 9000).subarray(0, 200) }),
      pkt({ time: T0 + 50n, cpu: 2, ifIndex: 31, linkType: 'raw-ip', data: ipv4Udp(rng, 4000), fragmentSize: 1500, fragmentGap: 4n }),
      pkt({ time: T0 + 52n, cpu: 2, ifIndex: 30, linkType: 'raw-ip', direction: 'in', data: ipv4Udp(rng, 3000), fragmentSize: 1000, fragmentGap: 4n }),
    ];
    // Written as older builds log 1001 (no Gft fields after the fragment): the schema says where things are.
    const { got } = await roundTrip('rawip', packets, { gft: false });
    expect(got.map((g) => [g.capLen, g.len])).toEqual([[60, 60], [1280, 1280], [128, 1500], [200, 9000], [4000, 4000], [3000, 3000]]);
    const proto = tshark(['-r', join(dir, 'rawip.pcapng'), '-T', 'fields', '-e', 'frame.protocols']).trim().split('\n');
    expect(new Set(proto)).toEqual(new Set(['raw:ip:udp:data', 'raw:ipv6:udp:data']));
  });

  it('everything in one trace: Ethernet, Wi-Fi + metadata, VMSwitch, VPN and raw IP fragments interleaved across 4 CPUs', async () => {
    const rng = new Rng(6);
    const vm: GenVmSwitch = { portId: 3, portName: 'P3', nicName: 'vm3', nicType: 'Internal', vlanId: 7, hashValue: 0xabcdef01 };
    const vpn = { routingDomainId: '{A1B2C3D4-0000-1111-2222-333344445555}', userName: 'bob' };
    const packets: GenPacket[] = [];
    let t = T0 + 100n;
    for (let i = 0; i < 40; i++) {
      const kind = i % 5;
      const cpu = i % 4;
      t += 3n;
      const base = { time: t, cpu, pid: 100 + i, tid: 200 + i, direction: (i % 3 === 0 ? 'in' : 'out') as 'in' | 'out' };
      // Packets start 3 ticks apart, split into at most 3 fragments 2 ticks apart: fragments of
      // neighbours interleave, no two packets end on the same tick, and an (interface, CPU) pair
      // comes round only every 20 packets, long after its previous packet ended.
      if (kind === 0) packets.push(pkt({ ...base, ifIndex: 7, data: ethFrame(rng, rng.int(60, 2400)), fragmentSize: 800, fragmentGap: 2n }));
      else if (kind === 1) packets.push(pkt({ ...base, ifIndex: 12, linkType: 'ieee802_11', direction: 'in', data: wifiFrame(rng, rng.int(60, 1500), 0x42), wifiMetadata: { receiveFlags: i, phyId: 8, centerFrequency: 5500, mpdusReceived: 1, rssi: -60, dataRate: 200 } }));
      else if (kind === 2) packets.push(pkt({ ...base, ifIndex: 20, data: ethFrame(rng, rng.int(60, 1800)), vmswitch: vm, fragmentSize: 600, fragmentGap: 2n }));
      else if (kind === 3) packets.push(pkt({ ...base, ifIndex: 0, data: ethFrame(rng, rng.int(60, 1500)), ndisWan: vpn }));
      else packets.push(pkt({ ...base, ifIndex: 30, linkType: 'raw-ip', data: ipv4Udp(rng, rng.int(40, 2100)), fragmentSize: 700, fragmentGap: 2n }));
    }
    const { got } = await roundTrip('mixed', packets);
    expect(new Set(got.map((g) => g.encap))).toEqual(new Set(['1', '7', '20']));
  });

  it('large: 3000 packets up to 9000 bytes, 4 CPUs, 3 interfaces, 2-6 interleaved fragments each', async () => {
    const rng = new Rng(7);
    const used = new Set<bigint>();
    const busy = new Map<string, bigint>();       // (interface, CPU) → last fragment time of its packet in flight
    const packets: GenPacket[] = [];
    let t = T0 + 1000n;
    while (packets.length < 3000) {
      t += BigInt(rng.int(1, 6));
      const cpu = rng.int(0, 3);
      const ifIndex = rng.pick([7, 8, 11]);
      const size = rng.int(60, 9000);
      const k = rng.int(2, 6);
      const fragmentSize = Math.ceil(size / k);
      const n = Math.ceil(size / fragmentSize);
      const gap = BigInt(rng.int(1, 15));
      const times = Array.from({ length: n }, (_, i) => t + BigInt(i) * gap);
      // One packet at a time per (interface, CPU), as NDIS logs them; every event time distinct
      // so that the expected order is unambiguous.
      const key = `${ifIndex}/${cpu}`;
      if ((busy.get(key) ?? 0n) >= t || times.some((x) => used.has(x))) continue;
      times.forEach((x) => used.add(x));
      busy.set(key, times[n - 1]!);
      packets.push(pkt({
        time: t, cpu, ifIndex, direction: rng.next() < 0.5 ? 'in' : 'out', pid: rng.int(0, 9000) * 4, tid: rng.int(1, 20000),
        data: ethFrame(rng, size, packets.length), fragmentSize, fragmentGap: gap,
      }));
    }
    const counts = packets.map((p) => fragmentsOf(p));
    expect(Math.min(...counts)).toBe(2);
    expect(Math.max(...counts)).toBe(6);
    const { got } = await roundTrip('large', packets, { numberOfProcessors: 4 });
    expect(new Set(got.map((g) => g.ifName))).toEqual(new Set(['eth:7:0', 'eth:8:0', 'eth:11:0']));
    // Fragments really were interleaved: some packet's events span another packet's completion.
    const spans = packets.map((p) => [p.time, p.time + BigInt(fragmentsOf(p) - 1) * p.fragmentGap!] as const);
    const overlapping = spans.filter(([s, e], i) => spans.some(([s2], j) => j !== i && s2 > s && s2 < e)).length;
    expect(overlapping).toBeGreaterThan(1000);
  }, 300_000);
});

async function eventsOf(file: string, provider: string, id: number) {
  const t = openTrace(file, { providers: [provider], ids: [id] });
  const out = [];
  for await (const b of t.events()) out.push(...b.events);
  t.close();
  return out;
}

// pktmon form: relogged + XPRESS-compressed buffers (LogFileMode 0x04010001, layout 2.0, nominal
// 16 MiB buffers, 1 KiB header buffer), component rundown events (20/30/60/65/70) naming the
// interface stack, then event 160 for every appearance of a packet at a component, like
// demikernel's PktMon.etl.

import { eventRecord } from './etl.js';
import { CommonTraceOptions, GenPacket, PacketSource, TraceSummary } from './packet.js';
import { ipv4Bytes, PKTMON, PKTMON_SCHEMAS } from './providers.js';
import { openRelogged } from './relogger.js';

export interface PktmonComponent {
  id: number;
  type: number;           // ComponentType map: 2 Miniport, 3 Filter, 4 Protocol
  name: string;
  description: string;
}

export interface PktmonInterface {
  ifIndex: number;
  mac?: string;           // aa:bb:cc:dd:ee:ff
  ipv4?: string;
  /** Components in send order (protocol first, miniport last); receive appearances use the reverse. */
  components: PktmonComponent[];
}

export interface PktmonOptions extends CommonTraceOptions {
  interfaces?: PktmonInterface[];
  /** Bytes logged per appearance (pktmon --pkt-size); 0 = whole packet (default). */
  pktSize?: number;
  /** Uncompressed bytes per buffer before it is flushed (default 1 MiB). */
  fillSize?: number;
  /** First PktGroupId. */
  firstGroupId?: bigint;
}

export function defaultInterface(ifIndex: number, base: number, mac = '0a:1b:2c:3d:4e:5f', ipv4 = '172.31.20.15'): PktmonInterface {
  return {
    ifIndex, mac, ipv4,
    components: [
      { id: base + 2, type: 4, name: 'TCPIP', description: 'TCP/IP Protocol Driver' },
      { id: base + 1, type: 3, name: 'WFP Native MAC Layer LightWeight Filter-0000', description: 'WFP Native MAC Layer LightWeight Filter' },
      { id: base, type: 2, name: 'Amazon Elastic Network Adapter', description: 'Amazon Elastic Network Adapter' },
    ],
  };
}

const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(v, 0); return b; };

export async function writePktmonEtl(path: string, packets: PacketSource, opts: PktmonOptions = {}): Promise<TraceSummary> {
  const { w, it, first, start, schemas, last, lastTime, side } = await openRelogged(path, packets, opts, {
    bufferSize: opts.fillSize ?? 1024 * 1024, nominalBufferSize: 16 * 1024 * 1024, headerBufferSize: 1024,
    compressed: true, logFileMode: 0x04010001, layoutVersion: [2, 0],
    logFileName: opts.logFileName ?? 'C:\\Windows\\system32\\PktMon.etl',
    headerPid: opts.writerPid ?? 2932, headerTid: opts.writerTid ?? 9764, headerCpuTimes: [2, 0], headerBufferState: 3,
  });
  try {
    const ifaces = new Map<number, PktmonInterface>();
    for (const i of opts.interfaces ?? []) ifaces.set(i.ifIndex, i);
    let rundownTime = start;
    let componentEvents = 0;
    const pid = opts.writerPid ?? 2932;
    const tid = opts.writerTid ?? 9764;
    const rundownEvent = (id: number, data: Buffer[]): void => {
      const def = PKTMON_SCHEMAS[id]!;
      rundownTime += 1n;
      schemas.ensure(0, rundownTime, tid, pid, 1n << 32n, def);
      w.add(0, rundownTime, eventRecord(w, rundownTime, {
        tid, pid, provider: PKTMON, id, version: 0, channel: 0, level: 4, opcode: 0, task: 0, keywords: def.keywords, userTime: 1,
      }, data));
      componentEvents++;
    };
    const rundown = (iface: PktmonInterface): void => {
      for (const c of iface.components) {
        rundownEvent(20, [u16(c.id), u16(c.type), Buffer.from(c.name + '\0', 'utf16le'), Buffer.from(c.description + '\0', 'utf16le')]);
        if (c.type === 2) {
          const v = Buffer.alloc(4); v.writeUInt32LE(iface.ifIndex, 0);
          rundownEvent(30, [u16(c.id), u16(2), v]);                 // MiniportIfIndex
          rundownEvent(60, [u16(c.id), u16(5), u16(0)]);            // NdisMedium Ethernet
          if (iface.mac) {
            const mac = Buffer.from(iface.mac.split(':').map((x) => parseInt(x, 16)));
            const sz = Buffer.alloc(4); sz.writeUInt32LE(mac.length, 0);
            rundownEvent(70, [u16(c.id), u16(6), sz, mac]);         // PhysAddress
          }
        }
        if (c.type === 4 && iface.ipv4) {
          const ip = Buffer.alloc(4); ipv4Bytes(iface.ipv4).copy(ip);
          rundownEvent(65, [u16(c.id), u16(13), ip]);              // IPv4 address, network order as in the real file
        }
      }
      last.set(0, rundownTime > lastTime(0) ? rundownTime : lastTime(0));
    };
    // Component rundown comes first, as pktmon logs it when the session starts.
    if (ifaces.size === 0 && !first.done) ifaces.set(first.value.ifIndex, defaultInterface(first.value.ifIndex, 10));
    for (const i of ifaces.values()) rundown(i);

    const def160 = PKTMON_SCHEMAS[160]!;
    let group = opts.firstGroupId ?? 0x105a26n;
    let count = 0;
    let events = 0;
    const hdr = Buffer.alloc(34);
    const pktSize = opts.pktSize ?? 0;
    const emit = (p: GenPacket): void => {
      side.until(p.time);
      let iface = ifaces.get(p.ifIndex);
      if (!iface) {
        iface = defaultInterface(p.ifIndex, 10 + ifaces.size * 10);
        ifaces.set(p.ifIndex, iface);
        rundown(iface);
      }
      const comps = p.direction === 'out' ? iface.components : [...iface.components].reverse();
      const logged = pktSize > 0 ? Math.min(pktSize, p.data.length) : p.data.length;
      const payload = Buffer.from(p.data.buffer, p.data.byteOffset, logged);
      let t = p.time;
      comps.forEach((c, i) => {
        if (t < lastTime(p.cpu)) t = lastTime(p.cpu);
        const cpuTime = BigInt((count * 7 + i) & 0xffffff);
        if (count === 0 && i === 0) schemas.ensure(p.cpu, t, p.tid, p.pid, cpuTime, def160);
        hdr.writeBigUInt64LE(group, 0);
        hdr.writeUInt16LE(1, 8);                                    // PktNumber
        hdr.writeUInt16LE(i + 1, 10);                               // AppearanceCount
        hdr.writeUInt16LE(p.direction === 'out' ? 4 : 3, 12);       // DirTag Tx / Rx
        hdr.writeUInt16LE(p.linkType === 'ieee802_11' ? 2 : p.linkType === 'raw-ip' ? 3 : 1, 14);
        hdr.writeUInt16LE(c.id, 16);
        hdr.writeUInt16LE(i === comps.length - 1 ? 1 : 2, 18);      // EdgeId: lower/upper edge
        hdr.writeUInt16LE(1, 20);                                   // FilterId
        hdr.writeUInt32LE(0, 22);
        hdr.writeUInt32LE(0, 26);
        hdr.writeUInt16LE(Math.min(p.data.length, 0xffff), 30);
        hdr.writeUInt16LE(logged, 32);
        w.add(p.cpu, t, eventRecord(w, t, {
          tid: p.tid, pid: p.pid, provider: PKTMON, id: 160, version: 0, channel: 0, level: 4, opcode: 0, task: 0, keywords: def160.keywords,
          kernelTime: Number(cpuTime), userTime: 0,
        }, [hdr, payload]));
        last.set(p.cpu, t);
        events++;
        t += 20n;                                                   // ~2 µs per layer, as observed
      });
      group++;
      count++;
    };
    if (!first.done) emit(first.value);
    for (;;) { const r = await it.next(); if (r.done) break; emit(r.value); }
    side.rest();
    const s = w.close(opts.endTime);
    return { path, buffers: s.buffers, buffersWritten: s.buffersWritten, compressedBuffers: s.compressedBuffers, records: s.records, packets: count, packetEvents: events, sideEvents: side.count + componentEvents, bytes: s.bytes, startTime: start, endTime: s.endTime };
  } catch (e) {
    w.abort();
    throw e;
  }
}


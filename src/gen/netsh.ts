// `netsh trace start capture=yes` form: uncompressed 512 KiB buffers, relogged (LogFileMode
// 0x00010001, layout 1.5), NDIS-PacketCapture 1001 fragments with START/END keywords, the event
// schema embedded before the first 1001 event, like attackhost-wifi.etl.

import { EtlWriter, UTC_TIME_ZONE, eventRecord } from './etl.js';
import { CommonTraceOptions, DEFAULT_START, FILETIME_SECOND, GenPacket, iterate, PacketSource, SideEvents, TraceSummary } from './packet.js';
import { NDIS_PACKETCAPTURE, NdisKeyword, ndis1001Schema, PKTMON_MAPS, SchemaEmitter } from './providers.js';

export interface NetshOptions extends CommonTraceOptions {
  /** Packets longer than this are logged as several 1001 fragments (START on the first, END on the last). 0 = never split. */
  fragmentSize?: number;
  /** Newer builds append GftFlowEntryId and GftOffloadInformation (default true). */
  gft?: boolean;
  /** LowerIfIndex per MiniportIfIndex (default: same as the miniport). */
  lowerIfIndex?: Record<number, number>;
  bufferSize?: number;
}

export function netshKeywords(p: GenPacket, first: boolean, last: boolean): bigint {
  let k = NdisKeyword.Channel | NdisKeyword.Packet | NdisKeyword.PiiPresent;
  k |= p.direction === 'out' ? NdisKeyword.SendPath : NdisKeyword.ReceivePath;
  if (p.linkType === 'ieee802_11') k |= NdisKeyword.Native80211;
  else if (p.linkType === 'raw-ip') k |= NdisKeyword.WirelessWAN;
  if (first) k |= NdisKeyword.PacketStart;
  if (last) k |= NdisKeyword.PacketEnd;
  return k;
}

export async function writeNetshEtl(path: string, packets: PacketSource, opts: NetshOptions = {}): Promise<TraceSummary> {
  const it = iterate(packets);
  const first = await it.next();
  const start = opts.startTime ?? (first.done ? DEFAULT_START : first.value.time - FILETIME_SECOND);
  const cpus = opts.numberOfProcessors ?? 4;
  const w = new EtlWriter(path, {
    bufferSize: opts.bufferSize ?? 512 * 1024, nominalBufferSize: opts.bufferSize ?? 512 * 1024, headerBufferSize: opts.bufferSize ?? 512 * 1024,
    compressed: false, logFileMode: 0x00010001, layoutVersion: [1, 5], osVersion: [10, 0], osBuild: opts.osBuild ?? 20348,
    numberOfProcessors: cpus, cpuSpeedMHz: 2500, timerResolution: 156250, maximumFileSizeMB: 512,
    startTime: start, bootTime: start - 86_400n * FILETIME_SECOND, perfFreq: 10_000_000n,
    loggerName: 'Relogger', logFileName: opts.logFileName ?? 'C:\\Windows\\system32\\config\\systemprofile\\AppData\\Local\\Temp\\NetTraces\\NetTrace.etl',
    timeZone: UTC_TIME_ZONE, headerPid: opts.writerPid ?? 5120, headerTid: opts.writerTid ?? 5124, headerCpuTimes: [5, 3], headerBufferState: 0,
  });
  try {
    const schemas = new SchemaEmitter(w, PKTMON_MAPS);
    const last = new Map<number, bigint>();
    const lastTime = (cpu: number): bigint => last.get(cpu) ?? start;
    const side = new SideEvents(w, schemas, opts, start, lastTime);
    // The relogger copies the PartitionInfo event at the head of the first data buffer.
    w.add(0, start, w.partitionInfo());
    const gft = opts.gft ?? true;
    const fragMax = opts.fragmentSize && opts.fragmentSize > 0 ? opts.fragmentSize : Infinity;
    const maxFrag = w.maxRecordSize - 0x50 - 12 - (gft ? 16 : 0);
    let count = 0;
    let events = 0;
    const tail = Buffer.alloc(16);
    const head = Buffer.alloc(12);
    const emit = (p: GenPacket): void => {
      side.until(p.time);
      if (p.time < lastTime(p.cpu)) throw new Error(`packet ${count}: time goes back on cpu ${p.cpu}`);
      const data = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
      const size = Math.min(fragMax, maxFrag);
      const lower = opts.lowerIfIndex?.[p.ifIndex] ?? p.ifIndex;
      for (let off = 0, i = 0; off < data.length || (off === 0 && i === 0); off += size, i++) {
        const frag = data.subarray(off, Math.min(off + size, data.length));
        const isFirst = off === 0;
        const isLast = off + size >= data.length;
        const keywords = netshKeywords(p, isFirst, isLast);
        if (isFirst && i === 0) schemas.ensure(p.cpu, p.time, p.tid, p.pid, 0n, ndis1001Schema(keywords, gft));
        head.writeUInt32LE(p.ifIndex >>> 0, 0);
        head.writeUInt32LE(lower >>> 0, 4);
        head.writeUInt32LE(frag.length, 8);
        w.add(p.cpu, p.time, eventRecord(w, p.time, {
          tid: p.tid, pid: p.pid, provider: NDIS_PACKETCAPTURE, id: 1001, version: 0, channel: 16, level: 4, opcode: 0, task: 0, keywords,
        }, gft ? [head, frag, tail] : [head, frag]));
        events++;
        if (frag.length === 0) break;
      }
      last.set(p.cpu, p.time);
      count++;
    };
    if (!first.done) emit(first.value);
    for (;;) { const r = await it.next(); if (r.done) break; emit(r.value); }
    side.rest();
    const s = w.close(opts.endTime);
    return { path, buffers: s.buffers, compressedBuffers: 0, records: s.records, packets: count, packetEvents: events, sideEvents: side.count, bytes: s.bytes, startTime: start, endTime: s.endTime };
  } catch (e) {
    w.abort();
    throw e;
  }
}

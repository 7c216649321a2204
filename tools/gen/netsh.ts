// `netsh trace start capture=yes` form: uncompressed 512 KiB buffers, relogged (LogFileMode
// 0x00010001, layout 1.5), NDIS-PacketCapture 1001 fragments with START/END keywords, the event
// schema embedded before the first 1001 event, like attackhost-wifi.etl. Packets may instead
// come as 1003 VMSwitch fragments (capturetype=both) or Ras-NdisWanPacketCapture 5001/5002 (VPN),
// and 802.11 packets may be preceded by a 1002 Wi-Fi metadata event; each of these events gets
// its own embedded schema the same way (layouts: docs/etl-format.md, NDIS-PacketCapture events, Ras-NdisWanPacketCapture events, Wi-Fi metadata, VMSwitch OOB data).

import { eventRecord } from './etl.js';
import { ByteWriter } from './bytes.js';
import { CommonTraceOptions, GenPacket, GenVmSwitch, GenWifiMetadata, PacketSource, TraceSummary } from './packet.js';
import {
  NDIS_PACKETCAPTURE, NDIS_WAN, NdisKeyword, ndis1001Schema, ndis1002Schema, ndis1003Schema, ndisWanSchema,
} from './providers.js';
import { openRelogged } from './relogger.js';

export interface NetshOptions extends CommonTraceOptions {
  /** Packets longer than this are logged as several 1001 (or 1003) fragments (START on the first, END on the last). 0 = never split. */
  fragmentSize?: number;
  /** Newer builds append GftFlowEntryId and GftOffloadInformation (default true). */
  gft?: boolean;
  /** LowerIfIndex per MiniportIfIndex (default: same as the miniport; GenPacket.lowerIfIndex wins). */
  lowerIfIndex?: Record<number, number>;
  bufferSize?: number;
  /**
   * netsh `packettruncatebytes=N`: only the first N bytes of longer packets are logged, and
   * their events carry the PacketTruncated keyword (0x2000000). Default: whole packets.
   */
  packetTruncateBytes?: number;
  /**
   * The session's own file in circular mode (`filemode=circular maxsize=N`), as the kernel writes
   * it, instead of the relogged file: N MB of buffers reused in turn, so with more traffic than
   * fits the oldest buffers are overwritten (a wrapped file).
   */
  circularMaxSizeMB?: number;
  /** The same in KB, as sessions with USE_KBYTES_FOR_SIZE (LogFileMode 0x2000) record it: for small files. */
  circularMaxSizeKB?: number;
}

export function netshKeywords(p: GenPacket, first: boolean, last: boolean, truncated = false): bigint {
  let k = NdisKeyword.Channel | NdisKeyword.Packet | NdisKeyword.PiiPresent;
  if (truncated) k |= NdisKeyword.PacketTruncated;
  k |= p.direction === 'out' ? NdisKeyword.SendPath : NdisKeyword.ReceivePath;
  if (p.linkType === 'ieee802_11') k |= NdisKeyword.Native80211;
  else if (p.linkType === 'raw-ip') k |= NdisKeyword.WirelessWAN;
  if (first) k |= NdisKeyword.PacketStart;
  if (last) k |= NdisKeyword.PacketEnd;
  return k;
}

/** DOT11_EXTSTA_RECV_CONTEXT, x64 layout (48 bytes), as event 1002 carries it. */
export function wifiMetadataBytes(m: GenWifiMetadata): Buffer {
  const b = Buffer.alloc(48);
  b[0] = 0x80; b[1] = 1; b.writeUInt16LE(48, 2);        // NDIS_OBJECT_HEADER: default type, revision 1, size
  b.writeUInt32LE(m.receiveFlags >>> 0, 4);
  b.writeUInt32LE(m.phyId >>> 0, 8);
  b.writeUInt32LE(m.centerFrequency >>> 0, 12);
  b.writeUInt16LE(m.mpdusReceived & 0xffff, 16);
  b.writeInt32LE(m.rssi | 0, 20);
  b[24] = m.dataRate & 0xff;
  b.writeBigUInt64LE(m.timestamp ?? 0n, 40);             // size/pointer of media-specific info stay 0
  return b;
}

/** OOBData of a 1003 event: pointer-sized NET_BUFFER_LIST_INFO slots (docs/etl-format.md, VMSwitch OOB data). */
export function vmswitchOob(v: GenVmSwitch): Buffer {
  const slots = v.oobSlots ?? 26;
  const b = Buffer.alloc(slots * 8);
  if (slots > 4) b.writeUInt32LE((((v.vlanId ?? 0) & 0xfff) << 4 | ((v.priority ?? 0) & 7)) >>> 0, 4 * 8);
  if (slots > 8) b.writeUInt32LE((v.hashValue ?? 0) >>> 0, 8 * 8);
  return b;
}

interface Pending { time: bigint; seq: number; write: () => void }

export async function writeNetshEtl(path: string, packets: PacketSource, opts: NetshOptions = {}): Promise<TraceSummary> {
  const bufferSize = opts.bufferSize ?? 512 * 1024;
  if (opts.circularMaxSizeMB !== undefined && opts.circularMaxSizeKB !== undefined) throw new Error('give circularMaxSizeMB or circularMaxSizeKB, not both');
  const inKB = opts.circularMaxSizeKB !== undefined;
  const circular = inKB ? opts.circularMaxSizeKB : opts.circularMaxSizeMB;
  const circularBytes = circular === undefined ? 0 : circular * (inKB ? 1024 : 1024 * 1024);
  if (circular !== undefined && !(Number.isInteger(circular) && circularBytes >= 2 * bufferSize)) {
    throw new Error(`a circular file of ${circular} ${inKB ? 'KB' : 'MB'} does not hold the header and a data buffer of ${bufferSize} bytes`);
  }
  const { w, it, first, start, schemas, last, lastTime, side } = await openRelogged(path, packets, opts, {
    bufferSize, nominalBufferSize: bufferSize, headerBufferSize: bufferSize, compressed: false, layoutVersion: [1, 5],
    // The session's file: FILE_MODE_CIRCULAR and the session's name (the relogged file says SEQUENTIAL + RELOG).
    ...(circular !== undefined
      ? { logFileMode: 0x00000002 | (inKB ? 0x00002000 : 0), loggerName: 'NetTrace', maximumFileSizeMB: circular, circularSlots: Math.floor(circularBytes / bufferSize) - 1 }
      : { logFileMode: 0x00010001 }),
    logFileName: opts.logFileName ?? 'C:\\Windows\\system32\\config\\systemprofile\\AppData\\Local\\Temp\\NetTraces\\NetTrace.etl',
    headerPid: opts.writerPid ?? 5120, headerTid: opts.writerTid ?? 5124, headerCpuTimes: [5, 3], headerBufferState: 0,
  });
  try {
    const gft = opts.gft ?? true;
    let count = 0;
    let events = 0;
    let metadataEvents = 0;
    const tail = Buffer.alloc(16);
    // Events not yet written, in (time, seq) order: a packet's later fragments (fragmentGap) wait
    // here so that other packets' events can come between them on the same CPU.
    const pending: Pending[] = [];
    let seq = 0;
    const schedule = (time: bigint, write: () => void): void => {
      const e = { time, seq: seq++, write };
      let lo = 0, hi = pending.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (pending[mid]!.time <= time) lo = mid + 1; else hi = mid; }
      pending.splice(lo, 0, e);
    };
    // Side events and pending events up to `time`, merged in time order (side events first on ties).
    const drain = (time: bigint): void => {
      for (;;) {
        const st = side.nextTime();
        const pt = pending[0]?.time;
        if (st !== undefined && st <= time && (pt === undefined || st <= pt)) side.emitNext();
        else if (pt !== undefined && pt <= time) pending.shift()!.write();
        else break;
      }
    };
    const add = (cpu: number, time: bigint, record: Buffer): void => {
      if (time < lastTime(cpu)) throw new Error(`event at ${time} on cpu ${cpu} would follow one at ${lastTime(cpu)}; give packets in time order`);
      w.add(cpu, time, record);
      last.set(cpu, time);
    };
    const vmHead = new ByteWriter(256);
    const emit = (p: GenPacket): void => {
      drain(p.time);
      if (p.time < lastTime(p.cpu)) throw new Error(`packet ${count}: time goes back on cpu ${p.cpu}`);
      if ((p.vmswitch ? 1 : 0) + (p.ndisWan ? 1 : 0) > 1) throw new Error(`packet ${count}: vmswitch and ndisWan exclude each other`);
      const n = count;
      const cutTo = opts.packetTruncateBytes;
      const truncated = cutTo !== undefined && cutTo > 0 && p.data.byteLength > cutTo;
      const data = Buffer.from(p.data.buffer, p.data.byteOffset, truncated ? cutTo : p.data.byteLength);
      const lower = p.lowerIfIndex ?? opts.lowerIfIndex?.[p.ifIndex] ?? p.ifIndex;
      const hdr = { tid: p.tid, pid: p.pid, channel: 16, level: 4, opcode: 0, task: 0 };
      if (p.wifiMetadata) {
        const meta = wifiMetadataBytes(p.wifiMetadata);
        const keywords = netshKeywords(p, false, false);
        schedule(p.time, () => {
          schemas.ensure(p.cpu, p.time, p.tid, p.pid, 0n, ndis1002Schema(keywords));
          const h = Buffer.alloc(12);
          h.writeUInt32LE(p.ifIndex >>> 0, 0); h.writeUInt32LE(lower >>> 0, 4); h.writeUInt32LE(meta.length, 8);
          add(p.cpu, p.time, eventRecord(w, p.time, { ...hdr, provider: NDIS_PACKETCAPTURE, id: 1002, version: 0, keywords }, [h, meta]));
        });
        metadataEvents++;
      }
      if (p.ndisWan) {
        const id = p.direction === 'out' ? 5001 : 5002;
        const keywords = NdisKeyword.Channel | (p.direction === 'out' ? NdisKeyword.SendPath : NdisKeyword.ReceivePath);
        const strs = Buffer.from(`${p.ndisWan.routingDomainId}\0${p.ndisWan.userName}\0`, 'utf16le');
        if (0x50 + strs.length + 4 + data.length > w.maxRecordSize) throw new Error(`packet ${n}: ${data.length} bytes do not fit one Ras-NdisWan event`);
        schedule(p.time, () => {
          schemas.ensure(p.cpu, p.time, p.tid, p.pid, 0n, ndisWanSchema(id, keywords));
          const size = Buffer.alloc(4); size.writeUInt32LE(data.length, 0);
          add(p.cpu, p.time, eventRecord(w, p.time, { ...hdr, provider: NDIS_WAN, id, version: 0, keywords }, [strs, size, data]));
        });
        events++;
        count++;
        return;
      }
      // Fixed part before and after the fragment bytes.
      let before: Buffer;
      let after: Buffer;
      const vm = p.vmswitch;
      if (vm) {
        const dests = vm.destinations ?? [];
        vmHead.reset().u32(p.ifIndex).u32(lower).u32(vm.portId).wstrz(vm.portName).wstrz(vm.nicName).wstrz(vm.nicType).u32(dests.length);
        for (const d of dests) vmHead.u64(d);
        before = vmHead.toBuffer();                       // + FragmentSize
        const oob = vmswitchOob(vm);
        after = Buffer.alloc(4 + oob.length);
        after.writeUInt32LE(oob.length, 0);
        oob.copy(after, 4);
      } else {
        before = Buffer.alloc(8);
        before.writeUInt32LE(p.ifIndex >>> 0, 0);
        before.writeUInt32LE(lower >>> 0, 4);
        after = gft ? tail : Buffer.alloc(0);
      }
      const room = w.maxRecordSize - 0x50 - before.length - 4 - after.length;
      if (room < 1) throw new Error(`packet ${n}: event headers leave no room for fragment bytes`);
      const want = p.fragmentSize ?? opts.fragmentSize;
      const size = Math.min(want !== undefined && want > 0 ? want : Infinity, room);
      const gap = p.fragmentGap ?? 0n;
      const id = vm ? 1003 : 1001;
      for (let off = 0, i = 0; off < data.length || (off === 0 && i === 0); off += size, i++) {
        const frag = data.subarray(off, Math.min(off + size, data.length));
        const isFirst = off === 0;
        const isLast = off + size >= data.length;
        let keywords = netshKeywords(p, isFirst, isLast, truncated);
        if (vm) keywords |= NdisKeyword.VMSwitch;
        const t = p.time + BigInt(i) * gap;
        const fragSize = Buffer.alloc(4);
        fragSize.writeUInt32LE(frag.length, 0);
        schedule(t, () => {
          if (isFirst) schemas.ensure(p.cpu, t, p.tid, p.pid, 0n, vm ? ndis1003Schema(keywords) : ndis1001Schema(keywords, gft));
          add(p.cpu, t, eventRecord(w, t, { ...hdr, provider: NDIS_PACKETCAPTURE, id, version: 0, keywords }, [before, fragSize, frag, after]));
        });
        events++;
        if (frag.length === 0) break;
      }
      count++;
    };
    if (!first.done) emit(first.value);
    for (;;) { const r = await it.next(); if (r.done) break; emit(r.value); }
    drain(BigInt('0x7fffffffffffffff'));
    side.rest();
    const s = w.close(opts.endTime);
    return {
      path, buffers: s.buffers, buffersWritten: s.buffersWritten, compressedBuffers: 0, records: s.records, packets: count, packetEvents: events, sideEvents: side.count,
      metadataEvents, bytes: s.bytes, startTime: start, endTime: s.endTime,
    };
  } catch (e) {
    w.abort();
    throw e;
  }
}

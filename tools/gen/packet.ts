// What the generator takes: packets as the capture driver saw them, plus optional process and
// TCPIP events; and the side-event merge shared by both trace forms.

import type { EtlWriter } from './etl.js';
import { eventRecord } from './etl.js';
import {
  GenProcess, GenTcpipEvent, KERNEL_PROCESS, KernelProcessEvent, kernelProcessPayload, kernelProcessSchema, kernelProcessStopPayload,
  SchemaEmitter, TCPIP, TcpipEventId, tcpipPayload, tcpipSchema,
} from './providers.js';

export type LinkType = 'ethernet' | 'ieee802_11' | 'raw-ip';

export interface GenPacket {
  /** UTC FILETIME (100 ns since 1601). Packets must come in non-decreasing time per CPU. */
  time: bigint;
  /** 0 or 4 for packets logged in DPC context (most inbound packets). */
  pid: number;
  tid: number;
  cpu: number;
  direction: 'out' | 'in';
  /** NDIS MiniportIfIndex (netsh) / the interface the pktmon components belong to. */
  ifIndex: number;
  linkType: LinkType;
  data: Uint8Array;
  // netsh form only (writeNetshEtl); pktmon ignores these.
  /** Split this packet at this many bytes (overrides NetshOptions.fragmentSize). */
  fragmentSize?: number;
  /**
   * Time between consecutive fragments; `time` is the first one's (the packet takes the last one's).
   * Later fragments wait and are written in time order with later packets' events, so with gaps
   * packets must come in non-decreasing `time` overall, not only per CPU. Default 0.
   */
  fragmentGap?: bigint;
  /** NDIS LowerIfIndex (overrides NetshOptions.lowerIfIndex). */
  lowerIfIndex?: number;
  /** A 1002 "Packet Metadata" event on the same CPU right before the first fragment (802.11 receive path). */
  wifiMetadata?: GenWifiMetadata;
  /** Logged by the Hyper-V switch: 1003 "VMSwitch Packet Fragment" events instead of 1001. */
  vmswitch?: GenVmSwitch;
  /** Logged by Ras-NdisWanPacketCapture (VPN): one 5001 (out) / 5002 (in) event, never split. */
  ndisWan?: GenNdisWan;
}

/** DOT11_EXTSTA_RECV_CONTEXT fields (docs/etl-format.md, Wi-Fi metadata). */
export interface GenWifiMetadata {
  receiveFlags: number;
  phyId: number;
  centerFrequency: number;
  mpdusReceived: number;
  rssi: number;
  dataRate: number;
  timestamp?: bigint;
}

export interface GenVmSwitch {
  portId: number;
  portName: string;
  nicName: string;
  /** "Synthetic", "Internal", "External", ... */
  nicType: string;
  /** Written into OOB slot 4 (Ieee8021Q info, VLAN id in bits 4-15). */
  vlanId?: number;
  /** 802.1p priority, OOB slot 4 bits 0-2. */
  priority?: number;
  /** RSS hash, OOB slot 8. */
  hashValue?: number;
  /** One 8-byte Destination element each (DestinationCount = length). */
  destinations?: bigint[];
  /** NET_BUFFER_LIST_INFO slots in OOBData (8 bytes each); default 26, the x64 count. */
  oobSlots?: number;
}

export interface GenNdisWan {
  /** Braced GUID string, e.g. {11111111-2222-3333-4444-555555555555}. */
  routingDomainId: string;
  userName: string;
}

export type PacketSource = Iterable<GenPacket> | AsyncIterable<GenPacket>;

export interface CommonTraceOptions {
  /** Session start (FILETIME); default: 1 s before the first packet. */
  startTime?: bigint;
  /** When the machine booted (FILETIME); default: a day before the session start. Traces of one machine share it. */
  bootTime?: bigint;
  endTime?: bigint;
  numberOfProcessors?: number;
  osBuild?: number;
  processes?: GenProcess[];
  tcpipEvents?: GenTcpipEvent[];
  logFileName?: string;
  /** The session's file size limit in MB, which the relogged file keeps (netsh maxsize, pktmon --file-size); default 512. */
  maximumFileSizeMB?: number;
  /** PID/TID of the tool that wrote the trace (netsh.exe / pktmon.exe). */
  writerPid?: number;
  writerTid?: number;
  seed?: number;
}

export interface TraceSummary {
  path: string;
  /** In the file, header buffer included. */
  buffers: number;
  /** Flushed by the session: more than `buffers` when a circular file wrapped. */
  buffersWritten: number;
  compressedBuffers: number;
  records: number;
  packets: number;
  packetEvents: number;
  sideEvents: number;
  /** netsh form: 1002 Wi-Fi metadata events. */
  metadataEvents?: number;
  bytes: number;
  startTime: bigint;
  endTime: bigint;
}

export const FILETIME_SECOND = 10_000_000n;

/** 2024-06-02T20:00:00Z, a fixed default so traces are reproducible. */
export const DEFAULT_START = 133618320000000000n;

export async function* iterate(src: PacketSource): AsyncGenerator<GenPacket> {
  if (Symbol.asyncIterator in src) { for await (const p of src as AsyncIterable<GenPacket>) yield p; }
  else for (const p of src as Iterable<GenPacket>) yield p;
}

interface SideEvent { time: bigint; cpu: number; emit: () => void }

/** Kernel-Process and TCPIP events, sorted, emitted before the first packet at or after their time. */
export class SideEvents {
  private queue: SideEvent[] = [];
  private at = 0;
  count = 0;

  constructor(w: EtlWriter, schemas: SchemaEmitter, opts: CommonTraceOptions, start: bigint, lastTime: (cpu: number) => bigint) {
    for (const p of opts.processes ?? []) {
      const kind = p.startTime !== undefined ? 'ProcessStart' : 'ProcessRundown';
      const time = p.startTime ?? start;
      const createTime = p.createTime ?? (p.startTime ?? start - 3600n * FILETIME_SECOND);
      // A start is logged in the parent's context (etl-format.md, Microsoft-Windows-Kernel-Process).
      const hdrPid = kind === 'ProcessStart' ? (p.ppid ?? 4) : p.pid;
      this.kernelProcessEvent(w, schemas, lastTime, kind, time, hdrPid, kind === 'ProcessStart' ? 1000 + (p.ppid ?? 4) : 0, kernelProcessPayload(p, createTime));
      if (p.exitTime !== undefined) {
        this.kernelProcessEvent(w, schemas, lastTime, 'ProcessStop', p.exitTime, p.pid, 1000 + p.pid, kernelProcessStopPayload(p, createTime, p.exitTime));
      }
    }
    for (const ev of opts.tcpipEvents ?? []) {
      const cpu = ev.cpu ?? 0;
      this.queue.push({
        time: ev.time, cpu, emit: () => {
          const t = ev.time > lastTime(cpu) ? ev.time : lastTime(cpu);
          const def = tcpipSchema(ev.kind);
          schemas.ensure(cpu, t, ev.tid ?? 0, ev.pid, 0n, def);
          w.add(cpu, t, eventRecord(w, t, {
            tid: ev.tid ?? 0, pid: ev.pid, provider: TCPIP, id: TcpipEventId[ev.kind], version: 0, channel: 16, level: 4,
            opcode: def.opcode, task: 0, keywords: def.keywords,
          }, [tcpipPayload(ev)]));
        },
      });
    }
    // Stable: rundowns first at equal times, then input order.
    this.queue.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  }

  private kernelProcessEvent(
    w: EtlWriter, schemas: SchemaEmitter, lastTime: (cpu: number) => bigint, kind: keyof typeof KernelProcessEvent,
    time: bigint, pid: number, tid: number, payload: Buffer,
  ): void {
    const e = KernelProcessEvent[kind];
    this.queue.push({
      time, cpu: 0, emit: () => {
        const t = time > lastTime(0) ? time : lastTime(0);
        schemas.ensure(0, t, 0, pid, 0n, kernelProcessSchema(kind));
        w.add(0, t, eventRecord(w, t, {
          tid, pid, provider: KERNEL_PROCESS, id: e.id, version: e.version, channel: 16, level: 4, opcode: e.opcode, task: e.task, keywords: e.keywords,
        }, [payload]));
      },
    });
  }

  /** Emit every side event not later than `time`. */
  until(time: bigint): void {
    while (this.at < this.queue.length && this.queue[this.at]!.time <= time) { this.queue[this.at++]!.emit(); this.count++; }
  }

  rest(): void { this.until(BigInt('0x7fffffffffffffff')); }

  /** Time of the next side event not yet written. */
  nextTime(): bigint | undefined { return this.queue[this.at]?.time; }

  /** Write the next side event. */
  emitNext(): void { const e = this.queue[this.at++]; if (e) { e.emit(); this.count++; } }
}

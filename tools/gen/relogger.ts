// What netsh and pktmon files have in common: both are written by the ETW relogger, so they
// open the same way — start time from the first packet, a logfile header with the shared
// session fields, the embedded-schema emitter, the process/TCPIP side events, and the
// PartitionInfo event the relogger copies to the head of the first data buffer.

import { EtlWriter, UTC_TIME_ZONE, type EtlWriterOptions } from './etl.js';
import { DEFAULT_START, FILETIME_SECOND, iterate, SideEvents, type CommonTraceOptions, type GenPacket, type PacketSource } from './packet.js';
import { PKTMON_MAPS, SchemaEmitter } from './providers.js';

/** The header fields that differ between the netsh and pktmon forms. */
export type FormHeader = Pick<
  EtlWriterOptions,
  'bufferSize' | 'nominalBufferSize' | 'headerBufferSize' | 'compressed' | 'logFileMode' | 'layoutVersion' | 'logFileName' | 'headerPid' | 'headerTid' | 'headerCpuTimes' | 'headerBufferState'
> & Partial<Pick<EtlWriterOptions, 'loggerName' | 'maximumFileSizeMB' | 'circularSlots'>>;

export interface Relogged {
  w: EtlWriter;
  /** The packets, the first one already taken (`first`). */
  it: AsyncGenerator<GenPacket>;
  first: IteratorResult<GenPacket>;
  start: bigint;
  schemas: SchemaEmitter;
  /** Time of the last event written on each CPU (the writer's callers keep it up to date). */
  last: Map<number, bigint>;
  lastTime: (cpu: number) => bigint;
  side: SideEvents;
}

export async function openRelogged(path: string, packets: PacketSource, opts: CommonTraceOptions, form: FormHeader): Promise<Relogged> {
  const it = iterate(packets);
  const first = await it.next();
  const start = opts.startTime ?? (first.done ? DEFAULT_START : first.value.time - FILETIME_SECOND);
  const w = new EtlWriter(path, {
    ...form,
    osVersion: [10, 0], osBuild: opts.osBuild ?? 20348,
    numberOfProcessors: opts.numberOfProcessors ?? 4, cpuSpeedMHz: 2500, timerResolution: 156250,
    startTime: start, bootTime: opts.bootTime ?? start - 86_400n * FILETIME_SECOND, perfFreq: 10_000_000n, timeZone: UTC_TIME_ZONE,
    ...form,
    loggerName: form.loggerName ?? 'Relogger', maximumFileSizeMB: form.maximumFileSizeMB ?? opts.maximumFileSizeMB ?? 512,
  });
  try {
    const schemas = new SchemaEmitter(w, PKTMON_MAPS);
    const last = new Map<number, bigint>();
    const lastTime = (cpu: number): bigint => last.get(cpu) ?? start;
    const side = new SideEvents(w, schemas, opts, start, lastTime);
    w.add(0, start, w.partitionInfo());
    return { w, it, first, start, schemas, last, lastTime, side };
  } catch (e) {
    w.abort();
    throw e;
  }
}

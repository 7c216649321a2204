// `etl-imds info`: what a trace file is and what it holds, in one native pass.
import { native, type Backend } from './native/binding.js';
import type { Diagnostic, TraceHeader } from './native/types.js';
import { fileTimeToIso } from './time.js';

export interface InfoHeader {
  osVersion: string;
  osBuild: number;
  pointerSize: number;
  layoutVersion: string;
  numberOfProcessors: number;
  clockType: number;
  clockName: string;
  perfFreq: number;
  cpuSpeedMHz: number;
  startTime: string;
  endTime: string;
  bootTime: string;
  timerResolution: number;
  logFileMode: string;
  bufferSize: number;
  buffersWritten: number;
  timeZoneBiasMinutes: number;
  loggerName: string;
  logFileName: string;
}

export interface TraceInfo {
  file: string;
  header: InfoHeader;
  buffers: number;
  compressedBuffers: number;
  badBuffers: number;
  records: number;
  unknownRecords: number;
  eventsLost: number;
  buffersLost: number;
  buffersWithLossFlag: number;
  bytesSkipped: number;
  fileSize: number;
  providers: { guid: string; name: string | null; events: Record<string, number> }[];
  diagnostics: Diagnostic[];
}

export function headerForJson(h: TraceHeader): InfoHeader {
  return {
    osVersion: h.osVersion,
    osBuild: h.osBuild,
    pointerSize: h.pointerSize,
    layoutVersion: h.layoutVersion,
    numberOfProcessors: h.numberOfProcessors,
    clockType: h.clockType,
    clockName: h.clockName,
    perfFreq: Number(h.perfFreq),
    cpuSpeedMHz: h.cpuSpeedMHz,
    startTime: fileTimeToIso(h.startTime),
    endTime: fileTimeToIso(h.endTime),
    bootTime: fileTimeToIso(h.bootTime),
    timerResolution: h.timerResolution,
    logFileMode: '0x' + h.logFileMode.toString(16).padStart(8, '0'),
    bufferSize: h.bufferSize,
    buffersWritten: h.buffersWritten,
    timeZoneBiasMinutes: h.timeZoneBiasMinutes,
    loggerName: h.loggerName,
    logFileName: h.logFileName,
  };
}

export async function traceInfo(file: string, backend: Backend = 'portable'): Promise<TraceInfo> {
  const s = await native().summarize(file, backend);
  const providers = s.providers
    .map((p) => ({ guid: p.guid, name: p.name ?? null, events: p.events }))
    .sort((a, b) => total(b.events) - total(a.events) || a.guid.localeCompare(b.guid));
  return {
    file,
    header: headerForJson(s.header),
    buffers: s.stats.buffers,
    compressedBuffers: s.stats.compressedBuffers,
    badBuffers: s.stats.badBuffers,
    records: s.stats.records,
    unknownRecords: s.stats.unknownRecords,
    eventsLost: s.stats.eventsLost,
    buffersLost: s.stats.buffersLost,
    buffersWithLossFlag: s.stats.buffersWithLossFlag,
    bytesSkipped: s.stats.bytesSkipped,
    fileSize: s.stats.fileSize,
    providers,
    diagnostics: s.diagnostics,
  };
}

function total(events: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(events)) n += v;
  return n;
}

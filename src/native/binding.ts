// The one place that loads the addon, and the whole of what it offers: every
// function and class, their options and results, the error codes (the union of
// native/etl/diagnostics.h's list) and the constants. test/native/binding.test.ts
// checks that the built addon exports exactly this. node-gyp-build looks in
// build/Release, then prebuilds/<platform>-<arch>/ relative to the package root.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { PROVIDERS } from '../constants.js';
import type {
  ConvertInterface, ConvertProgress, ConvertSummary, Diagnostic, EventBatch, ImdsPacket, NativeCaptureFacts, TraceEvent, TraceHeader,
} from './types.js';

/** The codes of native/etl/diagnostics.h (ETL_CODES), in its order. */
export const NATIVE_CODES = [
  'open', 'not-etl', 'io', 'backend', 'processtrace',
  'truncated', 'end-missing', 'buffer-size', 'chain-broken', 'buffer-count', 'buffer-offset', 'compression-ratio', 'memory-limit',
  'decompress', 'unknown-record', 'record-size',
  'malformed-event', 'inconsistent-media', 'wifi-metadata-size', 'vmswitch-layout', 'pktmon-packet-type',
  'missing-start', 'missing-end', 'oversize',
  'strict', 'cancelled', 'output', 'internal',
] as const;
export type NativeCode = (typeof NATIVE_CODES)[number];

/** What the addon throws for a file it cannot read or write (bad arguments throw TypeError/RangeError). */
export interface NativeError extends Error {
  code: `ETL_${NativeCode}`;
  file: string;
  offset: number;
  buffer: number;
}

export function isNativeError(e: unknown): e is NativeError {
  if (!(e instanceof Error) || !('code' in e)) return false;
  return typeof e.code === 'string' && e.code.startsWith('ETL_');
}

export type Backend = 'portable' | 'tdh';

export interface NativeStats {
  buffers: number;
  compressedBuffers: number;
  badBuffers: number;
  records: number;
  unknownRecords: number;
  buffersWithLossFlag: number;
  bytesSkipped: number;
  diagnostics: number;
  eventsLost: number;
  buffersLost: number;
  bytesDone: number;
  fileSize: number;
}

export interface TraceReaderOptions {
  /** Only these providers (GUIDs or known names). */
  providers?: string[];
  /** Only these event ids (classic events: the opcode). */
  ids?: number[];
  backend?: Backend;
  /** Decode properties at all (default true). */
  decode?: boolean;
  /** Decode events the file has no schema for with the built-in layouts (default true). */
  knownLayouts?: boolean;
}

export interface NativeTraceReader {
  header(): TraceHeader;
  readBatch(max?: number): Promise<EventBatch & { done: boolean }>;
  stats(): NativeStats;
  close(): void;
}

export interface NativeSummary {
  header: TraceHeader;
  stats: NativeStats;
  providers: { guid: string; name?: string; events: Record<string, number> }[];
  diagnostics: Diagnostic[];
}

export interface NativeConvertOptions {
  /** Only packets logged with this PID. */
  pid?: number;
  imdsOnly?: boolean;
  dedupe?: boolean;
  strict?: boolean;
  backend?: Backend;
  /** The SHB's application name. */
  userAppl?: string;
}

export interface NativeScanOptions {
  pid?: number;
  backend?: Backend;
  /** Records of these providers (GUIDs) are handed out as events in the same pass. */
  collect?: string[];
  /** ... and of these only when their decoded LocalAddress or RemoteAddress is IMDS. */
  collectImdsOnly?: string[];
}

export interface NativeScanBatch {
  packets: ImdsPacket[];
  /** The collected events (process, service and IMDS-connection TCPIP events). */
  events: TraceEvent[];
  diagnostics: Diagnostic[];
  bytesDone: number;
  fileSize: number;
  done: boolean;
}

export interface NativeScanSummary {
  interfaces: ConvertInterface[];
  packets: number;
  records: number;
  stats: Record<string, number>;
  warnings: Record<string, number>;
  warningSamples: string[];
  /** How the file's packets were logged, and what its buffers say of a circular file (src/capture/quality.ts). */
  capture: NativeCaptureFacts;
  header: TraceHeader;
}

export interface NativePacketScan {
  next(max?: number): Promise<NativeScanBatch>;
  summary(): NativeScanSummary;
  close(): void;
}

/** A SOCKADDR_IN / SOCKADDR_IN6, decoded. */
export interface NativeSocketAddress {
  family: 'ipv4' | 'ipv6';
  port: number;
  /** 4 or 16 bytes. */
  address: Uint8Array;
}

export interface NativeConstants {
  imds: { ipv4: Uint8Array; ipv6: Uint8Array; port: number };
  providers: Record<keyof typeof PROVIDERS, string>;
}

export interface NativeBinding {
  /** Always 'portable': the name of the default backend. */
  backend: string;
  /** True in Windows builds, where the ETW consumer API backend is compiled in. */
  tdhAvailable: boolean;
  TraceReader: new (path: string, options?: TraceReaderOptions) => NativeTraceReader;
  /** The whole file in one native pass, for `info`. */
  summarize(path: string, backend?: Backend): Promise<NativeSummary>;
  /** .etl → pcapng; output '-' is stdout. onProgress returning false (or throwing) cancels. */
  convert(input: string, output: string, options?: NativeConvertOptions, onProgress?: (p: ConvertProgress) => unknown): Promise<ConvertSummary>;
  PacketScan: new (input: string, options?: NativeScanOptions) => NativePacketScan;
  scanPackets(input: string, options?: NativeScanOptions): NativePacketScan;
  /** A SOCKADDR property value (TCPIP LocalAddress, RemoteAddress), decoded; null when it is neither kind. */
  socketAddress(bytes: Uint8Array): NativeSocketAddress | null;
  /** NATIVE_CODES as the addon has them. */
  codes: string[];
  constants: NativeConstants;
}

// The lists a test compares with the built addon; the compiler checks that they
// name every member of the interfaces above and nothing else.
type Exactly<T, L extends readonly (keyof T)[]> = [Exclude<keyof T, L[number]>] extends [never] ? L : never;
const exactly = <T>() => <const L extends readonly (keyof T)[]>(list: Exactly<T, L>): L => list;
export const NATIVE_EXPORTS = exactly<NativeBinding>()([
  'backend', 'tdhAvailable', 'TraceReader', 'summarize', 'convert', 'PacketScan', 'scanPackets', 'socketAddress', 'codes', 'constants',
]);
export const TRACE_READER_METHODS = exactly<NativeTraceReader>()(['header', 'readBatch', 'stats', 'close']);
export const PACKET_SCAN_METHODS = exactly<NativePacketScan>()(['next', 'summary', 'close']);
export const CAPTURE_FACT_KEYS = exactly<NativeCaptureFacts>()([
  'packets', 'packetsCut', 'snapLength', 'largestPacket', 'pktmonPackets', 'ndisPackets', 'sawPktmon', 'buffers',
  'oldestSequence', 'newestSequence', 'wrapped', 'completeFrom', 'eventBytes',
]);

const require = createRequire(import.meta.url);
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: NativeBinding | undefined;

/**
 * The single-file executable (src/exe) has no package folder to look in: it loads the addon it
 * carries itself, after checking it, and hands it over here before anything calls native().
 */
export function useNativeBinding(binding: NativeBinding): void {
  cached = binding;
}

export function native(): NativeBinding {
  if (!cached) {
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    cached = load(packageRoot);
  }
  return cached;
}

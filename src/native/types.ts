// Shapes of what the native addon hands to JavaScript (src/native/binding.ts
// declares the functions that return them). Times are UTC FILETIME (100 ns
// since 1601-01-01) as bigint: a double cannot hold them exactly.
import type { NativeCode } from './binding.js';

export interface TraceHeader {
  file: string;
  pointerSize: 4 | 8;
  osVersion: string;          // "10.0"
  osBuild: number;            // ProviderVersion
  layoutVersion: string;      // SubVersion.SubMinorVersion, "2.0" for compressed layout
  numberOfProcessors: number;
  clockType: number;          // 1 QPC, 2 system time, 3 CPU cycles
  clockName: string;
  perfFreq: bigint;
  cpuSpeedMHz: number;
  startTime: bigint;          // FILETIME
  endTime: bigint;            // FILETIME
  bootTime: bigint;
  timerResolution: number;
  logFileMode: number;
  bufferSize: number;         // nominal
  buffersWritten: number;
  /** Session file size limit (MB unless LogFileMode has USE_KBYTES_FOR_SIZE); 0 = none. */
  maximumFileSize: number;
  eventsLost: number;
  buffersLost: number;
  timeZoneBiasMinutes: number;
  loggerName: string;
  logFileName: string;
}

export type RecordKind = 'system' | 'perfinfo' | 'full' | 'instance' | 'event' | 'message';

export type PropertyValue =
  | number | bigint | string | boolean | null
  | Uint8Array | PropertyValue[] | { [name: string]: PropertyValue };

export interface TraceEvent {
  fileTime: bigint;
  cpu: number;
  pid: number;                // 0xFFFFFFFF when the header carries none
  tid: number;
  kind: RecordKind;
  provider: string;           // lower-case GUID, no braces
  providerName?: string;
  id: number;
  version: number;
  opcode: number;
  level: number;
  task: number;
  keywords: bigint;
  channel: number;
  hookId?: number;            // system/perfinfo records
  pointerSize: 4 | 8;
  eventName?: string;         // from an embedded schema
  properties?: Record<string, PropertyValue>; // decoded from an embedded schema or a known layout
  /** Set when the payload ended before the schema's last property (properties holds those before it). */
  propertiesTruncated?: boolean;
  /** Why decoding stopped before the schema's last property. */
  propertiesError?: string;
  userData: Uint8Array;
  bufferIndex: number;
  fileOffset: number;         // file offset of the buffer holding the record
}

/**
 * A problem found in an input, in the one vocabulary every layer uses: the reader and the packet
 * decoders (codes of native/etl/diagnostics.h), the IMDS analysis and the process sources (their
 * own codes, `Code`).
 */
export interface Diagnostic<Code extends string = NativeCode> {
  severity: 'warning' | 'error';
  code: Code;
  message: string;            // the reader's name file, byte offset and buffer index
  file: string;
  offset: number;             // file byte offset (0 when not tied to one)
  buffer: number;             // buffer index in file order, -1 if none
}

export interface TraceStats {
  buffers: number;
  compressedBuffers: number;
  records: number;
  unknownRecords: number;
  eventsLost: number;
  buffersLost: number;
  buffersWithLossFlag: number;
  bytesSkipped: number;
  providers: { guid: string; name?: string; events: Record<string, number> }[];
}

export interface EventBatch {
  events: TraceEvent[];
  diagnostics: Diagnostic[];
}

/** A packet that crossed into JavaScript for the IMDS scan (native selects them). */
export interface ImdsPacket {
  fileTime: bigint;
  cpu: number;
  pid: number;
  tid: number;
  source: 'ndis' | 'pktmon' | 'vmswitch' | 'ndiswan';
  interfaceId: number;        // same numbering as the pcapng IDBs convert writes
  direction: 'in' | 'out' | 'unknown';
  ip: Uint8Array;             // from the IP header on (link layer removed)
  /** Frame bytes logged (link layer included) and on the wire; absent when not known. */
  capturedLength?: number;
  originalLength?: number;
  /** Logged shorter than it was (pktmon --pkt-size, netsh packettruncatebytes). */
  cut?: boolean;
  /** pktmon: the same packet seen at several components shares group+number. */
  pktGroupId?: bigint;
  pktNumber?: number;
  appearance?: number;
  component?: number;
  dropped?: boolean;
  frame: number;              // packet ordinal in the converted pcapng (1-based)
}

/** One pcapng interface (IDB) that convert wrote. */
export interface ConvertInterface {
  id: number;
  name: string;
  description: string;
  linkType: number;           // 1 Ethernet, 101 raw IP, 105 802.11
  source: string;             // ndis, vmswitch, ndiswan, pktmon
  packets: number;
}

export interface ConvertSummary {
  input: string;
  output: string;             // '-' for stdout
  packets: number;            // written
  packetsSeen: number;
  filteredOut: number;
  duplicates: number;
  interfaces: ConvertInterface[];
  warnings: Record<string, number>;
  warningCount: number;
  warningSamples: string[];
  diagnostics: Diagnostic[];
  diagnosticCount: number;
  bytesWritten: number;
  records: number;
  stats: Record<string, number>;
  eventsLost: number;
  buffersLost: number;
  buffersWithLossFlag: number;
  fileSize: number;
}

export interface ConvertProgress {
  bytesDone: number;
  fileSize: number;
  packets: number;
}

/** How a file's packets were logged, and what its buffers say of a circular file: the native scan's side of src/capture/quality.ts, once the file is read. */
export interface NativeCaptureFacts {
  packets: number;
  packetsCut: number;
  snapLength: number;
  largestPacket: number;
  pktmonPackets: number;
  ndisPackets: number;
  sawPktmon: boolean;
  buffers: number;
  oldestSequence: bigint;
  newestSequence: bigint;
  wrapped: boolean;
  /** FILETIME from which a wrapped file misses nothing; 0n when unknown. */
  completeFrom: bigint;
  /** Event bytes the data buffers hold (uncompressed). */
  eventBytes: number;
}

// The one place that loads the addon. node-gyp-build looks in build/Release,
// then prebuilds/<platform>-<arch>/ relative to the package root.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Diagnostic, EventBatch, TraceHeader } from './types.js';

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

export type Backend = 'portable' | 'tdh';

export interface NativeBinding {
  backend: string;
  /** True in Windows builds, where the ETW consumer API backend is compiled in. */
  tdhAvailable: boolean;
  TraceReader: new (path: string, options?: { providers?: string[]; ids?: number[]; backend?: Backend }) => NativeTraceReader;
  summarize(path: string, backend?: Backend): Promise<NativeSummary>;
  // Other areas (capture, pcapng, scan) add their functions; see their modules.
  [name: string]: unknown;
}

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

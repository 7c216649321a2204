// openTrace(): the library's view of one .etl file.
import { native } from './native/binding.js';
import type { Backend, NativeStats } from './native/binding.js';
import type { Diagnostic, EventBatch, TraceHeader } from './native/types.js';

export interface OpenTraceOptions {
  /** Only these providers (GUIDs or known names). */
  providers?: string[];
  /** Only these event ids (classic events: the opcode). */
  ids?: number[];
  /** 'portable' (default, every OS) or 'tdh' (Windows' own ETW consumer, to cross-check). */
  backend?: Backend;
  /** Decode events the file has no schema for with the built-in layouts (native/etl/known_layouts.cc). Default true. */
  knownLayouts?: boolean;
  /** Events per batch (default 4096). */
  batchSize?: number;
}

export interface Trace {
  readonly path: string;
  readonly header: TraceHeader;
  /** Events in the order Windows' ProcessTrace delivers them, in batches. */
  events(): AsyncIterable<EventBatch>;
  /** Reader counters so far (complete once events() has finished). */
  stats(): NativeStats;
  /** Every diagnostic seen so far. */
  readonly diagnostics: Diagnostic[];
  close(): void;
}

export function openTrace(path: string, options: OpenTraceOptions = {}): Trace {
  const reader = new (native().TraceReader)(path, {
    providers: options.providers,
    ids: options.ids,
    backend: options.backend,
    knownLayouts: options.knownLayouts ?? true,
  });
  const header = reader.header();
  const diagnostics: Diagnostic[] = [];
  let iterating = false;
  let closed = false;
  return {
    path,
    header,
    diagnostics,
    stats: () => reader.stats(),
    close() {
      if (!closed) {
        closed = true;
        reader.close();
      }
    },
    async *events() {
      if (iterating) throw new Error('events() can be iterated once per openTrace()');
      iterating = true;
      for (;;) {
        const batch = await reader.readBatch(options.batchSize ?? 4096);
        diagnostics.push(...batch.diagnostics);
        if (batch.events.length > 0 || batch.diagnostics.length > 0) {
          yield { events: batch.events, diagnostics: batch.diagnostics };
        }
        if (batch.done) break;
      }
    },
  };
}

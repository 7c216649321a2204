import type { Argv } from 'yargs';
import { openTrace } from '../trace.js';
import type { PropertyValue, TraceEvent } from '../native/types.js';
import { fileTimeToIso } from '../time.js';
import { EXIT, toCliError } from './exit.js';

export interface EventsArgs {
  file: string;
  provider?: string[];
  id?: number[];
  limit?: number;
  ndjson: boolean;
  strict: boolean;
  backend: 'portable' | 'tdh';
}

export function eventsCommand(y: Argv): Argv {
  return y.command<EventsArgs>(
    'events <file>',
    'One line per event, in the order Windows delivers them',
    (b) =>
      b
        .positional('file', { type: 'string', demandOption: true })
        .option('provider', { type: 'string', array: true, describe: 'only this provider (GUID or name); repeatable' })
        .option('id', { type: 'number', array: true, describe: 'only this event id; repeatable' })
        .option('limit', { type: 'number', describe: 'stop after N events' })
        .option('ndjson', { type: 'boolean', default: false, describe: 'one JSON object per line' })
        .option('strict', { type: 'boolean', default: false, describe: 'exit 2 if any part of the file is damaged' })
        .option('backend', { choices: ['portable', 'tdh'] as const, default: 'portable' as const, describe: "reader: portable (any OS) or tdh (Windows' ETW API)" }) as Argv<EventsArgs>,
    async (args) => {
      let code: number = EXIT.ok;
      try {
        const trace = openTrace(args.file, { providers: args.provider, ids: args.id, backend: args.backend });
        let n = 0;
        const limit = args.limit ?? Infinity;
        const out: string[] = [];
        outer: for await (const batch of trace.events()) {
          for (const d of batch.diagnostics) {
            process.stderr.write(`etl-imds: ${d.severity}: ${d.message}\n`);
            code = args.strict ? EXIT.input : EXIT.partial;
          }
          for (const e of batch.events) {
            if (n++ >= limit) break outer;
            out.push(args.ndjson ? JSON.stringify(eventToJson(e)) : eventLine(e));
          }
          if (out.length) {
            const ok = process.stdout.write(out.join('\n') + '\n');
            out.length = 0;
            if (!ok) await new Promise((r) => process.stdout.once('drain', r));
          }
        }
        if (out.length) process.stdout.write(out.join('\n') + '\n');
        trace.close();
      } catch (e) {
        const err = toCliError(e);
        process.stderr.write(`etl-imds: error: ${err.message}\n`);
        code = err.exitCode;
      }
      process.exitCode = code;
    },
  );
}

function hex(b: Uint8Array, max = 64): string {
  const s = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}

export function jsonValue(v: PropertyValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

export function eventToJson(e: TraceEvent): Record<string, unknown> {
  return {
    time: fileTimeToIso(e.fileTime),
    cpu: e.cpu,
    pid: e.pid,
    tid: e.tid,
    kind: e.kind,
    provider: e.provider,
    providerName: e.providerName ?? null,
    id: e.id,
    version: e.version,
    opcode: e.opcode,
    level: e.level,
    task: e.task,
    keywords: '0x' + e.keywords.toString(16),
    eventName: e.eventName ?? null,
    properties: e.properties ? jsonValue(e.properties) : null,
    userData: e.properties ? undefined : Buffer.from(e.userData).toString('hex'),
  };
}

function eventLine(e: TraceEvent): string {
  const pid = e.pid === 0xffffffff ? '-' : String(e.pid);
  const tid = e.tid === 0xffffffff ? '-' : String(e.tid);
  const props = e.properties
    ? Object.entries(e.properties)
        .map(([k, v]) => `${k}=${fmtValue(v)}`)
        .join(' ')
    : `data=${hex(e.userData)}`;
  return `${fileTimeToIso(e.fileTime)} cpu=${e.cpu} pid=${pid} tid=${tid} ${e.providerName ?? e.provider} id=${e.id} v=${e.version} op=${e.opcode} lvl=${e.level} kw=0x${e.keywords.toString(16)}${e.eventName ? ' ' + e.eventName : ''} ${props}`;
}

function fmtValue(v: PropertyValue): string {
  if (v instanceof Uint8Array) return hex(v, 32);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v) || (v && typeof v === 'object')) return JSON.stringify(jsonValue(v));
  return String(v);
}

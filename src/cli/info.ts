import type { Argv } from 'yargs';
import { traceInfo, type TraceInfo } from '../info.js';
import { EXIT, toCliError } from './exit.js';
import { table } from './table.js';

export interface InfoArgs {
  files: string[];
  json: boolean;
  strict: boolean;
  backend: 'portable' | 'tdh';
}

export function infoCommand(y: Argv): Argv {
  return y.command<InfoArgs>(
    'info <files...>',
    'What a trace holds: OS, clock, times, buffers, records per provider and event id',
    (b) =>
      b
        .positional('files', { type: 'string', array: true, demandOption: true, describe: '.etl files' })
        .option('json', { type: 'boolean', default: false, describe: 'JSON output (one object per file, an array for several)' })
        .option('strict', { type: 'boolean', default: false, describe: 'exit 2 if any part of a file is damaged' })
        .option('backend', { choices: ['portable', 'tdh'] as const, default: 'portable' as const, describe: "reader: portable (any OS) or tdh (Windows' ETW API)" }) as Argv<InfoArgs>,
    async (args) => {
      const results: TraceInfo[] = [];
      let code: number = EXIT.ok;
      for (const f of args.files) {
        try {
          const r = await traceInfo(f, args.backend);
          results.push(r);
          for (const d of r.diagnostics) process.stderr.write(`etl-imds: ${d.severity}: ${d.message}\n`);
          if (r.diagnostics.length > 0 || r.bytesSkipped > 0) code = Math.max(code, args.strict ? EXIT.input : EXIT.partial);
        } catch (e) {
          const err = toCliError(e);
          process.stderr.write(`etl-imds: error: ${err.message}\n`);
          code = Math.max(code, err.exitCode);
        }
      }
      if (args.json) {
        process.stdout.write(JSON.stringify(args.files.length === 1 ? results[0] ?? null : results, null, 2) + '\n');
      } else {
        for (const r of results) process.stdout.write(renderInfo(r) + '\n');
      }
      process.exitCode = code;
    },
  );
}

export function renderInfo(r: TraceInfo): string {
  const h = r.header;
  const lines = [
    `${r.file}`,
    `  OS               Windows ${h.osVersion} build ${h.osBuild}, ${h.pointerSize * 8}-bit, ${h.numberOfProcessors} CPUs`,
    `  Logger           ${h.loggerName || '-'}  (mode ${h.logFileMode}, layout ${h.layoutVersion})`,
    `  Clock            ${h.clockName} (${h.perfFreq} Hz)`,
    `  Start            ${h.startTime}`,
    `  End              ${h.endTime}`,
    `  Buffer size      ${h.bufferSize} bytes nominal`,
    `  Buffers          ${r.buffers} (${r.compressedBuffers} compressed${r.badBuffers ? `, ${r.badBuffers} damaged` : ''})`,
    `  Records          ${r.records} (${r.unknownRecords} unknown)`,
    `  Events lost      ${r.eventsLost}, buffers lost ${r.buffersLost}${r.buffersWithLossFlag ? `, ${r.buffersWithLossFlag} buffers flagged` : ''}`,
  ];
  if (r.bytesSkipped) lines.push(`  Skipped          ${r.bytesSkipped} bytes (damaged)`);
  const rows: string[][] = [];
  for (const p of r.providers) {
    for (const [id, n] of Object.entries(p.events).sort((a, b) => Number(a[0]) - Number(b[0]))) {
      rows.push([p.name ?? p.guid, id, String(n)]);
    }
  }
  lines.push('', table(['Provider', 'Id', 'Records'], rows, [false, true, true]).replace(/^/gm, '  '));
  return lines.join('\n');
}

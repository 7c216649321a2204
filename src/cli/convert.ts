import type { Argv } from 'yargs';
import { statSync } from 'node:fs';
import { convert, ConvertError, defaultOutput } from '../convert.js';
import { isNativeError } from '../native/binding.js';
import { EXIT, CliError } from './exit.js';
import { Progress } from './progress.js';

export function convertCommand(y: Argv): Argv {
  return y.command(
    'convert <file>',
    'Convert a netsh/pktmon .etl capture to pcapng (etl2pcapng-compatible, 100 ns timestamps)',
    (b) =>
      b
        .positional('file', { type: 'string', demandOption: true, describe: 'the .etl capture' })
        .option('output', { alias: ['o', 'w'], type: 'string', describe: 'output file, or - for stdout (default: <input>.pcapng)' })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'overwrite an existing output file' })
        .option('pid', { type: 'number', describe: 'only packets logged with this PID' })
        .option('imds-only', { type: 'boolean', default: false, describe: 'only TCP to/from 169.254.169.254:80 and [fd00:ec2::254]:80' })
        .option('dedupe', { type: 'boolean', default: false, describe: 'pktmon: keep the first appearance of each packet' })
        .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
        .option('strict', { type: 'boolean', default: false, describe: 'stop (exit 2) at the first damaged part of the input' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress or summary on stderr' })
        .option('backend', { choices: ['portable', 'tdh'] as const, default: 'portable' as const, describe: "reader: portable (any OS) or tdh (Windows' ETW API)" }),
    async (args) => {
      const output = args.output ?? defaultOutput(args.file);
      let size = 0;
      try {
        size = statSync(args.file).size;
      } catch {
        /* the native reader reports the real error */
      }
      const progress = new Progress('converting', size, args.quiet || output === '-');
      let cancelled = false;
      const onSigint = () => {
        cancelled = true;
      };
      process.on('SIGINT', onSigint);
      try {
        const s = await convert(args.file, output, {
          pid: args.pid,
          imdsOnly: args.imdsOnly,
          dedupe: args.dedupe,
          strict: args.strict,
          force: args.force,
          backend: args.backend,
          onProgress: (p) => {
            progress.update(p.bytesDone, p.fileSize, `${p.packets} packets`);
            return !cancelled;
          },
        });
        progress.done();
        for (const d of s.diagnostics) process.stderr.write(`etl-imds: ${d.severity}: ${d.message}\n`);
        if (args.json) {
          process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        } else if (!args.quiet) {
          const where = output === '-' ? 'stdout' : output;
          const warn = s.warningCount ? `, ${s.warningCount} warning${s.warningCount === 1 ? '' : 's'}` : '';
          const dup = s.duplicates ? `, ${s.duplicates} duplicate appearances dropped` : '';
          const filt = s.filteredOut ? `, ${s.filteredOut} filtered out` : '';
          process.stderr.write(`Wrote ${s.packets} packets on ${s.interfaces.length} interface${s.interfaces.length === 1 ? '' : 's'} to ${where}${dup}${filt}${warn}\n`);
          for (const w of s.warningSamples.slice(0, 5)) process.stderr.write(`  warning: ${w}\n`);
          if (s.packets === 0) process.stderr.write('  (no packet capture events in this trace: was it taken with capture=yes or pktmon?)\n');
        }
        process.exitCode = s.diagnostics.length > 0 || s.diagnosticCount > 0 ? EXIT.partial : EXIT.ok;
      } catch (e) {
        progress.done();
        if (isNativeError(e) && e.code === 'ETL_cancelled') throw new CliError('interrupted; no output written', EXIT.interrupted);
        if (e instanceof ConvertError) throw new CliError(e.message, e.code === 'EXISTS' || e.code === 'SAME_FILE' ? EXIT.usage : EXIT.input);
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof TypeError) throw new CliError(message, EXIT.usage);
        throw new CliError(message, EXIT.input);
      } finally {
        process.off('SIGINT', onSigint);
      }
    },
  );
}

// The etl-imds command line. Machine output goes to stdout, diagnostics to stderr.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, toCliError } from './exit.js';
import { infoCommand } from './info.js';
import { eventsCommand } from './events.js';
import { registerExtraCommands } from './commands.js';
import { packageVersion } from './version.js';

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  // stdout that cannot take the output: a reader that has gone (`| head`) ends the run quietly
  // with the status decided so far; anything else (a full disk) is an output error, exit 2.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    process.stderr.write(`etl-imds: error: cannot write to stdout: ${e.message}\n`);
    process.exit(EXIT.input);
  });
  let y = yargs(argv)
    .scriptName('etl-imds')
    .usage('$0 <command> [options]\n\nFind IMDSv1 callers in Windows packet traces (netsh trace, pktmon), and convert .etl to pcapng.')
    .strict()
    .demandCommand(1, 'Give a command: scan, convert, info or events.')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion())
    .wrap(Math.min(100, process.stdout.columns || 80))
    .epilog('Exit codes: 0 ok, 1 usage, 2 unreadable input or output, 3 IMDSv1 found (--fail-on-v1), 4 parts of the input damaged and skipped, 130 interrupted.')
    .fail((msg, err, yy) => {
      if (err) throw err;
      void yy;
      process.stderr.write(`etl-imds: ${msg}\nRun 'etl-imds --help' for usage.\n`);
      process.exit(EXIT.usage);
    });
  y = registerExtraCommands(y);
  y = infoCommand(y);
  y = eventsCommand(y);
  try {
    await y.parseAsync();
  } catch (e) {
    const err = toCliError(e);
    process.stderr.write(`etl-imds: error: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}

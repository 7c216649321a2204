// Commands other than info/events register here.
import type { Argv } from 'yargs';
import { convertCommand } from './convert.js';
import { reportCommand } from './report.js';
import { scanCommand } from './scan.js';

export function registerExtraCommands(y: Argv): Argv {
  return reportCommand(convertCommand(scanCommand(y)));
}

// Commands other than info/events register here.
import type { Argv } from 'yargs';
import { captureCommand } from './capture.js';
import { convertCommand } from './convert.js';
import { reportCommand } from './report.js';
import { scanCommand } from './scan.js';

export function registerExtraCommands(y: Argv): Argv {
  return captureCommand(reportCommand(convertCommand(scanCommand(y))));
}

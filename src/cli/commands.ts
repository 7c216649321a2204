// Commands other than info/events (scan, convert) register here.
import type { Argv } from 'yargs';

export function registerExtraCommands(y: Argv): Argv {
  return y;
}

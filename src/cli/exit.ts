// Exit codes (documented in the README) and the error type commands throw.
import { isNativeError } from '../native/binding.js';
export const EXIT = {
  ok: 0,
  usage: 1,
  input: 2,       // unreadable input, not an .etl, output cannot be written
  imdsV1: 3,      // --fail-on-v1 and an IMDSv1 call was found
  partial: 4,     // finished, but damaged parts of the input were skipped
  interrupted: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Turns an error from the addon or the file system into a CliError. */
export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  // The addon throws TypeError for bad arguments (an unknown provider name, ...).
  if (e instanceof TypeError) return new CliError(e.message, EXIT.usage);
  if (isNativeError(e) && e.code === 'ETL_backend') return new CliError(e.message, EXIT.usage);
  const message = (e as { message?: unknown } | null | undefined)?.message;
  return new CliError(typeof message === 'string' ? message : String(e), EXIT.input);
}

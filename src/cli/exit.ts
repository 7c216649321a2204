// Exit codes (documented in the README) and the error type commands throw.
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
  if ((e as { code?: string })?.code === 'ETL_backend') return new CliError((e as Error).message, EXIT.usage);
  const err = e as { message?: string; code?: string };
  const msg = err?.message ?? String(e);
  return new CliError(msg, EXIT.input);
}

// convert(): .etl → pcapng through the native capture engine, one streaming pass.
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { native, type Backend, type NativeConvertOptions } from './native/binding.js';
import type { ConvertProgress, ConvertSummary } from './native/types.js';

export interface ConvertOptions {
  /** Only packets logged with this PID. */
  pid?: number;
  /** Only TCP to/from 169.254.169.254:80 and [fd00:ec2::254]:80. */
  imdsOnly?: boolean;
  /** pktmon: keep only the first appearance of each packet (PktGroupId + PktNumber). */
  dedupe?: boolean;
  /** Any damage in the input is fatal instead of skipped. */
  strict?: boolean;
  backend?: Backend;
  /** Overwrite an existing output file. */
  force?: boolean;
  /** Called now and then; return false to cancel (the partial output is removed). */
  onProgress?: (p: ConvertProgress) => boolean | void;
}

export class ConvertError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** `trace.etl` → `trace.pcapng`, beside the input. */
export function defaultOutput(input: string): string {
  const ext = path.extname(input);
  return (ext.toLowerCase() === '.etl' ? input.slice(0, -ext.length) : input) + '.pcapng';
}

// The output is the input when both name one file: the same file id on the same volume (any
// spelling: links, other letter case or slashes on Windows, another drive letter mapped to the
// same folder). Without ids (the output does not exist yet, or a file system that reports none),
// the canonical paths are compared: folders resolved, names case-insensitively on Windows.
function sameFile(a: string, b: string): boolean {
  const ida = fileId(a);
  const idb = fileId(b);
  if (ida !== undefined && idb !== undefined) return ida === idb;
  return canonicalPath(a) === canonicalPath(b);
}

function fileId(p: string): string | undefined {
  try {
    const st = statSync(p, { bigint: true });
    return st.ino === 0n ? undefined : `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function canonicalPath(p: string): string {
  let dir: string;
  try {
    dir = realpathSync.native(path.dirname(p));
  } catch {
    dir = path.resolve(path.dirname(p));
  }
  const full = path.join(dir, path.basename(p));
  return process.platform === 'win32' ? full.toUpperCase() : full;
}

const REASONS: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
};

export async function convert(input: string, output: string = defaultOutput(input), options: ConvertOptions = {}): Promise<ConvertSummary> {
  // The input first: its problem is the one the user must hear about.
  try {
    if (statSync(input).isDirectory()) throw new ConvertError(`${input}: is a directory, not an .etl file`, 'INPUT');
  } catch (e) {
    if (e instanceof ConvertError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new ConvertError(`${input}: cannot open: ${REASONS[code] ?? code}`, 'INPUT');
  }
  if (output !== '-') {
    if (sameFile(input, output)) throw new ConvertError(`refusing to write the output over the input (${output})`, 'SAME_FILE');
    let exists = false;
    try {
      const st = statSync(output);
      if (st.isDirectory()) throw new ConvertError(`output ${output} is a directory`, 'OUTPUT_DIR');
      exists = true;
    } catch (e) {
      if (e instanceof ConvertError) throw e;
    }
    if (exists && !options.force) throw new ConvertError(`output ${output} exists; use --force to overwrite it`, 'EXISTS');
    try {
      if (!statSync(path.dirname(path.resolve(output))).isDirectory()) throw new Error();
    } catch {
      throw new ConvertError(`output folder ${path.dirname(path.resolve(output))} does not exist`, 'NO_DIR');
    }
  }
  const opts: NativeConvertOptions = {
    imdsOnly: options.imdsOnly ?? false,
    dedupe: options.dedupe ?? false,
    strict: options.strict ?? false,
    backend: options.backend ?? 'portable',
    userAppl: 'etl-imds',
  };
  if (options.pid !== undefined) opts.pid = options.pid;
  return native().convert(input, output, opts, options.onProgress ? (p) => options.onProgress!(p) !== false : undefined);
}

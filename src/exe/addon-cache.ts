// The native addon of the single-file executable. A program can only load a library from a file,
// so the addon the executable carries is written once to a per-user cache folder, in a subfolder
// named by its SHA-256, and loaded from there with process.dlopen. The executable often runs as
// Administrator or SYSTEM (through SSM), so a file planted there must never be loaded:
// - the file's SHA-256 is checked against the one built into the executable before every
//   dlopen; a wrong file is replaced (temporary file + rename), and refused if that fails;
// - the folders are made so that only the current user can write to them. On POSIX: mode 0700,
//   owned by this user, not a symbolic link (checked each time; a folder owned by anyone else is
//   refused). On Windows Node cannot set or read ACLs: the cache goes under %LOCALAPPDATA%, whose
//   ACL (inherited by what is created in it) lets only the user, SYSTEM and Administrators write;
//   links and junctions are refused. What remains between the check and the load is a race only
//   someone who can already write as this user could run.
// - concurrent first runs each write their own temporary file and rename it into place; the
//   bytes are the same, so whichever rename lands is right.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, chmodSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Anything that stops the addon from being prepared; the CLI prints it and exits 2. */
export class AddonCacheError extends Error {}

export interface CacheLocation {
  /** The per-user folder; the addon goes in `<root>/<sha256>/etl-imds.node`. */
  root: string;
  /** The folder `root` is made in: it must exist already. */
  parent: string;
}

/**
 * Where the cache is: ETL_IMDS_CACHE if set (made if missing, its parent must exist); on Windows
 * %LOCALAPPDATA%\etl-imds; on POSIX <temporary folder>/etl-imds-<uid>.
 */
export function cacheLocation(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): CacheLocation {
  let root: string;
  if (env.ETL_IMDS_CACHE) root = path.resolve(env.ETL_IMDS_CACHE);
  else if (platform === 'win32') {
    // Never the shared temporary folder (C:\Windows\Temp for SYSTEM): any user can create
    // folders there, and Node cannot check who owns one.
    const local = env.LOCALAPPDATA || (env.USERPROFILE ? path.join(env.USERPROFILE, 'AppData', 'Local') : undefined);
    if (!local) throw new AddonCacheError(`neither LOCALAPPDATA nor USERPROFILE is set, so there is no folder of this user's for the native addon (${HINT})`);
    root = path.join(local, 'etl-imds');
  } else root = path.join(os.tmpdir(), `etl-imds-${process.getuid!()}`);
  return { root, parent: path.dirname(root) };
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such folder',
  ENOTDIR: 'not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};
const reason = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return REASONS[err.code ?? ''] ?? err.message;
};
const HINT = 'set ETL_IMDS_CACHE to a folder of your own (or TMPDIR / LOCALAPPDATA) and run again';

/** Checks that `dir` is a real folder that only this user can write to (see the top of this file). */
function checkPrivate(dir: string, st: Stats): void {
  if (st.isSymbolicLink()) throw new AddonCacheError(`${dir} is a link, not a folder of its own; refusing to load the addon from it (${HINT})`);
  if (!st.isDirectory()) throw new AddonCacheError(`${dir} is not a folder; cannot keep the addon there (${HINT})`);
  if (process.platform === 'win32') return;
  const uid = process.getuid!();
  if (st.uid !== uid) throw new AddonCacheError(`${dir} belongs to user ${st.uid}, not to this user (${uid}); refusing to load the addon from it (${HINT})`);
  if ((st.mode & 0o077) !== 0) {
    // Ours, but others could write to it: close it; what is inside is checked by hash anyway.
    try {
      chmodSync(dir, 0o700);
    } catch (e) {
      throw new AddonCacheError(`cannot make ${dir} private (mode 0700): ${reason(e)} (${HINT})`);
    }
  }
}

/** Makes `dir` (its parent must exist) or checks the one there. */
function privateDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      const what = code === 'ENOENT' ? `the folder ${path.dirname(dir)} does not exist` : `cannot create ${dir}: ${reason(e)}`;
      throw new AddonCacheError(`cannot write the native addon to its cache: ${what} (${HINT})`);
    }
  }
  checkPrivate(dir, lstatSync(dir));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The file's SHA-256, or undefined when there is no regular file (of ours) there. */
function hashOf(file: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return 'not a regular file';
  if (process.platform !== 'win32' && st.uid !== process.getuid!()) return `owned by user ${st.uid}`;
  try {
    return sha256(readFileSync(file));
  } catch {
    return undefined;
  }
}

function writeAtomically(dir: string, file: string, bytes: Uint8Array): void {
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(temp, 'wx', 0o700);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, file);
    } catch (e) {
      // Windows: another etl-imds.exe has the file loaded, so it cannot be replaced. If it is the
      // right one, that is fine; the check below says.
      if (hashOf(file) === undefined) throw e;
    }
  } catch (e) {
    throw new AddonCacheError(`cannot write the native addon to ${dir}: ${reason(e)} (${HINT})`);
  } finally {
    rmSync(temp, { force: true });
  }
}

export interface PreparedAddon {
  /** The checked file to dlopen. */
  file: string;
  /** True when this run wrote it (first run, or a wrong file replaced). */
  written: boolean;
}

/**
 * Makes sure `<root>/<sha256>/etl-imds.node` holds exactly the addon with `expectedSha256`,
 * writing `bytes()` there when it does not. Throws AddonCacheError when it cannot.
 */
export function prepareAddon(expectedSha256: string, bytes: () => Uint8Array, location: CacheLocation = cacheLocation()): PreparedAddon {
  if (!/^[0-9a-f]{64}$/.test(expectedSha256)) throw new AddonCacheError('the executable carries no addon checksum');
  if (location.root !== path.resolve(location.root)) throw new AddonCacheError(`the addon cache ${location.root} is not an absolute path`);
  privateDir(location.root);
  const dir = path.join(location.root, expectedSha256);
  privateDir(dir);
  const file = path.join(dir, 'etl-imds.node');
  let written = false;
  const found = hashOf(file);
  if (found !== expectedSha256) {
    if (found !== undefined) rmSync(file, { force: true, recursive: true }); // wrong or planted: never loaded
    const addon = bytes();
    if (sha256(addon) !== expectedSha256) throw new AddonCacheError('the addon inside the executable does not match its checksum (a damaged file?)');
    writeAtomically(dir, file, addon);
    written = true;
  }
  return { file, written };
}

/** dlopen of the prepared addon, its SHA-256 checked once more right before. */
export function loadAddon(prepared: PreparedAddon, expectedSha256: string): unknown {
  const now = hashOf(prepared.file);
  if (now !== expectedSha256) throw new AddonCacheError(`${prepared.file} changed before it could be loaded (${now ?? 'gone'}); refusing to load it`);
  const module = { exports: {} as unknown };
  try {
    process.dlopen(module, prepared.file, os.constants.dlopen.RTLD_NOW);
  } catch (e) {
    const noexec = process.platform !== 'win32' && /failed to map segment|operation not permitted/i.test(String((e as Error).message));
    throw new AddonCacheError(`cannot load the native addon from ${prepared.file}: ${(e as Error).message}${noexec ? ' (is the folder on a file system mounted noexec?)' : ''} (${HINT})`);
  }
  return module.exports;
}

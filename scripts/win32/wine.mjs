// Running Windows programs (node.exe, etl-imds.exe) under Wine 8, for the tests in test/windows
// and for the win32 executable's code cache (scripts/exe). What Wine needs, learnt the hard way:
// - its own prefix per session, set to Windows 10 (the default, Windows 7, is refused by Node 20);
// - one wineserver for the session, started persistent with its stdio on /dev/null (the helper
//   processes Wine starts keep the stdio of whoever started them: a pipe would never close),
//   killed at the end;
// - stdout and stderr of a Windows program go to files: node.exe under Wine dies with EBADF when
//   they are Unix pipes or sockets.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const loader = ['/usr/lib/wine/wine64', '/usr/lib64/wine/wine64', '/opt/wine-stable/bin/wine64'].find((f) => existsSync(f));
const server = ['/usr/lib/wine/wineserver64', '/usr/lib/wine/wineserver', '/usr/bin/wineserver'].find((f) => existsSync(f));

/** Why Wine cannot run here, or undefined when it can. */
export function wineMissing() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `Wine tests run on linux-x64 only (this is ${process.platform}-${process.arch})`;
  if (!loader || !server) return 'wine64 not installed (Debian packages wine, wine64)';
  return undefined;
}

/** Linux path → the same file seen from Windows under Wine (drive Z: is /). */
export function winPath(p) {
  return 'Z:' + path.resolve(p).replace(/\//g, '\\');
}

export class WineSession {
  /**
   * A new prefix under `dir` (default: a temporary folder), Windows 10, and its wineserver.
   * @param {{ dir?: string, log?: (m: string) => void }} [options]
   */
  static async start(options = {}) {
    const missing = wineMissing();
    if (missing) throw new Error(missing);
    const root = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'etl-imds-wine-'));
    const s = new WineSession(root, options.log ?? (() => {}));
    await s.#boot();
    return s;
  }

  #root;
  #log;
  #stopped = false;
  /** @type {Record<string, string>} */
  env;

  constructor(root, log) {
    this.#root = root;
    this.#log = log;
    this.prefix = path.join(root, 'prefix');
    this.env = {
      ...process.env,
      WINEPREFIX: this.prefix,
      WINEARCH: 'win64',
      WINEDEBUG: '-all',
      // No Mono or Gecko installers, no desktop: Node is a console program.
      WINEDLLOVERRIDES: 'mscoree,mshtml=;winemenubuilder.exe=d',
      DISPLAY: '',
      WAYLAND_DISPLAY: '',
    };
  }

  async #boot() {
    const t0 = Date.now();
    mkdirSync(this.prefix, { recursive: true });
    const quiet = { env: this.env, stdio: 'ignore' };
    const p = spawnSync(server, ['-p'], quiet);
    if (p.status !== 0) throw new Error(`wineserver -p failed (${p.status})`);
    const boot = spawnSync(loader, ['wineboot', '--init'], { ...quiet, timeout: 600_000 });
    if (boot.status !== 0) throw new Error(`wineboot --init failed (${boot.status ?? boot.signal})`);
    // winecfg -v writes the Windows version (CurrentVersion 10.0, CurrentMajorVersionNumber 10,
    // CurrentBuildNumber) into the prefix's registry.
    const cfg = spawnSync(loader, ['winecfg', '-v', 'win10'], { ...quiet, timeout: 120_000 });
    if (cfg.status !== 0) throw new Error(`winecfg -v win10 failed (${cfg.status ?? cfg.signal})`);
    this.#log(`Wine prefix ${this.prefix} ready (Windows 10) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** Makes drive `letter`: show the Linux folder `dir`. */
  mapDrive(letter, dir) {
    const link = path.join(this.prefix, 'dosdevices', `${letter.toLowerCase()}:`);
    rmSync(link, { force: true });
    symlinkSync(path.resolve(dir), link);
  }

  /**
   * Runs a Windows program; stdout and stderr through files (see above).
   * @param {string} exe Linux path of the .exe
   * @param {string[]} args arguments as the Windows program sees them
   * @param {{ cwd?: string, env?: Record<string, string | undefined>, timeoutMs?: number }} [options]
   * @returns {Promise<{ code: number | null, stdout: string, stderr: string, stdoutBytes: Buffer }>}
   */
  run(exe, args, options = {}) {
    if (this.#stopped) throw new Error('the Wine session has ended');
    const io = mkdtempSync(path.join(this.#root, 'io-'));
    const outFile = path.join(io, 'stdout');
    const errFile = path.join(io, 'stderr');
    const out = openSync(outFile, 'w');
    const err = openSync(errFile, 'w');
    const timeoutMs = options.timeoutMs ?? 300_000;
    return new Promise((resolve, reject) => {
      const child = spawn(loader, [exe, ...args], {
        cwd: options.cwd,
        env: { ...this.env, ...options.env },
        stdio: ['ignore', out, err],
      });
      closeSync(out);
      closeSync(err);
      // Not a time limit on the program: a hang guard, so a stuck Windows program fails its test
      // instead of the whole suite.
      const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(guard);
        reject(e);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(guard);
        const stdoutBytes = readFileSync(outFile);
        const stderr = readFileSync(errFile, 'utf8');
        rmSync(io, { recursive: true, force: true });
        resolve({
          code: signal ? null : code,
          stdout: stdoutBytes.toString('utf8'),
          stdoutBytes,
          stderr: signal ? `${stderr}\n[killed by the hang guard after ${timeoutMs} ms]` : stderr,
        });
      });
    });
  }

  /** Ends every Wine process of the session and removes the prefix. */
  stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    spawnSync(server, ['-k'], { env: this.env, stdio: 'ignore' });
    spawnSync(server, ['-w'], { env: this.env, stdio: 'ignore', timeout: 60_000 });
    rmSync(this.#root, { recursive: true, force: true });
  }
}

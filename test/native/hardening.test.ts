// The native code under libFuzzer and under ASan + UBSan, from the test suite
// so that `.ci/run` covers them and its pass/fail count includes them:
//   test/fuzz/run.sh     builds the fuzzers with clang, replays the committed
//                        regression inputs, fuzzes each target FUZZ_SECONDS
//                        (default 60) from seeds cut out of the real fixtures;
//   test/native/asan.sh  the C++ tests, etl_dump and convert over every
//                        fixture and generated trace, and the regression
//                        inputs, built with -fsanitize=address,undefined.
// Each script exits non-zero on any crash, sanitizer report, leak, timeout or
// OOM and prints the reproducer; a missing tool skips, with the reason shown.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// libFuzzer comes with clang's runtime (Debian: libclang-rt-14-dev); check it links.
function fuzzerLinks(): boolean {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'etl-fuzzcheck-'));
  try {
    const src = path.join(dir, 'f.cc');
    writeFileSync(src, 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n');
    return spawnSync('clang++', ['-fsanitize=fuzzer,address,undefined', src, '-o', path.join(dir, 'f')], { stdio: 'ignore' }).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function missing(tools: string[]): string | undefined {
  const absent = tools.filter((t) => !has(t));
  return absent.length ? `${absent.join(', ')} not found` : undefined;
}

const fuzzSkip = missing(['clang', 'clang++', 'cmake']) ?? (fuzzerLinks() ? undefined : 'clang cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)');
const asanSkip = missing(['cmake', 'c++']);
if (fuzzSkip) process.stderr.write(`SKIP fuzzing: ${fuzzSkip}\n`);
if (asanSkip) process.stderr.write(`SKIP sanitizer run: ${asanSkip}\n`);

interface Run { code: number | null; output: string }

// Runs a script, streaming nothing but keeping its output for the assertion message.
function runScript(script: string, env: Record<string, string>, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(repoRoot, script)], { cwd: repoRoot, env: { ...process.env, ...env }, detached: true });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    // On a timeout, end the whole process group (the script and the fuzzer it runs).
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const targets = (process.env.FUZZ_TARGETS ?? 'reader decompress schema extractor pcapng').split(/\s+/).filter(Boolean);

describe('native hardening', () => {
  it.skipIf(fuzzSkip !== undefined)(
    `libFuzzer: ${targets.join(', ')} for ${seconds} s each, regressions replayed${fuzzSkip ? ` (skipped: ${fuzzSkip})` : ''}`,
    async () => {
      const r = await runScript('test/fuzz/run.sh', { FUZZ_SECONDS: String(seconds) }, (targets.length * seconds + 900) * 1000);
      // The script's own log says what ran, for how long, and what was found.
      process.stdout.write(r.output.split('\n').filter((l) => l.startsWith('[fuzz') || l.startsWith('fuzz:')).join('\n') + '\n');
      expect(r.code, r.output.slice(-6000)).toBe(0);
      expect(r.output).toContain('fuzz: all targets clean');
    },
    (targets.length * seconds + 960) * 1000,
  );

  it.skipIf(asanSkip !== undefined)(
    `ASan + UBSan: native tests, every fixture and generated trace, fuzz regressions${asanSkip ? ` (skipped: ${asanSkip})` : ''}`,
    async () => {
      const r = await runScript('test/native/asan.sh', {}, 1_500_000);
      process.stdout.write(r.output.split('\n').filter((l) => l.startsWith('[asan') || l.startsWith('asan:')).join('\n') + '\n');
      expect(r.code, r.output.slice(-6000)).toBe(0);
      expect(r.output).toContain('asan: clean');
    },
    1_560_000,
  );

  // The vitest suite with the addon built under ASan + UBSan (libasan preloaded
  // into Node). Opt-in: it roughly triples the suite's time.
  const addonSkip = !process.env.ETL_ASAN_ADDON ? 'set ETL_ASAN_ADDON=1 to run it (slow)' : (asanSkip ?? missing(['gcc', 'git']));
  it.skipIf(addonSkip !== undefined)(
    `ASan + UBSan addon under the vitest suite${addonSkip ? ` (skipped: ${addonSkip})` : ''}`,
    async () => {
      const r = await runScript('test/native/asan-addon.sh', {}, 3_000_000);
      process.stdout.write(r.output.split('\n').filter((l) => l.startsWith('[asan-addon') || /^\s+Tests? /.test(l)).join('\n') + '\n');
      expect(r.code, r.output.slice(-6000)).toBe(0);
      expect(r.output).toContain('asan-addon: clean');
    },
    3_060_000,
  );
});

// Checks a real capture made on a Windows runner (.github/workflows/ci.yml, job "capture"):
// `etl-imds scan --json` must list exactly the processes that made our IMDS calls, each with the
// class of its call. The suite runs it on generated traces (test/ci/check-capture.test.ts).
//   node scripts/ci/check-capture.mjs --expect callers.json [--backend portable|tdh]
//        [--etl-imds bin/etl-imds.js | path\to\etl-imds.exe] [--command-lines] TRACE.etl
//   node scripts/ci/check-capture.mjs --expect callers.json [--command-lines] --scan-json SCAN.json
// --scan-json checks a scan made already (`etl-imds capture stop --json --out DIR` wrote it);
// --command-lines also wants each caller's requests to carry its command line, naming its image
// (a kernel process session ran beside the capture: `capture start --command-lines`).
// callers.json (scripts/ci/imds-callers.ps1 writes it):
//   { "callers": [ { "pid": 1234, "class": "v1", "paths": ["/latest/meta-data/..."] }, ... ] }
// "Ours" are the requests to the callers' paths (each run uses paths of its own; the token PUT's
// path is fixed). Other processes on the runner may call the metadata service too: they are
// listed, not failed. Exit 0 when it holds, 1 with every problem listed, 2 when scan fails.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What is wrong with `scan` (the parsed output of `scan --json`) given the expected callers:
 * an empty list when each caller, and only it, made its requests with its class.
 * @param {{ requests: { pid: number | null, class: string, method: string | null, path: string | null, commandLine?: string | null }[] }} scan
 * @param {{ callers: { pid: number, class: string, paths: string[], image?: string }[] }} expected
 * @param {{ commandLines?: boolean }} [options] commandLines: each caller's requests must carry a command line naming its image
 */
export function captureProblems(scan, expected, { commandLines = false } = {}) {
  const problems = [];
  const byPid = new Map(expected.callers.map((c) => [c.pid, c]));
  const ourPaths = new Set(expected.callers.flatMap((c) => c.paths));
  if (byPid.size !== expected.callers.length) problems.push('the expected callers repeat a PID');
  const ours = scan.requests.filter((q) => q.path !== null && ourPaths.has(q.path));
  for (const c of expected.callers) {
    const made = scan.requests.filter((q) => q.pid === c.pid);
    if (made.length === 0) problems.push(`PID ${c.pid} (${c.class}): no request found`);
    for (const q of made) {
      if (q.class !== c.class) problems.push(`PID ${c.pid}: ${q.method} ${q.path} classed ${q.class}, expected ${c.class}`);
      if (commandLines && !(typeof q.commandLine === 'string' && q.commandLine.toLowerCase().includes(String(c.image ?? '').toLowerCase().replace(/\.exe$/, '')))) {
        problems.push(`PID ${c.pid}: ${q.method} ${q.path} has command line ${JSON.stringify(q.commandLine ?? null)}, expected one naming ${c.image ?? 'its image'}`);
      }
      if (q.path === null || !c.paths.includes(q.path)) problems.push(`PID ${c.pid}: an unexpected request ${q.method} ${q.path}`);
    }
  }
  for (const q of ours) {
    const c = q.pid === null ? undefined : byPid.get(q.pid);
    if (!c) problems.push(`${q.method} ${q.path} (${q.class}) credited to PID ${q.pid}, which is not one of ours (${[...byPid.keys()].join(', ')})`);
  }
  return problems;
}

function parseArgs(argv) {
  const o = { backend: 'portable', etlImds: path.join(repoRoot, 'bin', 'etl-imds.js'), expect: undefined, trace: undefined, scanJson: undefined, commandLines: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--expect') o.expect = argv[++i];
    else if (a === '--backend') o.backend = argv[++i];
    else if (a === '--etl-imds') o.etlImds = argv[++i];
    else if (a === '--scan-json') o.scanJson = argv[++i];
    else if (a === '--command-lines') o.commandLines = true;
    else if (!a.startsWith('--') && !o.trace) o.trace = a;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.expect || !o.trace === !o.scanJson) throw new Error('usage: check-capture.mjs --expect callers.json [--backend portable|tdh] [--etl-imds CLI] [--command-lines] TRACE.etl | --scan-json SCAN.json');
  return o;
}

function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`check-capture: ${e.message}\n`);
    return 2;
  }
  // PowerShell 5 writes UTF-8 with a byte order mark.
  const expected = JSON.parse(readFileSync(o.expect, 'utf8').replace(/^\uFEFF/, ''));
  let scan;
  let label;
  if (o.scanJson) {
    label = path.basename(o.scanJson);
    try {
      scan = JSON.parse(readFileSync(o.scanJson, 'utf8'));
    } catch (e) {
      process.stderr.write(`check-capture: ${o.scanJson}: ${e.message}\n`);
      return 2;
    }
  } else {
    const [cmd, pre] = o.etlImds.endsWith('.js') ? [process.execPath, [o.etlImds]] : [o.etlImds, []];
    const r = spawnSync(cmd, [...pre, 'scan', '--json', '--backend', o.backend, o.trace], { encoding: 'utf8', maxBuffer: 1 << 28 });
    label = `${path.basename(o.etlImds)} scan --backend ${o.backend} ${path.basename(o.trace)}`;
    process.stderr.write(r.stderr ?? '');
    if (r.status !== 0 && r.status !== 4) {
      process.stderr.write(`check-capture: ${label}: exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n`);
      return 2;
    }
    scan = JSON.parse(r.stdout);
  }
  for (const q of scan.requests) console.log(`  PID ${String(q.pid).padStart(6)}  ${q.class.padEnd(7)} ${q.method} ${q.path}  → ${q.status ?? '-'}  (${q.image ?? '?'}, PID from ${q.attribution})`);
  const problems = captureProblems(scan, expected, { commandLines: o.commandLines });
  if (problems.length === 0) {
    console.log(`check-capture: ${label}: each of PIDs ${expected.callers.map((c) => `${c.pid} (${c.class})`).join(', ')} found, and only with its own calls`);
    return 0;
  }
  for (const p of problems) process.stderr.write(`check-capture: ${label}: ${p}\n`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();

// NDJSON of a generated fleet, as `capture stop --ndjson` writes it on each instance and the SSM
// document stores it (<dir>/dt=YYYY-MM-DD/<instance>-<time>-<trace>.ndjson): per instance one file line,
// its IMDS callers' process lines and their request lines. Callers are drawn from a pool of
// images and command lines, a few common, most rare, as on a real fleet. Deterministic for a seed.
// Used by the report bench (bench/report.mjs) and test/fleet/report.test.ts, which also compare
// `etl-imds report` with `expectedRows`, the same table worked out the plain way, in memory.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** xorshift32: the same fleet for the same seed on every machine. */
class Rng {
  constructor(seed) {
    this.s = seed >>> 0 || 1;
  }
  next() {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 2 ** 32;
  }
  int(n) {
    return Math.floor(this.next() * n);
  }
}

const CALLERS = [
  ['powershell.exe', 'powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\Amazon\\EC2-Windows\\Launch\\Scripts\\InitializeInstance.ps1'],
  ['powershell.exe', 'powershell.exe -NonInteractive -Command "Get-EC2InstanceMetadata -Category InstanceId"'],
  ['python.exe', '"C:\\Program Files\\Python39\\python.exe" C:\\apps\\inventory\\collect.py --daily'],
  ['java.exe', '"C:\\Program Files\\Amazon Corretto\\jdk1.8.0_292\\bin\\java.exe" -jar C:\\apps\\billing\\billing-agent.jar'],
  ['node.exe', '"C:\\Program Files\\nodejs\\node.exe" C:\\apps\\web\\server.js'],
  ['curl.exe', 'curl.exe -s http://169.254.169.254/latest/meta-data/instance-id'],
  ['cfn-hup.exe', '"C:\\Program Files\\Amazon\\cfn-bootstrap\\cfn-hup.exe"'],
  ['Backup.exe', '"C:\\Program Files\\Vendor\\Backup\\Backup.exe" /service'],
  ['svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p'],
  ['(unknown)', null],
];
const PATHS_V1 = ['/latest/meta-data/instance-id', '/latest/meta-data/iam/security-credentials/', '/latest/meta-data/placement/region'];
const PATHS_V2 = ['/latest/meta-data/iam/security-credentials/app-role', '/latest/dynamic/instance-identity/document'];
const START = Date.UTC(2024, 5, 1);

const iso = (ms, extra = 0) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, f) => `.${f}${String(extra % 10000).padStart(4, '0')}Z`);

/** The caller's index in CALLERS: a handful common, the rest rare. */
function pickCaller(rng, i) {
  const r = rng.next();
  if (r < 0.35) return 0;
  if (r < 0.55) return 1;
  if (r < 0.7) return 4;
  if (r < 0.8) return 3;
  // rare ones: a command line that differs per instance now and then (a version in the path)
  return 2 + rng.int(CALLERS.length - 2) + (i % 97 === 0 ? 100 : 0);
}

function callerOf(index, instance) {
  if (index >= 100) return ['python.exe', `"C:\\Program Files\\Python39\\python.exe" C:\\apps\\one-off\\${instance}.py`];
  return CALLERS[index];
}

/** The NDJSON lines of one instance. */
export function instanceLines(n, rng) {
  const instanceId = `i-${(0x1000000000000 + n * 7919).toString(16).padStart(17, '0').slice(-17)}`;
  const host = `EC2AMAZ-${(n * 48271 % 0xfffffff).toString(36).toUpperCase().padStart(7, '0')}`;
  const file = 'C:\\ProgramData\\etl-imds\\imds-netsh.etl';
  const where = { host, instanceId, file };
  const day = START + (n % 7) * 86400000;
  const lines = [];
  const processes = [];
  const requests = [];
  const callers = 1 + rng.int(6);
  let pid = 1000 + rng.int(4000);
  for (let c = 0; c < callers; c++) {
    pid += 4 + 4 * rng.int(200);
    const [image, commandLine] = callerOf(pickCaller(rng, n + c), instanceId);
    const v1 = rng.next() < 0.6 ? 1 + rng.int(5) : 0;
    const token = rng.next() < 0.5 ? 1 : 0;
    // A process without a token PUT of its own can still send one it got from another (v2).
    const v2 = token || v1 === 0 ? 1 + rng.int(4) : 0;
    const refused = v1 > 0 && n % 5 === 0; // these instances already require tokens: v1 gets 401
    const first = day + rng.int(80000000);
    const statuses = {};
    const reqs = [];
    const add = (cls, method, p, status, t) => {
      reqs.push({ cls, method, p, status, t });
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
    };
    let t = first;
    for (let k = 0; k < token; k++) add('token', 'PUT', '/latest/api/token', 200, (t += 10));
    for (let k = 0; k < v2; k++) add('v2', 'GET', PATHS_V2[k % PATHS_V2.length], 200, (t += 10));
    for (let k = 0; k < v1; k++) add('v1', 'GET', PATHS_V1[k % PATHS_V1.length], refused ? 401 : 200, (t += 10));
    const key = `${pid}#1`;
    const paths = [...new Set(reqs.map((r) => r.p))].sort();
    processes.push({
      type: 'process', ...where, key, pid, image: image === '(unknown)' ? null : image, imagePath: null, commandLine, services: [],
      user: { sid: 'S-1-5-18', name: 'SYSTEM' }, sessionId: 0, startTime: iso(first - 5000), exitTime: null,
      parents: [], parentsEnd: { reason: 'not-in-trace', pid: 700 }, nameSource: 'trace', nameConfidence: 'high',
      v1, v2, token, unknown: 0, paths, v1Paths: [...new Set(reqs.filter((r) => r.cls === 'v1').map((r) => r.p))].sort(),
      statuses, attributionCounts: { packet: reqs.length }, userAgents: [], firstSeen: iso(reqs[0].t, n), lastSeen: iso(reqs.at(-1).t, n),
    });
    for (const r of reqs) {
      requests.push({
        type: 'request', ...where, time: iso(r.t, n), pid, processKey: key, commandLine, tid: pid + 4, attribution: 'packet',
        image: image === '(unknown)' ? null : image, services: [], nameSource: 'trace', nameConfidence: 'high', class: r.cls,
        method: r.method, path: r.p, pathCut: false, status: r.status, reason: null, endpoint: '169.254.169.254', clientPort: 49152 + rng.int(16000),
        userAgent: null, flags: [], frames: [1 + rng.int(1000)], connection: 1 + rng.int(20),
      });
    }
  }
  lines.push({
    type: 'file', ...where, error: null, packets: 20 * requests.length, connections: processes.length, requests: requests.length,
    names: { source: 'trace', traceProcesses: 40 + rng.int(60) }, capture: null, diagnostics: [], warnings: [],
  });
  lines.push(...processes, ...requests);
  return { instanceId, day, lines };
}

/**
 * Writes `count` instances' NDJSON under dir/dt=YYYY-MM-DD/; returns the files and the lines' total
 * size. `requests: false` leaves out the request lines (report reads nothing from them).
 */
export function writeFleet(dir, count, seed = 1, { requests = true } = {}) {
  const rng = new Rng(seed);
  const files = [];
  let bytes = 0;
  for (let n = 0; n < count; n++) {
    const { instanceId, day, lines } = instanceLines(n, rng);
    const dt = new Date(day).toISOString().slice(0, 10);
    const sub = path.join(dir, `dt=${dt}`);
    if (n < 7) mkdirSync(sub, { recursive: true });
    const file = path.join(sub, `${instanceId}-${dt.replace(/-/g, '')}T120000Z-imds-netsh.ndjson`);
    const text = lines.filter((l) => requests || l.type !== 'request').map((l) => JSON.stringify(l)).join('\n') + '\n';
    writeFileSync(file, text);
    bytes += text.length;
    files.push(file);
  }
  return { files, bytes };
}

/** The lines `writeFleet` writes for `count` instances of `seed`, as objects. */
export function* fleetLines(count, seed = 1) {
  const rng = new Rng(seed);
  for (let n = 0; n < count; n++) yield* instanceLines(n, rng).lines;
}

/** The fleet table for `count` instances of `seed`, the plain way: every line in memory. */
export function expectedRows(count, seed = 1) {
  const rows = new Map();
  const all = new Set();
  const withV1 = new Set();
  {
    for (const l of fleetLines(count, seed)) {
      all.add(l.instanceId);
      if (l.type !== 'process') continue;
      const k = JSON.stringify([l.image, l.commandLine]);
      const r = rows.get(k) ?? { image: l.image, commandLine: l.commandLine, instances: new Set(), processes: 0, v1: 0, v2: 0, token: 0, unknown: 0, statuses: {}, firstSeen: l.firstSeen, lastSeen: l.lastSeen };
      r.instances.add(l.instanceId);
      r.processes++;
      for (const c of ['v1', 'v2', 'token', 'unknown']) r[c] += l[c];
      for (const [s, c] of Object.entries(l.statuses)) r.statuses[s] = (r.statuses[s] ?? 0) + c;
      if (l.firstSeen < r.firstSeen) r.firstSeen = l.firstSeen;
      if (l.lastSeen > r.lastSeen) r.lastSeen = l.lastSeen;
      if (l.v1 > 0) withV1.add(l.instanceId);
      rows.set(k, r);
    }
  }
  return {
    instances: all.size,
    instancesWithV1: withV1.size,
    rows: [...rows.values()].map((r) => ({ ...r, instances: r.instances.size })),
  };
}

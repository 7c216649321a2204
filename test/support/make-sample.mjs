// Builds fixtures/imds-sample.etl (netsh form), fixtures/imds-sample.cab and the kernel process
// trace taken beside it, fixtures/imds-sample-kernel.etl, from the committed real-client captures.
// Deterministic. Run after `npm run build:ts` (needs gcab for the cab):
//   node test/support/make-sample.mjs            (all three)
//   node test/support/make-sample.mjs --kernel   (only the kernel trace)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backgroundTraffic, loadCapture, mergeByTime, placeCapture, placedTruth, Rng, take, tasklistSvc, writeKernelEtl, writeNetshEtl, DEFAULT_START, FILETIME_SECOND,
} from '../../dist-tools/tools/gen/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fx = (n) => loadCapture(join(root, 'fixtures', 'imds', `${n}.json`));
export const SAMPLE = {
  v1: { pid: 3104, image: 'powershell.exe', nt: '\\Device\\HarddiskVolume1\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', fixture: 'curl-v1' },
  v2: { pid: 5612, image: 'node.exe', nt: '\\Device\\HarddiskVolume1\\Program Files\\nodejs\\node.exe', fixture: 'sdk-js-credentials' },
};

const start = DEFAULT_START;
const t = (s) => start + BigInt(Math.round(s * 1e7));
const v1 = fx(SAMPLE.v1.fixture);
const v2 = fx(SAMPLE.v2.fixture);
const o1 = { start: t(2), cpu: 0, pid: () => SAMPLE.v1.pid };
const o2 = { start: t(4), cpu: 1, pid: () => SAMPLE.v2.pid };
const bg = take(backgroundTraffic({ start: t(1), rng: new Rng(7), cpus: 2, pids: [1232, 2088], gap: 20000 }), { maxPackets: 400 });
const packets = [...mergeByTime(placeCapture(v1, o1), placeCapture(v2, o2), bg)];
const processes = [
  { pid: SAMPLE.v1.pid, image: SAMPLE.v1.nt, ppid: 4020, sessionId: 1 },
  { pid: SAMPLE.v2.pid, image: SAMPLE.v2.nt, ppid: 4020, sessionId: 0, startTime: t(3) },
  { pid: 1232, image: '\\Device\\HarddiskVolume1\\Windows\\System32\\svchost.exe', ppid: 700, sessionId: 0 },
];

// The kernel process session run beside the capture (README, Capturing on Windows): started a
// second before netsh, stopped a second after it; the same machine (boot time, build, CPUs).
const SYSTEM = 'S-1-5-18';
const ADMIN = 'S-1-5-21-2871035192-2203450934-1870343513-500';
const before = (s) => start - BigInt(s) * FILETIME_SECOND;
const kernelProcesses = [
  { pid: 4, image: 'System', ppid: 0, userSid: SYSTEM, commandLine: '' },
  { pid: 380, image: 'smss.exe', ppid: 4, userSid: SYSTEM, commandLine: '\\SystemRoot\\System32\\smss.exe' },
  { pid: 560, image: 'wininit.exe', ppid: 472, sessionId: 0, userSid: SYSTEM, commandLine: 'wininit.exe' },
  { pid: 700, image: 'services.exe', ppid: 560, sessionId: 0, userSid: SYSTEM, commandLine: 'C:\\Windows\\system32\\services.exe' },
  { pid: 1232, image: 'svchost.exe', ppid: 700, sessionId: 0, userSid: 'S-1-5-19', commandLine: 'C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p' },
  { pid: 2088, image: 'svchost.exe', ppid: 700, sessionId: 0, userSid: 'S-1-5-20', commandLine: 'C:\\Windows\\system32\\svchost.exe -k NetworkService -p -s CryptSvc' },
  { pid: 2410, image: 'amazon-ssm-agent.exe', ppid: 700, sessionId: 0, userSid: SYSTEM, commandLine: '"C:\\Program Files\\Amazon\\SSM\\amazon-ssm-agent.exe"' },
  { pid: 4020, image: 'explorer.exe', ppid: 3900, sessionId: 1, userSid: ADMIN, commandLine: 'C:\\Windows\\Explorer.EXE' },
  { pid: SAMPLE.v1.pid, image: SAMPLE.v1.image, ppid: 4020, sessionId: 1, userSid: ADMIN,
    commandLine: '"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -NoProfile -File C:\\Users\\Administrator\\Desktop\\get-role.ps1' },
  { pid: SAMPLE.v2.pid, image: SAMPLE.v2.image, ppid: 4020, sessionId: 0, userSid: ADMIN, startTime: t(3),
    commandLine: '"C:\\Program Files\\nodejs\\node.exe" C:\\apps\\metrics\\collector.js --interval 60' },
];
const kernel = join(root, 'fixtures', 'imds-sample-kernel.etl');
const bootTime = start - 86_400n * FILETIME_SECOND;
console.log(await writeKernelEtl(kernel, {
  numberOfProcessors: 2, startTime: before(1), endTime: t(5), bootTime, kernelProcesses, writerPid: 4440, writerTid: 4444,
}));
if (process.argv.includes('--kernel')) process.exit(0);

const etl = join(root, 'fixtures', 'imds-sample.etl');
const summary = await writeNetshEtl(etl, packets, { numberOfProcessors: 2, processes, startTime: start, writerPid: 4452, writerTid: 4460 });
console.log(summary);
console.log(JSON.stringify([...placedTruth(v1, o1), ...placedTruth(v2, o2)].map((r) => `${r.pid} ${r.class} ${r.method} ${r.path} ${r.status}`)));

const list = tasklistSvc([
  { image: 'System Idle Process', pid: 0 }, { image: 'System', pid: 4 }, { image: 'smss.exe', pid: 380 },
  { image: 'services.exe', pid: 700 }, { image: 'svchost.exe', pid: 1232, services: ['Dhcp', 'EventLog', 'lmhosts', 'NlaSvc', 'TimeBrokerSvc', 'WinHttpAutoProxySvc', 'Dnscache'] },
  { image: 'svchost.exe', pid: 2088, services: ['CryptSvc'] }, { image: 'AmazonSSMAgent.exe', pid: 2410, services: ['AmazonSSMAgent'] },
  { image: 'explorer.exe', pid: 4020 }, { image: SAMPLE.v1.image, pid: SAMPLE.v1.pid }, { image: SAMPLE.v2.image, pid: SAMPLE.v2.pid },
  { image: 'netsh.exe', pid: 4452 },
]);
const dir = mkdtempSync(join(tmpdir(), 'etl-imds-cab-'));
writeFileSync(join(dir, 'processes.txt'), list);
const cab = join(root, 'fixtures', 'imds-sample.cab');
rmSync(cab, { force: true });
execFileSync('gcab', ['-c', '-z', cab, 'processes.txt'], { cwd: dir });
rmSync(dir, { recursive: true, force: true });
console.log('wrote', etl, cab);

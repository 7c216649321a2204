// The CPUs `scan <dir>` plans for: a container's CPU quota caps them (Node 20's
// os.availableParallelism() does not look at it). Fake /proc and /sys/fs/cgroup trees.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupCpuLimit, usableCpus } from '../../src/cpu-limit.js';
import { repoRoot } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-cpulimit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** A root with /proc/self/cgroup and the given files under /sys/fs/cgroup. */
function fakeRoot(procCgroup: string, files: Record<string, string>): string {
  const root = path.join(tmp, String(n++));
  mkdirSync(path.join(root, 'proc', 'self'), { recursive: true });
  writeFileSync(path.join(root, 'proc', 'self', 'cgroup'), procCgroup);
  for (const [f, text] of Object.entries(files)) {
    const p = path.join(root, 'sys', 'fs', 'cgroup', f);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return root;
}

describe('cgroup CPU quota', () => {
  it('cgroup v2: cpu.max of the process cgroup, rounded down', () => {
    expect(cgroupCpuLimit(fakeRoot('0::/\n', { 'cpu.max': '250000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(fakeRoot('0::/\n', { 'cpu.max': '400000 100000\n' }))).toBe(4);
  });

  it('cgroup v2: no quota ("max"), or no cpu.max at all', () => {
    expect(cgroupCpuLimit(fakeRoot('0::/\n', { 'cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(fakeRoot('0::/\n', {}))).toBeUndefined();
  });

  it('cgroup v2: the smallest quota on the way up; a path that is not mounted here (a container) falls back to its parents', () => {
    const root = fakeRoot('0::/kubepods/pod1/ctr\n', {
      'cpu.max': 'max 100000',
      'kubepods/cpu.max': '800000 100000',
      'kubepods/pod1/cpu.max': '300000 100000',
      'kubepods/pod1/ctr/cpu.max': 'max 100000',
    });
    expect(cgroupCpuLimit(root)).toBe(3);
    // Inside a container the host path does not exist; the container's own cgroup is the root.
    expect(cgroupCpuLimit(fakeRoot('0::/docker/abc123\n', { 'cpu.max': '100000 100000' }))).toBe(1);
  });

  it('a quota under one CPU still allows one scanner', () => {
    expect(cgroupCpuLimit(fakeRoot('0::/\n', { 'cpu.max': '50000 100000' }))).toBe(1);
  });

  it('cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us under the cpu controller; -1 is no quota', () => {
    const v1 = '12:pids:/docker/x\n4:cpu,cpuacct:/docker/x\n1:name=systemd:/docker/x\n';
    expect(cgroupCpuLimit(fakeRoot(v1, { 'cpu,cpuacct/cpu.cfs_quota_us': '200000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(fakeRoot(v1, { 'cpu,cpuacct/docker/x/cpu.cfs_quota_us': '600000', 'cpu,cpuacct/docker/x/cpu.cfs_period_us': '100000' }))).toBe(6);
    expect(cgroupCpuLimit(fakeRoot(v1, { 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000' }))).toBeUndefined();
  });

  it('no /proc/self/cgroup (not Linux, or hidden): no quota', () => {
    expect(cgroupCpuLimit(path.join(tmp, 'nothing-here'))).toBeUndefined();
  });

  it('usableCpus() never exceeds what the scheduler allows, and is at least 1', () => {
    const n = usableCpus();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(os.availableParallelism());
  });

  // A real cgroup v1 with a quota of one CPU (needs root and the cpu controller mounted; skipped
  // visibly otherwise): the CLI plans one scanner there.
  const cpuMount = '/sys/fs/cgroup/cpu';
  const group = path.join(cpuMount, `etl-imds-test-${process.pid}`);
  let made = false;
  try {
    if (existsSync(path.join(cpuMount, 'cgroup.procs'))) {
      mkdirSync(group);
      made = true;
      writeFileSync(path.join(group, 'cpu.cfs_period_us'), '100000');
      writeFileSync(path.join(group, 'cpu.cfs_quota_us'), '100000');
    }
  } catch {
    made = false;
  }
  if (!made) process.stderr.write(`SKIP: cannot make a cgroup under ${cpuMount} (not root, or no cgroup v1 cpu controller); real-quota case skipped\n`);
  afterAll(() => {
    if (made) rmdirSync(group);
  });
  it.skipIf(!made)('in a real cgroup limited to one CPU, `scan` plans one scanner', () => {
    const bin = path.join(repoRoot, 'bin', 'etl-imds.js');
    const r = spawnSync('sh', ['-c', `echo $$ > ${group}/cgroup.procs && exec "${process.execPath}" "${bin}" scan --help`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/container CPU quota included: 1 here/);
  });
});

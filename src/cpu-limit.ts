// How many CPUs this process may really use. os.availableParallelism() counts the CPUs it may
// run on; in a container with a CPU quota (docker --cpus=2, a Kubernetes limit) that is every CPU
// of the host until libuv 1.49 (Node 22), which also reads the cgroup quota. Node 20 does not, and
// a scan of a directory on a 64-CPU host limited to 2 CPUs would start 64 scanners, each with its
// own V8 heap, to share 2 CPUs.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The CPU quota of this process's cgroup and of its parents (the smallest), in CPUs, rounded
 * down (at least 1); undefined when there is none or it cannot be read. `root` stands for `/`
 * (tests give a directory laid out like /proc and /sys/fs/cgroup).
 */
export function cgroupCpuLimit(root = '/'): number | undefined {
  const cgroups = read(path.join(root, 'proc', 'self', 'cgroup'));
  if (cgroups === undefined) return undefined;
  let limit = Infinity;
  for (const line of cgroups.split('\n')) {
    // "hierarchy-id:controllers:path"; the path may itself contain ':'.
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id = '', controllers = '', where = ''] = m;
    const quotas: [number, number][] = [];
    if (id === '0' && controllers === '') {
      // cgroup v2: cpu.max holds "<quota> <period>" or "max <period>", in each directory up the path.
      for (const dir of ancestors(where)) {
        const v = read(path.join(root, 'sys', 'fs', 'cgroup', dir, 'cpu.max'))?.trim().split(/\s+/);
        if (v && v.length === 2 && v[0] !== 'max') quotas.push([Number(v[0]), Number(v[1])]);
      }
    } else if (controllers.split(',').includes('cpu')) {
      // cgroup v1: cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us under the cpu controller's mount.
      for (const mount of ['cpu,cpuacct', 'cpuacct,cpu', 'cpu']) {
        for (const dir of ancestors(where)) {
          const base = path.join(root, 'sys', 'fs', 'cgroup', mount, dir);
          quotas.push([Number(read(path.join(base, 'cpu.cfs_quota_us'))), Number(read(path.join(base, 'cpu.cfs_period_us')))]);
        }
      }
    }
    // Missing files and "no quota" (-1, max) read as NaN or a negative number: skipped.
    for (const [q, p] of quotas) if (Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0) limit = Math.min(limit, q / p);
  }
  return Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : undefined;
}

/** "/a/b" -> ["/a/b", "/a", "/"]. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  let cur = path.posix.normalize(p.startsWith('/') ? p : '/' + p);
  for (;;) {
    out.push(cur);
    if (cur === '/') return out;
    cur = path.posix.dirname(cur);
  }
}

/** CPUs to plan work for: what the scheduler allows, capped by a cgroup CPU quota (Linux). */
export function usableCpus(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const quota = process.platform === 'linux' ? cgroupCpuLimit() : undefined;
  return Math.max(1, quota !== undefined ? Math.min(n, quota) : n);
}

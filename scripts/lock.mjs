// A lock between processes (vitest runs test files in parallel): a directory that holds the
// owner's PID. A lock whose owner has died is taken over.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

function stale(dir) {
  let pid = 0;
  try {
    pid = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
  } catch {
    /* not written yet */
  }
  if (!pid) {
    // Made but no PID in it: being taken right now, or its owner died in between (old).
    try {
      return Date.now() - statSync(dir).mtimeMs > 60_000;
    } catch {
      return false; // gone meanwhile
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return e.code !== 'EPERM';
  }
}

/** Runs fn() while holding the lock `dir`; waits while another live process holds it. */
export async function withLock(dir, fn) {
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (stale(dir)) rmSync(dir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

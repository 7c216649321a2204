// Ctrl-C tests without guessing how long start-up takes: the CLI prints progress lines on stderr
// (ETL_IMDS_PROGRESS=lines) and SIGINT is sent once the first one shows the work under way, so
// the handler is installed and reading has begun.
import { spawn } from 'node:child_process';
import { expect } from 'vitest';

export interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last progress line: bytes done of the total. */
  lastDone: number;
  total: number;
}

export async function interruptAtFirstProgress(bin: string, args: string[], cwd: string): Promise<Interrupted> {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETL_IMDS_PROGRESS: 'lines' } });
  let stdout = '';
  let stderr = '';
  let pending = '';
  let lastDone = -1;
  let total = -1;
  let sent = false;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^etl-imds: progress (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      lastDone = Number(m[1]);
      total = Number(m[2]);
      if (!sent && lastDone > 0) {
        sent = true;
        child.kill('SIGINT');
      }
    }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
  expect(sent, `no progress line came from the child:\n${stderr}`).toBe(true);
  return { code, signal, stdout, stderr, lastDone, total };
}

// Process instances and chains of parents on real Windows traces (read by the project's reader,
// from ../shared/fixtures), and the rules behind them on decoded process facts:
// - ShutdownPerfDiagLogger.etl (Apache-2.0): a kernel logger's Process rundown and exits, with
//   command lines, accounts and sessions; PID 496 was reused (its smss.exe exited, svchost.exe took
//   the PID), which the rundown's creation order tells apart;
// - Tx Process.etl (Apache-2.0): Microsoft-Windows-Kernel-Process v0/v1, with Tx's own test as the
//   golden facts (4 ProcessStart, 4 ProcessStop, 2 processes that start and stop in the trace).
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { openTrace } from '../../src/trace.js';
import { ProcessTable, type ProcessEventInfo } from '../../src/processes/index.js';
import { identityOf, type ProcessIdentity } from '../../src/processes/identity.js';
import { wellKnownAccount } from '../../src/processes/accounts.js';
import { shared, skipReason } from '../support/fixtures.js';

async function tableOf(file: string, providers: string[]): Promise<ProcessTable> {
  const t = new ProcessTable();
  const trace = openTrace(file, { providers });
  try {
    for await (const b of trace.events()) t.addEvents(b.events);
  } finally {
    trace.close();
  }
  return t;
}

/** Who the trace says held `pid` first, as scan would report it. */
function identity(t: ProcessTable, pid: number, ordinal = 1): ProcessIdentity & { image: string } {
  const l = t.lifetimes(pid)[ordinal - 1]!;
  const name = t.nameOfLifetime(l, l.firstSeen);
  return { ...identityOf(t, pid, name), image: name.image };
}

const kernelFile = shared('other/airbus/ShutdownPerfDiagLogger.etl');
const txFile = shared('other/tx/Process.etl');
const haveKernel = existsSync(kernelFile);
const haveTx = existsSync(txFile);

describe.skipIf(!haveKernel)(`a kernel logger's processes (ShutdownPerfDiagLogger.etl)${haveKernel ? '' : ` — SKIPPED: ${skipReason}`}`, () => {
  let t: ProcessTable;
  beforeAll(async () => {
    t = await tableOf(kernelFile, ['Process']);
  });

  it('the system processes: no session (-1), SYSTEM, and the chain ends at System', () => {
    expect(identity(t, 4)).toMatchObject({ image: 'System', sessionId: -1, user: { sid: 'S-1-5-18', name: 'SYSTEM' }, parents: [], parentsEnd: { reason: 'no-parent', pid: null } });
    const smss = identity(t, 348);
    expect(smss).toMatchObject({ image: 'smss.exe', sessionId: -1, commandLine: '\\SystemRoot\\System32\\smss.exe', startTime: null, exitTime: null });
    expect(smss.parents.map((p) => [p.pid, p.image])).toEqual([[4, 'System']]);
    expect(smss.parentsEnd).toEqual({ reason: 'no-parent', pid: null });
  });

  it('a reused parent PID: csrss.exe and winlogon.exe of session 1 were started by an smss.exe that exited; svchost.exe, listed after them, holds PID 496 now', () => {
    for (const pid of [516, 608]) {
      const p = identity(t, pid);
      expect(p.sessionId).toBe(1);
      expect(p.parents).toEqual([]);
      expect(p.parentsEnd).toEqual({ reason: 'exited-before-capture', pid: 496 });
    }
    expect(identity(t, 496).image).toBe('svchost.exe');
  });

  it('a user process: its account, its command line, and parents up to the wininit.exe whose smss.exe had exited', () => {
    const edge = identity(t, 5628);
    expect(edge).toMatchObject({ image: 'MicrosoftEdgeSH.exe', sessionId: 1, user: { sid: 'S-1-5-21-4151223144-1238771585-1724997581-1000', name: null } });
    expect(edge.commandLine).toMatch(/^C:\\Windows\\system32\\MicrosoftEdgeSH\.exe SCODEF:4992 /);
    expect(edge.exitTime).not.toBeNull();
    expect(edge.parents.map((p) => [p.pid, p.image])).toEqual([[5532, 'RuntimeBroker.exe'], [764, 'svchost.exe'], [600, 'services.exe'], [504, 'wininit.exe']]);
    expect(edge.parents[1]!.commandLine).toMatch(/svchost\.exe -k DcomLaunch/);
    expect(edge.parentsEnd).toEqual({ reason: 'exited-before-capture', pid: 420 });
    // explorer.exe's userinit.exe had exited too.
    expect(identity(t, 3856).parentsEnd).toEqual({ reason: 'exited-before-capture', pid: 3476 });
    expect(identity(t, 6780).parents.map((p) => p.image)).toEqual(['explorer.exe']);
  });

  // 94 processes listed by the rundown, 3 more seen only as they exited.
  const CHAINS = 97;
  it('every process: a parent is never younger than its child in the rundown, and every chain ends with a reason', () => {
    let chains = 0;
    for (const pid of t.tracedPids()) {
      for (let n = 1; n <= t.lifetimes(pid).length; n++) {
        const l = t.lifetimes(pid)[n - 1]!;
        if (l.image === '') continue;
        const name = t.nameOfLifetime(l, l.firstSeen);
        const chain = t.parents(name);
        let child = l;
        for (const link of chain.links) {
          const parent = link.name.lifetime!;
          // Defunct processes (type 39, exited before the rundown) are in no rundown.
          if (parent.rundownAt && child.rundownAt) expect(parent.rundownAt.t < child.rundownAt.t || parent.rundownAt.seq < child.rundownAt.seq).toBe(true);
          child = parent;
        }
        expect(['no-parent', 'exited-before-capture']).toContain(chain.end.reason);
        chains++;
      }
    }
    expect(chains).toBe(CHAINS);
  });
});

describe.skipIf(!haveTx)(`Microsoft-Windows-Kernel-Process on Windows 7 (Tx Process.etl)${haveTx ? '' : ` — SKIPPED: ${skipReason}`}`, () => {
  it("Tx's golden facts: 4 starts, 4 stops, 2 processes that start and stop in the trace", async () => {
    const t = await tableOf(txFile, ['Microsoft-Windows-Kernel-Process']);
    const all = t.tracedPids().flatMap((pid) => t.lifetimes(pid));
    expect(all.filter((l) => l.startSeen)).toHaveLength(4);
    expect(all.filter((l) => l.endExact)).toHaveLength(4);
    const both = all.filter((l) => l.startSeen && l.endExact);
    expect(both.map((l) => l.image).sort()).toEqual(['OUTLOOK.EXE', 'devenv.exe']);
    for (const l of both) {
      const p = identityOf(t, l.pid, t.nameOfLifetime(l, l.firstSeen));
      // Kernel-Process v0 gives the session and the parent, never a command line or an account.
      expect(p).toMatchObject({ sessionId: 1, commandLine: null, user: null });
      expect(p.startTime! < p.exitTime!).toBe(true);
      // The parent is not in this short trace, which lists no running processes.
      expect(p.parentsEnd).toEqual({ reason: 'not-in-trace', pid: 3324 });
    }
  });
});

describe('parents on decoded process facts', () => {
  const T0 = 133_500_000_000_000_000n;
  const at = (s: number) => T0 + BigInt(Math.round(s * 1e7));
  const add = (t: ProcessTable, s: number, info: Partial<ProcessEventInfo> & Pick<ProcessEventInfo, 'kind' | 'pid' | 'image'>) => t.addProcess(info as ProcessEventInfo, at(s));

  it('Kernel-Process sequence numbers pick the parent across PID reuse, whatever the times say', () => {
    const t = new ProcessTable();
    add(t, 0, { kind: 'rundown', pid: 700, image: 'a.exe', parentPid: 4, createTime: at(-100), sequenceNumber: 11n });
    add(t, 1, { kind: 'end', pid: 700, image: 'a.exe' });
    add(t, 2, { kind: 'start', pid: 700, image: 'b.exe', parentPid: 4, sequenceNumber: 12n });
    // Started by the first a.exe, but its start was logged after the PID changed hands (a late event).
    add(t, 3, { kind: 'start', pid: 900, image: 'c.exe', parentPid: 700, sequenceNumber: 13n, parentSequenceNumber: 11n });
    const c = t.nameFor(900, at(3))!;
    expect(t.parents(c).links).toEqual([]);
    expect(t.parents(c).end).toEqual({ reason: 'not-in-trace', pid: 700 });
    add(t, 4, { kind: 'start', pid: 901, image: 'd.exe', parentPid: 700, sequenceNumber: 14n, parentSequenceNumber: 12n });
    expect(t.parents(t.nameFor(901, at(4))!).links.map((l) => l.name.image)).toEqual(['b.exe']);
  });

  it('no parent PID in the events: the chain ends with parent-unknown; a loop of reused PIDs stops', () => {
    const t = new ProcessTable();
    add(t, 0, { kind: 'rundown', pid: 10, image: 'x.exe' });
    expect(t.parents(t.nameFor(10, at(0))!).end).toEqual({ reason: 'parent-unknown', pid: null });
    // Two processes naming each other (possible only when both PIDs were reused): no endless chain.
    add(t, 0, { kind: 'end', pid: 20, image: 'p.exe', parentPid: 21 });
    add(t, 0, { kind: 'end', pid: 21, image: 'q.exe', parentPid: 20 });
    const chain = t.parents(t.nameFor(20, at(0))!);
    expect(chain.links.map((l) => l.pid)).toEqual([21]);
    expect(chain.end).toEqual({ reason: 'not-in-trace', pid: 20 });
  });

  it('well-known accounts are named, others kept as SIDs', () => {
    expect(['S-1-5-18', 'S-1-5-19', 'S-1-5-20', 'S-1-5-90-0-2', 'S-1-5-96-0-1', 'S-1-5-21-1-2-3-500', 'S-1-5-21-1-2-3-1001', 'S-1-5-80-1-2'].map(wellKnownAccount)).toEqual([
      'SYSTEM', 'LOCAL SERVICE', 'NETWORK SERVICE', 'DWM-2', 'UMFD-1', 'built-in Administrator', null, null,
    ]);
  });
});

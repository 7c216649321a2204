// PID attribution: packet PIDs are often logged in DPC or System context, so
// they are votes, and TCPIP connection events fill in when packets carry none.

import { IMDS } from '../constants.js';
import { canonicalAddress } from './ip.js';
import type { TcpipHint } from './types.js';

/** PIDs that say "logged in arbitrary / System context", not the socket owner. */
export function isUsablePacketPid(pid: number): boolean {
  return pid !== 0 && pid !== 4 && pid !== 0xffffffff && pid >= 0;
}

interface Vote {
  count: number;
  tid: number;
  order: number;
}

/** Counts usable PIDs; the winner is the most frequent, earliest seen on ties. */
export class PidVotes {
  private votes = new Map<number, Vote>();

  add(pid: number, tid: number): void {
    if (!isUsablePacketPid(pid)) return;
    const v = this.votes.get(pid);
    if (v) v.count++;
    else if (this.votes.size < 64) this.votes.set(pid, { count: 1, tid, order: this.votes.size });
  }

  get size(): number {
    return this.votes.size;
  }

  winner(): { pid: number; tid: number } | null {
    let best: [number, Vote] | null = null;
    for (const e of this.votes) {
      if (!best || e[1].count > best[1].count || (e[1].count === best[1].count && e[1].order < best[1].order)) best = e;
    }
    return best ? { pid: best[0], tid: best[1].tid } : null;
  }
}

export function tupleKey(clientAddr: string, clientPort: number, serverAddr: string): string {
  return `${clientAddr}|${clientPort}|${serverAddr}`;
}

/** TCPIP hints indexed by (client address, client port, IMDS address); only IMDS port 80 kept. */
export class HintIndex {
  private byTuple = new Map<string, TcpipHint[]>();
  ignored = 0;

  constructor(private readonly isImds: (addr: string) => boolean) {}

  add(h: TcpipHint): void {
    const local = canonicalAddress(h.localAddr);
    const remote = canonicalAddress(h.remoteAddr);
    if (!local || !remote || h.pid === 0 || h.pid === 0xffffffff || h.pid < 0) { this.ignored++; return; }
    let key: string;
    if (this.isImds(remote) && h.remotePort === IMDS.port) key = tupleKey(local, h.localPort, remote);
    else if (this.isImds(local) && h.localPort === IMDS.port) key = tupleKey(remote, h.remotePort, local);
    else { this.ignored++; return; }
    const list = this.byTuple.get(key);
    if (list) list.push(h);
    else this.byTuple.set(key, [h]);
  }

  /** The hint for this tuple nearest in time to `time` (earlier one on ties). */
  nearest(key: string, time: bigint): TcpipHint | null {
    const list = this.byTuple.get(key);
    if (!list) return null;
    let best: TcpipHint | null = null;
    let bestDist = 0n;
    for (const h of list) {
      const d = h.fileTime > time ? h.fileTime - time : time - h.fileTime;
      if (!best || d < bestDist || (d === bestDist && h.fileTime < best.fileTime)) { best = h; bestDist = d; }
    }
    return best;
  }
}

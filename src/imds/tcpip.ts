// Microsoft-Windows-TCPIP connection events → TcpipHint (4-tuple + payload PID),
// the third attribution source after the packets' own PIDs (etl-format.md §10.3).
import type { TraceEvent } from '../native/types.js';
import type { TcpipHint, TcpipHintKind } from './types.js';

export const TCPIP_PROVIDER = '2f07e2ee-15db-40f1-90ef-9d7ba282188a';

// Events whose template is: u32 LocalAddressLength, LocalAddress, u32 RemoteAddressLength,
// RemoteAddress, u32 Status, u32 ProcessId, u32 Compartment, ptr Tcb.
const TUPLE_PID: Record<number, TcpipHintKind> = {
  1017: 'accept', // TcpAcceptListenerComplete
  1033: 'connect', // TcpConnectTcbComplete
  1034: 'fail', // TcpConnectTcbFailure
  1038: 'close', // TcpCloseTcbRequest
  1039: 'abort', // TcpAbortTcbRequest
};
const RUNDOWN = 1300; // ptr Tcb, u32 len, Local, u32 len, Remote, u32 State, u32 Pid

interface SockAddr {
  addr: string;
  port: number;
}

/** Winsock SOCKADDR_IN / SOCKADDR_IN6 (port big-endian). */
export function parseSockaddr(b: Uint8Array): SockAddr | undefined {
  if (b.length < 8) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const family = dv.getUint16(0, true);
  const port = dv.getUint16(2, false);
  if (family === 2 && b.length >= 8) return { addr: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port };
  if (family === 0x17 && b.length >= 24) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(dv.getUint16(8 + i * 2, false).toString(16));
    return { addr: parts.join(':'), port };
  }
  return undefined;
}

function fromProperties(e: TraceEvent, kind: TcpipHintKind): TcpipHint | undefined {
  const p = e.properties;
  if (!p) return undefined;
  const local = p.LocalAddress;
  const remote = p.RemoteAddress;
  const pid = p.ProcessId ?? p.Pid ?? p.ProcessID;
  if (!(local instanceof Uint8Array) || !(remote instanceof Uint8Array) || typeof pid !== 'number') return undefined;
  const l = parseSockaddr(local);
  const r = parseSockaddr(remote);
  if (!l || !r) return undefined;
  return { fileTime: e.fileTime, pid, localAddr: l.addr, localPort: l.port, remoteAddr: r.addr, remotePort: r.port, kind };
}

function fromLayout(e: TraceEvent, kind: TcpipHintKind): TcpipHint | undefined {
  const b = e.userData;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = e.id === RUNDOWN ? e.pointerSize : 0;
  const readBlob = (): Uint8Array | undefined => {
    if (o + 4 > b.length) return undefined;
    const n = dv.getUint32(o, true);
    o += 4;
    if (n > 128 || o + n > b.length) return undefined;
    const v = b.subarray(o, o + n);
    o += n;
    return v;
  };
  const local = readBlob();
  const remote = readBlob();
  if (!local || !remote) return undefined;
  if (o + 8 > b.length) return undefined;
  const pid = dv.getUint32(o + 4, true); // after Status (or State for the rundown)
  const l = parseSockaddr(local);
  const r = parseSockaddr(remote);
  if (!l || !r) return undefined;
  return { fileTime: e.fileTime, pid, localAddr: l.addr, localPort: l.port, remoteAddr: r.addr, remotePort: r.port, kind };
}

/** A hint from a TCPIP event, or undefined when the event does not name a process for a 4-tuple. */
export function tcpipHint(e: TraceEvent): TcpipHint | undefined {
  if (e.provider !== TCPIP_PROVIDER) return undefined;
  const kind = e.id === RUNDOWN ? 'rundown' : TUPLE_PID[e.id];
  if (!kind) return undefined;
  return fromProperties(e, kind) ?? fromLayout(e, kind);
}

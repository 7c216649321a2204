// Microsoft-Windows-TCPIP connection events → TcpipHint (4-tuple + payload PID),
// the third attribution source after the packets' own PIDs (docs/etl-format.md,
// Microsoft-Windows-TCPIP connection events). The events arrive decoded
// (native/etl); their SOCKADDR endpoints are read by the addon too.
import { PROVIDERS } from '../constants.js';
import { native } from '../native/binding.js';
import type { TraceEvent } from '../native/types.js';
import { formatIpv4, formatIpv6 } from './ip.js';
import type { TcpipHint, TcpipHintKind } from './types.js';

const KIND: Record<number, TcpipHintKind> = {
  1017: 'accept', // TcpAcceptListenerComplete
  1033: 'connect', // TcpConnectTcbComplete
  1034: 'fail', // TcpConnectTcbFailure
  1038: 'close', // TcpCloseTcbRequest
  1039: 'abort', // TcpAbortTcbRequest
  1300: 'rundown', // TcpConnectionRundown
};

interface Endpoint {
  addr: string;
  port: number;
}

function endpoint(v: unknown): Endpoint | undefined {
  if (!(v instanceof Uint8Array)) return undefined;
  const a = native().socketAddress(v);
  if (!a) return undefined;
  return { addr: a.family === 'ipv4' ? formatIpv4(a.address, 0) : formatIpv6(a.address, 0), port: a.port };
}

/** A hint from a TCPIP event, or undefined when the event does not name a process for a 4-tuple. */
export function tcpipHint(e: TraceEvent): TcpipHint | undefined {
  if (e.provider !== PROVIDERS.tcpip) return undefined;
  const kind = KIND[e.id];
  const p = e.properties;
  if (!kind || !p) return undefined;
  const pid = p.ProcessId ?? p.Pid ?? p.ProcessID;
  const l = endpoint(p.LocalAddress);
  const r = endpoint(p.RemoteAddress);
  if (typeof pid !== 'number' || !l || !r) return undefined;
  return { fileTime: e.fileTime, pid, localAddr: l.addr, localPort: l.port, remoteAddr: r.addr, remotePort: r.port, kind };
}

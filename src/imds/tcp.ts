// TCP header parsing and 32-bit sequence arithmetic.

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;   // unsigned 32-bit
  ack: number;   // unsigned 32-bit, meaningful when flags & TCP_ACK
  flags: number;
  window: number;
  mss: number | null;
  windowScale: number | null;
  sackPermitted: boolean;
  timestamp: [number, number] | null;
  /** Payload view into the packet bytes (no copy). */
  payload: Uint8Array;
  /** Header (option) bytes the capture cut off; 0 normally. */
  headerCut: number;
}

export type TcpError = 'tcp-header-length' | 'tcp-options';

export type TcpResult = { ok: true; tcp: TcpSegment } | { ok: false; error: TcpError };

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/**
 * Parses the TCP segment in b[start, end). With `cut`, the capture logged the packet shorter
 * than it was: options running past `end` are accepted (unread) and `headerCut` says how many
 * header bytes are missing.
 */
export function parseTcp(b: Uint8Array, start: number, end: number, cut = false): TcpResult {
  if (start < 0 || end > b.length || end - start < 20) return { ok: false, error: 'tcp-header-length' };
  const fullDoff = (b[start + 12]! >> 4) * 4;
  if (fullDoff < 20 || (start + fullDoff > end && !cut)) return { ok: false, error: 'tcp-header-length' };
  const doff = Math.min(fullDoff, end - start);
  const tcp: TcpSegment = {
    srcPort: u16(b, start),
    dstPort: u16(b, start + 2),
    seq: u32(b, start + 4),
    ack: u32(b, start + 8),
    flags: b[start + 13]!,
    window: u16(b, start + 14),
    mss: null,
    windowScale: null,
    sackPermitted: false,
    timestamp: null,
    payload: b.subarray(start + doff, end),
    headerCut: fullDoff - doff,
  };
  // Options: every length must stay inside the header.
  let o = start + 20;
  const optEnd = start + doff;
  while (o < optEnd) {
    const kind = b[o]!;
    if (kind === 0) break;
    if (kind === 1) { o++; continue; }
    if (o + 2 > optEnd) {
      if (tcp.headerCut > 0) break; // the rest of the options was not logged
      return { ok: false, error: 'tcp-options' };
    }
    const len = b[o + 1]!;
    if (len >= 2 && o + len > optEnd && tcp.headerCut > 0) break;
    if (len < 2 || o + len > optEnd) return { ok: false, error: 'tcp-options' };
    if (kind === 2 && len === 4) tcp.mss = u16(b, o + 2);
    else if (kind === 3 && len === 3) tcp.windowScale = b[o + 2]!;
    else if (kind === 4 && len === 2) tcp.sackPermitted = true;
    else if (kind === 8 && len === 10) tcp.timestamp = [u32(b, o + 2), u32(b, o + 6)];
    else if ((kind === 2 && len !== 4) || (kind === 3 && len !== 3) || (kind === 4 && len !== 2) || (kind === 8 && len !== 10)) {
      return { ok: false, error: 'tcp-options' };
    }
    o += len;
  }
  return { ok: true, tcp };
}

/** Signed distance a - b in sequence space. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

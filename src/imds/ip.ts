// IPv4/IPv6 header parsing for packets that start at the IP header.
// Checksums are not verified: outbound packets are logged before checksum
// offload fills them in, so a wrong checksum is normal in Windows captures.

export const IPPROTO_TCP = 6;

export interface IpPacket {
  version: 4 | 6;
  /** Canonical text: IPv4 dotted (also for IPv4-mapped IPv6), IPv6 RFC 5952. */
  src: string;
  dst: string;
  protocol: number;
  /** Offset of the transport header in the input bytes. */
  payloadOffset: number;
  /** End of the transport data in the input bytes (excludes link padding). */
  payloadEnd: number;
  /** The IP header claims more bytes than were captured. */
  truncated: boolean;
  /** End of the packet as the IP header gives it (past payloadEnd when truncated; payloadEnd when it gives none). */
  wireEnd: number;
}

export type IpError =
  | 'not-ip' | 'ip-header-length' | 'ip-total-length' | 'ip-fragment'
  | 'ipv6-extension' | 'ipv6-jumbogram' | 'ipv6-esp';

export type IpResult = { ok: true; ip: IpPacket } | { ok: false; error: IpError };

function fail(error: IpError): IpResult {
  return { ok: false, error };
}

export function formatIpv4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

function isMappedV4(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}

/** RFC 5952 text for 16 bytes at b[o]; IPv4-mapped addresses become dotted IPv4. */
export function formatIpv6(b: Uint8Array, o: number): string {
  if (isMappedV4(b, o)) return formatIpv4(b, o + 12);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[o + 2 * i] ?? 0) << 8) | (b[o + 2 * i + 1] ?? 0));
  // Longest run of two or more zero words is compressed (first one on ties).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Parses IPv4 or IPv6 text (zone id ignored) into 4 or 16 bytes; null if invalid. */
export function parseAddress(text: string): Uint8Array | null {
  const s = text.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = parseV4Text(s);
  if (v4) return v4;
  if (!s.includes(':')) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseHalf = (h: string): number[] | null => {
    if (h === '') return [];
    const parts = h.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const q = parseV4Text(p);
        if (!q) return null;
        out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = parseHalf(halves[0]!);
  const tail = halves.length === 2 ? parseHalf(halves[1]!) : [];
  if (!head || !tail) return null;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

function parseV4Text(s: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = Number(m[i + 1]);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** Canonical text of an address given as text (IPv4-mapped → IPv4); null if invalid. */
export function canonicalAddress(text: string): string | null {
  const b = parseAddress(text);
  if (!b) return null;
  return b.length === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0);
}

export function parseIp(b: Uint8Array): IpResult {
  if (b.length < 1) return fail('not-ip');
  const version = b[0]! >> 4;
  if (version === 4) return parseIpv4(b);
  if (version === 6) return parseIpv6(b);
  return fail('not-ip');
}

function parseIpv4(b: Uint8Array): IpResult {
  if (b.length < 20) return fail('ip-header-length');
  const ihl = (b[0]! & 0x0f) * 4;
  if (ihl < 20 || ihl > b.length) return fail('ip-header-length');
  const total = (b[2]! << 8) | b[3]!;
  // TSO/LSO sends leave total length 0 in the logged header; use what was captured.
  let end: number;
  let truncated = false;
  if (total === 0) end = b.length;
  else if (total < ihl) return fail('ip-total-length');
  else if (total > b.length) { end = b.length; truncated = true; }
  else end = total; // shorter than the capture: link-layer padding follows
  const flagsFrag = (b[6]! << 8) | b[7]!;
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragOffset = flagsFrag & 0x1fff;
  if (moreFragments || fragOffset !== 0) return fail('ip-fragment');
  return {
    ok: true,
    ip: {
      version: 4,
      src: formatIpv4(b, 12),
      dst: formatIpv4(b, 16),
      protocol: b[9]!,
      payloadOffset: ihl,
      payloadEnd: end,
      truncated,
      wireEnd: truncated ? total : end,
    },
  };
}

// Extension headers that share the (next header, length in 8-octet units - 1) layout.
const IPV6_GENERIC_EXT = new Set([0, 43, 60, 135, 139, 140, 253, 254]);

function parseIpv6(b: Uint8Array): IpResult {
  if (b.length < 40) return fail('ip-header-length');
  const payloadLength = (b[4]! << 8) | b[5]!;
  let end: number;
  let truncated = false;
  const claimed = 40 + payloadLength;
  if (payloadLength === 0) {
    // Jumbogram (hop-by-hop option) or an LSO send with the field left 0.
    if (b[6] === 0) return fail('ipv6-jumbogram');
    end = b.length;
  } else if (40 + payloadLength > b.length) { end = b.length; truncated = true; }
  else end = 40 + payloadLength;
  let next = b[6]!;
  let off = 40;
  for (let hops = 0; ; hops++) {
    if (hops > 16) return fail('ipv6-extension');
    if (IPV6_GENERIC_EXT.has(next)) {
      if (off + 8 > end) return fail('ipv6-extension');
      const len = (b[off + 1]! + 1) * 8;
      if (off + len > end) return fail('ipv6-extension');
      next = b[off]!;
      off += len;
    } else if (next === 44) {
      if (off + 8 > end) return fail('ipv6-extension');
      const fo = (b[off + 2]! << 8) | b[off + 3]!;
      if ((fo & 0xfff8) !== 0 || (fo & 1) !== 0) return fail('ip-fragment');
      next = b[off]!; // atomic fragment: offset 0, no more fragments
      off += 8;
    } else if (next === 51) {
      if (off + 8 > end) return fail('ipv6-extension');
      const len = (b[off + 1]! + 2) * 4; // AH counts 4-octet units minus 2
      if (off + len > end) return fail('ipv6-extension');
      next = b[off]!;
      off += len;
    } else if (next === 50) {
      return fail('ipv6-esp');
    } else {
      break;
    }
  }
  return {
    ok: true,
    ip: {
      version: 6,
      src: formatIpv6(b, 8),
      dst: formatIpv6(b, 24),
      protocol: next,
      payloadOffset: off,
      payloadEnd: end,
      truncated,
      wireEnd: truncated ? claimed : end,
    },
  };
}

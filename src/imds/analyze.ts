// The IMDS scan over a packet stream: validate each packet, route it to its
// connection, and turn finished connections into per-request verdicts.
// State is per live connection; finished connections are released as soon as
// they are closed (after a linger for late retransmissions) or idle.

import { IMDS } from '../constants.js';
import type { ImdsPacket } from '../native/types.js';
import { HintIndex, isUsablePacketPid, tupleKey } from './attribute.js';
import { Connection, type ConnectionLimits, type RequestRecord } from './connection.js';
import { IPPROTO_TCP, parseIp } from './ip.js';
import type { Budget, SegmentMeta } from './reassembly.js';
import { parseTcp, TCP_ACK } from './tcp.js';
import type {
  ImdsEndpoint, ImdsNote, ImdsNoteCode, ImdsOptions, ImdsRequest, ImdsResult, ImdsStats, TcpipHint,
} from './types.js';

export const IMDS_ENDPOINTS: readonly ImdsEndpoint[] = [IMDS.ipv4, IMDS.ipv6];
export const IMDS_PORT = IMDS.port;

/** The IMDS endpoint an address (canonical text, IPv4-mapped already folded) names, if any. */
export function imdsEndpointOf(addr: string): ImdsEndpoint | null {
  return addr === IMDS.ipv4 ? IMDS.ipv4 : addr === IMDS.ipv6 ? IMDS.ipv6 : null;
}

const SWEEP_EVERY = 512;

const IGNORED_TEXT: Record<string, string> = {
  'bad-packet': 'not a packet object with IP bytes',
  'not-ip': 'not IPv4 or IPv6',
  'ip-header-length': 'IP header length invalid or cut short',
  'ip-total-length': 'IPv4 total length smaller than its header',
  'ip-fragment': 'IP fragment (not reassembled; its bytes count as missing)',
  'ipv6-extension': 'IPv6 extension header chain invalid or cut short',
  'ipv6-jumbogram': 'IPv6 jumbogram',
  'ipv6-esp': 'IPv6 ESP (encrypted)',
  'not-tcp': 'not TCP',
  'tcp-header-length': 'TCP header length invalid or cut short',
  'tcp-options': 'TCP options with an invalid length',
  'not-imds': 'not to or from IMDS port 80',
};

export class ImdsAnalyzer {
  private readonly conns = new Map<string, Connection>();
  private readonly out: ImdsRequest[] = [];
  private readonly awaitingHint: { req: ImdsRequest; key: string }[] = [];
  private readonly hints = new HintIndex((a) => imdsEndpointOf(a) !== null);
  private readonly limits: ConnectionLimits;
  private readonly budget: Budget;
  private readonly maxConnections: number;
  private readonly idleTimeout: bigint;
  private readonly closedLinger: bigint;
  private readonly file: string;
  private readonly stats: ImdsStats = {
    packets: 0, ignored: {}, duplicateAppearances: 0, retransmittedBytes: 0, gapBytes: 0,
    droppedBytes: 0, orphanResponses: 0, directionMismatches: 0, peakBufferedBytes: 0,
    outbound: 0, inbound: 0, outboundWithPid: 0, cutPackets: 0, cutBytes: 0, snapLength: 0,
  };
  private connectionCount = 0;
  /** Instance ids IMDS answered with (one, normally; a few kept to name them when they disagree). */
  private readonly instanceIds = new Set<string>();
  private limitHits = 0;
  private connectionEvictions = 0;
  private sinceSweep = 0;
  private done = false;

  constructor(options: ImdsOptions = {}) {
    const pos = (v: number | undefined, d: number, name: string) => {
      if (v === undefined) return d;
      if (!Number.isFinite(v) || v < 1) throw new RangeError(`ImdsOptions.${name} must be a positive number, got ${v}`);
      return Math.floor(v);
    };
    this.limits = {
      maxBufferedBytes: pos(options.maxBufferedBytesPerConnection, 256 * 1024, 'maxBufferedBytesPerConnection'),
      maxBufferedSegments: pos(options.maxBufferedSegmentsPerConnection, 4096, 'maxBufferedSegmentsPerConnection'),
      maxHeaderBytes: pos(options.maxHeaderBytes, 64 * 1024, 'maxHeaderBytes'),
      maxFrames: pos(options.maxFramesPerRequest, 16, 'maxFramesPerRequest'),
    };
    this.budget = {
      total: 0, peak: 0, maxTotal: pos(options.maxBufferedBytesTotal, 32 * 1024 * 1024, 'maxBufferedBytesTotal'),
      dropped: 0, gapBytes: 0, cutBytes: 0, retransmitted: 0,
    };
    this.maxConnections = pos(options.maxConnections, 4096, 'maxConnections');
    this.idleTimeout = options.idleTimeout ?? 15n * 60n * 10_000_000n;
    this.closedLinger = options.closedLinger ?? 2n * 60n * 10_000_000n;
    this.file = options.file ?? '';
  }

  push(p: ImdsPacket): void {
    if (this.done) throw new Error('ImdsAnalyzer.push after finish()');
    this.stats.packets++;
    if (!p || !(p.ip instanceof Uint8Array) || typeof p.fileTime !== 'bigint') return this.ignore('bad-packet');
    const ipr = parseIp(p.ip);
    if (!ipr.ok) return this.ignore(ipr.error);
    const ip = ipr.ip;
    if (ip.protocol !== IPPROTO_TCP) return this.ignore('not-tcp');
    // Bytes the capture left out (a snap length): as the IP header, or the capture event, says.
    let missing = ip.truncated ? ip.wireEnd - ip.payloadEnd : 0;
    if (p.cut && p.originalLength !== undefined && p.capturedLength !== undefined) missing = Math.max(missing, p.originalLength - p.capturedLength);
    const tr = parseTcp(p.ip, ip.payloadOffset, ip.payloadEnd, missing > 0);
    if (!tr.ok) return this.ignore(tr.error);
    const tcp = tr.tcp;
    // Direction comes from the addresses: client -> IMDS:80 is outbound.
    const dstEp = tcp.dstPort === IMDS_PORT ? imdsEndpointOf(ip.dst) : null;
    const srcEp = tcp.srcPort === IMDS_PORT ? imdsEndpointOf(ip.src) : null;
    let fromClient: boolean;
    let endpoint: ImdsEndpoint;
    if (dstEp) { fromClient = true; endpoint = dstEp; }
    else if (srcEp) { fromClient = false; endpoint = srcEp; }
    else return this.ignore('not-imds');
    if (p.direction !== 'unknown' && p.direction !== (fromClient ? 'out' : 'in')) this.stats.directionMismatches++;
    const cutAt = missing > 0 ? (p.capturedLength ?? p.ip.length) : undefined;
    const clientAddr = fromClient ? ip.src : ip.dst;
    const clientPort = fromClient ? tcp.srcPort : tcp.dstPort;
    const key = tupleKey(clientAddr, clientPort, endpoint);
    const meta: SegmentMeta = {
      time: p.fileTime, pid: p.pid >>> 0, tid: p.tid >>> 0, frame: p.frame,
      ack: (tcp.flags & TCP_ACK) ? tcp.ack : null, dropped: p.dropped === true, cutAt,
    };

    let conn = this.conns.get(key);
    const appearanceKey = p.pktGroupId !== undefined && p.pktNumber !== undefined ? `${p.pktGroupId}:${p.pktNumber}` : null;
    if (conn && appearanceKey !== null && conn.seenAppearance(appearanceKey)) {
      this.stats.duplicateAppearances++;
      if (fromClient && isUsablePacketPid(meta.pid)) this.stats.outboundWithPid++;
      conn.duplicateAppearance(fromClient, tcp, meta);
      return;
    }
    if (conn && conn.isNewConnection(fromClient, tcp)) {
      this.retire(key, conn);
      conn = undefined;
    }
    // Counted once per packet (pktmon logs a packet at several components).
    if (fromClient) {
      this.stats.outbound++;
      if (isUsablePacketPid(meta.pid)) this.stats.outboundWithPid++;
    } else {
      this.stats.inbound++;
    }
    if (cutAt !== undefined) {
      this.stats.cutPackets++;
      if (cutAt > this.stats.snapLength) this.stats.snapLength = cutAt;
    }
    if (!conn) {
      conn = new Connection(++this.connectionCount, clientAddr, clientPort, endpoint, this.limits, this.budget, p.fileTime);
      this.conns.set(key, conn);
      if (appearanceKey !== null) conn.seenAppearance(appearanceKey);
    }
    conn.segment(fromClient, tcp, meta, missing > 0 ? Math.max(0, missing - tcp.headerCut) : 0);
    // Keep the map in least-recently-active order, so the connection to evict comes first.
    this.conns.delete(key);
    this.conns.set(key, conn);
    if (this.conns.size > this.maxConnections) this.evictOverflow();
    // Amortised: a sweep visits every connection, so it runs at most once per that many packets.
    if (++this.sinceSweep >= SWEEP_EVERY && this.sinceSweep >= this.conns.size) this.sweep(p.fileTime);
  }

  /** A TCPIP connection event; may be added at any time before finish(). */
  addHint(h: TcpipHint): void {
    this.hints.add(h);
  }

  finish(): ImdsResult {
    if (!this.done) {
      this.done = true;
      for (const [key, conn] of [...this.conns]) this.retire(key, conn);
      for (const { req, key } of this.awaitingHint) {
        const h = this.hints.nearest(key, req.time);
        if (h) { req.pid = h.pid; req.attribution = 'tcpip'; }
      }
      this.awaitingHint.length = 0;
      this.out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    }
    this.stats.retransmittedBytes = this.budget.retransmitted;
    this.stats.gapBytes = this.budget.gapBytes;
    this.stats.cutBytes = this.budget.cutBytes;
    this.stats.droppedBytes = this.budget.dropped;
    this.stats.peakBufferedBytes = this.budget.peak;
    const ids = [...this.instanceIds];
    return { requests: this.out, instanceId: ids.length === 1 ? ids[0]! : null, connections: this.connectionCount, warnings: this.warnings(), stats: this.stats };
  }

  private ignore(reason: string): void {
    this.stats.ignored[reason] = (this.stats.ignored[reason] ?? 0) + 1;
  }

  private evictOverflow(): void {
    while (this.conns.size > this.maxConnections) {
      const oldest = this.conns.entries().next().value;
      if (!oldest) break;
      this.connectionEvictions++;
      this.retire(oldest[0], oldest[1]);
    }
  }

  private sweep(now: bigint): void {
    this.sinceSweep = 0;
    for (const [key, conn] of this.conns) {
      const closedFor = conn.closedAt !== null ? now - conn.closedAt : -1n;
      if ((conn.closed && closedFor > this.closedLinger) || now - conn.lastSeen > this.idleTimeout) this.retire(key, conn);
    }
  }

  private retire(key: string, conn: Connection): void {
    if (this.conns.get(key) === conn) this.conns.delete(key);
    for (const rec of conn.finalize()) this.out.push(this.toRequest(rec, conn));
    this.stats.orphanResponses += conn.orphanResponses;
    this.limitHits += conn.limitHits;
  }

  private toRequest(rec: RequestRecord, conn: Connection): ImdsRequest {
    const id = instanceIdAnswer(rec);
    if (id !== null && this.instanceIds.size < 8) this.instanceIds.add(id);
    const flags = new Set(rec.flags);
    const req: ImdsRequest = {
      time: rec.time ?? rec.beginTime, pid: null, tid: null, attribution: 'none', class: rec.class,
      method: rec.method, path: rec.path, pathCut: rec.pathCut, reason: unknownReason(rec), status: rec.status, endpoint: conn.endpoint,
      clientAddr: conn.clientAddr, clientPort: conn.clientPort, userAgent: rec.userAgent, host: rec.host,
      ttl: rec.ttl, flags: [], frames: rec.frames, connection: conn.id,
    };
    const own = rec.votes.winner();
    const shared = conn.votes.winner();
    if (own) {
      req.pid = own.pid; req.tid = own.tid; req.attribution = 'packet';
      if (rec.votes.size > 1) flags.add('pid-conflict');
    } else if (shared) {
      req.pid = shared.pid; req.attribution = 'connection';
    } else {
      this.awaitingHint.push({ req, key: tupleKey(conn.clientAddr, conn.clientPort, conn.endpoint) });
    }
    req.flags = [...flags].sort();
    return req;
  }

  /** What the analysis could not use, as notes about the trace (ImdsOptions.file). */
  private warnings(): ImdsNote[] {
    const w: ImdsNote[] = [];
    const note = (code: ImdsNoteCode, message: string) => w.push({ severity: 'warning', code, message, file: this.file, offset: 0, buffer: -1 });
    const s = this.stats;
    for (const [reason, n] of Object.entries(s.ignored)) {
      note('ignored-packets', `ignored ${n} packet(s): ${IGNORED_TEXT[reason] ?? reason}`);
    }
    if (s.directionMismatches > 0) {
      note('direction-mismatch', `${s.directionMismatches} packet(s) logged with a direction their addresses contradict (addresses used)`);
    }
    if (s.gapBytes > 0) note('missing-bytes', `${s.gapBytes} byte(s) missing from IMDS connections; requests they touch are 'unknown' or flagged 'gap'`);
    if (this.limitHits > 0) {
      note('buffer-limit', `buffer limits reached ${this.limitHits} time(s): stopped waiting for missing bytes (see gap count)`);
    }
    if (this.connectionEvictions > 0) {
      note('too-many-connections', `${this.connectionEvictions} connection(s) closed early: more than ${this.maxConnections} open at once`);
    }
    if (s.droppedBytes > 0) note('out-of-window', `${s.droppedBytes} byte(s) outside any plausible TCP window ignored`);
    if (s.orphanResponses > 0) note('orphan-responses', `${s.orphanResponses} response(s) without a captured request`);
    if (this.instanceIds.size > 1) note('instance-ids', `IMDS gave more than one instance id (${[...this.instanceIds].join(', ')}): the trace names no instance`);
    return w;
  }
}

/** A GET of the instance id: /latest/meta-data/instance-id, or under a dated API version. */
const INSTANCE_ID_PATH = /^\/(?:latest|\d{4}-\d{2}-\d{2})\/meta-data\/instance-id$/;
/** What an EC2 instance id looks like: i- and 8 (older instances) to 17 hexadecimal digits. */
export const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** The instance id IMDS answered this request with, when the whole answer was captured; else null. */
function instanceIdAnswer(rec: RequestRecord): string | null {
  const a = rec.answer;
  if (!a || a.lost || a.length !== a.bytes.length || rec.status !== 200 || rec.method !== 'GET' || rec.pathCut) return null;
  if (rec.path === null || !INSTANCE_ID_PATH.test(rec.path)) return null;
  const text = Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.length).toString('latin1');
  return INSTANCE_ID.test(text) ? text : null;
}

/** Why a request is 'unknown', in the words the output shows. */
function unknownReason(rec: RequestRecord): string | null {
  if (rec.class !== 'unknown') return null;
  const f = rec.flags;
  if (f.has('no-request')) return 'only the answer was captured';
  if (f.has('cut')) return rec.cutAt !== null ? `cut at ${rec.cutAt} bytes` : 'cut short by the capture';
  if (f.has('other-cloud')) return 'Azure or Google metadata headers';
  if (f.has('missing-start')) return 'the capture began inside this request';
  if (f.has('gap')) return 'bytes of it are missing from the capture';
  if (f.has('truncated')) return 'the capture ended inside this request';
  if (f.has('unparseable') || f.has('bad-framing')) return 'not an HTTP/1.x request';
  return 'its bytes were not captured';
}

type Item = ImdsPacket | readonly ImdsPacket[];

function pushItem(a: ImdsAnalyzer, item: Item): void {
  if (Array.isArray(item)) for (const p of item as readonly ImdsPacket[]) a.push(p);
  else a.push(item as ImdsPacket);
}

function isAsync<T>(x: Iterable<T> | AsyncIterable<T>): x is AsyncIterable<T> {
  return typeof (x as AsyncIterable<T>)[Symbol.asyncIterator] === 'function';
}

/**
 * Analyzes the IMDS traffic of one trace. `packets` (single packets or
 * batches) are consumed in trace order; `hints` is read only after the
 * packets are exhausted, so it may be an array filled while they are read.
 */
export async function analyzeImds(
  packets: Iterable<Item> | AsyncIterable<Item>,
  hints: Iterable<TcpipHint> | AsyncIterable<TcpipHint> = [],
  options: ImdsOptions = {},
): Promise<ImdsResult> {
  const a = new ImdsAnalyzer(options);
  if (isAsync(packets)) for await (const item of packets) pushItem(a, item);
  else for (const item of packets) pushItem(a, item);
  if (isAsync(hints)) for await (const h of hints) a.addHint(h);
  else for (const h of hints) a.addHint(h);
  return a.finish();
}

/** Synchronous form of analyzeImds for in-memory inputs. */
export function analyzeImdsSync(
  packets: Iterable<Item>,
  hints: Iterable<TcpipHint> = [],
  options: ImdsOptions = {},
): ImdsResult {
  const a = new ImdsAnalyzer(options);
  for (const item of packets) pushItem(a, item);
  for (const h of hints) a.addHint(h);
  return a.finish();
}

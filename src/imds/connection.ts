// One TCP connection between a client and IMDS: two reassembled streams, an
// HTTP parser on each, request records, and responses matched to requests.

import { PidVotes } from './attribute.js';
import { classifyPartial, classifyRequest, type Classification, type PartialClassification } from './classify.js';
import { DEFER, HttpStreamParser, type HttpHead, type HttpSink, type InvalidReason, type MessageFlag } from './http.js';
import { HalfStream, type Budget, type SegmentMeta, type StreamSink } from './reassembly.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, seqAdd, seqDiff, type TcpSegment } from './tcp.js';
import type { ImdsClass, ImdsEndpoint, ImdsFlag } from './types.js';

export interface RequestRecord {
  start: number;
  /** Exclusive end offset; Infinity while the message is open. */
  end: number;
  headEnd: number | null;
  fragment: boolean;
  /** Bytes present but not parseable, or cut by a gap / the end of the stream. */
  invalid: boolean;
  time: bigint | null;
  beginTime: bigint;
  /** The client's acknowledgement when it sent the first byte: how much of the server stream it had seen. */
  clientAck: number | null;
  votes: PidVotes;
  frames: number[];
  class: ImdsClass;
  method: string | null;
  path: string | null;
  pathCut: boolean;
  host: string | null;
  userAgent: string | null;
  ttl: number | null;
  status: number | null;
  flags: Set<ImdsFlag>;
  /** Frame bytes logged of the cut packet that ended what the capture holds of it. */
  cutAt: number | null;
  /** The body of the response matched to it (what is kept of it), once matched. */
  answer: AnswerBody | null;
}

/**
 * The start of a response's Content-Length body, kept only while it can be an instance id (docs/imds.md,
 * The instance's id): any other body is only counted. Filled as the body's bytes pass.
 */
export interface AnswerBody {
  /** The first ANSWER_KEPT bytes. */
  bytes: Uint8Array;
  /** Body bytes seen (more than bytes.length when the body is longer than what is kept). */
  length: number;
  /**
   * Bytes of it are missing (a gap, the end of the capture), or it does not start like an instance
   * id and nothing of it is kept: it is not a whole instance id.
   */
  lost: boolean;
}

/** The start of an instance id ("i-" and hexadecimal digits), the only body text kept. */
const ID_PREFIX = /^i(?:-[0-9a-f]*)?$/;

/** Body bytes kept per response: more than the longest instance id ("i-" and 17 hex digits). */
export const ANSWER_KEPT = 32;

interface ResponseRecord {
  time: bigint;
  fragment: boolean;
  /** Absolute sequence number of the response's first byte (server stream), if known. */
  startSeq: number | null;
  ack: number | null;
  afterGap: boolean;
  status: number | null;
  interim: boolean;
  queued: boolean;
  body: AnswerBody;
}

export interface ConnectionLimits {
  maxBufferedBytes: number;
  maxBufferedSegments: number;
  maxHeaderBytes: number;
  maxFrames: number;
}

const DUP_KEYS_MAX = 2048;
const REUSE_WINDOW = 1 << 20;
const RESP_QUEUE_MAX = 1024;

function applyVerdict(r: RequestRecord, c: Classification, pathCut: boolean): void {
  r.class = c.class;
  r.method = c.method;
  r.path = c.path;
  r.pathCut = pathCut;
  r.host = c.host;
  r.userAgent = c.userAgent;
  r.ttl = c.ttl;
  for (const f of c.flags) r.flags.add(f);
}

/** a < b in sequence space, false when either is unknown. */
function before(a: number | null, b: number | null): boolean {
  return a !== null && b !== null && seqDiff(a, b) < 0;
}

function after(a: number | null, b: number | null): boolean {
  return a !== null && b !== null && seqDiff(a, b) > 0;
}
// Delivered client chunks remembered for crediting a start line that spanned them.
const RECENT_MAX = 16;

export class Connection {
  readonly client: HalfStream;
  readonly server: HalfStream;
  readonly requests: RequestRecord[] = [];
  readonly votes = new PidVotes();
  closed = false;
  closedAt: bigint | null = null;
  lastSeen: bigint;
  orphanResponses = 0;
  /** Times a buffer limit made this connection give up waiting for missing bytes. */
  limitHits = 0;
  duplicateAppearances = 0;
  private reqParser!: HttpStreamParser;
  private resParser!: HttpStreamParser;
  private openReq: RequestRecord | null = null;
  private openResp: ResponseRecord | null = null;
  private respQueue: ResponseRecord[] = [];
  /** A response whose request is not parsed yet; its parser holds the bytes after its head. */
  private deferredResp: ResponseRecord | null = null;
  private nextMatch = 0;
  private serverGap = false;
  private now: bigint;
  private serverMeta: SegmentMeta | null = null;
  private clientFin = false;
  private serverFin = false;
  private dupKeys = new Set<string>();
  private recent: { from: number; to: number; meta: SegmentMeta }[] = [];
  private finalized = false;
  /** Packets from the client, payload or not: none means a one-sided capture of this connection. */
  private clientPackets = 0;
  /** The packet whose cut makes the client-stream gap being reported, while it is. */
  private clientCut: SegmentMeta | null = null;
  /** Frame bytes logged of the client's cut packets, once one was cut. */
  private clientCutAt: number | null = null;
  /** What the head of the request the parser is about to call invalid shows (partialHead). */
  private partial: { r: RequestRecord; c: PartialClassification } | null = null;
  /** Responses were or may have been lost: pair only on exact sequence evidence. */
  private unsure = false;
  private done = false;

  constructor(
    readonly id: number,
    readonly clientAddr: string,
    readonly clientPort: number,
    readonly endpoint: ImdsEndpoint,
    private readonly limits: ConnectionLimits,
    private readonly budget: Budget,
    time: bigint,
  ) {
    this.now = time;
    this.lastSeen = time;
    const self = this;
    const clientSink: StreamSink = {
      deliver: (data, off, meta) => {
        const before = self.requests.length;
        self.recent.push({ from: off, to: off + data.length, meta });
        if (self.recent.length > RECENT_MAX) self.recent.shift();
        self.reqParser.push(data, off);
        // A message found while re-synchronising may start in earlier chunks (held back as a prefix).
        for (let k = before; k < self.requests.length; k++) {
          const r = self.requests[k]!;
          if (r.start >= off) continue;
          for (const c of self.recent) {
            if (c.to <= r.start || c.from >= off || c.from >= r.end) continue;
            if (r.time === null) { r.time = c.meta.time; r.clientAck = c.meta.ack; } // chunks are in offset order: this one holds r.start
            self.credit(r, c.meta, true);
          }
        }
        // Bytes held back as a possible start line belong to the next record, credited when it begins.
        const held = self.reqParser.heldFrom;
        const creditEnd = held !== null && held >= off ? held : off + data.length;
        if (creditEnd > off) self.attribute(off, creditEnd, meta, true);
        // Records with no bytes of their own (a gap) take the time of the first bytes after them.
        for (let k = self.requests.length - 1; k >= 0 && self.requests[k]!.end >= off; k--) {
          const r = self.requests[k]!;
          if (r.time === null) r.time = meta.time;
        }
      },
      gap: (off, len, cutBy) => {
        self.clientCut = cutBy ?? null;
        self.reqParser.gap(off, len);
        self.clientCut = null;
      },
      duplicate: (off, len, meta) => self.attribute(off, off + len, meta, false),
      reset: () => {
        self.recent = [];
        self.requests.length = 0;
        self.openReq = null;
        self.nextMatch = 0;
        self.reqParser = self.newRequestParser();
      },
      get committed() { return self.reqParser.synced; },
    };
    const serverSink: StreamSink = {
      deliver: (data, off, meta) => {
        self.serverMeta = meta;
        self.resParser.push(data, off);
        self.serverMeta = null;
      },
      gap: (off, len) => self.resParser.gap(off, len),
      duplicate: () => {},
      reset: () => {
        self.openResp = null;
        self.respQueue = [];
        self.deferredResp = null;
        self.resParser = self.newResponseParser();
      },
      get committed() { return self.resParser.synced; },
    };
    this.client = new HalfStream(clientSink, budget);
    this.server = new HalfStream(serverSink, budget);
    this.reqParser = this.newRequestParser();
    this.resParser = this.newResponseParser();
  }

  /** Client packet that starts a different connection on the same ports? */
  isNewConnection(fromClient: boolean, tcp: TcpSegment): boolean {
    if (!fromClient) return false;
    if ((tcp.flags & TCP_SYN) && !(tcp.flags & TCP_ACK)) {
      // A SYN with another ISN opens a new connection; the same ISN is a retransmission.
      return this.client.isn !== null ? this.client.isn !== tcp.seq : this.client.fromSyn;
    }
    if (this.closed && tcp.payload.length > 0 && this.client.base !== null) {
      // Data past everything the closed connection sent: the port was reused without a captured SYN.
      // Shortly before the origin is a late copy of old bytes; a reused port gets an unrelated ISN.
      const off = seqDiff(tcp.seq, this.client.base);
      return off < -REUSE_WINDOW || off >= this.client.endOffset;
    }
    return false;
  }

  /** Key of a pktmon packet seen before (another component's copy), else records it. */
  seenAppearance(key: string): boolean {
    if (this.dupKeys.has(key)) return true;
    this.dupKeys.add(key);
    if (this.dupKeys.size > DUP_KEYS_MAX) {
      const oldest = this.dupKeys.values().next().value;
      if (oldest !== undefined) this.dupKeys.delete(oldest);
    }
    return false;
  }

  /** Another component's copy of a packet already processed: its PID still counts. */
  duplicateAppearance(fromClient: boolean, tcp: TcpSegment, meta: SegmentMeta): void {
    this.duplicateAppearances++;
    this.lastSeen = meta.time;
    if (!fromClient) return;
    this.votes.add(meta.pid, meta.tid);
    const off = this.client.offsetOf((tcp.flags & TCP_SYN) ? seqAdd(tcp.seq, 1) : tcp.seq);
    if (off !== null && tcp.payload.length > 0) this.attribute(off, off + tcp.payload.length, meta, false);
  }

  /** A packet of this connection; `cut` payload bytes followed its logged ones (a snap length). */
  segment(fromClient: boolean, tcp: TcpSegment, meta: SegmentMeta, cut = 0): void {
    this.now = meta.time;
    this.lastSeen = meta.time;
    const stream = fromClient ? this.client : this.server;
    if (fromClient) { this.votes.add(meta.pid, meta.tid); this.clientPackets++; }
    let seq = tcp.seq;
    if (tcp.flags & TCP_SYN) {
      stream.syn(tcp.seq);
      if (!fromClient && (tcp.flags & TCP_ACK)) this.client.originFromAck(tcp.ack);
      seq = seqAdd(seq, 1); // data on a SYN (TCP Fast Open) follows the SYN's sequence number
      if (this.client.fromSyn) this.reqParser.startAtOrigin();
      if (this.server.fromSyn) this.resParser.startAtOrigin();
    }
    if (tcp.payload.length > 0 || cut > 0) {
      stream.data(seq, tcp.payload, meta, cut);
      this.enforceLimits();
    }
    if (tcp.flags & TCP_FIN) {
      stream.fin(seq, tcp.payload.length + cut);
      if (fromClient) this.clientFin = true; else this.serverFin = true;
    }
    if ((tcp.flags & TCP_RST) || (this.clientFin && this.serverFin)) {
      if (!this.closed) { this.closed = true; this.closedAt = meta.time; }
    }
  }

  /** Flushes everything and returns the finished request records (once). */
  finalize(): RequestRecord[] {
    if (this.done) return [];
    this.done = true;
    // Requests first, so responses parsed now know which request they answer.
    this.client.drain();
    this.reqParser.finish(Math.max(this.client.finOff ?? 0, this.client.next));
    this.server.drain();
    this.resParser.finish(Math.max(this.server.finOff ?? 0, this.server.next));
    // Only now may the last request take a response without seeing a next request.
    this.finalized = true;
    this.tryMatch();
    if ((this.clientPackets === 0 && this.requests.length === 0) || this.clientCutAt !== null) {
      // Each answer left stands for a request the capture did not show: only IMDS's side of the
      // connection was captured, or the request was in bytes a snap length cut off (pipelined
      // requests after the first, typically).
      for (const resp of this.respQueue) this.requests.push(this.answeredRequest(resp, this.clientCutAt));
      this.respQueue = [];
    }
    this.orphanResponses += this.respQueue.length;
    this.respQueue = [];
    for (const r of this.requests) if (r.time === null) r.time = r.beginTime;
    return this.requests;
  }

  private answeredRequest(resp: ResponseRecord, cutAt: number | null): RequestRecord {
    return {
      start: 0, end: 0, headEnd: null, fragment: true, invalid: true, time: resp.time, beginTime: resp.time, clientAck: null,
      votes: new PidVotes(), frames: [], class: 'unknown', method: null, path: null, pathCut: false, host: null,
      userAgent: null, ttl: null, status: resp.interim ? null : resp.status,
      flags: new Set([cutAt !== null ? 'cut' : 'no-request']), cutAt, answer: null,
    };
  }

  /** A client-stream gap reached this request: the capture's cut, or bytes it lost. */
  private gapFlag(r: RequestRecord): void {
    const cut = this.clientCut;
    if (cut) {
      r.flags.add('cut');
      if (r.cutAt === null && cut.cutAt !== undefined) r.cutAt = cut.cutAt;
      this.clientCutAt ??= cut.cutAt ?? null;
    } else {
      r.flags.add('gap');
    }
  }

  private enforceLimits(): void {
    const { maxBufferedBytes, maxBufferedSegments } = this.limits;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const bytes = this.client.pendingBytes + this.server.pendingBytes;
      const segs = this.client.pendingSegments + this.server.pendingSegments;
      if (bytes <= maxBufferedBytes && segs <= maxBufferedSegments) break;
      const s = this.client.pendingBytes + this.client.pendingSegments >= this.server.pendingBytes + this.server.pendingSegments
        ? this.client : this.server;
      if (!s.skipHole()) break;
      this.limitHits++;
    }
    if (this.budget.total > this.budget.maxTotal) {
      this.limitHits++;
      // Scan-wide cap: this connection stops waiting for its missing bytes.
      this.client.drain();
      this.server.drain();
    }
    if (this.budget.total > this.budget.peak) this.budget.peak = this.budget.total;
  }

  /** Credits a delivered (first) or repeated copy of client bytes [from, to) to the requests it carries. */
  private attribute(from: number, to: number, meta: SegmentMeta, first: boolean): void {
    for (let k = this.requests.length - 1; k >= 0; k--) {
      const r = this.requests[k]!;
      if (r.end <= from) break;
      if (r.start >= to) continue;
      if (first && r.time === null) {
        r.time = meta.time;
        if (r.start >= from) r.clientAck = meta.ack;
      }
      this.credit(r, meta, first);
    }
  }

  private credit(r: RequestRecord, meta: SegmentMeta, first: boolean): void {
    r.votes.add(meta.pid, meta.tid);
    if (meta.dropped) r.flags.add('dropped');
    if (first && r.frames.length < this.limits.maxFrames && !r.frames.includes(meta.frame)) r.frames.push(meta.frame);
  }

  private newRequestParser(): HttpStreamParser {
    const self = this;
    const sink: HttpSink = {
      begin(off: number, fragment: boolean) {
        const r: RequestRecord = {
          start: off, end: Infinity, headEnd: null, fragment, invalid: false, time: null, beginTime: self.now, clientAck: null,
          votes: new PidVotes(), frames: [], class: 'unknown', method: null, path: null, pathCut: false, host: null,
          userAgent: null, ttl: null, status: null, flags: new Set(), cutAt: null, answer: null,
        };
        if (fragment && !self.client.fromSyn && !self.reqParser.synced) r.flags.add('missing-start');
        // The chunk holding the first byte (the current one, or an earlier one for a held-back prefix)
        // gives the time and the client's view of the server stream, before the head completes.
        for (const c of self.recent) {
          if (c.from <= off && off < c.to) { r.time = c.meta.time; r.clientAck = c.meta.ack; break; }
        }
        self.requests.push(r);
        self.openReq = r;
        if (fragment) self.checkDeferred();
      },
      head(head: HttpHead, headEnd: number) {
        const r = self.openReq;
        if (!r || head.kind !== 'request') return null;
        applyVerdict(r, classifyRequest(head), false);
        r.headEnd = headEnd;
        self.tryMatch();
        self.checkDeferred();
        return null;
      },
      invalid(reason: InvalidReason) {
        const r = self.openReq;
        if (!r) return;
        r.class = 'unknown';
        r.invalid = true;
        if (reason === 'gap') self.gapFlag(r);
        else r.flags.add(reason === 'truncated' ? 'truncated' : 'unparseable');
        // What the head's captured bytes show still counts (partialHead came just before).
        if (self.partial && self.partial.r === r) applyVerdict(r, self.partial.c, self.partial.c.pathCut);
        self.partial = null;
        self.tryMatch();
        self.checkDeferred();
      },
      partialHead(bytes: Uint8Array) {
        const r = self.openReq;
        if (!r || r.fragment || r.headEnd !== null) return;
        const c = classifyPartial(bytes);
        self.partial = c ? { r, c } : null;
      },
      flag(flag: MessageFlag) {
        const r = self.openReq;
        if (!r) return;
        if (flag === 'gap') self.gapFlag(r);
        else r.flags.add(flag);
      },
      end(off: number) {
        const r = self.openReq;
        if (r) { r.end = off; self.openReq = null; }
        self.tryMatch();
        self.checkDeferred();
      },
    };
    return new HttpStreamParser('request', sink, this.limits.maxHeaderBytes, this.client.fromSyn);
  }

  private newResponseParser(): HttpStreamParser {
    const self = this;
    const sink: HttpSink = {
      begin(off: number, fragment: boolean) {
        const resp: ResponseRecord = {
          time: self.now,
          // A fragment's first byte is not its response's first byte: no start to reason with.
          fragment, startSeq: fragment ? null : self.server.seqOf(off), ack: self.serverMeta?.ack ?? null,
          // Before the first response of a stream whose start was not captured, responses may be lost too.
          afterGap: self.serverGap || (!self.server.fromSyn && !self.resParser.synced),
          status: null, interim: false, queued: false, body: { bytes: new Uint8Array(0), length: 0, lost: false },
        };
        self.openResp = resp;
        self.serverGap = false;
        // The tail of a response (capture started late, or bytes lost): it still answers one request.
        if (fragment) self.queueResponse(resp);
      },
      head(head: HttpHead) {
        const resp = self.openResp;
        if (!resp || head.kind !== 'response') return null;
        if (head.status >= 100 && head.status < 200 && head.status !== 101) {
          resp.interim = true; // 100 Continue and friends precede the real answer
          return null;
        }
        resp.status = head.status;
        const cand = self.candidate(resp);
        if (cand === undefined) {
          self.deferredResp = resp;
          return DEFER;
        }
        self.queueResponse(resp);
        return cand;
      },
      undefer() {
        const resp = self.deferredResp;
        if (!resp) return null;
        self.deferredResp = null;
        const cand = self.candidate(resp);
        self.queueResponse(resp);
        return cand ?? null;
      },
      partialHead(bytes: Uint8Array) {
        // A head cut short still shows its status line.
        const resp = self.openResp;
        if (!resp || resp.fragment) return;
        const m = /^HTTP\/1\.\d (\d{3})(?!\d)/.exec(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 32)).toString('latin1'));
        if (!m) return;
        const status = Number(m[1]);
        if (status >= 100 && status < 200 && status !== 101) resp.interim = true;
        else resp.status = status;
      },
      invalid(reason: InvalidReason) {
        if (reason === 'gap') self.serverGap = true;
        const resp = self.openResp;
        if (resp && !resp.fragment && !resp.queued && !resp.interim) self.queueResponse(resp);
      },
      flag(flag: MessageFlag) {
        if (flag === 'gap') self.serverGap = true;
        if (self.openResp) self.openResp.body.lost = true;
      },
      body(bytes: Uint8Array) {
        const body = self.openResp?.body;
        if (!body) return;
        body.length += bytes.length;
        if (body.lost) return;
        const keep = Math.min(bytes.length, ANSWER_KEPT - body.bytes.length);
        if (keep <= 0) return;
        const grown = new Uint8Array(body.bytes.length + keep);
        grown.set(body.bytes);
        grown.set(bytes.subarray(0, keep), body.bytes.length);
        // Only what can still be an instance id is kept: a token or credentials never stay in memory.
        if (!ID_PREFIX.test(Buffer.from(grown.buffer, grown.byteOffset, grown.length).toString('latin1'))) {
          body.bytes = new Uint8Array(0);
          body.lost = true;
          return;
        }
        body.bytes = grown;
      },
      end() {
        self.openResp = null;
      },
    };
    return new HttpStreamParser('response', sink, this.limits.maxHeaderBytes, this.server.fromSyn);
  }

  private queueResponse(resp: ResponseRecord): void {
    resp.queued = true;
    this.respQueue.push(resp);
    this.tryMatch();
  }

  /**
   * Method of the request a new response will answer: a string or null when known
   * (null for a response that answers a request the capture missed), undefined
   * while that request has not been parsed yet.
   */
  private candidate(resp: ResponseRecord): string | null | undefined {
    const cand = this.requests[this.nextMatch + this.respQueue.length];
    if (!cand || !this.ready(cand)) return undefined;
    const ref = this.refSeq(cand);
    if (resp.ack !== null && ref !== null && seqDiff(resp.ack, ref) < 0) return null;
    return cand.method;
  }

  /** A request became ready: a response waiting for it can continue. */
  private checkDeferred(): void {
    const resp = this.deferredResp;
    if (!resp) return;
    const cand = this.candidate(resp);
    if (cand === undefined) return;
    this.deferredResp = null;
    this.queueResponse(resp);
    this.resParser.resume(cand);
  }

  /** A request is ready to take a response once its head is known or it is known to be unparseable. */
  private ready(r: RequestRecord): boolean {
    return r.headEnd !== null || r.fragment || r.invalid || r.end !== Infinity;
  }

  /** The server acknowledged at least this when it had (the head of) r. */
  private refSeq(r: RequestRecord): number | null {
    return this.client.seqOf(r.headEnd ?? r.start + 1);
  }

  /**
   * Pairs queued responses with requests in order (HTTP/1.1 answers in request
   * order), using sequence numbers to notice responses or requests the capture
   * lost: a status is only given when the pairing is certain.
   */
  private tryMatch(): void {
    while (this.respQueue.length > 0 && this.nextMatch < this.requests.length) {
      const resp = this.respQueue[0]!;
      if (this.respQueue.length > RESP_QUEUE_MAX) { this.dropResponse(); continue; }
      const r = this.requests[this.nextMatch]!;
      if (!this.ready(r)) return;
      const nxt = this.requests[this.nextMatch + 1];
      const nxtReady = nxt !== undefined && this.ready(nxt);
      // The next request can change the answer: wait for it, or for the end of the connection.
      if (!this.finalized && !nxtReady) return;
      // The client had this response before sending r, or the server sent it before having r.
      if (before(resp.startSeq, r.clientAck) || before(resp.ack, this.refSeq(r))) { this.dropResponse(); continue; }
      // Server bytes reached the client between r and nxt (r's answer, not captured) and this
      // response starts after them: it answers a later request.
      if (nxtReady && after(nxt.clientAck, r.clientAck) && !before(resp.startSeq, nxt.clientAck)) { this.nextMatch++; continue; }
      // After a loss (missing server bytes, a request record that may hide several requests, or
      // requests before the captured start), a response is only surely r's when it starts exactly
      // where the client's view stood when it sent r and every earlier request had been answered
      // by then. Otherwise r gets no status rather than a wrong one, and the response goes to
      // nobody. The uncertainty lasts until a response lines up exactly again. Known blind spot:
      // pipelined requests when the capture also missed the connection's start.
      const prev = this.requests[this.nextMatch - 1];
      if (resp.afterGap || r.clientAck === null || (prev !== undefined && prev.flags.has('gap'))
        || (prev === undefined && !this.client.fromSyn)) this.unsure = true;
      const afterLoss = this.unsure;
      const exact = resp.startSeq !== null && resp.startSeq === r.clientAck
        // (For the first request seen, earlier ones could only be pending if they were pipelined.)
        && (prev === undefined || prev.clientAck === null || after(r.clientAck, prev.clientAck));
      if (afterLoss && !exact) {
        this.nextMatch++;
        this.respQueue.shift();
        continue;
      }
      if (exact) this.unsure = false;
      r.status = resp.status;
      r.answer = resp.body;
      this.nextMatch++;
      this.respQueue.shift();
    }
  }

  private dropResponse(): void {
    this.respQueue.shift();
    this.orphanResponses++;
  }
}

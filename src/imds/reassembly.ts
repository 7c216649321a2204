// One direction of a TCP connection turned back into a byte stream.
// Offsets count bytes from the stream origin: the byte after the SYN when the
// handshake was captured, else the first data byte seen (tentative origin,
// moved back if an earlier segment or the SYN turns up before anything was parsed).
// A segment the capture logged only in part (a snap length) brings its first
// bytes and a hole of known length after them: the hole is a gap the moment the
// stream reaches it, since no copy of the packet holds more.

import { seqAdd, seqDiff } from './tcp.js';

export interface SegmentMeta {
  time: bigint;
  pid: number;
  tid: number;
  frame: number;
  /** Acknowledgement number of the carrying segment (absolute), or null without ACK. */
  ack: number | null;
  dropped: boolean;
  /** Frame bytes the capture logged, when it logged this packet shorter than it was. */
  cutAt?: number;
}

interface Pending {
  off: number;
  data: Uint8Array;
  meta: SegmentMeta;
  /** Later copies of (part of) these bytes, kept for PID attribution. */
  extra: SegmentMeta[] | null;
  /** Bytes right after `data` that the capture cut off. */
  cut: number;
}

export interface StreamSink {
  /** Contiguous bytes at `off`. */
  deliver(data: Uint8Array, off: number, meta: SegmentMeta): void;
  /** Bytes [off, off+len) will never arrive; `cutBy` is the packet whose logged part ended before them, if that is why. */
  gap(off: number, len: number, cutBy?: SegmentMeta): void;
  /** Another copy of bytes already delivered (retransmission, duplicate appearance). */
  duplicate(off: number, len: number, meta: SegmentMeta): void;
  /** Forget everything delivered so far (origin moved back; replay follows). */
  reset(): void;
  /** True once the consumer has recognised a message start: the origin is fixed from then on. */
  readonly committed: boolean;
}

/** Shared accounting of buffered out-of-order bytes. */
export interface Budget {
  total: number;
  /** Highest `total` after limits were applied. */
  peak: number;
  maxTotal: number;
  dropped: number;
  gapBytes: number;
  /** Bytes the capture's snap length cut off (not counted in gapBytes). */
  cutBytes: number;
  retransmitted: number;
}

// Segments further than this from the delivery point are treated as corrupt.
const WINDOW = 4 * 1024 * 1024;
// Bytes kept for replay while the origin is tentative.
const REPLAY_MAX = 64 * 1024;

export class HalfStream {
  /** Absolute sequence number of offset 0; null until the first SYN or data. */
  base: number | null = null;
  /** Origin known from a SYN (or the peer's SYN-ACK acknowledgement). */
  fromSyn = false;
  isn: number | null = null;
  /** Everything before this offset has been delivered (or declared a gap). */
  next = 0;
  finOff: number | null = null;
  /** Highest offset any segment reached. */
  maxEnd = 0;
  pendingBytes = 0;
  private pending: Pending[] = [];
  private replay: Pending[] | null = [];
  private replayBytes = 0;

  constructor(private readonly sink: StreamSink, private readonly budget: Budget) {}

  get pendingSegments(): number {
    return this.pending.length;
  }

  /** SYN (or SYN-ACK) with initial sequence number isn. */
  syn(isn: number): void {
    const origin = seqAdd(isn, 1);
    if (this.base === null) {
      this.base = origin;
      this.fromSyn = true;
      this.isn = isn;
      this.replay = null;
      return;
    }
    if (this.fromSyn) return; // retransmitted SYN (a different ISN is a new connection, decided by the caller)
    const back = seqDiff(this.base, origin);
    const rebase = back >= 0 && back <= WINDOW && this.canRebase();
    this.fromSyn = true;
    if (rebase) this.rebase(origin);
    this.isn = isn;
    this.replay = null;
  }

  /** Origin learnt from the peer's acknowledgement of our SYN (SYN itself not captured). */
  originFromAck(origin: number): void {
    if (this.base === null) {
      this.base = origin;
      this.fromSyn = true;
      this.replay = null;
    }
  }

  /** Offset of an absolute sequence number, or null when unknown / out of window. */
  offsetOf(seq: number): number | null {
    if (this.base === null) return null;
    return seqDiff(seq, this.base);
  }

  seqOf(off: number): number | null {
    return this.base === null ? null : seqAdd(this.base, off);
  }

  fin(seq: number, payloadLength: number): void {
    if (this.base === null) this.base = seq;
    const off = seqDiff(seq, this.base) + payloadLength;
    if (off < 0 || off > this.next + WINDOW) return;
    if (this.finOff === null || off < this.finOff) this.finOff = off;
  }

  /** A segment's payload; `cut` more bytes followed it that the capture did not log. */
  data(seq: number, payload: Uint8Array, meta: SegmentMeta, cut = 0): void {
    if (payload.length === 0 && cut === 0) return;
    if (this.base === null) this.base = seq;
    let off = seqDiff(seq, this.base);
    if (off < 0 && !this.fromSyn && -off <= WINDOW && this.canRebase()) {
      this.rebase(seq);
      off = 0;
    }
    let data = payload;
    if (off < 0) {
      if (off + data.length + cut <= 0) { this.budget.retransmitted += data.length; return; }
      const skip = Math.min(-off, data.length);
      cut -= -off - skip;
      data = data.subarray(skip);
      off = 0;
    }
    if (off > this.next + WINDOW) { this.budget.dropped += data.length; return; }
    const end = off + data.length + cut;
    if (end > this.maxEnd) this.maxEnd = end;
    if (end <= this.next) {
      this.budget.retransmitted += data.length;
      if (data.length > 0) this.sink.duplicate(off, data.length, meta);
      return;
    }
    if (off < this.next) {
      const dup = Math.min(this.next - off, data.length);
      this.budget.retransmitted += dup;
      if (dup > 0) this.sink.duplicate(off, dup, meta);
      cut -= this.next - off - dup;
      data = data.subarray(dup);
      off = this.next;
    }
    if (off === this.next && this.pending.length === 0) {
      if (data.length > 0) this.deliver(data, off, meta);
      if (cut > 0) this.declareCut(this.next, cut, meta);
      return;
    }
    this.insert(off, data, meta, cut);
    this.flush();
  }

  /** Gives up on the first hole: declares it a gap and delivers what follows it. */
  skipHole(): boolean {
    const first = this.pending[0];
    if (!first) return false;
    if (first.off > this.next) this.declareGap(this.next, first.off - this.next);
    this.flush();
    return true;
  }

  /** End of stream: remaining holes become gaps, everything buffered is delivered. */
  drain(): void {
    while (this.skipHole()) { /* until nothing is pending */ }
  }

  /** Offset where the stream ends: the FIN when seen, else the furthest byte. */
  get endOffset(): number {
    return Math.max(this.finOff ?? 0, this.maxEnd, this.next);
  }

  private canRebase(): boolean {
    return this.replay !== null && !this.sink.committed;
  }

  private rebase(origin: number): void {
    const shift = seqDiff(this.base!, origin);
    const replay = this.replay ?? [];
    const pending = this.pending;
    this.sink.reset();
    this.base = origin;
    this.next = 0;
    this.maxEnd = 0;
    for (const p of pending) this.budget.total -= p.data.length;
    this.pendingBytes = 0;
    this.pending = [];
    this.replay = [];
    this.replayBytes = 0;
    if (this.finOff !== null) this.finOff += shift;
    for (const p of [...replay, ...pending]) this.insert(p.off + shift, p.data, p.meta, p.cut);
    // With shift > 0 nothing flows until the bytes before the old origin arrive.
    this.flush();
  }

  private deliver(data: Uint8Array, off: number, meta: SegmentMeta): void {
    if (this.replay !== null) {
      if (this.sink.committed || this.replayBytes + data.length > REPLAY_MAX) this.replay = null;
      else { this.replay.push({ off, data: data.slice(), meta, extra: null, cut: 0 }); this.replayBytes += data.length; }
    }
    this.next = off + data.length;
    this.sink.deliver(data, off, meta);
    if (this.replay !== null && this.sink.committed) { this.replay = null; this.replayBytes = 0; }
  }

  private declareGap(off: number, len: number): void {
    this.budget.gapBytes += len;
    this.next = off + len;
    this.sink.gap(off, len);
  }

  private declareCut(off: number, len: number, by: SegmentMeta): void {
    // Replayed with the bytes before it if the origin moves back.
    if (this.replay !== null && !this.sink.committed) this.replay.push({ off, data: EMPTY, meta: by, extra: null, cut: len });
    this.budget.cutBytes += len;
    this.next = off + len;
    this.sink.gap(off, len, by);
  }

  /** Adds the parts of [off, off+data.length) that no pending segment covers, and the cut hole after them. */
  private insert(off: number, data: Uint8Array, meta: SegmentMeta, cut = 0): void {
    const end = off + data.length;
    const list = this.pending;
    // First pending segment ending after `off`.
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const p = list[mid]!;
      if (p.off + p.data.length <= off) lo = mid + 1; else hi = mid;
    }
    let cur = off;
    let i = lo;
    const pieces: Pending[] = [];
    while (i < list.length && list[i]!.off < end) {
      const p = list[i]!;
      if (p.off > cur) pieces.push({ off: cur, data: data.slice(cur - off, p.off - off), meta, extra: null, cut: 0 });
      const overlapEnd = Math.min(end, p.off + p.data.length);
      if (overlapEnd > Math.max(cur, p.off)) {
        this.budget.retransmitted += overlapEnd - Math.max(cur, p.off);
        if (!p.extra) p.extra = [];
        if (p.extra.length < 4) p.extra.push(meta);
      }
      cur = Math.max(cur, p.off + p.data.length);
      i++;
    }
    if (cur < end) pieces.push({ off: cur, data: data.slice(cur - off), meta, extra: null, cut: 0 });
    // The hole after the logged bytes rides on the piece that ends where they end (an empty one if
    // pending data already covers them: another copy may still hold more).
    if (cut > 0) {
      const last = pieces[pieces.length - 1];
      if (last && last.off + last.data.length === end) last.cut = cut;
      else pieces.push({ off: end, data: EMPTY, meta, extra: null, cut });
    }
    if (pieces.length === 0) return;
    // Insert in order: each piece goes before the first pending segment starting after it.
    let at = lo;
    for (const piece of pieces) {
      while (at < list.length && (list[at]!.off < piece.off || (list[at]!.off === piece.off && piece.data.length === 0))) at++;
      list.splice(at, 0, piece);
      at++;
      this.pendingBytes += piece.data.length;
      this.budget.total += piece.data.length;
    }
  }

  private flush(): void {
    let n = 0;
    const list = this.pending;
    while (n < list.length) {
      const p = list[n]!;
      if (p.off > this.next) break;
      n++;
      this.pendingBytes -= p.data.length;
      this.budget.total -= p.data.length;
      const skip = this.next - p.off;
      if (skip < p.data.length) {
        this.deliver(skip > 0 ? p.data.subarray(skip) : p.data, p.off + skip, p.meta);
        if (p.extra) for (const m of p.extra) this.sink.duplicate(p.off + skip, p.data.length - skip, m);
      }
      if (p.cut > 0) {
        // Up to the next pending bytes at most: those are real bytes of another copy.
        const holeEnd = p.off + p.data.length + p.cut;
        const stop = Math.min(holeEnd, list[n]?.off ?? holeEnd);
        if (stop > this.next) this.declareCut(this.next, stop - this.next, p.meta);
      }
    }
    if (n > 0) list.splice(0, n);
  }
}

const EMPTY = new Uint8Array(0);

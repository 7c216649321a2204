// Incremental HTTP/1.x message framing over one direction of a TCP stream.
// It finds where each message starts and ends, parses heads, and skips
// bodies by counting (bodies are never buffered; a sink that wants a
// Content-Length body's bytes is handed them as they pass). After anything it cannot
// frame (garbage, a gap in a head, broken chunking) it re-synchronises on the
// next line that starts like a request line or status line.

export interface HttpHeader {
  name: string;
  /** Lower-case name for case-insensitive lookups. */
  lname: string;
  /** Value with surrounding optional whitespace trimmed. */
  value: string;
}

export interface RequestHead {
  kind: 'request';
  method: string;
  target: string;
  version: string;
  headers: HttpHeader[];
}

export interface ResponseHead {
  kind: 'response';
  version: string;
  status: number;
  reason: string;
  headers: HttpHeader[];
}

export type HttpHead = RequestHead | ResponseHead;

export type InvalidReason = 'unparseable' | 'too-large' | 'gap' | 'truncated';
export type MessageFlag = 'gap' | 'truncated' | 'bad-framing';

/** Receives framing events; offsets are stream offsets (bytes since the stream origin). */
export interface HttpSink {
  /** A message starts at off; `fragment` when it is bytes that could not be framed as a message start. */
  begin(off: number, fragment: boolean): void;
  /**
   * The current message's head is complete (headEnd = offset after the blank line).
   * For responses, returns the method of the request it answers (a HEAD response has
   * no body), null if unknown, or DEFER when that request has not been parsed yet
   * (trace order across CPUs): the parser then holds the following bytes until
   * resume() is called, or until it must decide alone and calls undefer().
   */
  head(head: HttpHead, headEnd: number): string | null | typeof DEFER;
  /** The parser must decide now on a deferred response: the method to assume, or null. */
  undefer?(): string | null;
  /** The current message cannot be parsed as HTTP. */
  invalid(reason: InvalidReason): void;
  /**
   * The current message's head up to a gap or the end of the stream, which it will not complete
   * (called right before invalid()): the sink may keep what those bytes show. Valid during the call.
   */
  partialHead?(bytes: Uint8Array): void;
  flag(flag: MessageFlag): void;
  /**
   * Bytes of the current message's Content-Length body, in order, as they pass (valid during the
   * call). A gap inside the body is flagged 'gap' and its bytes are not passed.
   */
  body?(bytes: Uint8Array): void;
  /** The current message ends at off (exclusive). */
  end(off: number): void;
}

export const DEFER: unique symbol = Symbol('defer');

export const REQUEST_METHODS = ['GET', 'PUT', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT'] as const;
const METHOD_BYTES = REQUEST_METHODS.map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
const HTTP_SLASH = Uint8Array.from('HTTP/1.', (c) => c.charCodeAt(0));

type Match = 'yes' | 'no' | 'more';

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/** Does b[i..end) begin a request line ("GET /", "PUT http://", "OPTIONS *")? */
export function matchRequestStart(b: Uint8Array, i: number, end: number): Match {
  let result: Match = 'no';
  for (const m of METHOD_BYTES) {
    let k = 0;
    while (k < m.length && i + k < end && b[i + k] === m[k]) k++;
    if (k < m.length) {
      if (i + k >= end) result = 'more';
      continue;
    }
    if (i + k >= end) { result = 'more'; continue; }
    if (b[i + k] !== 0x20) continue;
    if (i + k + 1 >= end) { result = 'more'; continue; }
    const c = b[i + k + 1];
    if (c === 0x2f /* / */ || c === 0x68 /* h */ || c === 0x48 /* H */ || c === 0x2a /* * */) return 'yes';
  }
  return result;
}

/** Does b[i..end) begin a status line ("HTTP/1.1 200")? */
export function matchResponseStart(b: Uint8Array, i: number, end: number): Match {
  const need = [...HTTP_SLASH];
  for (let k = 0; k < need.length; k++) {
    if (i + k >= end) return 'more';
    if (b[i + k] !== need[k]) return 'no';
  }
  const p = i + need.length;
  if (p >= end) return 'more';
  if (!isDigit(b[p])) return 'no';
  if (p + 1 >= end) return 'more';
  if (b[p + 1] !== 0x20) return 'no';
  if (p + 2 >= end) return 'more';
  return isDigit(b[p + 2]) ? 'yes' : 'no';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

/** Splits a head (without the blank line) into lines; CRLF or bare LF. */
function headLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseHeaderLines(lines: string[]): HttpHeader[] | string {
  const headers: HttpHeader[] = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // Obsolete line folding: continuation of the previous value.
      const prev = headers[headers.length - 1];
      if (!prev) return 'continuation line before any header';
      prev.value = `${prev.value} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return `header line without a name: ${JSON.stringify(line.slice(0, 40))}`;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name.slice(0, 40))}`;
    headers.push({ name, lname: name.toLowerCase(), value: line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') });
  }
  return headers;
}

export function parseRequestHead(bytes: Uint8Array): RequestHead | string {
  const lines = headLines(latin1(bytes));
  const first = lines.shift();
  if (first === undefined) return 'empty head';
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\s]+) (HTTP\/\d\.\d)$/.exec(first);
  if (!m) return `invalid request line ${JSON.stringify(first.slice(0, 60))}`;
  if (!m[3]!.startsWith('HTTP/1.')) return `unsupported version ${m[3]}`;
  const headers = parseHeaderLines(lines);
  if (typeof headers === 'string') return headers;
  return { kind: 'request', method: m[1]!, target: m[2]!, version: m[3]!, headers };
}

export function parseResponseHead(bytes: Uint8Array): ResponseHead | string {
  const lines = headLines(latin1(bytes));
  const first = lines.shift();
  if (first === undefined) return 'empty head';
  const m = /^(HTTP\/1\.\d) (\d{3})(?: (.*))?$/.exec(first);
  if (!m) return `invalid status line ${JSON.stringify(first.slice(0, 60))}`;
  const headers = parseHeaderLines(lines);
  if (typeof headers === 'string') return headers;
  return { kind: 'response', version: m[1]!, status: Number(m[2]), reason: m[3] ?? '', headers };
}

export function headerValue(headers: HttpHeader[], lname: string): string | undefined {
  return headers.find((h) => h.lname === lname)?.value;
}

export function hasHeader(headers: HttpHeader[], lname: string): boolean {
  return headers.some((h) => h.lname === lname);
}

type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'close' }
  | { kind: 'bad' };

/** Body framing from Content-Length / Transfer-Encoding (RFC 9112 §6.3). */
export function bodyFraming(headers: HttpHeader[], isRequest: boolean): Framing {
  const te = headers.filter((h) => h.lname === 'transfer-encoding');
  if (te.length > 0) {
    const codings = te.flatMap((h) => h.value.split(',')).map((s) => s.trim().toLowerCase()).filter((s) => s);
    if (codings[codings.length - 1] === 'chunked') return { kind: 'chunked' };
    return isRequest ? { kind: 'bad' } : { kind: 'close' };
  }
  const cl = headers.filter((h) => h.lname === 'content-length');
  if (cl.length > 0) {
    const values = new Set(cl.flatMap((h) => h.value.split(',')).map((s) => s.trim()));
    if (values.size !== 1) return { kind: 'bad' };
    const v = [...values][0]!;
    if (!/^\d{1,15}$/.test(v)) return { kind: 'bad' };
    return { kind: 'length', length: Number(v) };
  }
  return isRequest ? { kind: 'none' } : { kind: 'close' };
}

type State =
  | 'head' | 'sync' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers'
  | 'until-close' | 'opaque' | 'closed' | 'deferred';

// Bytes held while a response waits for its request; beyond it the parser decides alone.
const DEFER_MAX = 64 * 1024;

const MAX_LINE = 4096;
const EMPTY = new Uint8Array(0);

export class HttpStreamParser {
  private state: State;
  /** A message (or fragment) is open: begin() was called without end(). */
  private open = false;
  private head = EMPTY; // grown on first use: most connections carry one small message each way
  private headLen = 0;
  private headScan = 0;      // bytes of `head` already searched for the blank line
  private lineStart = 0;     // start of the current line in `head`
  private remaining = 0;     // body / chunk bytes still to skip
  private line = '';         // chunk-size or trailer line being collected
  private carry: Uint8Array = EMPTY;
  private carryOff = 0;
  private chunkStart = true;
  /** Offset of the next byte expected. */
  private pos = 0;
  /** A response to a request of unknown method: if a status line follows its head, it had no body (HEAD). */
  private maybeNoBody = false;
  private deferredHead: ResponseHead | null = null;
  private deferredHeadEnd = 0;
  private deferredBytes: Uint8Array[] = [];
  private deferredLen = 0;

  constructor(
    readonly kind: 'request' | 'response',
    private readonly sink: HttpSink,
    private readonly maxHeaderBytes = 65536,
    synced = true,
  ) {
    this.state = synced ? 'head' : 'sync';
  }

  get offset(): number {
    return this.pos;
  }

  /** Offset from which bytes are held back undecided (a possible start-line prefix), or null. */
  get heldFrom(): number | null {
    return this.carry.length > 0 ? this.carryOff : null;
  }

  /** True once a message head has been seen starting at a known boundary. */
  synced = false;

  push(chunk: Uint8Array, off: number): void {
    if (this.state === 'closed' || this.state === 'opaque') { this.pos = off + chunk.length; return; }
    if (off !== this.pos) {
      // The reassembler guarantees contiguity; anything else is a gap it did not announce.
      if (off > this.pos) this.gap(this.pos, off - this.pos);
      else { chunk = chunk.subarray(this.pos - off); off = this.pos; }
    }
    this.chunkStart = true;
    let i = 0;
    while (i < chunk.length) {
      if (this.maybeNoBody) {
        this.maybeNoBody = false;
        const st = this.state as State;
        if ((st === 'body' || st === 'chunk-size') && matchResponseStart(chunk, i, chunk.length) === 'yes') {
          this.finishMessage(off + i);
          continue;
        }
      }
      // `as State`: the feed methods change the state, which narrowing cannot see.
      switch (this.state as State) {
        case 'head': i = this.feedHead(chunk, i, off); break;
        case 'sync': i = this.feedSync(chunk, i, off); break;
        case 'body': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.sink.body?.(chunk.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.finishMessage(off + i);
          break;
        }
        case 'chunk-size':
        case 'trailers': i = this.feedLine(chunk, i, off); break;
        case 'chunk-data': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) { this.state = 'chunk-crlf'; this.line = ''; }
          break;
        }
        case 'chunk-crlf': {
          const c = chunk[i++]!;
          if (c === 0x0a) { this.state = 'chunk-size'; this.line = ''; }
          else if (c !== 0x0d || this.line === '\r') this.lostFraming();
          else this.line = '\r';
          break;
        }
        case 'deferred': {
          const rest = chunk.slice(i);
          this.deferredBytes.push(rest);
          this.deferredLen += rest.length;
          i = chunk.length;
          if (this.deferredLen > DEFER_MAX) {
            this.pos = off + chunk.length;
            this.resume(this.sink.undefer?.() ?? null);
            return;
          }
          break;
        }
        case 'until-close':
        case 'opaque':
        case 'closed':
          i = chunk.length;
          break;
      }
      this.chunkStart = false;
    }
    this.pos = off + chunk.length;
  }

  /** The stream origin turned out to be known (SYN seen) before any byte arrived: expect a message start. */
  startAtOrigin(): void {
    if (this.state === 'sync' && this.pos === 0 && !this.open && this.carry.length === 0) this.state = 'head';
  }

  /** Continues a response held by DEFER, now that the request's method is known. */
  resume(method: string | null): void {
    const head = this.deferredHead;
    if (this.state !== 'deferred' || !head) return;
    const held = this.deferredBytes;
    const headEnd = this.deferredHeadEnd;
    this.deferredHead = null;
    this.deferredBytes = [];
    this.deferredLen = 0;
    this.applyFraming(head, headEnd, method);
    this.pos = headEnd;
    for (const b of held) this.push(b, this.pos);
  }

  private decideDeferred(): void {
    if (this.state === 'deferred') this.resume(this.sink.undefer?.() ?? null);
  }

  /** `len` bytes at `off` are missing from the capture. */
  gap(off: number, len: number): void {
    this.decideDeferred();
    if (len <= 0 || this.state === 'closed' || this.state === 'opaque') { this.pos = Math.max(this.pos, off + len); return; }
    switch (this.state) {
      case 'head':
        if (this.open) {
          this.sink.partialHead?.(this.head.subarray(0, this.headLen));
          this.sink.invalid('gap');
          this.resetHead();
          this.state = 'sync';
        } else {
          this.beginAt(off, true);
          this.sink.flag('gap');
          this.state = 'sync';
        }
        break;
      case 'body':
        this.sink.flag('gap');
        if (len < this.remaining) this.remaining -= len;
        else {
          const endOff = off + this.remaining;
          const rest = len - this.remaining;
          this.finishMessage(endOff);
          if (rest > 0) { this.beginAt(endOff, true); this.sink.flag('gap'); this.state = 'sync'; }
        }
        break;
      case 'chunk-size': case 'chunk-data': case 'chunk-crlf': case 'trailers':
        this.sink.flag('gap');
        this.state = 'sync';
        break;
      case 'until-close':
        this.sink.flag('gap');
        break;
      case 'sync':
        if (!this.open) this.beginAt(this.carry.length > 0 ? this.carryOff : off, true);
        this.sink.flag('gap');
        break;
    }
    this.carry = EMPTY;
    this.pos = off + len;
  }

  /** The stream ended at off (FIN, reset, end of capture). */
  finish(off: number): void {
    this.decideDeferred();
    if (off > this.pos && this.state !== 'closed' && this.state !== 'opaque') this.gap(this.pos, off - this.pos);
    switch (this.state) {
      case 'head':
        if (this.open) {
          this.sink.partialHead?.(this.head.subarray(0, this.headLen));
          this.sink.invalid('truncated');
          this.endAt(off);
        }
        break;
      case 'body': case 'chunk-size': case 'chunk-data': case 'chunk-crlf': case 'trailers':
        this.sink.flag('truncated');
        this.endAt(off);
        break;
      case 'until-close':
        this.endAt(off);
        break;
      case 'sync':
        if (!this.open && this.carry.length > 0) this.beginAt(this.carryOff, true);
        if (this.open) this.endAt(off);
        break;
    }
    this.carry = EMPTY;
    this.state = 'closed';
    this.resetHead();
  }

  private beginAt(off: number, fragment: boolean): void {
    this.open = true;
    this.sink.begin(off, fragment);
  }

  private endAt(off: number): void {
    if (!this.open) return;
    this.open = false;
    this.sink.end(off);
  }

  private resetHead(): void {
    this.headLen = 0;
    this.headScan = 0;
    this.lineStart = 0;
    if (this.head.length > 4096) this.head = EMPTY;
  }

  private finishMessage(off: number): void {
    this.endAt(off);
    this.state = 'head';
  }

  /** Framing lost inside a body: the message keeps its head, later bytes are re-synchronised. */
  private lostFraming(): void {
    this.sink.flag('bad-framing');
    this.state = 'sync';
  }

  private feedHead(chunk: Uint8Array, i: number, off: number): number {
    if (!this.open) {
      // Empty lines before a start line are tolerated (RFC 9112 §2.2).
      while (i < chunk.length && (chunk[i] === 0x0d || chunk[i] === 0x0a)) i++;
      if (i >= chunk.length) return i;
      this.beginAt(off + i, false);
    }
    while (i < chunk.length) {
      const nl = chunk.indexOf(0x0a, i);
      const stop = nl < 0 ? chunk.length : nl + 1;
      const n = stop - i;
      if (this.headLen + n > this.maxHeaderBytes) {
        this.sink.invalid('too-large');
        this.resetHead();
        this.state = 'sync';
        return i;
      }
      this.appendHead(chunk.subarray(i, stop));
      i = stop;
      if (nl < 0) return i;
      // A complete line ends at headLen; an empty one ("" or "\r") ends the head.
      const lineLen = this.headLen - 1 - this.lineStart;
      const isEmpty = lineLen === 0 || (lineLen === 1 && this.head[this.lineStart] === 0x0d);
      this.lineStart = this.headLen;
      if (isEmpty) {
        this.completeHead(off + i);
        return i;
      }
    }
    return i;
  }

  private appendHead(bytes: Uint8Array): void {
    const need = this.headLen + bytes.length;
    if (need > this.head.length) {
      const grown = new Uint8Array(Math.max(need, this.head.length * 2, 512));
      grown.set(this.head.subarray(0, this.headLen));
      this.head = grown;
    }
    this.head.set(bytes, this.headLen);
    this.headLen = need;
  }

  private completeHead(headEnd: number): void {
    const bytes = this.head.subarray(0, this.headLen);
    const parsed = this.kind === 'request' ? parseRequestHead(bytes) : parseResponseHead(bytes);
    this.resetHead();
    if (typeof parsed === 'string') {
      this.sink.invalid('unparseable');
      this.state = 'sync';
      return;
    }
    this.synced = true;
    const method = this.sink.head(parsed, headEnd);
    if (method === DEFER) {
      if (parsed.kind === 'response') {
        this.deferredHead = parsed;
        this.deferredHeadEnd = headEnd;
        this.state = 'deferred';
        return;
      }
      this.applyFraming(parsed, headEnd, null);
      return;
    }
    this.applyFraming(parsed, headEnd, method);
  }

  private applyFraming(parsed: HttpHead, headEnd: number, requestMethod: string | null): void {
    let framing: Framing;
    this.maybeNoBody = parsed.kind === 'response' && requestMethod === null;
    if (parsed.kind === 'response') {
      const s = parsed.status;
      if (s === 101) { this.endAt(headEnd); this.state = 'opaque'; return; }
      if ((s >= 100 && s < 200) || s === 204 || s === 304 || requestMethod === 'HEAD') framing = { kind: 'none' };
      else framing = bodyFraming(parsed.headers, false);
    } else {
      framing = bodyFraming(parsed.headers, true);
    }
    switch (framing.kind) {
      case 'none': this.finishMessage(headEnd); break;
      case 'length':
        if (framing.length === 0) this.finishMessage(headEnd);
        else { this.remaining = framing.length; this.state = 'body'; }
        break;
      case 'chunked': this.state = 'chunk-size'; this.line = ''; break;
      case 'close': this.state = 'until-close'; break;
      case 'bad': this.sink.flag('bad-framing'); this.state = 'sync'; break;
    }
  }

  /** Collects a chunk-size or trailer line. */
  private feedLine(chunk: Uint8Array, i: number, off: number): number {
    while (i < chunk.length) {
      const c = chunk[i++]!;
      if (c !== 0x0a) {
        this.line += String.fromCharCode(c);
        if (this.line.length > MAX_LINE) { this.lostFraming(); return i; }
        continue;
      }
      const text = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
      this.line = '';
      if (this.state === 'trailers') {
        if (text === '') { this.finishMessage(off + i); return i; }
        continue;
      }
      const m = /^([0-9a-fA-F]{1,13})[ \t]*(?:;.*)?$/.exec(text);
      if (!m) { this.lostFraming(); return i; }
      const size = parseInt(m[1]!, 16);
      if (size === 0) this.state = 'trailers';
      else { this.remaining = size; this.state = 'chunk-data'; }
      return i;
    }
    return i;
  }

  /** Looks for the next message start at a chunk start or after a line feed. */
  private feedSync(chunk: Uint8Array, i: number, off: number): number {
    let buf: Uint8Array;
    let bufOff: number;
    let from: number;
    const candidates: number[] = [];
    if (this.carry.length > 0) {
      buf = new Uint8Array(this.carry.length + chunk.length - i);
      buf.set(this.carry);
      buf.set(chunk.subarray(i), this.carry.length);
      bufOff = this.carryOff;
      from = this.carry.length;
      candidates.push(0);
    } else {
      buf = chunk.subarray(i);
      bufOff = off + i;
      from = 0;
    }
    if (this.chunkStart || (i > 0 && chunk[i - 1] === 0x0a)) candidates.push(from);
    const match = this.kind === 'request' ? matchRequestStart : matchResponseStart;
    let pending = -1;
    let found = -1;
    const test = (p: number): boolean => {
      const r = match(buf, p, buf.length);
      if (r === 'yes') { found = p; return true; }
      if (r === 'more') { pending = p; return true; }
      return false;
    };
    let done = false;
    for (const p of candidates) if (test(p)) { done = true; break; }
    if (!done) {
      for (let p = buf.indexOf(0x0a, from); p >= 0 && p + 1 < buf.length; p = buf.indexOf(0x0a, p + 1)) {
        if (test(p + 1)) break;
      }
    }
    this.carry = EMPTY;
    if (found >= 0) {
      if (found > 0 && !this.open) this.beginAt(bufOff, true);
      this.endAt(bufOff + found);
      this.state = 'head';
      this.beginAt(bufOff + found, false);
      // Start-line bytes held in the carry (never a line feed) go to the head first.
      if (found < from) this.appendHead(buf.subarray(found, from));
      return i + Math.max(0, found - from);
    }
    if (pending >= 0) {
      // An undecided prefix ("GE" at the end): keep it (at most a start-line prefix) for the next chunk.
      if (pending > 0 && !this.open) this.beginAt(bufOff, true);
      this.carry = buf.slice(pending);
      this.carryOff = bufOff + pending;
      return chunk.length;
    }
    if (!this.open && buf.length > 0) this.beginAt(bufOff, true);
    return chunk.length;
  }
}

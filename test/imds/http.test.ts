import { describe, expect, it } from 'vitest';
import {
  bodyFraming, HttpStreamParser, matchRequestStart, matchResponseStart, parseRequestHead, parseResponseHead,
  type HttpHead, type HttpSink,
} from '../../src/imds/http.js';
import { REQUESTS, response } from '../support/packets.js';

interface Msg { start: number; end?: number; fragment: boolean; head?: HttpHead; headEnd?: number; invalid?: string; flags: string[] }

function run(kind: 'request' | 'response', chunks: (string | number)[], opts: { synced?: boolean; methods?: (string | null)[]; max?: number; finish?: boolean } = {}) {
  const msgs: Msg[] = [];
  let cur: Msg | null = null;
  const methods = [...(opts.methods ?? [])];
  const sink: HttpSink = {
    begin(off, fragment) { cur = { start: off, fragment, flags: [] }; msgs.push(cur); },
    head(head, headEnd) { cur!.head = head; cur!.headEnd = headEnd; return head.kind === 'response' && !(head.status < 200) ? methods.shift() ?? null : null; },
    invalid(reason) { cur!.invalid = reason; },
    flag(f) { cur!.flags.push(f); },
    end(off) { cur!.end = off; cur = null; },
  };
  const p = new HttpStreamParser(kind, sink, opts.max ?? 65536, opts.synced ?? true);
  let off = 0;
  for (const c of chunks) {
    if (typeof c === 'number') { p.gap(off, c); off += c; continue; }
    const b = new TextEncoder().encode(c);
    p.push(b, off);
    off += b.length;
  }
  if (opts.finish !== false) p.finish(off);
  return msgs;
}

const reqs = (m: Msg[]) => m.map((x) => (x.head?.kind === 'request' ? `${x.head.method} ${x.head.target}` : x.fragment ? 'fragment' : `invalid:${x.invalid}`));

describe('head parsing', () => {
  it('parses request line and headers: case kept, lname lower, OWS trimmed, obs-fold joined', () => {
    const h = parseRequestHead(new TextEncoder().encode('GET /a?b=1 HTTP/1.1\r\nHost:  169.254.169.254 \r\nX-Aws-Ec2-Metadata-Token:\tabc\t\r\nX-Long: one\r\n  two\r\n\r\n'));
    expect(h).toEqual({
      kind: 'request', method: 'GET', target: '/a?b=1', version: 'HTTP/1.1',
      headers: [
        { name: 'Host', lname: 'host', value: '169.254.169.254' },
        { name: 'X-Aws-Ec2-Metadata-Token', lname: 'x-aws-ec2-metadata-token', value: 'abc' },
        { name: 'X-Long', lname: 'x-long', value: 'one two' },
      ],
    });
  });

  it('accepts bare LF line ends', () => {
    const h = parseRequestHead(new TextEncoder().encode('GET / HTTP/1.0\nHost: x\n\n'));
    expect(typeof h === 'object' && h.headers[0]!.value).toBe('x');
  });

  it('rejects malformed heads with a reason', () => {
    const bad = ['GET / HTTP/2.0\r\n\r\n', 'GET  / HTTP/1.1\r\n\r\n', 'GET /\r\n\r\n', 'GET / HTTP/1.1\r\nNoColon\r\n\r\n',
      'GET / HTTP/1.1\r\n folded-first\r\n\r\n', 'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n', 'G(T / HTTP/1.1\r\n\r\n', ''];
    for (const b of bad) expect(typeof parseRequestHead(new TextEncoder().encode(b)), JSON.stringify(b)).toBe('string');
  });

  it('parses status lines, with and without a reason phrase', () => {
    expect(parseResponseHead(new TextEncoder().encode('HTTP/1.1 401 Unauthorized\r\n\r\n'))).toMatchObject({ status: 401, reason: 'Unauthorized' });
    expect(parseResponseHead(new TextEncoder().encode('HTTP/1.0 200\r\n\r\n'))).toMatchObject({ status: 200, reason: '' });
    expect(typeof parseResponseHead(new TextEncoder().encode('HTTP/1.1 20 OK\r\n\r\n'))).toBe('string');
  });

  it('body framing follows RFC 9112 §6.3', () => {
    const H = (pairs: [string, string][]) => pairs.map(([n, v]) => ({ name: n, lname: n.toLowerCase(), value: v }));
    expect(bodyFraming(H([['Content-Length', '5']]), true)).toEqual({ kind: 'length', length: 5 });
    expect(bodyFraming(H([['content-length', '5'], ['Content-Length', '5']]), true)).toEqual({ kind: 'length', length: 5 });
    expect(bodyFraming(H([['Content-Length', '5, 6']]), true)).toEqual({ kind: 'bad' });
    expect(bodyFraming(H([['Content-Length', '-1']]), true)).toEqual({ kind: 'bad' });
    expect(bodyFraming(H([['Transfer-Encoding', 'gzip, Chunked'], ['Content-Length', '3']]), true)).toEqual({ kind: 'chunked' });
    expect(bodyFraming(H([['Transfer-Encoding', 'gzip']]), true)).toEqual({ kind: 'bad' });
    expect(bodyFraming(H([['Transfer-Encoding', 'gzip']]), false)).toEqual({ kind: 'close' });
    expect(bodyFraming([], true)).toEqual({ kind: 'none' });
    expect(bodyFraming([], false)).toEqual({ kind: 'close' });
  });

  it('start-line detection needs a method and a target start, or HTTP/1.x and a status digit', () => {
    const e = (s: string) => new TextEncoder().encode(s);
    expect(matchRequestStart(e('GET /x'), 0, 6)).toBe('yes');
    expect(matchRequestStart(e('OPTIONS *'), 0, 9)).toBe('yes');
    expect(matchRequestStart(e('PUT http://a/'), 0, 13)).toBe('yes');
    expect(matchRequestStart(e('GE'), 0, 2)).toBe('more');
    expect(matchRequestStart(e('GET '), 0, 4)).toBe('more');
    expect(matchRequestStart(e('GETX /'), 0, 6)).toBe('no');
    expect(matchRequestStart(e('get /'), 0, 5)).toBe('no');
    expect(matchResponseStart(e('HTTP/1.1 2'), 0, 10)).toBe('yes');
    expect(matchResponseStart(e('HTTP/1.1'), 0, 8)).toBe('more');
    expect(matchResponseStart(e('HTTP/2 200'), 0, 10)).toBe('no');
  });
});

describe('stream framing', () => {
  it('keep-alive and pipelining: several requests in one chunk and across chunks', () => {
    const all = REQUESTS.dotnetToken + REQUESTS.dotnetGet + REQUESTS.dotnetToken + REQUESTS.dotnetV1;
    const m = run('request', [all.slice(0, 100), all.slice(100)]);
    expect(reqs(m)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/instance-id', 'PUT /latest/api/token', 'GET /latest/meta-data/instance-id']);
    expect(m[1]!.start).toBe(REQUESTS.dotnetToken.length);
    expect(m[3]!.end).toBe(all.length);
  });

  it('a request split at every byte position parses identically', () => {
    const r = REQUESTS.botoV2 + REQUESTS.curlV1;
    const whole = run('request', [r]);
    for (let i = 1; i < r.length; i++) {
      for (const synced of [true, false]) {
        const m = run('request', [r.slice(0, i), r.slice(i)], { synced });
        expect(m.map((x) => [x.start, x.end, x.headEnd, x.head]), `cut ${i} synced=${synced}`).toEqual(whole.map((x) => [x.start, x.end, x.headEnd, x.head]));
      }
    }
  });

  it('one byte per chunk', () => {
    const r = REQUESTS.jsV3Token + REQUESTS.jsV3Get;
    const m = run('request', [...r], { synced: false });
    expect(reqs(m)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/iam/security-credentials/']);
  });

  it('Content-Length bodies are skipped, even when they look like requests', () => {
    const body = 'GET /evil HTTP/1.1\r\n\r\n';
    const r = `PUT /latest/api/token HTTP/1.1\r\nContent-Length: ${body.length}\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n${body}${REQUESTS.curlV1}`;
    expect(reqs(run('request', [r]))).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/']);
  });

  it('chunked bodies with extensions and trailers', () => {
    const r = 'PUT /latest/api/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n'
      + '4;ext=1\r\nGET \r\n3\r\n/x \r\n0\r\nTrailer: v\r\n\r\n' + REQUESTS.curlV1;
    for (let i = 1; i < r.length; i += 7) {
      const m = run('request', [r.slice(0, i), r.slice(i)]);
      expect(reqs(m), `cut ${i}`).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/']);
      expect(m.every((x) => x.flags.length === 0)).toBe(true);
    }
  });

  it('broken chunking flags bad-framing and re-synchronises on the next request', () => {
    const r = 'PUT /latest/api/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' + REQUESTS.curlV1;
    const m = run('request', [r]);
    expect(reqs(m)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/']);
    expect(m[0]!.flags).toContain('bad-framing');
  });

  it('Expect: 100-continue: the interim response is passed through, the final one follows', () => {
    const res = 'HTTP/1.1 100 Continue\r\n\r\n' + response(200, 'token-value');
    const m = run('response', [res]);
    expect(m.map((x) => x.head?.kind === 'response' && x.head.status)).toEqual([100, 200]);
  });

  it('a HEAD response has no body even with Content-Length', () => {
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n' + response(404, 'nope');
    const m = run('response', [res], { methods: ['HEAD', 'GET'] });
    expect(m.map((x) => x.head?.kind === 'response' && x.head.status)).toEqual([200, 404]);
  });

  it('204/304 have no body; without length a response runs to the end of the stream', () => {
    const res = 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody bytes';
    const m = run('response', [res]);
    expect(m.map((x) => [x.head?.kind === 'response' && x.head.status, x.end])).toEqual([[204, res.indexOf('HTTP/1.1 200')], [200, res.length]]);
  });

  it('garbage before a request (no SYN seen) becomes one fragment', () => {
    const m = run('request', ['ty\r\nHost: x\r\n\r\n', REQUESTS.curlV1], { synced: false });
    expect(reqs(m)).toEqual(['fragment', 'GET /latest/meta-data/']);
    expect(m[0]).toMatchObject({ start: 0, end: 15 });
  });

  it('an unparseable request is reported and the next one is found', () => {
    const m = run('request', ['GET / HTTP/9.9\r\n\r\n' + REQUESTS.curlV1]);
    expect(reqs(m)).toEqual(['invalid:unparseable', 'GET /latest/meta-data/']);
  });

  it('a head larger than the limit is invalid, memory stays bounded, the next request is found', () => {
    const big = 'GET /x HTTP/1.1\r\n' + 'X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(200) + '\r\n';
    const m = run('request', [big, REQUESTS.curlV1], { max: 4096 });
    expect(reqs(m)).toEqual(['invalid:too-large', 'GET /latest/meta-data/']);
  });

  it('a gap inside a head makes it invalid(gap); a gap between requests is a gap fragment', () => {
    const m = run('request', [REQUESTS.curlV1.slice(0, 20), 10, REQUESTS.curlV1.slice(30), 15, REQUESTS.botoV1]);
    expect(reqs(m)).toEqual(['invalid:gap', 'GET /latest/meta-data/iam/security-credentials/']);
    const m2 = run('request', [REQUESTS.curlV1, 40, REQUESTS.botoV1]);
    expect(reqs(m2)).toEqual(['GET /latest/meta-data/', 'fragment', 'GET /latest/meta-data/iam/security-credentials/']);
    expect(m2[1]!.flags).toEqual(['gap']);
  });

  it('a gap inside a counted body keeps the request and the framing', () => {
    const r = 'PUT /latest/api/token HTTP/1.1\r\nContent-Length: 20\r\n\r\n';
    const m = run('request', [r + '12345', 10, '12345' + REQUESTS.curlV1]);
    expect(reqs(m)).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/']);
    expect(m[0]!.flags).toEqual(['gap']);
  });

  it('a stream ending inside a head is truncated, inside a body flagged', () => {
    expect(run('request', [REQUESTS.curlV1.slice(0, 30)]).map((x) => x.invalid)).toEqual(['truncated']);
    const m = run('request', ['PUT /latest/api/token HTTP/1.1\r\nContent-Length: 20\r\n\r\n12']);
    expect(m[0]!.flags).toEqual(['truncated']);
  });

  it('blank lines before a request are tolerated', () => {
    expect(reqs(run('request', ['\r\n\r\n' + REQUESTS.curlV1]))).toEqual(['GET /latest/meta-data/']);
  });

  it('101 Switching Protocols stops parsing', () => {
    const m = run('response', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello HTTP/1.1 200 OK\r\n\r\n']);
    expect(m).toHaveLength(1);
  });
});

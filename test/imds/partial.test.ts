// classifyPartial: what the first bytes of a request head are worth when the capture stops
// holding it (a cut packet, lost bytes, the end of the capture), and never more.
import { describe, expect, it } from 'vitest';
import { classifyPartial } from '../../src/imds/classify.js';
import { analyzeImdsSync } from '../../src/imds/index.js';
import { Capture, Flow, REQUESTS, response } from '../support/packets.js';

const TOKEN = 'AQAEAMockTokenForEtlImdsTests0000000000000000000000000000==';

function verdict(text: string) {
  const c = classifyPartial(Buffer.from(text, 'latin1'));
  return c && { class: c.class, method: c.method, path: c.path, pathCut: c.pathCut, userAgent: c.userAgent, flags: c.flags };
}

describe('classifyPartial', () => {
  it('a PUT to the token path is a token request however little of it is left', () => {
    expect(verdict('PUT /lates')).toMatchObject({ class: 'token', method: 'PUT', path: '/lates', pathCut: true });
    expect(verdict('PUT ')).toMatchObject({ class: 'token', path: '', pathCut: true });
    expect(verdict('PUT /latest/api/token HTTP/1.')).toMatchObject({ class: 'token', path: '/latest/api/token', pathCut: false, flags: [] });
  });

  it('a PUT elsewhere is a token request only when its TTL header shows', () => {
    expect(verdict('PUT /latest/meta-data/x HTTP/1.1\r\nHost: 169.254.169.254\r\n')).toMatchObject({ class: 'unknown', method: 'PUT' });
    expect(verdict('PUT /latest/api/tokens HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21')).toMatchObject({ class: 'token', flags: ['unusual-path'] });
    // A path cut off before it leaves the token path stays consistent with it.
    expect(verdict('PUT /latest/api/tok')).toMatchObject({ class: 'token', pathCut: true });
    expect(verdict('PUT /latest/meta')).toMatchObject({ class: 'unknown', pathCut: true });
  });

  it('a token header name in view makes v2, even when its value was cut', () => {
    expect(verdict('GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token: AQ'))
      .toMatchObject({ class: 'v2', method: 'GET', path: '/latest/meta-data/', pathCut: false });
    expect(verdict(`GET /x HTTP/1.1\r\nx-AWS-ec2-METADATA-token: ${TOKEN}\r\n`)).toMatchObject({ class: 'v2' });
  });

  it('without the token header in view it stays unknown, never v1', () => {
    expect(verdict('GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n'))
      .toMatchObject({ class: 'unknown', userAgent: 'curl/8.5.0' });
    // The name itself cut short: it may be the token header.
    expect(verdict('GET /x HTTP/1.1\r\nX-aws-ec2-meta')).toMatchObject({ class: 'unknown' });
  });

  it('a User-Agent cut short shows its start and an ellipsis; the path its start', () => {
    expect(verdict('GET /latest/meta-data/placement/region HTTP/1.1\r\nUser-Agent: aws-sdk-js/3.1')).toMatchObject({ userAgent: 'aws-sdk-js/3.1…' });
    expect(verdict('GET /latest/meta-da')).toMatchObject({ class: 'unknown', path: '/latest/meta-da', pathCut: true });
    // Token-like query values are redacted in the part that shows as well.
    expect(verdict('GET /x?token=abcdef')).toMatchObject({ path: '/x?token=REDACTED', pathCut: true });
  });

  it('other clouds stay unknown; bytes that do not start a request line give nothing', () => {
    expect(verdict('GET /metadata/instance HTTP/1.1\r\nMetadata: true\r\n')).toMatchObject({ class: 'unknown', flags: ['other-cloud'] });
    expect(verdict('\x16\x03\x01 binary')).toBeNull();
    expect(verdict('')).toBeNull();
  });
});

describe('heads interrupted in the stream', () => {
  it('bytes after a hole are not read: the hole may hide the end of this head and the start of another request', () => {
    // A v1 request whose end was lost, then a v2 request whose request line was lost too: the
    // token header after the hole belongs to the second request, not the first.
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const a = f.send(REQUESTS.curlV1, { cuts: [30] });
    const b = f.send(REQUESTS.curlV2, { cuts: [10] });
    const r = analyzeImdsSync([...hs, a[0]!, b[1]!, ...f.reply(response(200)), ...f.reply(response(200))]);
    expect(r.requests.map((q) => [q.class, q.method, q.path, q.pathCut, q.flags.join(',')])).toEqual([
      ['unknown', 'GET', '/latest/meta-data/', false, 'gap'],
    ]);
  });

  it('the end of the capture inside a head keeps what its first bytes show', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const segs = f.send(REQUESTS.curlToken, { cuts: [12] });
    const r = analyzeImdsSync([...hs, segs[0]!]);
    expect(r.requests.map((q) => [q.class, q.method, q.path, q.pathCut, q.flags.join(','), q.reason])).toEqual([
      ['token', 'PUT', '/latest/', true, 'truncated', null],
    ]);
  });
});

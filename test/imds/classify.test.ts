import { describe, expect, it } from 'vitest';
import { classifyRequest, redactTarget } from '../../src/imds/classify.js';
import { parseRequestHead, type RequestHead } from '../../src/imds/http.js';
import { REQUESTS, TOKEN } from '../support/packets.js';

const head = (s: string): RequestHead => {
  const h = parseRequestHead(new TextEncoder().encode(s));
  if (typeof h === 'string') throw new Error(h);
  return h;
};

describe('classification of real client header forms', () => {
  it.each([
    ['AWS JS SDK v3 token (lowercase header)', REQUESTS.jsV3Token, 'token', 21600, null],
    ['AWS JS SDK v3 read (lowercase token header)', REQUESTS.jsV3Get, 'v2', null, null],
    ['.NET SDK token PUT before each GET', REQUESTS.dotnetToken, 'token', 21600, 'aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds'],
    ['.NET SDK read with token', REQUESTS.dotnetGet, 'v2', null, 'aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds'],
    ['.NET SDK sticky fallback read', REQUESTS.dotnetV1, 'v1', null, 'aws-sdk-dotnet-coreclr/3.7.300.0 ua/2.0 os/windows#10.0 md/imds'],
    ['curl X-aws-ec2-metadata-token', REQUESTS.curlV2, 'v2', null, 'curl/8.5.0'],
    ['curl without token', REQUESTS.curlV1, 'v1', null, 'curl/8.5.0'],
    ['curl token PUT', REQUESTS.curlToken, 'token', 21600, 'curl/8.5.0'],
    ['botocore token', REQUESTS.botoToken, 'token', 21600, 'Botocore/1.29.72 Python/3.11.2 Linux/6.1.0'],
    ['botocore read', REQUESTS.botoV2, 'v2', null, 'Botocore/1.29.72 Python/3.11.2 Linux/6.1.0'],
    ['botocore fallback', REQUESTS.botoV1, 'v1', null, 'Botocore/1.29.72 Python/3.11.2 Linux/6.1.0'],
  ])('%s', (_name, req, cls, ttl, ua) => {
    const c = classifyRequest(head(req));
    expect(c.class).toBe(cls);
    expect(c.ttl).toBe(ttl);
    expect(c.userAgent).toBe(ua);
    expect(c.host).toBe('169.254.169.254');
    expect(c.flags).toEqual([]);
    expect(JSON.stringify(c)).not.toContain(TOKEN);
  });

  it('header names match in any case', () => {
    for (const name of ['X-AWS-EC2-METADATA-TOKEN', 'x-Aws-Ec2-Metadata-Token', 'X-aws-ec2-metadata-token']) {
      expect(classifyRequest(head(`GET /latest/meta-data/ HTTP/1.1\r\n${name}: t\r\n\r\n`)).class).toBe('v2');
    }
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nX-AWS-EC2-METADATA-TOKEN-TTL-SECONDS:  300 \r\n\r\n'))).toMatchObject({ class: 'token', ttl: 300 });
  });

  it('other clouds are tagged, not v1', () => {
    expect(classifyRequest(head(REQUESTS.azure))).toMatchObject({ class: 'unknown', flags: ['other-cloud'] });
    expect(classifyRequest(head(REQUESTS.gcp))).toMatchObject({ class: 'unknown', flags: ['other-cloud'] });
    expect(classifyRequest(head('GET / HTTP/1.1\r\nMetadata: false\r\n\r\n')).class).toBe('v1');
  });

  it('flags: empty token, TTL problems, X-Forwarded-For, unusual methods and paths', () => {
    expect(classifyRequest(head('GET /latest/meta-data/ HTTP/1.1\r\nx-aws-ec2-metadata-token:   \r\n\r\n'))).toMatchObject({ class: 'v2', flags: ['empty-token'] });
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 0\r\n\r\n'))).toMatchObject({ class: 'token', ttl: 0, flags: ['bad-ttl'] });
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 21601\r\n\r\n')).flags).toEqual(['bad-ttl']);
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: abc\r\n\r\n'))).toMatchObject({ ttl: null, flags: ['bad-ttl'] });
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n\r\n'))).toMatchObject({ class: 'token', flags: ['no-ttl'] });
    expect(classifyRequest(head('PUT /2021-03-23/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n'))).toMatchObject({ class: 'token', flags: ['unusual-path'] });
    expect(classifyRequest(head('PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 10.0.0.9\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n')).flags).toEqual(['x-forwarded-for']);
    expect(classifyRequest(head('POST /latest/meta-data/ HTTP/1.1\r\n\r\n'))).toMatchObject({ class: 'v1', flags: ['unusual-method'] });
    expect(classifyRequest(head('DELETE /latest/meta-data/ HTTP/1.1\r\nx-aws-ec2-metadata-token: t\r\n\r\n'))).toMatchObject({ class: 'v2', flags: ['unusual-method'] });
    expect(classifyRequest(head('HEAD /latest/meta-data/ HTTP/1.1\r\n\r\n'))).toMatchObject({ class: 'v1', flags: [] });
    // A GET to the token path is a tokenless read as far as IMDS is concerned.
    expect(classifyRequest(head('GET /latest/api/token HTTP/1.1\r\n\r\n')).class).toBe('v1');
  });

  it('absolute-form targets are reduced to the path and flagged', () => {
    expect(classifyRequest(head('GET http://169.254.169.254/latest/meta-data/ami-id HTTP/1.1\r\n\r\n'))).toMatchObject({ class: 'v1', path: '/latest/meta-data/ami-id', flags: ['absolute-uri'] });
  });
});

describe('redaction', () => {
  it('keeps the query but hides token-like values', () => {
    expect(redactTarget('/latest/meta-data/?a=1&token=SECRET&X-Amz-Signature=abc&b').path).toBe('/latest/meta-data/?a=1&token=REDACTED&X-Amz-Signature=REDACTED&b');
    expect(redactTarget('/x#frag').path).toBe('/x');
  });

  it('control characters are kept as sent (tables escape them), huge values are cut with …', () => {
    const c = classifyRequest(head(`GET /${'a'.repeat(5000)}\x1b[2J HTTP/1.1\r\nUser-Agent: a\x01b\xe9\r\n\r\n`));
    // One character per byte: the UTF-8 bytes of é come back as two characters, exactly as sent.
    expect(c.userAgent).toBe('a\x01b\xc3\xa9');
    expect(c.path.length).toBe(2049);
    expect(c.path.endsWith('a…')).toBe(true);
  });
});

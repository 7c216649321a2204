// classifyPartial: what part of a request head the capture holds is worth, and never more.
import { describe, expect, it } from 'vitest';
import { classifyPartial, type HeadPiece } from '../../src/imds/classify.js';

const piece = (off: number, text: string): HeadPiece => ({ off, bytes: Buffer.from(text, 'latin1') });
const TOKEN = 'AQAEAMockTokenForEtlImdsTests0000000000000000000000000000==';

function verdict(...pieces: HeadPiece[]) {
  const c = classifyPartial(pieces);
  return c && { class: c.class, method: c.method, path: c.path, pathCut: c.pathCut, userAgent: c.userAgent, flags: c.flags };
}

describe('classifyPartial', () => {
  it('a PUT to the token path is a token request however little of it is left', () => {
    expect(verdict(piece(0, 'PUT /lates'))).toMatchObject({ class: 'token', method: 'PUT', path: '/lates', pathCut: true });
    expect(verdict(piece(0, 'PUT '))).toMatchObject({ class: 'token', path: '', pathCut: true });
    expect(verdict(piece(0, 'PUT /latest/api/token HTTP/1.'))).toMatchObject({ class: 'token', path: '/latest/api/token', pathCut: false, flags: [] });
  });

  it('a PUT elsewhere is a token request only when its TTL header shows', () => {
    expect(verdict(piece(0, 'PUT /latest/meta-data/x HTTP/1.1\r\nHost: 169.254.169.254\r\n'))).toMatchObject({ class: 'unknown', method: 'PUT' });
    expect(verdict(piece(0, 'PUT /latest/api/tokens HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 21'))).toMatchObject({ class: 'token', flags: ['unusual-path'] });
    // A path cut off before it leaves the token path stays consistent with it.
    expect(verdict(piece(0, 'PUT /latest/api/tok'))).toMatchObject({ class: 'token', pathCut: true });
    expect(verdict(piece(0, 'PUT /latest/meta'))).toMatchObject({ class: 'unknown', pathCut: true });
  });

  it('a token header name that shows makes v2, even when its value was cut', () => {
    expect(verdict(piece(0, 'GET /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token: AQ')))
      .toMatchObject({ class: 'v2', method: 'GET', path: '/latest/meta-data/', pathCut: false });
    expect(verdict(piece(0, `GET /x HTTP/1.1\r\nx-AWS-ec2-METADATA-token: ${TOKEN}\r\n`))).toMatchObject({ class: 'v2' });
  });

  it('without the token header in view it stays unknown, never v1', () => {
    expect(verdict(piece(0, 'GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n')))
      .toMatchObject({ class: 'unknown', userAgent: 'curl/8.5.0' });
    // The name itself cut short: it may be the token header.
    expect(verdict(piece(0, 'GET /x HTTP/1.1\r\nX-aws-ec2-meta'))).toMatchObject({ class: 'unknown' });
  });

  it('after a hole only lines that follow a captured line feed are read', () => {
    const head = piece(0, 'GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\r\n');
    // The hole may end mid-line: a piece starting with the header name proves nothing...
    expect(verdict(head, piece(100, `X-aws-ec2-metadata-token: ${TOKEN}\r\n\r\n`))).toMatchObject({ class: 'unknown' });
    // ...a line after a captured line feed does.
    expect(verdict(head, piece(100, `X-Other: 1\r\nX-aws-ec2-metadata-token: ${TOKEN}\r\n\r\n`))).toMatchObject({ class: 'v2' });
    // Contiguous pieces are one run: the line feed at the end of the first starts the second's line.
    expect(verdict(head, piece(head.bytes.length, `X-aws-ec2-metadata-token: ${TOKEN}\r\n`))).toMatchObject({ class: 'v2' });
    // Lines after the end of the head are not headers of this request.
    expect(verdict(piece(0, 'GET /a HTTP/1.1\r\n'), piece(50, `\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nX-aws-ec2-metadata-token: ${TOKEN}\r\n`)))
      .toMatchObject({ class: 'unknown' });
  });

  it('a User-Agent cut short shows its start and an ellipsis; the path its start', () => {
    expect(verdict(piece(0, 'GET /latest/meta-data/placement/region HTTP/1.1\r\nUser-Agent: aws-sdk-js/3.1'))).toMatchObject({ userAgent: 'aws-sdk-js/3.1…' });
    expect(verdict(piece(0, 'GET /latest/meta-da'))).toMatchObject({ class: 'unknown', path: '/latest/meta-da', pathCut: true });
    // Token-like query values are redacted in the part that shows as well.
    expect(verdict(piece(0, 'GET /x?token=abcdef'))).toMatchObject({ path: '/x?token=REDACTED', pathCut: true });
  });

  it('other clouds stay unknown; bytes that do not start a request line give nothing', () => {
    expect(verdict(piece(0, 'GET /metadata/instance HTTP/1.1\r\nMetadata: true\r\n'))).toMatchObject({ class: 'unknown', flags: ['other-cloud'] });
    expect(verdict(piece(0, '\x16\x03\x01 binary'))).toBeNull();
    expect(verdict()).toBeNull();
  });
});

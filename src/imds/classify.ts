// Per-request IMDS verdict from a parsed request head (docs/imds.md, How IMDS tells v1 from v2, and Classes).
// IMDS itself decides v1 vs v2 by header presence, so do we; Host is not used
// to decide anything (IMDS is also reachable by DNS name).

import { headerValue, hasHeader, type RequestHead } from './http.js';
import type { ImdsClass, ImdsFlag } from './types.js';

export const TOKEN_HEADER = 'x-aws-ec2-metadata-token';
export const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_PATH = '/latest/api/token';
const MAX_TTL = 21600;
const MAX_TEXT = 512;
const MAX_PATH = 2048;

export interface Classification {
  class: ImdsClass;
  method: string;
  path: string;
  host: string | null;
  userAgent: string | null;
  ttl: number | null;
  flags: ImdsFlag[];
}

/**
 * Bounded text for output. Header values and paths may hold any byte; they are kept as they were
 * sent (one character per byte), so JSON gives them back exactly, and the table escapes what a
 * terminal would act on (src/cli/text.ts). Beyond `max` characters the text is cut and ends in …,
 * a character no byte decodes to here, so a cut value cannot be mistaken for a whole one.
 */
function bounded(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * The request target as a path with query; values of query parameters whose
 * name mentions a token or credential are replaced so no secret is printed.
 * Absolute-form targets ("http://169.254.169.254/latest/...") are reduced to their path.
 */
export function redactTarget(target: string): { path: string; absolute: boolean } {
  let path = target;
  let absolute = false;
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
  if (abs) { absolute = true; path = abs[1] || '/'; }
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  const q = path.indexOf('?');
  if (q >= 0) {
    const query = path.slice(q + 1).split('&').map((kv) => {
      const eq = kv.indexOf('=');
      const name = eq < 0 ? kv : kv.slice(0, eq);
      return eq >= 0 && /token|secret|key|password|signature|credential/i.test(name) ? `${name}=REDACTED` : kv;
    });
    path = `${path.slice(0, q)}?${query.join('&')}`;
  }
  return { path: bounded(path, MAX_PATH), absolute };
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q >= 0 ? path.slice(0, q) : path;
}

export function classifyRequest(head: RequestHead): Classification {
  const flags: ImdsFlag[] = [];
  const { path, absolute } = redactTarget(head.target);
  if (absolute) flags.push('absolute-uri');
  const h = head.headers;
  const method = bounded(head.method, 32);
  const host = headerValue(h, 'host');
  const ua = headerValue(h, 'user-agent');
  const ttlRaw = headerValue(h, TTL_HEADER);
  const token = headerValue(h, TOKEN_HEADER);
  let ttl: number | null = null;
  if (ttlRaw !== undefined && /^\d{1,9}$/.test(ttlRaw)) ttl = Number(ttlRaw);

  const metadataFlavor = headerValue(h, 'metadata-flavor');
  const azure = headerValue(h, 'metadata');
  const otherCloud = (metadataFlavor !== undefined && metadataFlavor.toLowerCase() === 'google')
    || (azure !== undefined && azure.toLowerCase() === 'true');
  if (otherCloud) flags.push('other-cloud');
  if (hasHeader(h, 'x-forwarded-for')) flags.push('x-forwarded-for');

  const isTokenPath = pathOnly(path) === TOKEN_PATH;
  let cls: ImdsClass;
  if (head.method === 'PUT' && ttlRaw !== undefined) {
    cls = 'token';
    if (ttl === null || ttl < 1 || ttl > MAX_TTL) flags.push('bad-ttl');
    if (!isTokenPath) flags.push('unusual-path');
  } else if (head.method === 'PUT' && isTokenPath) {
    // A token request missing its TTL (IMDS answers 400): a v2 attempt, not a tokenless read.
    cls = 'token';
    flags.push('no-ttl');
  } else if (token !== undefined) {
    cls = 'v2';
    if (token === '') flags.push('empty-token');
    if (head.method !== 'GET' && head.method !== 'HEAD') flags.push('unusual-method');
  } else if (otherCloud) {
    // Azure / GCP metadata client probing the shared address: tagged, never counted as v1.
    cls = 'unknown';
  } else {
    cls = 'v1';
    if (head.method !== 'GET' && head.method !== 'HEAD') flags.push('unusual-method');
  }
  return {
    class: cls,
    method,
    path,
    host: host === undefined ? null : bounded(host, MAX_TEXT),
    userAgent: ua === undefined ? null : bounded(ua, MAX_TEXT),
    ttl,
    flags,
  };
}

export interface PartialClassification extends Classification {
  /** The capture holds only the start of the path. */
  pathCut: boolean;
}

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

interface SeenHeader {
  lname: string;
  value: string;
  /** The line was cut off: `value` is its start. */
  cut: boolean;
}

/**
 * Verdict from the first bytes of a request head, up to where the capture stops holding it (a
 * packet cut short, bytes lost, the end of the capture; docs/imds.md, Heads the capture holds only
 * in part): what they show is kept, nothing is guessed. Bytes after such a hole are not read: the
 * hole may hide the end of this head and the start of another request. A token header in view
 * makes it v2 and a PUT to the token path is a token request however little of it is left;
 * anything else stays unknown, since the token header may be in the bytes that are missing. Null
 * when the bytes do not even start like a request line.
 */
export function classifyPartial(head: Uint8Array): PartialClassification | null {
  const parts = Buffer.from(head.buffer, head.byteOffset, head.length).toString('latin1').split('\n');
  // Every line but the last ended in a line feed the capture holds; the last was cut off.
  const lines = parts.map((t, k) => (k < parts.length - 1 ? { text: t.endsWith('\r') ? t.slice(0, -1) : t, cut: false } : { text: t, cut: true }));
  const first = lines[0]!;
  // Request line: method, then the target (complete when a space follows it).
  const m = /^(\S+) (\S*)( )?/.exec(first.text);
  if (!m || !TOKEN_CHARS.test(m[1]!)) return null;
  const method = m[1]!;
  const target = m[2]!;
  const pathCut = first.cut && m[3] === undefined;
  const headers: SeenHeader[] = [];
  for (const l of lines.slice(1)) {
    const colon = l.text.indexOf(':');
    if (colon <= 0 || !TOKEN_CHARS.test(l.text.slice(0, colon))) continue;
    headers.push({ lname: l.text.slice(0, colon).toLowerCase(), value: l.text.slice(colon + 1).replace(/^[ \t]+/, '').replace(/[ \t]+$/, ''), cut: l.cut });
  }
  const find = (n: string) => headers.find((h) => h.lname === n);
  const whole = (n: string) => { const h = find(n); return h && !h.cut ? h.value : undefined; };
  const flags: ImdsFlag[] = [];
  const { path, absolute } = redactTarget(target);
  if (absolute) flags.push('absolute-uri');
  const ua = find('user-agent');
  const host = whole('host');
  const ttlRaw = whole(TTL_HEADER);
  let ttl: number | null = null;
  if (ttlRaw !== undefined && /^\d{1,9}$/.test(ttlRaw)) ttl = Number(ttlRaw);
  const metadataFlavor = whole('metadata-flavor');
  const azure = whole('metadata');
  const otherCloud = (metadataFlavor !== undefined && metadataFlavor.toLowerCase() === 'google')
    || (azure !== undefined && azure.toLowerCase() === 'true');
  if (otherCloud) flags.push('other-cloud');
  if (find('x-forwarded-for')) flags.push('x-forwarded-for');
  const tokenPath = absolute ? null : pathOnly(path);
  const onTokenPath = tokenPath !== null && (pathCut ? TOKEN_PATH.startsWith(tokenPath) && !path.includes('?') : tokenPath === TOKEN_PATH);
  let cls: ImdsClass;
  if (method === 'PUT' && find(TTL_HEADER)) {
    cls = 'token';
    if (ttlRaw !== undefined && (ttl === null || ttl < 1 || ttl > MAX_TTL)) flags.push('bad-ttl');
    if (!onTokenPath && !pathCut) flags.push('unusual-path');
  } else if (method === 'PUT' && onTokenPath) {
    // IMDS has no other PUT: a token request, whatever the capture left of it.
    cls = 'token';
  } else if (find(TOKEN_HEADER)) {
    cls = 'v2';
    if (method !== 'GET' && method !== 'HEAD') flags.push('unusual-method');
  } else {
    cls = 'unknown';
  }
  return {
    class: cls,
    method: bounded(method, 32),
    path,
    pathCut,
    host: host === undefined ? null : bounded(host, MAX_TEXT),
    userAgent: ua === undefined ? null : ua.cut && ua.value.length <= MAX_TEXT ? `${ua.value}…` : bounded(ua.value, MAX_TEXT),
    ttl,
    flags,
  };
}

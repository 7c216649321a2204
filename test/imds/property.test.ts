// Property-based tests: however real HTTP exchanges are cut, reordered,
// duplicated or damaged on the way into the trace, the verdicts either equal
// those of the clean stream or degrade to 'unknown' (never a wrong v1).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeImdsSync, type ImdsResult } from '../../src/imds/index.js';
import type { ImdsPacket } from '../../src/native/types.js';
import { Capture, Flow, IMDS_V6, REQUESTS, response } from '../support/packets.js';

// IMDS_PROPERTY_RUNS raises the number of cases for a longer soak.
const RUNS = Number(process.env.IMDS_PROPERTY_RUNS ?? 300);
const requestTexts = Object.values(REQUESTS);
const extraRequests = [
  // keep-alive forms with bodies, chunking and continuation
  'PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 5\r\n\r\nhello',
  'PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
  'GET /latest/user-data HTTP/1.0\r\nX-Note: a\r\n  folded\r\n\r\n',
  'HEAD /latest/meta-data/ HTTP/1.1\r\nHost: instance-data.ec2.internal\r\n\r\n',
];
const allRequests = [...requestTexts, ...extraRequests];

interface Exchange {
  v6: boolean;
  msgs: { req: number; status: number; body: string; reqCuts: number[]; respCuts: number[] }[];
  pipelined: boolean;
}

const exchangeArb: fc.Arbitrary<Exchange> = fc.record({
  v6: fc.boolean(),
  pipelined: fc.boolean(),
  msgs: fc.array(fc.record({
    req: fc.integer({ min: 0, max: allRequests.length - 1 }),
    status: fc.constantFrom(200, 401, 403, 404),
    body: fc.string({ maxLength: 40 }),
    reqCuts: fc.array(fc.integer({ min: 1, max: 260 }), { maxLength: 6 }),
    respCuts: fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 3 }),
  }), { minLength: 1, maxLength: 4 }),
});

/** Deterministic PRNG (mulberry32) so fast-check's seed reproduces a failure. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function respText(m: Exchange['msgs'][number]): string {
  return allRequests[m.req]!.startsWith('HEAD ') ? `HTTP/1.1 ${m.status} X\r\nContent-Length: 99\r\n\r\n` : response(m.status, m.body);
}

/** Builds the exchange; `segmented` applies the cut points. Returns [handshake, rest]. */
function build(ex: Exchange, segmented: boolean): [ImdsPacket[], ImdsPacket[]] {
  const cap = new Capture();
  const f = new Flow(cap, ex.v6 ? { server: IMDS_V6 } : {});
  const hs = f.handshake();
  const rest: ImdsPacket[] = [];
  const send = (m: Exchange['msgs'][number]) => rest.push(...f.send(allRequests[m.req]!, { cuts: segmented ? m.reqCuts : [] }));
  const reply = (m: Exchange['msgs'][number]) => rest.push(...f.reply(respText(m), { cuts: segmented ? m.respCuts : [] }));
  if (ex.pipelined) { ex.msgs.forEach(send); ex.msgs.forEach(reply); }
  else ex.msgs.forEach((m) => { send(m); reply(m); });
  rest.push(...f.close());
  return [hs, rest];
}

const verdicts = (r: ImdsResult) => r.requests.map((q) => [q.class, q.method, q.path, q.status, q.pid, q.flags.join(',')]);

function scramble(packets: ImdsPacket[], seed: number, dupRate: number): ImdsPacket[] {
  const rand = rng(seed);
  const out = packets.flatMap((p) => {
    const copies = [p];
    if (rand() < dupRate) copies.push({ ...p, frame: p.frame + 100000 });
    if (rand() < dupRate / 2) copies.push({ ...p, frame: p.frame + 200000, pid: 0 });
    return copies;
  });
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('properties', () => {
  it('segmentation alone never changes the verdicts', () => {
    fc.assert(fc.property(exchangeArb, (ex) => {
      const clean = analyzeImdsSync(build(ex, false).flat());
      const cut = analyzeImdsSync(build(ex, true).flat());
      expect(verdicts(cut)).toEqual(verdicts(clean));
      expect(clean.requests).toHaveLength(ex.msgs.length);
      expect(clean.requests.every((q) => q.class !== 'unknown' || q.flags.includes('other-cloud'))).toBe(true);
    }), { numRuns: RUNS });
  });

  it('segmentation, reordering and duplication after the handshake never change the verdicts', () => {
    fc.assert(fc.property(exchangeArb, fc.integer(), (ex, seed) => {
      const clean = analyzeImdsSync(build(ex, false).flat());
      const [hs, rest] = build(ex, true);
      const r = analyzeImdsSync([...hs, ...scramble(rest, seed, 0.3)]);
      expect(verdicts(r)).toEqual(verdicts(clean));
    }), { numRuns: RUNS });
  });

  it('without the handshake, with losses and reordering: whatever is classified matches the clean stream, nothing becomes v1 wrongly', () => {
    fc.assert(fc.property(exchangeArb, fc.integer(), fc.boolean(), (ex, seed, keepHandshake) => {
      const clean = analyzeImdsSync(build(ex, false).flat());
      const [hs, rest] = build(ex, true);
      const rand = rng(seed ^ 0x5bd1e995);
      const kept = rest.filter(() => rand() > 0.15);
      const r = analyzeImdsSync([...(keepHandshake ? hs : []), ...scramble(kept, seed, 0.2)]);
      const pool = clean.requests.map((q) => `${q.class} ${q.method} ${q.path} ${q.status}`);
      for (const q of r.requests) {
        if (q.class === 'unknown' && !q.flags.includes('other-cloud')) {
          expect(q.method === null || q.flags.some((f) => ['gap', 'cut', 'unparseable', 'truncated', 'missing-start'].includes(f))).toBe(true);
          continue;
        }
        if (q.pathCut) {
          // Only the start of the path was captured: it must start a real request's path with the same verdict.
          const k = pool.findIndex((e) => e.startsWith(`${q.class} ${q.method} ${q.path}`));
          expect(k, `unexpected ${q.class} ${q.method} ${q.path}… ${q.status}`).toBeGreaterThanOrEqual(0);
          pool.splice(k, 1);
          continue;
        }
        // A classified request must be one that was really sent, with the same verdict,
        // and its status the real one or unknown (null).
        // Known blind spot: pipelined requests when the capture also missed the handshake (requests
        // before the first captured one may be pending), so statuses are only checked otherwise.
        const checkStatus = !(ex.pipelined && !keepHandshake);
        let k = checkStatus ? pool.indexOf(`${q.class} ${q.method} ${q.path} ${q.status}`) : -1;
        if (k < 0 && (q.status === null || !checkStatus)) k = pool.findIndex((e) => e.startsWith(`${q.class} ${q.method} ${q.path} `));
        expect(k, `unexpected ${q.class} ${q.method} ${q.path} ${q.status}`).toBeGreaterThanOrEqual(0);
        pool.splice(k, 1);
      }
    }), { numRuns: RUNS });
  });

  it('mutated bytes never crash the analysis and outputs stay well-formed', () => {
    fc.assert(fc.property(exchangeArb, fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 30 }), fc.integer(), (ex, flips, seed) => {
      const pk = build(ex, true).flat().map((p) => ({ ...p, ip: p.ip.slice() }));
      const rand = rng(seed);
      for (const [pi, bi, v] of flips) {
        const p = pk[pi % pk.length]!;
        if (rand() < 0.2) { p.ip = p.ip.subarray(0, bi % (p.ip.length + 1)); continue; }
        if (p.ip.length > 0) p.ip[bi % p.ip.length] = v;
      }
      const r = analyzeImdsSync(scramble(pk, seed, 0.1));
      for (const q of r.requests) {
        expect(['token', 'v2', 'v1', 'unknown']).toContain(q.class);
        if (q.class !== 'unknown') expect(q.method).not.toBeNull();
        expect(typeof q.time).toBe('bigint');
        expect(q.frames.length).toBeLessThanOrEqual(16);
      }
    }), { numRuns: RUNS });
  });

  it('random bytes as packets never crash', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 40 }), (blobs) => {
      const cap = new Capture();
      const r = analyzeImdsSync(blobs.map((b) => cap.packet(b)));
      expect(r.stats.packets).toBe(blobs.length);
    }), { numRuns: RUNS });
  });
});

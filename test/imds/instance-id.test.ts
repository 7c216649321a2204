// The instance's own id, from IMDS's answer to /meta-data/instance-id in the trace: only a whole
// 200 answer to a GET of that path that looks like an instance id names the instance; answers that
// disagree name none (with a note).
import { describe, expect, it } from 'vitest';
import { analyzeImdsSync } from '../../src/imds/index.js';
import type { ImdsPacket } from '../../src/native/types.js';
import { Capture, Flow, REQUESTS, response } from '../support/packets.js';

const ID = 'i-0123456789abcdef0';
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\nUser-Agent: curl/8.5.0\r\n\r\n`;

/** One connection per [request, response] pair; a response of null is never sent; cuts split the response into segments. */
function trace(pairs: [string, string | null, number[]?][], o: { closeServer?: boolean } = {}): ImdsPacket[] {
  const cap = new Capture();
  return pairs.flatMap(([req, resp, cuts], i) => {
    const f = new Flow(cap, { clientPort: 50000 + i, pid: 100 + i, tid: 1 });
    const out = [...f.handshake(), ...f.send(req)];
    if (resp !== null) out.push(...f.reply(resp, { cuts }));
    if (o.closeServer !== false) out.push(...f.close());
    return out;
  });
}

describe("the instance id from IMDS's own answer", () => {
  it('is read from a 200 answer to GET /latest/meta-data/instance-id, v1 or v2, whole or in segments, and from a dated API version', () => {
    expect(analyzeImdsSync(trace([[get('/latest/meta-data/instance-id'), response(200, ID)]])).instanceId).toBe(ID);
    expect(analyzeImdsSync(trace([[REQUESTS.dotnetGet, response(200, ID)]])).instanceId).toBe(ID);
    const split = response(200, ID);
    expect(analyzeImdsSync(trace([[REQUESTS.dotnetV1, split, [split.length - 12, split.length - 3]]])).instanceId).toBe(ID);
    expect(analyzeImdsSync(trace([[get('/2021-07-15/meta-data/instance-id'), response(200, 'i-0a1b2c3d')]])).instanceId).toBe('i-0a1b2c3d');
    // The same id twice (two callers) is one id.
    expect(analyzeImdsSync(trace([[REQUESTS.dotnetV1, response(200, ID)], [get('/latest/meta-data/instance-id'), response(200, ID)]])).instanceId).toBe(ID);
  });

  it('is not read from other paths, other statuses, bodies that are not an instance id, or answers the capture did not hold whole', () => {
    const none = (pairs: [string, string | null, number[]?][]) => expect(analyzeImdsSync(trace(pairs)).instanceId).toBeNull();
    none([]);
    none([[get('/latest/meta-data/ami-id'), response(200, 'i-0123456789abcdef0')]]);
    none([[get('/latest/meta-data/instance-id/'), response(200, ID)]]);
    none([[get('/latest/meta-data/instance-id'), response(404, ID)]]);
    none([[get('/latest/meta-data/instance-id'), response(401, '')]]);
    none([[get('/latest/meta-data/instance-id'), response(200, 'ami-0123456789abcdef0')]]);
    none([[get('/latest/meta-data/instance-id'), response(200, 'i-0123456789ABCDEF0')]]);
    none([[get('/latest/meta-data/instance-id'), response(200, `${ID}\n`)]]);
    none([[get('/latest/meta-data/instance-id'), response(200, `${ID}0000000000000000000000000000`)]]);
    none([[get('/latest/meta-data/instance-id'), null]]);
    // The capture ended inside the body: its first bytes look like an id, but the rest is not there.
    none([[get('/latest/meta-data/instance-id'), `HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n${ID}`]]);
  });

  it('is null, with a note naming them, when IMDS gave different ids', () => {
    const r = analyzeImdsSync(trace([[REQUESTS.dotnetV1, response(200, ID)], [REQUESTS.dotnetV1, response(200, 'i-0fedcba9876543210')]]));
    expect(r.instanceId).toBeNull();
    expect(r.warnings.filter((w) => w.code === 'instance-ids').map((w) => w.message)).toEqual([
      `IMDS gave more than one instance id (${ID}, i-0fedcba9876543210): the trace names no instance`,
    ]);
    // The requests themselves are unchanged.
    expect(r.requests.map((q) => [q.class, q.status])).toEqual([['v1', 200], ['v1', 200]]);
  });
});

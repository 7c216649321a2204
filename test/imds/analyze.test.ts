// End-to-end: real TCP/IP packets in, per-request verdicts out.
import { describe, expect, it } from 'vitest';
import { analyzeImds, analyzeImdsSync, ImdsAnalyzer, type ImdsRequest, type ImdsResult, type TcpipHint } from '../../src/imds/index.js';
import type { ImdsPacket } from '../../src/native/types.js';
import {
  ACK, Capture, FIN, Flow, IMDS_V4, IMDS_V6, PSH, REQUESTS, response, RST, SYN, tcpPacket, TOKEN,
} from '../support/packets.js';

const brief = (r: ImdsResult) => r.requests.map((q) => [q.class, q.method, q.path, q.status]);
const classes = (r: ImdsResult) => r.requests.map((q) => q.class);

/** A full exchange on a new connection: handshake, request(s), response(s), close. */
function exchange(cap: Capture, reqs: string[], resps: string[], o: ConstructorParameters<typeof Flow>[1] = {}): ImdsPacket[] {
  const f = new Flow(cap, o);
  const out = [...f.handshake()];
  for (let i = 0; i < reqs.length; i++) {
    out.push(...f.send(reqs[i]!));
    if (resps[i] !== undefined) out.push(...f.reply(resps[i]!));
  }
  out.push(...f.close());
  return out;
}

describe('basic exchanges', () => {
  it('token, v2 and v1 calls with statuses, PID and TID from their own packets', () => {
    const cap = new Capture();
    const pk = [
      ...exchange(cap, [REQUESTS.curlToken], [response(200, 'tok')], { clientPort: 50001, pid: 100, tid: 11 }),
      ...exchange(cap, [REQUESTS.curlV2], [response(200, 'us-east-1a')], { clientPort: 50002, pid: 100, tid: 12 }),
      ...exchange(cap, [REQUESTS.botoV1], [response(401, '')], { clientPort: 50003, pid: 200, tid: 21 }),
    ];
    const r = analyzeImdsSync(pk);
    expect(brief(r)).toEqual([
      ['token', 'PUT', '/latest/api/token', 200],
      ['v2', 'GET', '/latest/meta-data/placement/availability-zone', 200],
      ['v1', 'GET', '/latest/meta-data/iam/security-credentials/', 401],
    ]);
    expect(r.requests.map((q) => [q.pid, q.tid, q.attribution, q.clientPort, q.endpoint])).toEqual([
      [100, 11, 'packet', 50001, IMDS_V4], [100, 12, 'packet', 50002, IMDS_V4], [200, 21, 'packet', 50003, IMDS_V4],
    ]);
    expect(r.connections).toBe(3);
    expect(r.warnings).toEqual([]);
    // time = the packet carrying the first request byte (4th packet of the first flow)
    expect(r.requests[0]!.time).toBe(pk[3]!.fileTime);
    expect(r.requests[0]!.frames).toEqual([pk[3]!.frame]);
    expect(r.requests[2]!.ttl).toBeNull();
    expect(r.requests[0]!.ttl).toBe(21600);
    expect(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(TOKEN);
  });

  it('IPv6 endpoint and IPv4-mapped addresses', () => {
    const cap = new Capture();
    const pk = [
      ...exchange(cap, [REQUESTS.botoV1], [response(200, 'x')], { server: IMDS_V6 }),
      ...exchange(cap, [REQUESTS.curlV1], [response(200, 'x')], { server: '::ffff:169.254.169.254', client: '::ffff:10.0.0.7' }),
    ];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.endpoint, q.clientAddr, q.status])).toEqual([
      ['v1', IMDS_V6, 'fd00:ec2::1:a', 200], ['v1', IMDS_V4, '10.0.0.7', 200],
    ]);
  });

  it('.NET SDK keep-alive: PUT before every GET, answered in order', () => {
    const cap = new Capture();
    const reqs = [REQUESTS.dotnetToken, REQUESTS.dotnetGet, REQUESTS.dotnetToken, REQUESTS.dotnetGet, REQUESTS.dotnetV1];
    const resps = [response(200, 'tok'), response(200, 'i-0123'), response(200, 'tok'), response(404, ''), response(200, 'i-0123')];
    const r = analyzeImdsSync(exchange(cap, reqs, resps));
    expect(brief(r)).toEqual([
      ['token', 'PUT', '/latest/api/token', 200], ['v2', 'GET', '/latest/meta-data/instance-id', 200],
      ['token', 'PUT', '/latest/api/token', 200], ['v2', 'GET', '/latest/meta-data/instance-id', 404],
      ['v1', 'GET', '/latest/meta-data/instance-id', 200],
    ]);
    expect(new Set(r.requests.map((q) => q.connection))).toEqual(new Set([1]));
  });

  it('pipelining: three requests in one segment, three responses in one segment', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const pk = [
      ...f.handshake(),
      ...f.send(REQUESTS.curlV1 + REQUESTS.curlV2 + REQUESTS.curlToken),
      ...f.reply(response(401) + response(200, 'az') + response(200, 'tok')),
      ...f.close(),
    ];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status])).toEqual([['v1', 401], ['v2', 200], ['token', 200]]);
    expect(r.requests.every((q) => q.frames.length === 1 && q.frames[0] === pk[3]!.frame)).toBe(true);
  });

  it('many requests on one keep-alive connection', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const pk = [...f.handshake()];
    for (let i = 0; i < 500; i++) {
      pk.push(...f.send(i % 2 ? REQUESTS.curlV1 : REQUESTS.curlV2));
      pk.push(...f.reply(response(i % 2 ? 401 : 200, `body${i}`)));
    }
    pk.push(...f.close());
    const r = analyzeImdsSync(pk);
    expect(r.requests).toHaveLength(500);
    expect(r.requests.filter((q) => q.class === 'v1' && q.status === 401)).toHaveLength(250);
    expect(r.requests.filter((q) => q.class === 'v2' && q.status === 200)).toHaveLength(250);
  });

  it('Connection: close response without Content-Length, and a HEAD request', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const head = 'HEAD /latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n';
    const pk = [
      ...f.handshake(),
      ...f.send(head),
      ...f.reply('HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n'),
      ...f.send(REQUESTS.curlV1),
      ...f.reply('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\nunauthorized body'),
      ...f.close(),
    ];
    const r = analyzeImdsSync(pk);
    expect(brief(r)).toEqual([['v1', 'HEAD', '/latest/meta-data/', 200], ['v1', 'GET', '/latest/meta-data/', 401]]);
  });

  it('Expect: 100-continue token PUT with a body: 100 skipped, final status kept', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const put = 'PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\nX-aws-ec2-metadata-token-ttl-seconds: 600\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n';
    const pk = [
      ...f.handshake(), ...f.send(put), ...f.reply('HTTP/1.1 100 Continue\r\n\r\n'), ...f.send('body'),
      ...f.reply(response(200, 'tok')), ...f.send(REQUESTS.curlV2), ...f.reply(response(200, 'x')), ...f.close(),
    ];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.ttl, q.status])).toEqual([['token', 600, 200], ['v2', null, 200]]);
  });

  it('chunked request body', () => {
    const cap = new Capture();
    const put = 'PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\nTransfer-Encoding: chunked\r\n\r\n';
    const r = analyzeImdsSync(exchange(cap, [put + '3\r\nabc\r\n0\r\n\r\n', REQUESTS.curlV1], [response(200, 't'), response(200, 'x')]));
    expect(brief(r)).toEqual([['token', 'PUT', '/latest/api/token', 200], ['v1', 'GET', '/latest/meta-data/', 200]]);
  });

  it('other-cloud requests are tagged and never v1', () => {
    const cap = new Capture();
    const r = analyzeImdsSync(exchange(cap, [REQUESTS.azure, REQUESTS.gcp], [response(404), response(404)]));
    expect(r.requests.map((q) => [q.class, q.flags])).toEqual([['unknown', ['other-cloud']], ['unknown', ['other-cloud']]]);
  });
});

describe('TCP reassembly', () => {
  it('a request split at every byte position', () => {
    const req = REQUESTS.botoV1;
    for (let i = 1; i < req.length; i++) {
      const cap = new Capture();
      const f = new Flow(cap);
      const pk = [...f.handshake(), ...f.send(req, { cuts: [i] }), ...f.reply(response(200, 'r')), ...f.close()];
      const r = analyzeImdsSync(pk);
      expect(brief(r), `cut at ${i}`).toEqual([['v1', 'GET', '/latest/meta-data/iam/security-credentials/', 200]]);
      expect(r.requests[0]!.frames).toEqual([pk[3]!.frame, pk[4]!.frame]);
    }
  });

  it('the same split without the handshake (capture started after it)', () => {
    const req = REQUESTS.curlV2;
    for (let i = 1; i < req.length; i++) {
      const cap = new Capture();
      const f = new Flow(cap);
      f.handshake(); // built, not captured
      const r = analyzeImdsSync([...f.send(req, { cuts: [i] }), ...f.reply(response(200, 'r'))]);
      expect(brief(r), `cut at ${i}`).toEqual([['v2', 'GET', '/latest/meta-data/placement/availability-zone', 200]]);
    }
  });

  it('retransmissions and overlapping segments are counted once; the first copy wins', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const base = f.cSeq;
    const segs = f.send(REQUESTS.dotnetV1, { cuts: [30, 60] });
    // Re-send bytes 10..80 as one segment (overlaps all three), and the first segment again.
    const overlap = f.out({ seq: base + 10, ack: f.sSeq, flags: PSH | ACK, payload: REQUESTS.dotnetV1.slice(10, 80) });
    const resent = f.out({ seq: base, ack: f.sSeq, flags: PSH | ACK, payload: REQUESTS.dotnetV1.slice(0, 30) });
    const pk = [...hs, segs[0]!, overlap, segs[1]!, resent, segs[2]!, ...f.reply(response(200, 'i-1')), ...f.close()];
    const r = analyzeImdsSync(pk);
    expect(brief(r)).toEqual([['v1', 'GET', '/latest/meta-data/instance-id', 200]]);
    expect(r.stats.retransmittedBytes).toBe(70 + 30);
    expect(r.requests[0]!.frames).toEqual([segs[0]!.frame, overlap.frame, segs[2]!.frame]);
  });

  it('out-of-order arrival', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const segs = f.send(REQUESTS.jsV3Token + REQUESTS.jsV3Get, { cuts: [5, 50, 100, 140, 200] });
    const resp = f.reply(response(200, 'tok') + response(200, 'role'), { cuts: [20, 90] });
    const r = analyzeImdsSync([...hs, ...[...segs].reverse(), resp[2]!, resp[0]!, resp[1]!, ...f.close()]);
    expect(r.requests.map((q) => [q.class, q.status])).toEqual([['token', 200], ['v2', 200]]);
    // Time of the first byte = the packet carrying it, even though it arrived last.
    expect(r.requests[0]!.time).toBe(segs[0]!.fileTime);
  });

  it('pktmon duplicate appearances collapse by PktGroupId+PktNumber; a later copy can supply the PID', () => {
    const cap = new Capture();
    const f = new Flow(cap, { pid: 0 });
    const orig = [...f.handshake(), ...f.send(REQUESTS.curlV1, { cuts: [20] }), ...f.reply(response(200, 'x')), ...f.close()];
    const pk: ImdsPacket[] = [];
    orig.forEach((p, n) => {
      for (let a = 1; a <= 3; a++) {
        // Outbound copies: the first component logs PID 0, the third the owning process.
        const pid = p.direction === 'out' && a === 3 ? 5150 : 0;
        pk.push({ ...p, source: 'pktmon', pid, tid: pid ? 9 : 0, pktGroupId: 0x7000n + BigInt(n), pktNumber: 1, appearance: a, component: a, frame: p.frame * 10 + a });
      }
    });
    const r = analyzeImdsSync(pk);
    expect(brief(r)).toEqual([['v1', 'GET', '/latest/meta-data/', 200]]);
    expect(r.requests[0]).toMatchObject({ pid: 5150, tid: 9, attribution: 'packet' });
    expect(r.requests[0]!.frames).toEqual([orig[3]!.frame * 10 + 1, orig[4]!.frame * 10 + 1]);
    expect(r.stats.duplicateAppearances).toBe(orig.length * 2);
    expect(r.connections).toBe(1);
  });

  it('duplicates without pktmon identity (NDIS + VMSwitch copies) collapse by sequence range', () => {
    const cap = new Capture();
    const orig = exchange(cap, [REQUESTS.curlV1, REQUESTS.curlV2], [response(401), response(200, 'z')]);
    const pk = orig.flatMap((p) => [p, { ...p, source: 'vmswitch' as const, frame: p.frame + 1000 }]);
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status])).toEqual([['v1', 401], ['v2', 200]]);
    expect(r.connections).toBe(1);
  });

  it('capture started mid-connection: the request tail is unknown (missing-start), the next one is classified, responses align', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    f.handshake();
    const first = f.send(REQUESTS.botoV1, { cuts: [40] });
    const firstResp = f.reply(response(200, 'role-a'), { cuts: [25] });
    const pk = [first[1]!, firstResp[1]!, ...f.send(REQUESTS.botoV2), ...f.reply(response(200, 'role-b')), ...f.send(REQUESTS.botoV1), ...f.reply(response(401))];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status, q.flags])).toEqual([
      ['unknown', null, ['missing-start']], ['v2', 200, []], ['v1', 401, []],
    ]);
  });

  it('a response to a request the capture missed is not given to the next request', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    f.handshake();
    f.send(REQUESTS.curlV1); // not captured
    const pk = [...f.reply(response(200, 'old')), ...f.send(REQUESTS.curlV2), ...f.reply(response(403))];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status])).toEqual([['v2', 403]]);
    expect(r.stats.orphanResponses).toBe(1);
    expect(r.warnings.some((w) => w.code === 'orphan-responses' && w.message.includes('response(s) without a captured request'))).toBe(true);
  });

  it('data seen before its SYN (trace order across CPUs) still uses the SYN origin', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const [syn, synack, ack] = f.handshake();
    const segs = f.send(REQUESTS.curlV1, { cuts: [10] });
    const r = analyzeImdsSync([segs[1]!, syn!, synack!, ack!, segs[0]!, ...f.reply(response(200, 'x'))]);
    expect(r.requests.map((q) => [q.class, q.status, q.flags])).toEqual([['v1', 200, []]]);
  });

  it('a lost segment inside a request head makes it unknown (gap), never v1', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const segs = f.send(REQUESTS.curlV1, { cuts: [30, 60] });
    const r = analyzeImdsSync([...hs, segs[0]!, segs[2]!, ...f.reply(response(401)), ...f.send(REQUESTS.curlV2), ...f.reply(response(200, 'x'))]);
    expect(r.requests.map((q) => [q.class, q.flags, q.status])).toEqual([['unknown', ['gap'], 401], ['v2', [], 200]]);
    expect(r.stats.gapBytes).toBe(30);
    expect(r.warnings.some((w) => w.code === 'missing-bytes' && w.message.includes('30 byte(s) missing'))).toBe(true);
  });

  it('pipelined after a loss: no status rather than a possibly wrong one', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const segs = f.send(REQUESTS.curlV1, { cuts: [30, 60] });
    // The lost bytes could have held the end of one request and the start of another.
    const r = analyzeImdsSync([...hs, segs[0]!, segs[2]!, ...f.send(REQUESTS.curlV2), ...f.reply(response(401) + response(200, 'x'))]);
    expect(r.requests.map((q) => [q.class, q.flags, q.status])).toEqual([['unknown', ['gap'], 401], ['v2', [], null]]);
  });

  it('a whole request lost between two others becomes one unknown request; a lost response does not shift statuses', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const pk = [...f.handshake(), ...f.send(REQUESTS.curlV2), ...f.reply(response(200, 'a'))];
    f.send(REQUESTS.curlV1); // lost
    f.reply(response(401)); // lost
    pk.push(...f.send(REQUESTS.botoV2), ...f.reply(response(404)), ...f.close());
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status, q.flags])).toEqual([
      ['v2', 200, []], ['unknown', null, ['gap']], ['v2', 404, []],
    ]);
  });

  it('the capture ending inside a request head gives unknown (truncated)', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const r = analyzeImdsSync([...f.handshake(), f.send(REQUESTS.curlV1, { cuts: [50] })[0]!]);
    expect(r.requests.map((q) => [q.class, q.flags])).toEqual([['unknown', ['truncated']]]);
  });

  it('bytes missing before a FIN are a gap', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    f.send(REQUESTS.curlV1.slice(0, 40)); // lost
    const pk = [...hs, ...f.send(REQUESTS.curlV1.slice(40)), ...f.close()];
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.flags])).toEqual([['unknown', ['gap']]]);
  });

  it('IP-truncated segments are cut: their logged bytes count, the rest is a hole, never wrong bytes', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const hs = f.handshake();
    const segs = f.send(REQUESTS.curlV1, { cuts: [40] });
    const cut = { ...segs[0]!, ip: segs[0]!.ip.subarray(0, 60) }; // snaplen: 20 of 40 payload bytes
    const r = analyzeImdsSync([...hs, cut, segs[1]!, ...f.reply(response(200))]);
    // "GET /latest/meta-dat" is what the cut segment holds; the bytes after the hole are not read
    // as this head's (the hole may hide its end); no token header was seen, and it could have been
    // in the hole: unknown, never v1.
    expect(r.requests.map((q) => [q.class, q.flags, q.status, q.method, q.path, q.pathCut, q.userAgent, q.reason])).toEqual([
      ['unknown', ['cut'], 200, 'GET', '/latest/meta-dat', true, null, 'cut at 60 bytes'],
    ]);
    expect(r.stats.cutPackets).toBe(1);
    expect(r.stats.cutBytes).toBe(20);
    expect(r.stats.gapBytes).toBe(0);
  });
});

describe('connections', () => {
  it('port reuse after FIN with a new SYN is a new connection; a retransmitted SYN is not', () => {
    const cap = new Capture();
    const a = new Flow(cap, { clientIsn: 1000 });
    const [syn] = a.handshake();
    const pk = [syn!, syn!, ...a.send(REQUESTS.curlV1), ...a.reply(response(401)), ...a.close()];
    pk.splice(2, 0, ...[]);
    const b = new Flow(cap, { clientIsn: 900000 });
    pk.push(...b.handshake(), ...b.send(REQUESTS.curlV2), ...b.reply(response(200, 'x')), ...b.close());
    const r = analyzeImdsSync(pk);
    expect(r.connections).toBe(2);
    expect(r.requests.map((q) => [q.class, q.status, q.connection])).toEqual([['v1', 401, 1], ['v2', 200, 2]]);
  });

  it('port reuse after RST without a captured SYN', () => {
    const cap = new Capture();
    const a = new Flow(cap, { clientIsn: 5000 });
    const pk = [...a.handshake(), ...a.send(REQUESTS.curlV1), ...a.reply(response(401)), a.reset()];
    const b = new Flow(cap, { clientIsn: 7_000_000, serverIsn: 123 });
    b.handshake();
    pk.push(...b.send(REQUESTS.curlV2), ...b.reply(response(200, 'x')));
    const r = analyzeImdsSync(pk);
    expect(r.connections).toBe(2);
    expect(r.requests.map((q) => [q.class, q.status, q.connection])).toEqual([['v1', 401, 1], ['v2', 200, 2]]);
  });

  it('a new SYN with a different ISN while the old connection is open ends the old one', () => {
    const cap = new Capture();
    const a = new Flow(cap, { clientIsn: 1 });
    const pk = [...a.handshake(), ...a.send(REQUESTS.curlV1.slice(0, 30))];
    const b = new Flow(cap, { clientIsn: 99999 });
    pk.push(...b.handshake(), ...b.send(REQUESTS.curlV1), ...b.reply(response(200, 'x')));
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status, q.connection, q.flags])).toEqual([
      ['unknown', null, 1, ['truncated']], ['v1', 200, 2, []],
    ]);
  });

  it('idle and closed connections are released during the scan', () => {
    const cap = new Capture();
    cap.step = 10_000_000n; // 1 s between packets
    const a = new ImdsAnalyzer({ closedLinger: 5n * 10_000_000n });
    for (let i = 0; i < 600; i++) for (const p of exchange(cap, [REQUESTS.curlV1], [response(200, 'x')], { clientPort: 40000 + i })) a.push(p);
    const r = a.finish();
    expect(r.requests).toHaveLength(600);
    expect(r.connections).toBe(600);
  });
});

describe('attribution', () => {
  it('packet, then connection majority, then TCPIP hint nearest in time, then none', () => {
    const cap = new Capture();
    // 1: own packets carry the PID.
    const p1 = exchange(cap, [REQUESTS.curlV1], [response(200)], { clientPort: 1001, pid: 111 });
    // 2: request packets logged with PID 4 / 0; the SYN and ACKs carry 222 twice, 333 once.
    const f2 = new Flow(cap, { clientPort: 1002, pid: 222 });
    const p2 = [...f2.handshake(), ...f2.send(REQUESTS.curlV1, { pid: 4, cuts: [10] }), ...f2.reply(response(200))];
    p2.push(f2.out({ seq: f2.cSeq, ack: f2.sSeq, flags: ACK }, { pid: 333 }), f2.out({ seq: f2.cSeq, ack: f2.sSeq, flags: FIN | ACK }, { pid: 0 }));
    // 3: every outbound PID is 0 / 4 / 0xFFFFFFFF: TCPIP hints decide.
    const f3 = new Flow(cap, { clientPort: 1003, pid: 0 });
    const p3 = [...f3.handshake(), ...f3.send(REQUESTS.curlV1, { pid: 0xffffffff }), ...f3.reply(response(200))];
    // 4: nothing at all.
    const p4 = exchange(cap, [REQUESTS.curlV1], [response(200)], { clientPort: 1004, pid: 4 });
    const t3 = p3[3]!.fileTime;
    const hints: TcpipHint[] = [
      { fileTime: t3 - 50_000n, pid: 444, localAddr: '172.31.5.10', localPort: 1003, remoteAddr: IMDS_V4, remotePort: 80, kind: 'connect' },
      { fileTime: t3 + 10_000n, pid: 445, localAddr: '::ffff:172.31.5.10', localPort: 1003, remoteAddr: '::ffff:169.254.169.254', remotePort: 80, kind: 'rundown' },
      { fileTime: t3, pid: 999, localAddr: '172.31.5.10', localPort: 1003, remoteAddr: IMDS_V4, remotePort: 443, kind: 'connect' },
      { fileTime: t3, pid: 998, localAddr: '172.31.5.11', localPort: 1003, remoteAddr: IMDS_V4, remotePort: 80, kind: 'connect' },
    ];
    const r = analyzeImdsSync([...p1, ...p2, ...p3, ...p4], hints);
    expect(r.requests.map((q) => [q.clientPort, q.pid, q.tid, q.attribution])).toEqual([
      [1001, 111, 777, 'packet'], [1002, 222, null, 'connection'], [1003, 445, null, 'tcpip'], [1004, null, null, 'none'],
    ]);
  });

  it('a request whose packets disagree takes the majority and is flagged pid-conflict', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const pk = [...f.handshake()];
    const bytes = REQUESTS.curlV1;
    pk.push(...f.send(bytes.slice(0, 10), { pid: 50 }), ...f.send(bytes.slice(10, 20), { pid: 60 }), ...f.send(bytes.slice(20), { pid: 60 }));
    const r = analyzeImdsSync(pk);
    expect(r.requests[0]).toMatchObject({ pid: 60, attribution: 'packet', flags: ['pid-conflict'] });
  });

  it('hints may be filled while packets are read (async input)', async () => {
    const cap = new Capture();
    const pk = exchange(cap, [REQUESTS.curlV1], [response(200)], { pid: 0 });
    const hints: TcpipHint[] = [];
    async function* gen() {
      for (const p of pk) { yield p; }
      hints.push({ fileTime: pk[0]!.fileTime, pid: 77, localAddr: '172.31.5.10', localPort: 49712, remoteAddr: IMDS_V4, remotePort: 80, kind: 'connect' });
    }
    const r = await analyzeImds(gen(), hints);
    expect(r.requests[0]).toMatchObject({ pid: 77, attribution: 'tcpip' });
  });

  it('accepts batches (arrays) as items', async () => {
    const cap = new Capture();
    const pk = exchange(cap, [REQUESTS.curlV1, REQUESTS.curlV2], [response(401), response(200, 'x')]);
    const r = await analyzeImds([pk.slice(0, 5), pk.slice(5)]);
    expect(classes(r)).toEqual(['v1', 'v2']);
  });
});

describe('validation of what native code selected', () => {
  it('ignores non-IMDS, non-TCP and malformed packets with counted warnings', () => {
    const cap = new Capture();
    const good = exchange(cap, [REQUESTS.curlV1], [response(200)]);
    const other = tcpPacket('172.31.5.10', '10.0.0.1', { srcPort: 5000, dstPort: 80, seq: 1, flags: PSH | ACK, payload: REQUESTS.curlV1 });
    const port443 = tcpPacket('172.31.5.10', IMDS_V4, { srcPort: 5000, dstPort: 443, seq: 1, flags: PSH | ACK, payload: REQUESTS.curlV1 });
    const udp = tcpPacket('172.31.5.10', IMDS_V4, { srcPort: 5000, dstPort: 80, seq: 1, flags: 0, payload: REQUESTS.curlV1 });
    udp[9] = 17;
    const frag = tcpPacket('172.31.5.10', IMDS_V4, { srcPort: 5000, dstPort: 80, seq: 1, flags: SYN }, { fragWord: 0x2000 });
    const badTcp = tcpPacket('172.31.5.10', IMDS_V4, { srcPort: 5000, dstPort: 80, seq: 1, flags: SYN }).subarray(0, 30);
    const junk: ImdsPacket[] = [other, port443, udp, frag, badTcp, Uint8Array.of(1, 2, 3)].map((ip) => cap.packet(ip));
    junk.push({ ...cap.packet(new Uint8Array(0)), ip: 'nope' as unknown as Uint8Array });
    const r = analyzeImdsSync([...junk, ...good]);
    expect(classes(r)).toEqual(['v1']);
    expect(r.stats.ignored).toEqual({ 'not-imds': 2, 'not-tcp': 1, 'ip-fragment': 1, 'tcp-header-length': 1, 'not-ip': 1, 'bad-packet': 1 });
    expect(r.warnings.map((w) => w.message)).toContain('ignored 2 packet(s): not to or from IMDS port 80');
  });

  it('direction comes from the addresses; a contradicting logged direction is only counted', () => {
    const cap = new Capture();
    const pk = exchange(cap, [REQUESTS.curlV1], [response(200)]).map((p) => ({ ...p, direction: p.direction === 'out' ? 'in' as const : 'out' as const }));
    const r = analyzeImdsSync(pk);
    expect(r.requests.map((q) => [q.class, q.status, q.pid])).toEqual([['v1', 200, 4242]]);
    expect(r.stats.directionMismatches).toBe(pk.length);
  });

  it('wrong TCP checksums (offloaded sends) do not matter', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const pk = [...f.handshake(), f.out({ seq: f.cSeq, ack: f.sSeq, flags: PSH | ACK, payload: REQUESTS.curlV1 }, {}, { badChecksum: true })];
    expect(classes(analyzeImdsSync(pk))).toEqual(['v1']);
  });
});

describe('bounded memory', () => {
  it('a million tiny in-order segments: one oversized head, memory bounded, then the next request is found', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const a = new ImdsAnalyzer({ maxHeaderBytes: 4096 });
    for (const p of f.handshake()) a.push(p);
    for (const p of f.send('GET /latest/meta-data/ HTTP/1.1\r\nX-Pad: ')) a.push(p);
    // Reuse one packet template: only the sequence number changes (checksum is not checked on input).
    const tmpl = f.send('a')[0]!;
    const ipv = new DataView(tmpl.ip.buffer, tmpl.ip.byteOffset);
    const seq0 = ipv.getUint32(24);
    for (let i = 0; i < 1_000_000; i++) {
      const ip = tmpl.ip.slice();
      new DataView(ip.buffer).setUint32(24, (seq0 + i) >>> 0);
      a.push({ ...tmpl, ip, frame: tmpl.frame + i });
    }
    f.cSeq = (seq0 + 1_000_000) >>> 0;
    for (const p of f.send('\r\n\r\n' + REQUESTS.curlV2)) a.push(p);
    const r = a.finish();
    expect(r.requests.map((q) => [q.class, q.flags])).toEqual([['unknown', ['unparseable']], ['v2', []]]);
    expect(r.requests[0]!.frames.length).toBeLessThanOrEqual(16);
    expect(r.stats.peakBufferedBytes).toBe(0);
  }, 60_000);

  it('tiny segments arriving out of order hit the per-connection cap and are given up as gaps, with a warning', () => {
    const cap = new Capture();
    const f = new Flow(cap);
    const a = new ImdsAnalyzer({ maxBufferedBytesPerConnection: 1000, maxBufferedSegmentsPerConnection: 200 });
    for (const p of f.handshake()) a.push(p);
    const body = 'x'.repeat(20000);
    const put = `PUT /latest/api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: ${body.length}\r\n\r\n`;
    for (const p of f.send(put)) a.push(p);
    const segs = f.send(body, { cuts: Array.from({ length: body.length }, (_, i) => i) });
    // Every even segment first (holes everywhere), then the odd ones.
    for (let i = 0; i < segs.length; i += 2) a.push(segs[i]!);
    for (let i = 1; i < segs.length; i += 2) a.push(segs[i]!);
    for (const p of f.send(REQUESTS.curlV1)) a.push(p);
    const r = a.finish();
    expect(r.stats.peakBufferedBytes).toBeLessThanOrEqual(1000);
    expect(r.requests.map((q) => [q.class, q.flags])).toEqual([['token', ['gap']], ['v1', []]]);
    expect(r.warnings.some((w) => w.code === 'buffer-limit' && w.message.startsWith('buffer limits reached'))).toBe(true);
    expect(r.stats.gapBytes).toBeGreaterThan(0);
  });

  it('the scan-wide cap bounds many connections holding out-of-order data', () => {
    const cap = new Capture();
    const a = new ImdsAnalyzer({ maxBufferedBytesTotal: 5000 });
    for (let c = 0; c < 50; c++) {
      const f = new Flow(cap, { clientPort: 20000 + c });
      for (const p of f.handshake()) a.push(p);
      const segs = f.send(REQUESTS.curlV1 + REQUESTS.curlV2, { cuts: [10] });
      a.push(segs[1]!); // the head's first 10 bytes never arrive
    }
    const r = a.finish();
    expect(r.stats.peakBufferedBytes).toBeLessThanOrEqual(5000 + 400);
    expect(r.requests.filter((q) => q.class === 'v1')).toHaveLength(0);
    expect(r.requests.filter((q) => q.class === 'v2')).toHaveLength(50);
  });
});

describe('option validation', () => {
  it('rejects nonsense limits', () => {
    expect(() => new ImdsAnalyzer({ maxHeaderBytes: 0 })).toThrow(/maxHeaderBytes/);
    expect(() => new ImdsAnalyzer({ maxConnections: Number.NaN })).toThrow(/maxConnections/);
  });
});

export type { ImdsRequest };

import { describe, expect, it } from 'vitest';
import { canonicalAddress, formatIpv6, parseAddress, parseIp } from '../../src/imds/ip.js';
import { parseTcp, seqDiff } from '../../src/imds/tcp.js';
import { ACK, addrBytes, IMDS_V4, IMDS_V6, PSH, tcpPacket } from '../support/packets.js';

const seg = { srcPort: 50000, dstPort: 80, seq: 1, ack: 2, flags: PSH | ACK, payload: 'GET / HTTP/1.1\r\n\r\n' };

describe('IPv4', () => {
  it('parses a plain header and the TCP payload bounds', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg);
    const r = parseIp(p);
    expect(r).toMatchObject({ ok: true, ip: { version: 4, src: '10.1.2.3', dst: IMDS_V4, protocol: 6, payloadOffset: 20, payloadEnd: p.length, truncated: false } });
  });

  it('skips IPv4 options (IHL > 5)', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg, { v4Options: Uint8Array.of(7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0) });
    const r = parseIp(p);
    expect(r.ok && r.ip.payloadOffset).toBe(32);
    if (!r.ok) return;
    const t = parseTcp(p, r.ip.payloadOffset, r.ip.payloadEnd);
    expect(t.ok && new TextDecoder().decode(t.tcp.payload)).toBe(seg.payload);
  });

  it('ignores link-layer padding after the total length', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, payload: '' }, { trailer: new Uint8Array(6) });
    const r = parseIp(p);
    expect(r.ok && r.ip.payloadEnd).toBe(40);
  });

  it('marks a capture shorter than the total length as truncated', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg).subarray(0, 45);
    const r = parseIp(p);
    expect(r).toMatchObject({ ok: true, ip: { truncated: true, payloadEnd: 45 } });
  });

  it('accepts total length 0 (large send offload) as "to the end of the capture"', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg);
    p[2] = 0; p[3] = 0;
    const r = parseIp(p);
    expect(r.ok && r.ip.payloadEnd).toBe(p.length);
  });

  it('rejects bad lengths', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg);
    expect(parseIp(p.subarray(0, 19))).toEqual({ ok: false, error: 'ip-header-length' });
    const ihl4 = p.slice(); ihl4[0] = 0x44;
    expect(parseIp(ihl4)).toEqual({ ok: false, error: 'ip-header-length' });
    const ihlBig = p.slice(0, 40); ihlBig[0] = 0x4f; // 60-byte header in 40 bytes
    expect(parseIp(ihlBig)).toEqual({ ok: false, error: 'ip-header-length' });
    const tl = p.slice(); tl[2] = 0; tl[3] = 10;
    expect(parseIp(tl)).toEqual({ ok: false, error: 'ip-total-length' });
    expect(parseIp(new Uint8Array(0))).toEqual({ ok: false, error: 'not-ip' });
    expect(parseIp(Uint8Array.of(0x55, 0, 0))).toEqual({ ok: false, error: 'not-ip' });
  });

  it('refuses fragments (first with MF, and later ones)', () => {
    expect(parseIp(tcpPacket('10.1.2.3', IMDS_V4, seg, { fragWord: 0x2000 }))).toEqual({ ok: false, error: 'ip-fragment' });
    expect(parseIp(tcpPacket('10.1.2.3', IMDS_V4, seg, { fragWord: 0x0010 }))).toEqual({ ok: false, error: 'ip-fragment' });
  });
});

describe('IPv6', () => {
  it('parses the fixed header', () => {
    const r = parseIp(tcpPacket('fd00:ec2::1:a', IMDS_V6, seg));
    expect(r).toMatchObject({ ok: true, ip: { version: 6, src: 'fd00:ec2::1:a', dst: IMDS_V6, protocol: 6, payloadOffset: 40 } });
  });

  it('walks hop-by-hop, routing, destination options, atomic fragment and AH headers', () => {
    const p = tcpPacket('fd00:ec2::1:a', IMDS_V6, seg, {
      v6Ext: [
        { type: 0, body: new Uint8Array(0) },
        { type: 43, body: Uint8Array.of(0, 0, 0, 0, 0, 0) },
        { type: 60, body: Uint8Array.of(1, 12, ...new Array(12).fill(0)) },
        { type: 44, body: Uint8Array.of(0, 0, 1, 2, 3, 4) },
        { type: 51, body: Uint8Array.of(0, 0, 1, 2, 3, 4, 0, 0, 0, 1, 9, 9, 9, 9) },
      ],
    });
    const r = parseIp(p);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.ip.protocol).toBe(6);
    const t = parseTcp(p, r.ip.payloadOffset, r.ip.payloadEnd);
    expect(t.ok && t.tcp.dstPort).toBe(80);
  });

  it('refuses non-atomic fragments, ESP, jumbograms and extension headers that run past the packet', () => {
    expect(parseIp(tcpPacket('fd00::1', IMDS_V6, seg, { v6Ext: [{ type: 44, body: Uint8Array.of(0, 1, 0, 0, 0, 1) }] })))
      .toEqual({ ok: false, error: 'ip-fragment' });
    expect(parseIp(tcpPacket('fd00::1', IMDS_V6, seg, { v6Ext: [{ type: 44, body: Uint8Array.of(0, 8, 0, 0, 0, 1) }] })))
      .toEqual({ ok: false, error: 'ip-fragment' });
    const esp = tcpPacket('fd00::1', IMDS_V6, seg); esp[6] = 50;
    expect(parseIp(esp)).toEqual({ ok: false, error: 'ipv6-esp' });
    const jumbo = tcpPacket('fd00::1', IMDS_V6, seg, { v6Ext: [{ type: 0, body: new Uint8Array(0) }] }); jumbo[4] = 0; jumbo[5] = 0;
    expect(parseIp(jumbo)).toEqual({ ok: false, error: 'ipv6-jumbogram' });
    const longExt = tcpPacket('fd00::1', IMDS_V6, { ...seg, payload: '' }, { v6Ext: [{ type: 60, body: new Uint8Array(0) }] });
    longExt[41] = 200; // 1608-byte header in a short packet
    expect(parseIp(longExt)).toEqual({ ok: false, error: 'ipv6-extension' });
    expect(parseIp(tcpPacket('fd00::1', IMDS_V6, seg).subarray(0, 39))).toEqual({ ok: false, error: 'ip-header-length' });
  });

  it('folds IPv4-mapped addresses to IPv4 text so the IMDS endpoint is recognised', () => {
    const r = parseIp(tcpPacket('::ffff:10.0.0.5', '::ffff:169.254.169.254', seg));
    expect(r.ok && r.ip.dst).toBe(IMDS_V4);
    expect(r.ok && r.ip.src).toBe('10.0.0.5');
  });
});

describe('addresses', () => {
  it('formats per RFC 5952', () => {
    expect(formatIpv6(addrBytes('fd00:ec2:0:0:0:0:0:254'), 0)).toBe('fd00:ec2::254');
    expect(formatIpv6(addrBytes('2001:db8:0:1:0:0:0:1'), 0)).toBe('2001:db8:0:1::1');
    expect(formatIpv6(addrBytes('2001:db8:0:0:1:0:0:1'), 0)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(addrBytes('2001:db8:1:1:1:1:0:1'), 0)).toBe('2001:db8:1:1:1:1:0:1');
    expect(formatIpv6(new Uint8Array(16), 0)).toBe('::');
  });

  it('parses and canonicalises text forms', () => {
    expect(canonicalAddress('FD00:EC2:0::254')).toBe(IMDS_V6);
    expect(canonicalAddress('[fd00:ec2::254]')).toBe(IMDS_V6);
    expect(canonicalAddress('fe80::1%12')).toBe('fe80::1');
    expect(canonicalAddress('::ffff:169.254.169.254')).toBe(IMDS_V4);
    expect(canonicalAddress('0:0:0:0:0:ffff:a9fe:a9fe')).toBe(IMDS_V4);
    expect(canonicalAddress('169.254.169.254')).toBe(IMDS_V4);
    for (const bad of ['256.1.1.1', '1.2.3', 'fd00::ec2::1', '1:2:3:4:5:6:7:8:9', 'xyz', '', '12345::1']) {
      expect(parseAddress(bad), bad).toBeNull();
    }
  });
});

describe('TCP', () => {
  it('parses options (MSS, window scale, SACK permitted, timestamps)', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, options: Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, 8, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9) });
    const t = parseTcp(p, 20, p.length);
    expect(t).toMatchObject({ ok: true, tcp: { mss: 1460, windowScale: 8, sackPermitted: true, timestamp: [7, 9], seq: 1, ack: 2 } });
  });

  it('rejects data offsets and option lengths that leave the header', () => {
    const p = tcpPacket('10.1.2.3', IMDS_V4, seg);
    const small = p.slice(); small[32] = 0x40; // data offset 16 bytes
    expect(parseTcp(small, 20, small.length)).toEqual({ ok: false, error: 'tcp-header-length' });
    const big = p.slice(0, 44); big[32] = 0xf0; // 60-byte header in 24 bytes
    expect(parseTcp(big, 20, big.length)).toEqual({ ok: false, error: 'tcp-header-length' });
    expect(parseTcp(p, 20, 39)).toEqual({ ok: false, error: 'tcp-header-length' });
    const badOpt = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, options: Uint8Array.of(2, 40, 0, 0) });
    expect(parseTcp(badOpt, 20, badOpt.length)).toEqual({ ok: false, error: 'tcp-options' });
    const zeroLen = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, options: Uint8Array.of(5, 0, 0, 0) });
    expect(parseTcp(zeroLen, 20, zeroLen.length)).toEqual({ ok: false, error: 'tcp-options' });
    const wrongMss = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, options: Uint8Array.of(2, 3, 0, 1) });
    expect(parseTcp(wrongMss, 20, wrongMss.length)).toEqual({ ok: false, error: 'tcp-options' });
    const cutOpt = tcpPacket('10.1.2.3', IMDS_V4, { ...seg, options: Uint8Array.of(1, 1, 1, 8) });
    expect(parseTcp(cutOpt, 20, cutOpt.length)).toEqual({ ok: false, error: 'tcp-options' });
  });

  it('compares sequence numbers across the 32-bit wrap', () => {
    expect(seqDiff(5, 0xfffffffb)).toBe(10);
    expect(seqDiff(0xfffffffb, 5)).toBe(-10);
  });
});

// The test packet builder checked by an independent decoder (tshark), and our
// IP/TCP parsers checked against the same decoder on the same packets.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/imds/ip.js';
import { parseTcp } from '../../src/imds/tcp.js';
import type { ImdsPacket } from '../../src/native/types.js';
import { ACK, Capture, Flow, IMDS_V6, PSH, REQUESTS, response, SYN, toPcapng } from '../support/packets.js';

const TSHARK = '/usr/bin/tshark';
const haveTshark = existsSync(TSHARK);

function samplePackets(): ImdsPacket[] {
  const cap = new Capture();
  const v4 = new Flow(cap, { options: Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2) });
  const v6 = new Flow(cap, { server: IMDS_V6, clientPort: 50001 });
  const pk: ImdsPacket[] = [
    ...v4.handshake(),
    ...v4.send(REQUESTS.botoV1, { cuts: [7, 40] }),
    ...v4.reply(response(200, 'role-name')),
    ...v6.handshake(),
    ...v6.send(REQUESTS.curlToken),
    ...v6.reply(response(200, 'tok')),
    // IPv4 with options (record route, padded), IPv6 with hop-by-hop + destination options + fragment (atomic).
    v4.out({ seq: v4.cSeq, ack: v4.sSeq, flags: PSH | ACK, payload: 'x' }, {}, { v4Options: Uint8Array.of(7, 7, 4, 0, 0, 0, 0) }),
    v6.out({ seq: v6.cSeq, ack: v6.sSeq, flags: PSH | ACK, payload: 'yz' }, {}, {
      v6Ext: [
        { type: 0, body: new Uint8Array(0) },
        { type: 60, body: Uint8Array.of(1, 2, 0, 0) },
        { type: 44, body: Uint8Array.of(0, 0, 0, 0, 0, 42) },
      ],
    }),
    v6.out({ seq: 5, flags: SYN, options: Uint8Array.of(2, 4, 5, 0xa0, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0) }),
  ];
  return pk;
}

describe.skipIf(!haveTshark)('packet builder vs tshark', () => {
  it('every IP and TCP checksum is correct and tshark decodes the same fields we parse', () => {
    const packets = samplePackets();
    const dir = mkdtempSync(join(tmpdir(), 'imds-pk-'));
    try {
      const file = join(dir, 'p.pcapng');
      writeFileSync(file, toPcapng(packets));
      const out = execFileSync(TSHARK, [
        '-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
        '-T', 'fields', '-E', 'separator=|',
        '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst',
        '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', '_ws.expert.severity',
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const rows = out.trim().split('\n').map((l) => l.split('|'));
      expect(rows).toHaveLength(packets.length);
      rows.forEach((r, i) => {
        const [ipck, tcpck, src4, src6, dst4, dst6, sport, dport, seq, len] = r;
        if (src4) expect(ipck).toBe('1'); // 1 = Good (0 Bad, 2 Unverified)
        expect(tcpck).toBe('1');
        const ip = parseIp(packets[i]!.ip);
        expect(ip.ok).toBe(true);
        if (!ip.ok) return;
        expect(ip.ip.src).toBe(src4 || src6);
        expect(ip.ip.dst).toBe(dst4 || dst6);
        const tcp = parseTcp(packets[i]!.ip, ip.ip.payloadOffset, ip.ip.payloadEnd);
        expect(tcp.ok).toBe(true);
        if (!tcp.ok) return;
        expect(String(tcp.tcp.srcPort)).toBe(sport);
        expect(String(tcp.tcp.dstPort)).toBe(dport);
        expect(String(tcp.tcp.seq)).toBe(seq);
        expect(String(tcp.tcp.payload.length)).toBe(len);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

it.runIf(!haveTshark)('tshark checks skipped: /usr/bin/tshark not installed', () => {
  console.warn('SKIPPED: tshark not installed; builder checksums not cross-checked');
});

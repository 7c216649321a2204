// The Wireshark filters users run today, applied by tshark to our converted pcapng,
// agree with scan wherever a per-packet filter can see the request; where it cannot
// (pipelined requests in one segment, lower-case SDK headers for `contains`, IPv6
// for an ip.dst filter) scan still matches the truth of the real-client captures.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_START, FILETIME_SECOND, loadCapture, placeCapture, writeNetshEtl } from '../../tools/gen/index.js';
import { scanFile } from '../../src/scan.js';
import { convert } from '../../src/convert.js';
import { repoRoot } from '../support/fixtures.js';

const hasTshark = spawnSync('tshark', ['-v']).status === 0;
if (!hasTshark) process.stderr.write('SKIP: tshark not installed; Wireshark filter comparison skipped\n');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-filters-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = path.join(repoRoot, 'fixtures', 'imds');
const captures = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.truth.json'));

const USER_V1 = 'ip.dst == 169.254.169.254 and http.request.method == "GET" and !(http matches "X-aws-ec2-metadata-token")';
const USER_V2 = 'ip.dst == 169.254.169.254 and http contains "X-aws-ec2-metadata-token"';
const IMDS = '(ip.dst == 169.254.169.254 or ipv6.dst == fd00:ec2::254)';
const ANY_V1 = `${IMDS} and http.request.method == "GET" and !(http matches "x-aws-ec2-metadata-token")`;
const ANY_V2 = `${IMDS} and http matches "x-aws-ec2-metadata-token"`; // matches is case-insensitive

function count(pcapng: string, filter: string): number {
  const r = spawnSync('tshark', ['-r', pcapng, '-Y', filter], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.split('\n').filter(Boolean).length;
}

describe.skipIf(!hasTshark)('Wireshark filters vs scan', () => {
  for (const name of captures) {
    it(name, async () => {
      const c = loadCapture(path.join(dir, name));
      const etl = path.join(tmp, `${name}.etl`);
      await writeNetshEtl(etl, placeCapture(c, { start: DEFAULT_START + FILETIME_SECOND, cpu: 0 }), { startTime: DEFAULT_START });
      const pcap = `${etl}.pcapng`;
      await convert(etl, pcap);
      const r = await scanFile(etl, { noAutoCab: true });
      const of = (cls: string, v4only = false) =>
        r.requests.filter((q) => q.class === cls && q.method !== 'PUT' && (!v4only || q.endpoint === '169.254.169.254')).length;
      const tokens = r.requests.filter((q) => q.class === 'token').length;
      // scan equals the truth recorded when the real clients ran.
      expect(r.requests.filter((q) => q.class === 'v1').length).toBe(c.truth.filter((t) => t.class === 'v1').length);
      expect(r.requests.filter((q) => q.class === 'v2').length).toBe(c.truth.filter((t) => t.class === 'v2').length);
      expect(tokens).toBe(c.truth.filter((t) => t.class === 'token').length);

      const firstFrames = r.requests.map((q) => q.frames[0]);
      const pipelined = new Set(firstFrames).size < firstFrames.length;
      if (!pipelined) {
        // A per-packet filter sees each request: the users' v1 filter (IPv4) and its IPv6-aware form agree with scan.
        expect(count(pcap, USER_V1)).toBe(of('v1', true));
        expect(count(pcap, ANY_V1)).toBe(of('v1'));
        // With a case-insensitive match, the v2 filter counts v2 requests plus token PUTs (the TTL header shares the prefix).
        expect(count(pcap, ANY_V2)).toBe(of('v2') + tokens);
      } else {
        // Several requests in one segment: the dissector shows only the first; scan counts them all.
        expect(count(pcap, ANY_V1) + count(pcap, ANY_V2)).toBeLessThan(of('v1') + of('v2') + tokens);
      }
      // The users' `contains` filter is case-sensitive: it never sees more than scan, and misses lower-case SDK headers.
      expect(count(pcap, USER_V2)).toBeLessThanOrEqual(of('v2', true) + tokens);
      if (name.startsWith('sdk-js') && of('v2') > 0) expect(count(pcap, USER_V2)).toBe(0);
    });
  }
});

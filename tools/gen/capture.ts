// Real IMDS traffic for the generator: a mock IMDS on loopback, real clients (curl, the AWS SDK
// for JavaScript v3, Debian's python3-botocore, a raw-socket client), tshark capturing `lo`,
// then the rewrite to 169.254.169.254:80 / [fd00:ec2::254]:80. Loopback only, ever.

import { IMDS } from '../../src/constants.js';
import { spawn } from 'node:child_process';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { readPcapng, rewriteImds, RewriteOptions } from './pcap.js';

export type ImdsClass = 'v1' | 'v2' | 'token';

export interface MockImdsOptions {
  /** HttpTokens=required: GET without a valid token gets 401. */
  tokensRequired?: boolean;
  /** 'forbidden' answers the token PUT with 403 (IMDSv2 disabled), which makes SDKs fall back to v1. */
  tokenPut?: 'ok' | 'forbidden';
}

export interface ServedRequest {
  seq: number;
  remotePort: number;
  family: 4 | 6;
  method: string;
  path: string;
  class: ImdsClass;
  status: number;
}

const TOKEN = 'AQAEAMockTokenForEtlImdsTests0000000000000000000000000000==';
const ROLE = 'etl-imds-test-role';

const META: Record<string, string> = {
  '/latest/meta-data/': 'ami-id\nhostname\ninstance-id\ninstance-type\nlocal-ipv4\nplacement/\niam/',
  '/latest/meta-data/instance-id': 'i-0abc1234def567890',
  '/latest/meta-data/ami-id': 'ami-0123456789abcdef0',
  '/latest/meta-data/instance-type': 'm5.large',
  '/latest/meta-data/hostname': 'ip-172-31-20-15.ec2.internal',
  '/latest/meta-data/local-ipv4': '172.31.20.15',
  '/latest/meta-data/placement/region': 'us-east-1',
  '/latest/meta-data/placement/availability-zone': 'us-east-1a',
  '/latest/meta-data/iam/security-credentials/': ROLE,
  [`/latest/meta-data/iam/security-credentials/${ROLE}`]: JSON.stringify({
    Code: 'Success', LastUpdated: '2024-06-03T11:00:00Z', Type: 'AWS-HMAC', AccessKeyId: 'ASIAEXAMPLEEXAMPLE00',
    SecretAccessKey: 'exampleSecretKeyexampleSecretKeyexample0', Token: 'exampleSessionToken', Expiration: '2099-06-03T17:00:00Z',
  }, null, 2),
  '/latest/dynamic/instance-identity/document': JSON.stringify({ accountId: '123456789012', instanceId: 'i-0abc1234def567890', region: 'us-east-1' }, null, 2),
};

export interface MockImds {
  port: number;
  log: ServedRequest[];
  close(): Promise<void>;
}

/** IMDS look-alike on 127.0.0.1 and [::1] (same port), `Server: EC2ws` like the real one. */
export async function startMockImds(opts: MockImdsOptions = {}): Promise<MockImds> {
  const log: ServedRequest[] = [];
  let seq = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const token = req.headers['x-aws-ec2-metadata-token'];
    const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    let status: number; let body = ''; const headers: Record<string, string> = { Server: 'EC2ws', 'Content-Type': 'text/plain' };
    let cls: ImdsClass;
    if (req.method === 'PUT' && path === '/latest/api/token') {
      cls = 'token';
      if (opts.tokenPut === 'forbidden') status = 403;
      else if (ttl === undefined || !/^\d+$/.test(String(ttl))) status = 400;
      else { status = 200; body = TOKEN; headers['X-Aws-Ec2-Metadata-Token-Ttl-Seconds'] = String(ttl); }
    } else {
      cls = token !== undefined ? 'v2' : 'v1';
      if (token !== undefined && token !== TOKEN) status = 401;
      else if (token === undefined && opts.tokensRequired) status = 401;
      else if (req.method !== 'GET') status = 405;
      // EC2ws answers '//latest/...' (what MetadataService sends with its default endpoint) like '/latest/...'.
      else if (META[path.replace(/\/{2,}/g, '/')] !== undefined) { status = 200; body = META[path.replace(/\/{2,}/g, '/')]!; }
      else status = 404;
    }
    if (status === 404) body = '<?xml version="1.0" encoding="iso-8859-1"?>\n<html><body><h1>404 - Not Found</h1></body></html>\n';
    const remote = req.socket.remoteAddress ?? '';
    log.push({ seq: seq++, remotePort: req.socket.remotePort ?? 0, family: remote.includes(':') && !remote.startsWith('::ffff:') ? 6 : 4, method: req.method ?? '', path, class: cls, status });
    headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(status, headers);
    res.end(body);
    req.resume();
  };
  const s4: Server = createServer(handler);
  await new Promise<void>((ok, fail) => { s4.once('error', fail); s4.listen(0, '127.0.0.1', () => ok()); });
  const port = (s4.address() as AddressInfo).port;
  const s6: Server = createServer(handler);
  await new Promise<void>((ok, fail) => { s6.once('error', fail); s6.listen(port, '::1', () => ok()); });
  return {
    port, log,
    close: async () => {
      for (const s of [s4, s6]) { s.closeAllConnections(); await new Promise<void>((ok) => s.close(() => ok())); }
    },
  };
}

export interface ClientRun {
  client: string;          // 'curl', 'aws-sdk-js-v3', 'botocore', 'raw-socket'
  linuxPid: number;
  requests: ServedRequest[];
}

interface Exec { pid: number; code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Exec> {
  return new Promise((ok, fail) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('error', fail);
    c.on('close', (code) => ok({ pid: c.pid ?? -1, code: code ?? -1, stdout, stderr }));
  });
}

export type ClientSpec =
  | { kind: 'curl-v1'; paths: string[]; ipv6?: boolean }
  | { kind: 'curl-token' ; ipv6?: boolean }
  | { kind: 'curl-v2'; paths: string[]; ipv6?: boolean }
  | { kind: 'sdk-js'; paths: string[]; disableFetchToken?: boolean; ipv6?: boolean }
  | { kind: 'sdk-js-credentials'; ipv6?: boolean }
  | { kind: 'botocore'; ipv6?: boolean }
  | { kind: 'raw'; mode: 'keepalive' | 'pipelined' | 'split'; ipv6?: boolean };

const RAW_CLIENT = `
import net from 'node:net';
const [host, port, mode, token] = process.argv.slice(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const s = net.connect({ host, port: Number(port) }); s.setNoDelay(true);
await new Promise((r) => s.once('connect', r));
let got = ''; s.on('data', (d) => { got += d.toString('latin1'); });
const waitFor = async (n) => { for (let i = 0; i < 200 && (got.match(/HTTP\\/1\\.1 /g) ?? []).length < n; i++) await sleep(10); };
const H = 'Host: 169.254.169.254\\r\\nUser-Agent: etl-imds-raw/1.0\\r\\n';
if (mode === 'keepalive') {
  s.write('PUT /latest/api/token HTTP/1.1\\r\\n' + H + 'X-aws-ec2-metadata-token-ttl-seconds: 21600\\r\\n\\r\\n'); await waitFor(1);
  s.write('GET /latest/meta-data/instance-id HTTP/1.1\\r\\n' + H + 'X-aws-ec2-metadata-token: ' + token + '\\r\\n\\r\\n'); await waitFor(2);
  s.write('GET /latest/meta-data/ami-id HTTP/1.1\\r\\n' + H + '\\r\\n'); await waitFor(3);
  s.write('GET /latest/meta-data/no-such-thing HTTP/1.1\\r\\n' + H + 'x-AWS-ec2-METADATA-token: ' + token + '\\r\\n\\r\\n'); await waitFor(4);
} else if (mode === 'pipelined') {
  s.write('GET /latest/meta-data/instance-id HTTP/1.1\\r\\n' + H + '\\r\\n' +
          'GET /latest/meta-data/local-ipv4 HTTP/1.1\\r\\n' + H + 'X-aws-ec2-metadata-token: ' + token + '\\r\\n\\r\\n' +
          'GET /latest/meta-data/hostname HTTP/1.1\\r\\n' + H + '\\r\\n'); await waitFor(3);
} else {
  s.write('GET /latest/meta-data/iam/security-credentials/ HTTP/1.1\\r\\n'); await sleep(60);
  s.write(H); await sleep(60);
  s.write('X-aws-ec2-metadata-token: ' + token + '\\r\\n'); await sleep(60);
  s.write('\\r\\n'); await waitFor(1);
  s.write('GET /latest/meta-data/placement/region HTTP/1.1\\r\\n'); await sleep(60);
  s.write(H + '\\r\\n'); await waitFor(2);
}
s.end(); await sleep(50);
`;

const SDK_CLIENT = `
import { MetadataService } from '@aws-sdk/ec2-metadata-service';
const [endpoint, disable, ...paths] = process.argv.slice(1);
const ms = new MetadataService({ endpoint, disableFetchToken: disable === '1', httpOptions: { timeout: 2000 } });
for (const p of paths) { try { await ms.request(p, {}); } catch (e) { console.error(String(e)); } }
`;

const SDK_CREDS = `
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
const c = await fromInstanceMetadata({ timeout: 2000, maxRetries: 0 })();
if (!c.accessKeyId) throw new Error('no credentials');
`;

const BOTOCORE = `
import sys
from botocore.utils import InstanceMetadataFetcher
f = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=sys.argv[1])
creds = f.retrieve_iam_role_credentials()
assert creds.get('access_key'), creds
`;

/** Runs one client against the mock; returns its PID and the requests the mock served for it. */
export async function runClient(spec: ClientSpec, mock: MockImds, repoRoot: string): Promise<ClientRun> {
  const host = spec.ipv6 ? '[::1]' : '127.0.0.1';
  const base = `http://${host}:${mock.port}`;
  const before = mock.log.length;
  let client: string; let r: Exec;
  const tokenHdr = 'X-aws-ec2-metadata-token-ttl-seconds: 21600';
  switch (spec.kind) {
    case 'curl-v1':
      client = 'curl';
      r = await run('curl', ['-s', '-o', '/dev/null', ...spec.paths.map((p) => base + p)]);
      break;
    case 'curl-token':
      client = 'curl';
      r = await run('curl', ['-s', '-X', 'PUT', '-H', tokenHdr, `${base}/latest/api/token`]);
      break;
    case 'curl-v2':
      client = 'curl';
      r = await run('curl', ['-s', '-o', '/dev/null', '-H', `X-aws-ec2-metadata-token: ${TOKEN}`, ...spec.paths.map((p) => base + p)]);
      break;
    case 'sdk-js':
      client = 'aws-sdk-js-v3';
      r = await run(process.execPath, ['--input-type=module', '-e', SDK_CLIENT, base, spec.disableFetchToken ? '1' : '0', ...spec.paths], {}, repoRoot);
      break;
    case 'sdk-js-credentials':
      client = 'aws-sdk-js-v3';
      r = await run(process.execPath, ['--input-type=module', '-e', SDK_CREDS], { AWS_EC2_METADATA_SERVICE_ENDPOINT: base, AWS_EC2_METADATA_DISABLED: 'false' }, repoRoot);
      break;
    case 'botocore':
      client = 'botocore';
      r = await run('/usr/bin/python3', ['-c', BOTOCORE, base]);
      break;
    case 'raw':
      client = 'raw-socket';
      r = await run(process.execPath, ['--input-type=module', '-e', RAW_CLIENT, spec.ipv6 ? '::1' : '127.0.0.1', String(mock.port), spec.mode, TOKEN]);
      break;
  }
  if (r.code !== 0) throw new Error(`${spec.kind} exited ${r.code}: ${r.stderr.slice(0, 500)}`);
  await new Promise((ok) => setTimeout(ok, 100));
  return { client, linuxPid: r.pid, requests: mock.log.slice(before) };
}

export interface Tshark { stop(): Promise<Buffer>; }

/**
 * tshark on `lo` with a capture filter for the mock's port only. Needs root (or capture rights).
 * No fixed waits: connections to a port of our own (captured, then dropped by the rewrite, which
 * keeps the mock's port only) are the signs. Once tshark prints one (-P -l: each packet once it is
 * in the file), capturing has begun; at stop, one made after the clients means everything they
 * sent is in the file (loopback packets are captured in order).
 */
export async function startTshark(port: number): Promise<Tshark> {
  const dir = mkdtempSync(join(tmpdir(), 'etl-imds-cap-'));
  const file = join(dir, 'lo.pcapng');
  const marker = createNetServer((s) => s.end());
  await new Promise<void>((ok, fail) => { marker.once('error', fail); marker.listen(0, '127.0.0.1', () => ok()); });
  const markerPort = (marker.address() as AddressInfo).port;
  const t = spawn('tshark', ['-i', 'lo', '-w', file, '-f', `tcp port ${port} or tcp port ${markerPort}`, '-P', '-l', '-T', 'fields', '-e', 'tcp.dstport'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let printed = '';
  let markers = 0;
  t.stdout.on('data', (d: Buffer) => {
    printed += d.toString();
    const lines = printed.split('\n');
    printed = lines.pop()!;
    markers += lines.filter((l) => l.trim() === String(markerPort)).length;
  });
  const exited = new Promise<never>((_, fail) => {
    t.on('error', fail);
    t.on('exit', (code) => fail(new Error(`tshark exited ${code}: ${err}`)));
  });
  exited.catch(() => {});
  t.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  /** Connects to the marker port until tshark has printed a packet of that connection. */
  const markerCaptured = async () => {
    const before = markers;
    for (let tries = 0; markers === before; tries++) {
      if (tries > 1200) throw new Error(`tshark captured nothing on the marker port: ${err}`); // a stuck tshark, not a slow one
      const c = connect(markerPort, '127.0.0.1');
      c.on('error', () => {});
      c.resume();
      await Promise.race([new Promise((ok) => setTimeout(ok, 50)), exited]);
      c.destroy();
    }
  };
  // "Capturing on" comes before the filter is in place: capturing has begun once a marker is seen.
  await markerCaptured();
  return {
    stop: async () => {
      await markerCaptured();
      const done = new Promise<void>((ok) => t.once('exit', () => ok()));
      t.kill('SIGINT');
      await done;
      await new Promise<void>((ok) => marker.close(() => ok()));
      const data = readFileSync(file);
      rmSync(dir, { recursive: true, force: true });
      return data;
    },
  };
}

export interface CapturedPacket {
  /** Microseconds since the first packet of the capture. */
  t: number;
  dir: 'out' | 'in';
  clientPort: number;
  hex: string;
}

export interface TruthRequest {
  client: string;
  linuxPid: number;
  /** Windows-style PID used in generated traces (linux PID x 4: distinct and a multiple of 4). */
  pid: number;
  clientPort: number;
  class: ImdsClass;
  method: string;
  path: string;
  status: number;
}

export interface CaptureFixture {
  scenario: string;
  description: string;
  family: 4 | 6;
  client: { ip: string; mac: string };
  server: { ip: string; port: 80; mac: string };
  captured: { tool: string; at: string; clients: { client: string; linuxPid: number; pid: number; ports: number[] }[] };
  packets: CapturedPacket[];
}

export const DEFAULT_REWRITE: Omit<RewriteOptions, 'serverPort'> = {
  clientIp4: '172.31.20.15', clientIp6: '2600:1f18:4a2b:6c00:9d3e:1a2b:3c4d:5e6f',
  clientMac: '0a:1b:2c:3d:4e:5f', gatewayMac: '0a:ff:ee:dd:cc:01',
};

/** Capture one scenario: start the mock and tshark, run the clients one after the other, rewrite. */
export async function captureScenario(
  scenario: string, description: string, clients: ClientSpec[], mockOpts: MockImdsOptions, repoRoot: string,
): Promise<{ fixture: CaptureFixture; truth: TruthRequest[] }> {
  const mock = await startMockImds(mockOpts);
  let runs: ClientRun[] = [];
  let pcap: Buffer;
  try {
    const ts = await startTshark(mock.port);
    try {
      for (const c of clients) runs.push(await runClient(c, mock, repoRoot));
    } finally {
      pcap = await ts.stop();
    }
  } finally {
    await mock.close();
  }
  const family: 4 | 6 = clients.some((c) => c.ipv6) ? 6 : 4;
  const rewritten = rewriteImds(readPcapng(pcap, 'tshark capture'), { serverPort: mock.port, ...DEFAULT_REWRITE });
  if (rewritten.length === 0) throw new Error(`${scenario}: tshark captured no packets on port ${mock.port}`);
  const t0 = rewritten[0]!.timeNs;
  const truth: TruthRequest[] = [];
  for (const r of runs) for (const q of r.requests) {
    truth.push({ client: r.client, linuxPid: r.linuxPid, pid: r.linuxPid * 4, clientPort: q.remotePort, class: q.class, method: q.method, path: q.path, status: q.status });
  }
  runs = runs.filter((r) => r.requests.length > 0);
  const fixture: CaptureFixture = {
    scenario, description, family,
    client: { ip: family === 4 ? DEFAULT_REWRITE.clientIp4 : DEFAULT_REWRITE.clientIp6, mac: DEFAULT_REWRITE.clientMac },
    server: { ip: family === 4 ? IMDS.ipv4 : IMDS.ipv6, port: IMDS.port, mac: DEFAULT_REWRITE.gatewayMac },
    captured: {
      tool: 'tshark -i lo -f "tcp port <mock>"', at: new Date().toISOString(),
      clients: runs.map((r) => ({ client: r.client, linuxPid: r.linuxPid, pid: r.linuxPid * 4, ports: [...new Set(r.requests.map((q) => q.remotePort))] })),
    },
    packets: rewritten.map((p) => ({ t: Number((p.timeNs - t0) / 1000n), dir: p.direction, clientPort: p.clientPort, hex: p.data.toString('hex') })),
  };
  return { fixture, truth };
}

/** The scenarios committed under fixtures/imds/. */
export const SCENARIOS: { name: string; description: string; clients: ClientSpec[]; mock: MockImdsOptions }[] = [
  { name: 'curl-v1', description: 'one curl process, two IMDSv1 GETs on a keep-alive connection', mock: {},
    clients: [{ kind: 'curl-v1', paths: ['/latest/meta-data/instance-id', '/latest/meta-data/iam/security-credentials/'] }] },
  { name: 'curl-v2', description: 'curl PUT token, then a second curl GET with the token', mock: {},
    clients: [{ kind: 'curl-token' }, { kind: 'curl-v2', paths: ['/latest/meta-data/instance-id'] }] },
  { name: 'sdk-js-v2', description: '@aws-sdk/ec2-metadata-service MetadataService.request: token PUT before every GET', mock: {},
    clients: [{ kind: 'sdk-js', paths: ['/latest/meta-data/instance-id', '/latest/meta-data/placement/region'] }] },
  { name: 'sdk-js-v1', description: '@aws-sdk/ec2-metadata-service with disableFetchToken: IMDSv1 GETs', mock: {},
    clients: [{ kind: 'sdk-js', paths: ['/latest/meta-data/instance-id', '/latest/meta-data/ami-id'], disableFetchToken: true }] },
  { name: 'sdk-js-credentials', description: '@smithy/credential-provider-imds fromInstanceMetadata (endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT)', mock: {},
    clients: [{ kind: 'sdk-js-credentials' }] },
  { name: 'botocore-v2', description: 'Debian python3-botocore InstanceMetadataFetcher.retrieve_iam_role_credentials', mock: {},
    clients: [{ kind: 'botocore' }] },
  { name: 'botocore-v1-fallback', description: 'botocore when the token PUT is refused (403): falls back to IMDSv1', mock: { tokenPut: 'forbidden' },
    clients: [{ kind: 'botocore' }] },
  { name: 'tokens-required', description: 'HttpTokens=required: curl IMDSv1 GET gets 401, then a v2 client succeeds', mock: { tokensRequired: true },
    clients: [{ kind: 'curl-v1', paths: ['/latest/meta-data/instance-id'] }, { kind: 'curl-token' }, { kind: 'curl-v2', paths: ['/latest/meta-data/ami-id'] }] },
  { name: 'raw-keepalive', description: 'raw socket: token, v2 GET, v1 GET and a 404 on one keep-alive connection', mock: {},
    clients: [{ kind: 'raw', mode: 'keepalive' }] },
  { name: 'raw-pipelined', description: 'raw socket: three pipelined GETs (v1, v2, v1) in one segment', mock: {},
    clients: [{ kind: 'raw', mode: 'pipelined' }] },
  { name: 'raw-split', description: 'raw socket: request line, headers and token header in separate segments', mock: {},
    clients: [{ kind: 'raw', mode: 'split' }] },
  { name: 'ipv6-mixed', description: 'IPv6 endpoint: curl v1 and botocore v2 via [fd00:ec2::254]', mock: {},
    clients: [{ kind: 'curl-v1', paths: ['/latest/meta-data/instance-id'], ipv6: true }, { kind: 'botocore', ipv6: true }] },
];

// Small generated traces for fuzz seeds and sanitizer runs, written with the
// project's own generator (tools/gen, built to dist-tools by `npx tsc -p tsconfig.tools.json`):
//   node test/fuzz/gen-traces.mjs OUTDIR
// Small buffers so that whole files fit the reader fuzzer's -max_len and
// every buffer/record kind of the netsh and pktmon forms appears early.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backgroundTraffic, loadCapture, mergeByTime, placeCapture, Rng, take, writeNetshEtl, writePktmonEtl,
  defaultInterface, DEFAULT_START,
} from '../../dist-tools/tools/gen/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = process.argv[2];
if (!out) { console.error('usage: gen-traces.mjs OUTDIR'); process.exit(1); }
mkdirSync(out, { recursive: true });

const start = DEFAULT_START;
const t = (s) => start + BigInt(Math.round(s * 1e7));
const curl = loadCapture(join(root, 'fixtures', 'imds', 'curl-v1.json'));
const ipv6 = loadCapture(join(root, 'fixtures', 'imds', 'ipv6-mixed.json'));
const processes = [
  { pid: 3104, image: '\\Device\\HarddiskVolume1\\Windows\\System32\\curl.exe', ppid: 4020, sessionId: 1 },
  { pid: 5612, image: '\\Device\\HarddiskVolume1\\Program Files\\nodejs\\node.exe', ppid: 4020, sessionId: 0, startTime: t(1.5) },
];
const imds = () => [...mergeByTime(
  placeCapture(curl, { start: t(1), cpu: 0, pid: () => 3104 }),
  placeCapture(ipv6, { start: t(2), cpu: 1, pid: () => 5612 }),
  take(backgroundTraffic({ start: t(1), rng: new Rng(11), cpus: 2, pids: [1232], gap: 200000 }), { maxPackets: 12 }),
)];
const asLink = (pkts, linkType) => pkts.map((p) => ({ ...p, linkType }));

const made = [];
const gen = async (name, fn) => { const p = join(out, name); const s = await fn(p); made.push(`${name}: ${s.records} records, ${s.buffers} buffers, ${s.bytes} bytes`); };

// netsh form, 4 KiB buffers, packets split into 3-4 fragments (START/END keywords), process events.
await gen('gen-netsh-fragments.etl', (p) => writeNetshEtl(p, imds(), { bufferSize: 4096, fragmentSize: 400, numberOfProcessors: 2, processes }));
// netsh form, whole packets, older layout without the GFT fields.
await gen('gen-netsh-nogft.etl', (p) => writeNetshEtl(p, imds(), { bufferSize: 8192, gft: false, numberOfProcessors: 2 }));
// netsh form with the raw-IP (mobile broadband) keyword: frames logged from the Ethernet capture, so the
// payload is not raw IP; decoders must cope either way.
await gen('gen-netsh-rawip.etl', (p) => writeNetshEtl(p, asLink(imds().slice(0, 10), 'raw-ip'), { bufferSize: 4096, numberOfProcessors: 2 }));
// pktmon form: XPRESS-compressed buffers of 4 KiB uncompressed, component events, several appearances per packet.
await gen('gen-pktmon.etl', (p) => writePktmonEtl(p, imds(), { fillSize: 4096, numberOfProcessors: 2, interfaces: [defaultInterface(7, 10)], processes }));
// pktmon form with payloads cut to 96 bytes (pktmon --pkt-size).
await gen('gen-pktmon-pktsize.etl', (p) => writePktmonEtl(p, imds().slice(0, 12), { fillSize: 4096, pktSize: 96, numberOfProcessors: 2, interfaces: [defaultInterface(7, 10)] }));
// netsh packettruncatebytes=128: NDIS events with the PacketTruncated keyword.
await gen('gen-netsh-truncated.etl', (p) => writeNetshEtl(p, imds(), { bufferSize: 4096, packetTruncateBytes: 128, numberOfProcessors: 2 }));
// The session's own circular file, wrapped: 24 KiB of 4 KiB buffers, rotated, first sequence number above 1.
await gen('gen-netsh-circular-wrapped.etl', (p) => writeNetshEtl(p, imds(), { bufferSize: 4096, circularMaxSizeKB: 24, numberOfProcessors: 2 }));
for (const m of made) console.log(m);

// Re-captures the real-client IMDS fixtures under fixtures/imds/ (needs root, tshark, curl,
// python3-botocore and the npm devDependencies). Run after `npm run build:ts`:
//   node test/support/capture-imds.mjs [scenario ...]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureScenario, SCENARIOS } from '../../dist-tools/tools/gen/capture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const only = process.argv.slice(2);
const out = join(root, 'fixtures', 'imds');
mkdirSync(out, { recursive: true });
for (const s of SCENARIOS) {
  if (only.length && !only.includes(s.name)) continue;
  const { fixture, truth } = await captureScenario(s.name, s.description, s.clients, s.mock, root);
  writeFileSync(join(out, `${s.name}.json`), JSON.stringify(fixture, null, 1) + '\n');
  writeFileSync(join(out, `${s.name}.truth.json`), JSON.stringify(truth, null, 1) + '\n');
  console.log(`${s.name}: ${fixture.packets.length} packets, ${truth.length} requests: ${truth.map((t) => `${t.client}/${t.linuxPid} ${t.class} ${t.method} ${t.path} ${t.status}`).join('; ')}`);
}

// findCabForEtl: netsh writes <name>.cab beside <name>.etl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCabForEtl, findCabForEtlSync } from '../../src/processes/find-cab.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'etl-imds-findcab-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup(name: string, files: string[], dirs: string[] = []): string {
  const d = path.join(dir, name);
  mkdirSync(d);
  for (const f of files) writeFileSync(path.join(d, f), 'x');
  for (const s of dirs) mkdirSync(path.join(d, s));
  return d;
}

describe('findCabForEtl', () => {
  it('finds <name>.cab beside <name>.etl', async () => {
    const d = setup('plain', ['NetTrace.etl', 'NetTrace.cab', 'Other.cab']);
    expect(await findCabForEtl(path.join(d, 'NetTrace.etl'))).toBe(path.join(d, 'NetTrace.cab'));
    expect(findCabForEtlSync(path.join(d, 'NetTrace.etl'))).toBe(path.join(d, 'NetTrace.cab'));
  });

  it('matches the extension in any case, on both files', async () => {
    const d = setup('case', ['trace.ETL', 'trace.CAB']);
    expect(await findCabForEtl(path.join(d, 'trace.ETL'))).toBe(path.join(d, 'trace.CAB'));
    const d2 = setup('case2', ['trace.etl', 'trace.Cab', 'trace.cab']);
    // The spelling netsh writes wins when several exist (case-sensitive file systems).
    expect(await findCabForEtl(path.join(d2, 'trace.etl'))).toBe(path.join(d2, 'trace.cab'));
  });

  it('does not match another stem, a directory, or nothing', async () => {
    const d = setup('none', ['trace.etl', 'trace2.cab', 'Trace.cab', 'trace.cab.bak'], ['trace.cab.d']);
    expect(await findCabForEtl(path.join(d, 'trace.etl'))).toBeUndefined();
    const d2 = setup('dir', ['trace.etl'], ['trace.cab']);
    expect(await findCabForEtl(path.join(d2, 'trace.etl'))).toBeUndefined();
    expect(findCabForEtlSync(path.join(d2, 'trace.etl'))).toBeUndefined();
    expect(await findCabForEtl(path.join(dir, 'no-such-dir', 'trace.etl'))).toBeUndefined();
  });

  it('works for names with dots and relative paths', async () => {
    const d = setup('dots', ['capture.2024-01-01.etl', 'capture.2024-01-01.cab']);
    expect(await findCabForEtl(path.join(d, 'capture.2024-01-01.etl'))).toBe(path.join(d, 'capture.2024-01-01.cab'));
    const rel = path.relative(process.cwd(), path.join(d, 'capture.2024-01-01.etl'));
    expect(await findCabForEtl(rel)).toBe(path.join(path.dirname(rel), 'capture.2024-01-01.cab'));
  });
});

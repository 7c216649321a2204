// The addon against src/native/binding.ts, its one declaration: the same exports and class
// methods (and the capture facts a packet scan reports), the same diagnostic codes (native/etl/diagnostics.h), the same constants
// (native/constants.h against src/constants.ts), and errors and diagnostics that use them.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CAPTURE_FACT_KEYS, isNativeError, native, NATIVE_CODES, NATIVE_EXPORTS, PACKET_SCAN_METHODS, TRACE_READER_METHODS,
} from '../../src/native/binding.js';
import { IMDS, PROVIDERS } from '../../src/constants.js';
import { parseAddress } from '../../src/imds/ip.js';
import { traceInfo } from '../../src/index.js';
import { repoRoot } from '../support/fixtures.js';

const sorted = (a: readonly string[]) => [...a].sort();
const methods = (cls: unknown) => Object.getOwnPropertyNames((cls as { prototype: object }).prototype).filter((m) => m !== 'constructor');

describe('the addon is what src/native/binding.ts declares', () => {
  const addon = native();

  it('exports exactly the declared names, of the declared kinds', () => {
    expect(sorted(Object.keys(addon))).toEqual(sorted(NATIVE_EXPORTS));
    expect(typeof addon.backend).toBe('string');
    expect(typeof addon.tdhAvailable).toBe('boolean');
    for (const f of [addon.TraceReader, addon.summarize, addon.convert, addon.PacketScan, addon.scanPackets, addon.socketAddress]) {
      expect(typeof f).toBe('function');
    }
    expect(Array.isArray(addon.codes)).toBe(true);
  });

  it('its classes have exactly the declared methods', () => {
    expect(sorted(methods(addon.TraceReader))).toEqual(sorted(TRACE_READER_METHODS));
    expect(sorted(methods(addon.PacketScan))).toEqual(sorted(PACKET_SCAN_METHODS));
  });

  it("a packet scan's summary gives exactly the declared capture facts", async () => {
    const scan = addon.scanPackets(path.join(repoRoot, 'fixtures', 'imds-sample.etl'));
    for (let b = await scan.next(); !b.done; b = await scan.next()) { /* read it all */ }
    const s = scan.summary();
    scan.close();
    expect(sorted(Object.keys(s.capture))).toEqual(sorted(CAPTURE_FACT_KEYS));
    expect(typeof s.capture.completeFrom).toBe('bigint');
    expect(s.header.logFileMode).toBe(0x00010001);
  });

  it('its diagnostic codes are NATIVE_CODES, in order', () => {
    expect(addon.codes).toEqual([...NATIVE_CODES]);
  });

  it('its constants are those of src/constants.ts', () => {
    expect(addon.constants.providers).toEqual(PROVIDERS);
    expect(Buffer.from(addon.constants.imds.ipv4)).toEqual(Buffer.from(parseAddress(IMDS.ipv4)!));
    expect(Buffer.from(addon.constants.imds.ipv6)).toEqual(Buffer.from(parseAddress(IMDS.ipv6)!));
    expect(addon.constants.imds.port).toBe(IMDS.port);
  });

  it('decodes SOCKADDRs of both families and refuses anything else', () => {
    const v4 = Buffer.alloc(16);
    v4.writeUInt16LE(2, 0);
    v4.writeUInt16BE(80, 2);
    Buffer.from(parseAddress(IMDS.ipv4)!).copy(v4, 4);
    expect(addon.socketAddress(v4)).toEqual({ family: 'ipv4', port: 80, address: Buffer.from([169, 254, 169, 254]) });
    const v6 = Buffer.alloc(28);
    v6.writeUInt16LE(23, 0);
    v6.writeUInt16BE(50123, 2);
    Buffer.from(parseAddress(IMDS.ipv6)!).copy(v6, 8);
    expect(addon.socketAddress(v6)).toMatchObject({ family: 'ipv6', port: 50123 });
    expect(addon.socketAddress(v6.subarray(0, 20))).toBeNull();
    expect(addon.socketAddress(new Uint8Array(16))).toBeNull();
    expect(addon.socketAddress(new Uint8Array(3))).toBeNull();
  });
});

describe('errors and diagnostics in the declared vocabulary', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-binding-'));

  it('a file that cannot be opened or is not a trace: ETL_<code> errors with file, offset and buffer', async () => {
    const text = path.join(tmp, 'not.etl');
    writeFileSync(text, 'just some text, long enough to need a look at its first bytes'.repeat(4));
    for (const [file, code] of [[path.join(tmp, 'missing.etl'), 'ETL_open'], [text, 'ETL_not-etl']] as const) {
      const err = await traceInfo(file).catch((e: unknown) => e);
      expect(isNativeError(err)).toBe(true);
      expect(err).toMatchObject({ code, file, offset: 0 });
      expect(NATIVE_CODES).toContain(code.slice(4));
    }
    expect(isNativeError(new TypeError('x'))).toBe(false);
  });

  it('the reader and the extractor report in NATIVE_CODES', async () => {
    // The sample cut in the middle of a buffer: the reader reports, the converter counts.
    const sample = path.join(repoRoot, 'fixtures/pktmon-demikernel/PktMon.etl');
    const cut = path.join(tmp, 'cut.etl');
    const bytes = (await import('node:fs')).readFileSync(sample);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const info = await traceInfo(cut);
    expect(info.diagnostics.length).toBeGreaterThan(0);
    for (const d of info.diagnostics) {
      expect(NATIVE_CODES).toContain(d.code);
      expect(d).toMatchObject({ file: cut });
      expect(typeof d.offset).toBe('number');
      expect(typeof d.buffer).toBe('number');
    }
    const s = await native().convert(cut, path.join(tmp, 'cut.pcapng'));
    for (const k of Object.keys(s.warnings)) expect(NATIVE_CODES).toContain(k);
    rmSync(tmp, { recursive: true, force: true });
  });
});

// The built-in layouts (native/etl/known_layouts.cc) through the real reader: payloads written
// byte by byte from the documented field lists (test/processes/support/payloads.ts), in a trace
// with no embedded schema, for every version and pointer size, cut at every length, and random.
// What the reader decodes must be exactly the properties Windows' schemas name, and what
// src/processes reads from them must be what the payload says.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTrace, type TraceEvent } from '../../src/index.js';
import { computerNameOf, EventShapeError, processEventOf, serviceEventOf } from '../../src/processes/trace-events.js';
import { tcpipHint } from '../../src/imds/tcpip.js';
import { PROVIDERS } from '../../src/constants.js';
import { EtlWriter, UTC_TIME_ZONE, eventRecord } from '../../tools/gen/etl.js';
import { guidBytes, Rng } from '../../tools/gen/bytes.js';
import { sockaddr } from '../../tools/gen/providers.js';
import {
  Bytes, kpStartPayload, kpStartProperties, kpStopPayload, kpStopProperties, mofProcessPayload, mofProcessProperties,
  servicePayload, serviceProperties,
} from '../processes/support/payloads.js';
import { repoRoot } from '../support/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etl-known-layouts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const START = 133_500_000_000_000_000n;

/** One record to write: `header` builds it around its payload, given the writer (for raw times). */
type Header = (w: EtlWriter, time: bigint, tid: number, payload: Uint8Array) => Buffer;

/** SYSTEM_TRACE_HEADER (64-bit type 2, 32-bit type 1): the kernel logger's records. */
const system = (group: number, type: number, version: number, size: 4 | 8): Header => (w, time, tid, payload) => {
  const h = Buffer.alloc(0x20);
  h.writeUInt16LE(version, 0);
  h[2] = size === 8 ? 2 : 1;
  h[3] = 0xc0;
  h.writeUInt16LE(0x20 + payload.length, 4);
  h.writeUInt16LE((group << 8) | type, 6);
  h.writeUInt32LE(tid, 8);
  h.writeUInt32LE(4, 0xc);
  h.writeBigInt64LE(w.raw(time), 0x10);
  return Buffer.concat([h, payload]);
};

/** EVENT_TRACE_HEADER (FULL, 64-bit) of a MOF class: the SystemConfig records. */
const classic = (guid: string, type: number, version: number): Header => (w, time, tid, payload) => {
  const h = Buffer.alloc(0x30);
  h.writeUInt16LE(0x30 + payload.length, 0);
  h[2] = 0x14;
  h[3] = 0xc0;
  h[4] = type;
  h.writeUInt16LE(version, 6);
  h.writeUInt32LE(tid, 8);
  h.writeUInt32LE(4, 0xc);
  h.writeBigInt64LE(w.raw(time), 0x10);
  guidBytes(guid).copy(h, 0x18);
  return Buffer.concat([h, payload]);
};

/** EVENT_HEADER of a manifest provider, with no schema in the file. */
const manifest = (provider: string, id: number, version: number): Header => (w, time, tid, payload) =>
  eventRecord(w, time, { tid, pid: 4, provider, id, version, channel: 0, level: 4, opcode: 0, task: 0, keywords: 0n }, [payload]);

/** Writes the records (in order, one CPU) and reads them back: the event of record i has TID i + 1. */
async function roundTrip(name: string, records: { header: Header; payload: Uint8Array }[]): Promise<TraceEvent[]> {
  const file = path.join(tmp, `${name}.etl`);
  const w = new EtlWriter(file, {
    bufferSize: 64 * 1024, nominalBufferSize: 64 * 1024, headerBufferSize: 64 * 1024, compressed: false,
    logFileMode: 0x00010001, layoutVersion: [1, 5], osVersion: [10, 0], osBuild: 20348, numberOfProcessors: 1,
    cpuSpeedMHz: 2500, timerResolution: 156250, maximumFileSizeMB: 512, startTime: START, bootTime: START - 864_000_000_000n,
    perfFreq: 10_000_000n, loggerName: 'NT Kernel Logger', logFileName: 'C:\\kernel.etl', timeZone: UTC_TIME_ZONE,
    headerPid: 4, headerTid: 999_999, headerCpuTimes: [0, 0], headerBufferState: 0,
  });
  records.forEach((r, i) => w.add(0, START + BigInt(i + 1) * 1000n, r.header(w, START + BigInt(i + 1) * 1000n, i + 1, r.payload)));
  w.close();
  const trace = openTrace(file);
  const out: TraceEvent[] = [];
  for await (const b of trace.events()) {
    expect(b.diagnostics).toEqual([]);
    out.push(...b.events.filter((e) => e.tid >= 1 && e.tid <= records.length));
  }
  trace.close();
  expect(out.map((e) => e.tid)).toEqual(records.map((_, i) => i + 1));
  return out;
}

const fields = {
  pid: 4242,
  ppid: 888,
  session: 2,
  exit: 259,
  sid: 'S-1-5-21-1004336348-1177238915-682003330-1001',
  image: 'python.exe',
  commandLine: 'C:\\Python312\\python.exe poll.py',
  packageFullName: 'Pkg_1.0_x64__abc',
  applicationId: 'App',
  exitTime: 133_500_000_000_000_000n,
};

/**
 * An event whose payload was cut to `n` bytes: while the image name has not begun (`imageAt`,
 * `unit` bytes per character), its process reads as an EventShapeError; after that, as the
 * same process with (a beginning of) its image name or path, as Windows' own decoder reads a
 * string that runs to the end of the payload.
 */
function expectCut(e: TraceEvent, n: number, imageAt: number, unit: number, pid: number, image: string): void {
  if (n < imageAt + unit) {
    expect(() => processEventOf(e), `cut at ${n}`).toThrow(EventShapeError);
    return;
  }
  const info = processEventOf(e)!;
  expect(info.pid, `cut at ${n}`).toBe(pid);
  const read = info.imagePath ?? info.image;
  expect(image.startsWith(read), `cut at ${n}: ${read}`).toBe(true);
}

describe('kernel Process class (MOF), every version and pointer size', () => {
  for (const size of [4, 8] as const) {
    it(`${size * 8}-bit: versions 0-5 decode to the MOF property names; every cut is reported or partial`, async () => {
      const records: { header: Header; payload: Uint8Array }[] = [];
      const whole: number[] = [];
      const cut: { index: number; n: number; imageAt: number }[] = [];
      for (let version = 0; version <= 5; version++) {
        const opcode = version === 5 ? 39 : 1;
        const payload = mofProcessPayload(version, size, fields);
        const imageAt = Buffer.from(payload).indexOf('python.exe\0', 0, 'latin1');
        whole.push(records.length);
        records.push({ header: system(3, opcode, version, size), payload });
        for (let n = 0; n < payload.length; n++) {
          cut.push({ index: records.length, n, imageAt });
          records.push({ header: system(3, 1, version, size), payload: payload.subarray(0, n) });
        }
      }
      const events = await roundTrip(`mof-${size}`, records);
      let version = 0;
      for (const at of whole) {
        const e = events[at]!;
        expect(e.provider).toBe(PROVIDERS.processClass);
        expect(e.properties).toEqual(mofProcessProperties(version, size, fields));
        expect(e.propertiesTruncated).toBeUndefined();
        const info = processEventOf(e)!;
        expect(info).toMatchObject({ kind: version === 5 ? 'defunct' : 'start', pid: 4242, parentPid: 888, image: 'python.exe', userSid: fields.sid });
        if (version >= 1) expect([info.sessionId, info.exitStatus]).toEqual([2, 259]);
        expect(info.commandLine).toBe(version >= 2 ? fields.commandLine : undefined);
        if (version >= 4) expect([info.packageFullName, info.applicationId]).toEqual([fields.packageFullName, fields.applicationId]);
        if (version >= 5) expect(info.exitTime).toBe(fields.exitTime);
        version++;
      }
      for (const c of cut) expectCut(events[c.index]!, c.n, c.imageAt, 1, 4242, 'python.exe');
    });
  }

  it('UserSID of 0 (4 bytes); End, DCStart, DCEnd, Terminate; type 10 is an image load', async () => {
    const p = mofProcessPayload(4, 8, fields);
    const events = await roundTrip('mof-opcodes', [
      { header: system(3, 3, 4, 8), payload: mofProcessPayload(4, 8, { ...fields, sid: undefined }) },
      { header: system(3, 2, 4, 8), payload: p },
      { header: system(3, 3, 4, 8), payload: p },
      { header: system(3, 4, 4, 8), payload: p },
      { header: system(3, 11, 2, 8), payload: new Bytes().u32(2100).build() },
      { header: system(3, 32, 4, 8), payload: p },
    ]);
    expect(events[0]!.properties).toMatchObject({ UserSID: '', ImageFileName: 'python.exe', CommandLine: fields.commandLine });
    expect(processEventOf(events[0]!)!.userSid).toBeUndefined();
    expect(events.slice(1, 4).map((e) => processEventOf(e)!.kind)).toEqual(['end', 'rundown', 'rundown']);
    expect(events[4]!.properties).toEqual({ ProcessId: 2100 });
    expect(processEventOf(events[4]!)).toEqual({ kind: 'terminate', pid: 2100, image: '' });
    expect(events[5]!.properties).toBeUndefined(); // a type of the class with no layout: user data only
    expect(processEventOf(events[5]!)).toBeUndefined();
  });
});

describe('kernel group PROCESS, type 10: Image Load events', () => {
  it('are reported under the Image class and decoded with its layout', async () => {
    const image = new Bytes().u64(0x7ff6000000n).u64(0x18000n).u32(6780).u32(0x2387b).u32(0x765bdd03).u8(12).u8(2).u16(0)
      .u64(0x7ff6000000n).u32(0).u32(0).u32(0).u32(0).utf16z('\\Device\\HarddiskVolume3\\Windows\\System32\\curl.exe').build();
    const [e] = await roundTrip('image-load', [{ header: system(3, 10, 3, 8), payload: image }]);
    expect(e!.provider).toBe(PROVIDERS.imageClass);
    expect(e!.providerName).toBe('ImageLoad');
    expect(e!.properties).toMatchObject({ ImageBase: 0x7ff6000000, ImageSize: 0x18000, ProcessId: 6780, FileName: '\\Device\\HarddiskVolume3\\Windows\\System32\\curl.exe' });
    expect(processEventOf(e!)).toBeUndefined();
  });
});

describe('Microsoft-Windows-Kernel-Process', () => {
  const start = { pid: 5012, create: 133_400_000_000_000_000n, ppid: 3080, image: '\\Device\\HarddiskVolume3\\Windows\\System32\\curl.exe' };
  const stop = { pid: 5012, create: start.create, exit: start.create + 5_000_000n, exitCode: 7, image: 'curl.exe' };
  it('ProcessStart v0-3, ProcessRundown v0-1, ProcessStop v0-2, a newer version, other ids', async () => {
    const cases: { id: number; version: number; payload: Uint8Array; props: object }[] = [];
    for (let v = 0; v <= 3; v++) cases.push({ id: 1, version: v, payload: kpStartPayload(v, start), props: kpStartProperties(v, start) });
    for (let v = 0; v <= 1; v++) cases.push({ id: 15, version: v, payload: kpStartPayload(v + 2, start), props: kpStartProperties(v + 2, start) });
    for (let v = 0; v <= 2; v++) cases.push({ id: 2, version: v, payload: kpStopPayload(v, stop), props: kpStopProperties(v, stop) });
    // A version newer than any known is read with the newest layout (fields are appended).
    cases.push({ id: 1, version: 4, payload: kpStartPayload(3, start), props: kpStartProperties(3, start) });
    const events = await roundTrip('kernel-process', [
      ...cases.map((c) => ({ header: manifest(PROVIDERS.kernelProcess, c.id, c.version), payload: c.payload })),
      { header: manifest(PROVIDERS.kernelProcess, 3, 0), payload: new Uint8Array(8) },
    ]);
    cases.forEach((c, i) => {
      const e = events[i]!;
      expect(e.properties, `id ${c.id} v${c.version}`).toEqual(c.props);
      const info = processEventOf(e)!;
      if (c.id === 2) {
        expect(info).toMatchObject({ kind: 'end', pid: 5012, createTime: stop.create, exitTime: stop.exit, exitStatus: 7, image: 'curl.exe' });
      } else {
        expect(info).toMatchObject({ kind: c.id === 1 ? 'start' : 'rundown', pid: 5012, parentPid: 3080, createTime: start.create, image: 'curl.exe', imagePath: start.image });
      }
    });
    expect(events[cases.length]!.properties).toBeUndefined();
    expect(processEventOf(events[cases.length]!)).toBeUndefined();
  });

  it('cut payloads: reported or partial, never more', async () => {
    const payload = kpStartPayload(3, start);
    const events = await roundTrip('kernel-process-cut', Array.from({ length: payload.length }, (_, n) => ({
      header: manifest(PROVIDERS.kernelProcess, 1, 3), payload: payload.subarray(0, n),
    })));
    const imageAt = Buffer.from(payload).indexOf(Buffer.from(start.image, 'utf16le'));
    events.forEach((e, n) => expectCut(e, n, imageAt, 2, 5012, start.image));
  });
});

describe('SystemConfig Services (EventTraceConfig type 15)', () => {
  const svc = { pid: 1024, service: 'Schedule', display: 'Task Scheduler', process: 'svchost.exe', state: 4, tag: 17 };
  it('v0 fixed arrays (34/256/34 characters) then ProcessId; v2 and v3 ProcessId first then three strings', async () => {
    const versions = [0, 2, 3];
    const events = await roundTrip('services', versions.map((v) => ({ header: classic(PROVIDERS.eventTraceConfig, 15, v), payload: servicePayload(v, svc) })));
    expect(servicePayload(0, svc).length).toBe(68 + 512 + 68 + 4);
    versions.forEach((v, i) => {
      expect(events[i]!.properties).toEqual(serviceProperties(v, svc));
      const info = serviceEventOf(events[i]!)!;
      expect(info).toMatchObject({ pid: 1024, serviceName: 'Schedule', displayName: 'Task Scheduler', processName: 'svchost.exe' });
      if (v > 0) expect([info.state, info.subProcessTag]).toEqual([4, 17]);
    });
  });
});

describe('SystemConfig CPU (EventTraceConfig type 10): the computer name', () => {
  // Five u32, ComputerName in 256 UTF-16 characters, then (not decoded) the domain name and more.
  const cpu = (name: string, extra = 268 + 4) => new Bytes().u32(2500).u32(2).u32(8192).u32(4096).u32(65536).utf16fixed(name, 256).utf16fixed('WORKGROUP', extra / 2).build();
  it('is decoded from every version; the rest of the payload is left alone; a cut payload names nothing', async () => {
    const versions = [0, 2, 3, 5];
    const records = versions.map((v) => ({ header: classic(PROVIDERS.eventTraceConfig, 10, v), payload: cpu(`EC2AMAZ-${v}ABC`) }));
    records.push({ header: classic(PROVIDERS.eventTraceConfig, 10, 3), payload: cpu('') });
    records.push({ header: classic(PROVIDERS.eventTraceConfig, 10, 3), payload: cpu('EC2AMAZ-CUT').subarray(0, 20 + 100) });
    const events = await roundTrip('cpu', records);
    versions.forEach((v, i) => {
      expect(events[i]!.properties).toEqual({ MHz: 2500, NumberOfProcessors: 2, MemSize: 8192, PageSize: 4096, AllocationGranularity: 65536, ComputerName: `EC2AMAZ-${v}ABC` });
      expect(computerNameOf(events[i]!)).toBe(`EC2AMAZ-${v}ABC`);
    });
    expect(computerNameOf(events[4]!)).toBeUndefined();
    expect(() => computerNameOf(events[5]!)).toThrow(EventShapeError);
    expect(computerNameOf({ ...events[0]!, opcode: 15 })).toBeUndefined();
  });
});

describe('Microsoft-Windows-TCPIP without a schema', () => {
  it('connection events and the rundown give their 4-tuple and PID', async () => {
    const local = sockaddr('172.31.20.15', 50123);
    const remote = sockaddr('fd00:ec2::254', 80);
    const tuple = new Bytes().u32(local.length).raw(local).u32(remote.length).raw(remote);
    const events = await roundTrip('tcpip', [
      { header: manifest(PROVIDERS.tcpip, 1033, 0), payload: new Bytes().raw(tuple.build()).u32(0).u32(3104).u32(1).u64(0xffffc000n).build() },
      { header: manifest(PROVIDERS.tcpip, 1300, 0), payload: new Bytes().u64(0xffffc000n).raw(tuple.build()).u32(5).u32(3104).build() },
    ]);
    expect(events[0]!.properties).toMatchObject({ LocalAddressLength: 16, RemoteAddressLength: 28, Status: 0, ProcessId: 3104, Compartment: 1 });
    expect(events[1]!.properties).toMatchObject({ State: 5, Pid: 3104 });
    for (const [e, kind] of [[events[0]!, 'connect'], [events[1]!, 'rundown']] as const) {
      expect(tcpipHint(e)).toMatchObject({ kind, pid: 3104, localAddr: '172.31.20.15', localPort: 50123, remoteAddr: 'fd00:ec2::254', remotePort: 80 });
    }
  });
});

describe('random payloads under every layout', () => {
  it('the reader decodes or stops early; src/processes reads a result or an EventShapeError', async () => {
    const rng = new Rng(5);
    const headers: Header[] = [];
    for (const op of [1, 2, 3, 4, 11, 39]) for (const v of [0, 1, 2, 3, 4, 5, 9]) headers.push(system(3, op, v, rng.int(0, 1) ? 8 : 4));
    for (const id of [1, 2, 15]) for (const v of [0, 1, 2, 3]) headers.push(manifest(PROVIDERS.kernelProcess, id, v));
    for (const v of [0, 2]) headers.push(classic(PROVIDERS.eventTraceConfig, 15, v));
    const records = Array.from({ length: 1500 }, (_, i) => ({ header: headers[i % headers.length]!, payload: rng.bytes(rng.int(0, 400)) }));
    const events = await roundTrip('random', records);
    for (const e of events) {
      for (const read of [processEventOf, serviceEventOf]) {
        try {
          read(e);
        } catch (err) {
          expect(err).toBeInstanceOf(EventShapeError);
        }
      }
    }
  });
});

describe('a real kernel logger (fixtures/airbus/ShutdownPerfDiagLogger.etl, no embedded schema)', () => {
  it('every Process record names its process: 94 DCStart, 37 DCEnd, 60 End, 60 Terminate, 5 Defunct', async () => {
    const trace = openTrace(path.join(repoRoot, 'fixtures/airbus/ShutdownPerfDiagLogger.etl'));
    const byType = new Map<string, number>();
    const decoded: ReturnType<typeof processEventOf>[] = [];
    for await (const b of trace.events()) {
      for (const e of b.events) {
        const info = processEventOf(e);
        if (!info) continue;
        decoded.push(info);
        const k = `${e.opcode}/v${e.version}`;
        byType.set(k, (byType.get(k) ?? 0) + 1);
        // Image names are plain file names (a misplaced offset would show as garbage here).
        if (e.opcode !== 11) expect(info.image).toMatch(/^[\w .-]+$/);
      }
    }
    trace.close();
    expect(Object.fromEntries(byType)).toEqual({ '3/v4': 94, '4/v4': 37, '2/v4': 60, '11/v2': 60, '39/v5': 5 });
    const by = (pid: number, kind: string) => decoded.find((d) => d!.pid === pid && d!.kind === kind);
    expect(by(4, 'rundown')).toMatchObject({ image: 'System', parentPid: 0, userSid: 'S-1-5-18' });
    expect(by(2100, 'end')).toMatchObject({ image: 'browser_broker.exe', parentPid: 764, sessionId: 1, commandLine: 'C:\\Windows\\system32\\browser_broker.exe -Embedding' });
    expect(by(6832, 'end')!.packageFullName).toBe('Microsoft.YourPhone_1.20012.133.0_x64__8wekyb3d8bbwe');
    expect(by(3856, 'defunct')).toMatchObject({ image: 'explorer.exe', exitTime: 0x01d5ee5ab95cff5an });
    expect(by(2100, 'terminate')).toEqual({ kind: 'terminate', pid: 2100, image: '' });
  });
});

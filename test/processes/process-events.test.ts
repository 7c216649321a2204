// Byte decoders for process events, on hand-built payloads for every layout
// version and pointer size, on every truncation, and on real kernel-logger
// records (ShutdownPerfDiagLogger.etl, Apache-2.0, from ../shared/fixtures).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { decodeKernelProcessEvent, decodeMofProcess, type ProcessEventInfo } from '../../src/processes/process-events.js';
import { decodeSystemConfigService } from '../../src/processes/system-config.js';
import { ProcessesError } from '../../src/processes/errors.js';
import { Bytes, kpStartPayload, kpStopPayload, mofProcessPayload, servicePayload } from './support/payloads.js';
import { kernelProcessRecords } from './support/mini-etl.js';
import { shared, skipReason } from '../support/fixtures.js';

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

function truncationsFail(full: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  for (let n = 0; n < full.length; n++) {
    expect(() => decode(full.subarray(0, n)), `cut at ${n} of ${full.length}`).toThrow(ProcessesError);
  }
}

describe('kernel Process MOF events, every version and pointer size', () => {
  for (const size of [4, 8] as const) {
    for (let version = 0; version <= 5; version++) {
      it(`v${version}, ${size * 8}-bit`, () => {
        const payload = mofProcessPayload(version, size, fields);
        const info = decodeMofProcess(version === 5 ? 39 : 1, version, size, payload)!;
        expect(info.pid).toBe(4242);
        expect(info.parentPid).toBe(888);
        expect(info.image).toBe('python.exe');
        expect(info.userSid).toBe(fields.sid);
        expect(info.kind).toBe(version === 5 ? 'defunct' : 'start');
        if (version >= 1) expect([info.sessionId, info.exitStatus]).toEqual([2, 259]);
        if (version >= 2) expect(info.commandLine).toBe(fields.commandLine);
        else expect(info.commandLine).toBeUndefined();
        if (version >= 4) expect([info.packageFullName, info.applicationId]).toEqual([fields.packageFullName, fields.applicationId]);
        if (version >= 5) expect(info.exitTime).toBe(fields.exitTime);
        truncationsFail(payload, (b) => decodeMofProcess(1, version, size, b));
      });
    }
  }

  it('UserSID of 0 (4 bytes) and the field offsets of §10.1', () => {
    const payload = mofProcessPayload(4, 8, { ...fields, sid: undefined });
    const info = decodeMofProcess(3, 4, 8, payload)!;
    expect(info.userSid).toBeUndefined();
    expect(info.image).toBe('python.exe');
    // v4 x64: UserSID at 36, so the image name right after the 4-byte zero.
    expect(Buffer.from(payload.subarray(40, 50)).toString('latin1')).toBe('python.exe');
    const withSid = mofProcessPayload(4, 8, fields);
    // TOKEN_USER (16) then SID S-1-5-21-a-b-c-d: 8 + 4*5 = 28 bytes; image at 36+44.
    expect(Buffer.from(withSid.subarray(80, 90)).toString('latin1')).toBe('python.exe');
    const v3x86 = mofProcessPayload(3, 4, fields);
    expect(Buffer.from(v3x86.subarray(24 + 8 + 28, 24 + 8 + 28 + 10)).toString('latin1')).toBe('python.exe');
  });

  it('opcodes: End, DCStart, DCEnd, Terminate; others are not process identities', () => {
    const p = mofProcessPayload(4, 8, fields);
    expect(decodeMofProcess(2, 4, 8, p)!.kind).toBe('end');
    expect(decodeMofProcess(3, 4, 8, p)!.kind).toBe('rundown');
    expect(decodeMofProcess(4, 4, 8, p)!.kind).toBe('rundown');
    expect(decodeMofProcess(11, 2, 8, new Bytes().u32(2100).build())).toEqual({ kind: 'terminate', pid: 2100, image: '' });
    expect(decodeMofProcess(10, 3, 8, p)).toBeUndefined();
    expect(decodeMofProcess(32, 4, 8, p)).toBeUndefined();
  });

  it('a SID with more than 15 sub-authorities is an error, not a long read', () => {
    const bad = new Bytes().u64(1n).u32(1).u32(2).u32(3).i32(0).u64(0n).u32(0).u64(5n).u64(0n).u8(1).u8(200).raw(new Uint8Array(6)).ansiz('x.exe').utf16z('').utf16z('').utf16z('').build();
    expect(() => decodeMofProcess(1, 4, 8, bad)).toThrow(/200 sub-authorities/);
  });

  it('an image name without NUL is an error naming the field', () => {
    const bad = new Bytes().u64(1n).u32(1).u32(2).u32(3).i32(0).u64(0n).u32(0).u32(0).raw(Buffer.from('abc')).build();
    expect(() => decodeMofProcess(1, 4, 8, bad)).toThrow(/ImageFileName/);
  });
});

describe('Microsoft-Windows-Kernel-Process', () => {
  const start = { pid: 5012, create: 133_400_000_000_000_000n, ppid: 3080, image: '\\Device\\HarddiskVolume3\\Windows\\System32\\curl.exe' };
  for (let version = 0; version <= 3; version++) {
    it(`1 ProcessStart v${version}`, () => {
      const payload = kpStartPayload(version, start);
      const info = decodeKernelProcessEvent(1, version, payload)!;
      expect(info).toMatchObject({ kind: 'start', pid: 5012, parentPid: 3080, createTime: start.create, image: 'curl.exe', imagePath: start.image });
      if (version >= 3) expect(info.sequenceNumber).toBe(77n);
      if (version === 2) expect(info.packageFullName).toBe('Pkg_1.0');
      truncationsFail(payload, (b) => decodeKernelProcessEvent(1, version, b));
    });
  }
  for (let version = 0; version <= 1; version++) {
    it(`15 ProcessRundown v${version} (= ProcessStart v${version === 0 ? 2 : 3})`, () => {
      const payload = kpStartPayload(version === 0 ? 2 : 3, start);
      const info = decodeKernelProcessEvent(15, version, payload)!;
      expect(info).toMatchObject({ kind: 'rundown', pid: 5012, createTime: start.create, image: 'curl.exe' });
      truncationsFail(payload, (b) => decodeKernelProcessEvent(15, version, b));
    });
  }
  for (let version = 0; version <= 2; version++) {
    it(`2 ProcessStop v${version}`, () => {
      const payload = kpStopPayload(version, { pid: 5012, create: start.create, exit: start.create + 5_000_000n, exitCode: 7, image: 'curl.exe' });
      const info = decodeKernelProcessEvent(2, version, payload)!;
      expect(info).toMatchObject({ kind: 'end', pid: 5012, createTime: start.create, exitTime: start.create + 5_000_000n, exitStatus: 7, image: 'curl.exe' });
      if (version >= 2) expect(info.sequenceNumber).toBe(77n);
      truncationsFail(payload, (b) => decodeKernelProcessEvent(2, version, b));
    });
  }
  it('newer versions read with the newest known layout; other ids ignored', () => {
    expect(decodeKernelProcessEvent(1, 4, kpStartPayload(3, start))!.image).toBe('curl.exe');
    expect(decodeKernelProcessEvent(3, 0, new Uint8Array(8))).toBeUndefined();
  });
});

describe('SystemConfig Services', () => {
  const svc = { pid: 1024, service: 'Schedule', display: 'Task Scheduler', process: 'svchost.exe', state: 4, tag: 17 };
  it('v0 fixed arrays (34/256/34 chars) then ProcessId', () => {
    const payload = servicePayload(0, svc);
    expect(payload.length).toBe(68 + 512 + 68 + 4);
    expect(decodeSystemConfigService(0, payload)).toEqual({ pid: 1024, serviceName: 'Schedule', displayName: 'Task Scheduler', processName: 'svchost.exe' });
    truncationsFail(payload, (b) => decodeSystemConfigService(0, b));
  });
  for (const version of [2, 3]) {
    it(`v${version}: ProcessId, ServiceState, SubProcessTag, three strings`, () => {
      const payload = servicePayload(version, svc);
      expect(decodeSystemConfigService(version, payload)).toEqual({ pid: 1024, serviceName: 'Schedule', displayName: 'Task Scheduler', processName: 'svchost.exe', state: 4, subProcessTag: 17 });
      truncationsFail(payload, (b) => decodeSystemConfigService(version, b));
    });
  }
});

describe('random payloads: a result or a ProcessesError', () => {
  it('never anything else', () => {
    const check = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof ProcessesError)) throw e;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 8 }), fc.constantFrom(4 as const, 8 as const), (b, v, size) => {
        for (const op of [1, 2, 3, 4, 11, 39]) check(() => decodeMofProcess(op, v, size, b));
        for (const id of [1, 2, 15]) check(() => decodeKernelProcessEvent(id, v, b));
        check(() => decodeSystemConfigService(v, b));
      }),
      { numRuns: 1000 },
    );
  });
});

const kernelFile = shared('other/airbus/ShutdownPerfDiagLogger.etl');
const haveKernel = existsSync(kernelFile);
if (!haveKernel) process.stderr.write(`SKIP (process events, real kernel logger): ${skipReason}\n`);

describe.skipIf(!haveKernel)(`real kernel-logger records (ShutdownPerfDiagLogger.etl)${haveKernel ? '' : ` — SKIPPED: ${skipReason}`}`, () => {
  it('decodes every Process record: 94 DCStart, 37 DCEnd, 60 End, 60 Terminate, 5 Defunct', () => {
    const records = kernelProcessRecords(readFileSync(kernelFile));
    const decoded: ProcessEventInfo[] = [];
    const byType = new Map<string, number>();
    for (const r of records) {
      const info = decodeMofProcess(r.opcode, r.version, r.pointerSize, r.userData);
      if (!info) continue;
      decoded.push(info);
      const k = `${r.opcode}/v${r.version}`;
      byType.set(k, (byType.get(k) ?? 0) + 1);
      // Image names are plain file names (a misplaced offset would show as garbage here).
      if (r.opcode !== 11) expect(info.image).toMatch(/^[\w .-]+$/);
    }
    expect(Object.fromEntries(byType)).toEqual({ '3/v4': 94, '4/v4': 37, '2/v4': 60, '11/v2': 60, '39/v5': 5 });
    const by = (pid: number, kind: string) => decoded.find((d) => d.pid === pid && d.kind === kind);
    expect(by(4, 'rundown')).toMatchObject({ image: 'System', parentPid: 0, userSid: 'S-1-5-18' });
    expect(by(2100, 'end')).toMatchObject({ image: 'browser_broker.exe', parentPid: 764, sessionId: 1, commandLine: 'C:\\Windows\\system32\\browser_broker.exe -Embedding' });
    expect(by(6832, 'end')!.packageFullName).toBe('Microsoft.YourPhone_1.20012.133.0_x64__8wekyb3d8bbwe');
    expect(by(3856, 'defunct')).toMatchObject({ image: 'explorer.exe', exitTime: 0x01d5ee5ab95cff5an });
    expect(by(2100, 'terminate')).toEqual({ kind: 'terminate', pid: 2100, image: '' });
  });

  it('each decoded payload is consumed to its last byte (layouts are exact, not lucky)', () => {
    const records = kernelProcessRecords(readFileSync(kernelFile));
    for (const r of records) {
      if (![2, 3, 4, 39].includes(r.opcode)) continue;
      // Cutting one byte off the end must break the decode: the layout uses every byte.
      expect(() => decodeMofProcess(r.opcode, r.version, r.pointerSize, r.userData.subarray(0, r.userData.length - 1))).toThrow(ProcessesError);
    }
  });
});

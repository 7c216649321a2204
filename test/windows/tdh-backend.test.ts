// The Windows backend (native/windows) cannot run here, but it must not rot:
// compile it, with the same interface header, using mingw-w64.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../support/fixtures.js';

const cxx = '/usr/bin/x86_64-w64-mingw32-g++';
const have = existsSync(cxx);
if (!have) process.stderr.write('SKIP: mingw-w64 not installed (apt-get install mingw-w64)\n');

describe.skipIf(!have)('Windows TDH backend', () => {
  it('compiles to object files with mingw-w64 (tdh_source.cc, trace_source.cc)', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'etl-mingw-'));
    try {
      for (const f of ['native/windows/tdh_source.cc', 'native/etl/trace_source.cc']) {
        const o = path.join(out, path.basename(f) + '.o');
        execFileSync(cxx, ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', '-c', '-I', 'native', f, '-o', o], {
          cwd: repoRoot,
          stdio: 'pipe',
        });
        expect(existsSync(o)).toBe(true);
      }
      // The symbol the portable side calls must be defined by the Windows unit.
      const syms = execFileSync('/usr/bin/x86_64-w64-mingw32-nm', [path.join(out, 'tdh_source.cc.o')]).toString();
      expect(syms).toMatch(/openTdhSource/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

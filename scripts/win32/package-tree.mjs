// The npm package as a Windows machine would have it installed: the files `npm pack` ships,
// prebuilds/win32-x64/etl-imds.node, and the production dependencies. No build/ folder:
// node-gyp-build looks in build/Release first and would find the Linux addon.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Fills `dest` (a new folder) with the package tree; returns dest. */
export function makeWin32Tree(dest, addon) {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0];
  for (const { path: f } of packed.files) {
    if (f.startsWith('build/') || f.startsWith('prebuilds/')) continue;
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    copyFileSync(path.join(repoRoot, f), path.join(dest, f));
  }
  const prebuild = path.join(dest, 'prebuilds', 'win32-x64');
  mkdirSync(prebuild, { recursive: true });
  copyFileSync(addon, path.join(prebuild, 'etl-imds.node'));
  const deps = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((d) => d.startsWith(path.join(repoRoot, 'node_modules') + path.sep));
  for (const d of deps) {
    const rel = path.relative(repoRoot, d);
    if (!existsSync(path.join(dest, rel))) cpSync(d, path.join(dest, rel), { recursive: true, dereference: true, filter: (s) => !s.split(path.sep).includes('.bin') && path.relative(d, s).split(path.sep)[0] !== 'node_modules' });
  }
  if (existsSync(path.join(dest, 'build'))) throw new Error('the win32 tree must not have a build/ folder');
  return dest;
}

// The package's build and layout: binding.gyp (ships) and CMakeLists.txt (developer build) compile the same
// sources; package.json exports, bin and platform are what DESIGN.md says.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { native } from '../lib/binding/addon.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

/** The "sources" of a gyp file (Python-literal JSON with # comments), relative to the package root. */
function gypSources(file: string): string[] {
  const text = read(file).replace(/#.*$/gm, '');
  const gyp = JSON.parse(text) as { targets: { sources: string[] }[] };
  const dir = path.dirname(file);
  return gyp.targets.flatMap((t) => t.sources.map((s) => path.posix.join(dir, s))).sort();
}

function cmakeList(name: string): string[] {
  const m = read('CMakeLists.txt').match(new RegExp(`set\\(${name}\\s+([^)]*)\\)`));
  if (!m) throw new Error(`no set(${name} ...) in CMakeLists.txt`);
  return m[1]!.split(/\s+/).filter(Boolean).sort();
}

describe('build', () => {
  it('CMakeLists.txt compiles exactly the sources binding.gyp ships (main addon and fork addon)', () => {
    expect(cmakeList('MULTIPROC_SOURCES')).toEqual(gypSources('binding.gyp'));
    expect(cmakeList('MULTIPROC_FORK_SOURCES')).toEqual(gypSources('native/fork/binding.gyp'));
  });

  it('the two addons compile every .cc under native/ between them (a new or split file is not forgotten)', () => {
    const all = readdirSync(path.join(root, 'native'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.cc'))
      .map((f) => path.posix.join('native', f.split(path.sep).join('/')))
      .sort();
    expect([...gypSources('binding.gyp'), ...gypSources('native/fork/binding.gyp')].sort()).toEqual(all);
  });

  it('the main addon is Node-API (ABI-stable); the fork addon is separate', () => {
    expect(native.abi).toBe('napi');
    expect(read('native/addon.cc')).not.toMatch(/#include <(v8|node|uv)\.h>/);
    for (const f of gypSources('binding.gyp')) expect(read(f)).not.toMatch(/#include <(v8|uv|node)\.h>/);
  });

  it('package.json: ESM, exports . and ./posix, bin multiproc, Linux only, install builds the addons', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.type).toBe('module');
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './posix']));
    expect(pkg.bin).toEqual({ multiproc: './dist/tools/cli.js' });
    expect(pkg.os).toEqual(['linux']);
    expect(pkg.scripts.install).toMatch(/install\.mjs/);
    expect(pkg.dependencies).toHaveProperty('node-addon-api');
    expect(pkg.dependencies).toHaveProperty('node-gyp-build');
  });
});

describe('loading', () => {
  it('an addon that cannot be loaded is a clear error that says what to do', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./lib/binding/addon.ts').catch((e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); })"], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, MULTIPROC_ADDON_DIR: '/nonexistent-multiproc-build' },
    });
    const r = JSON.parse(run.stdout.trim());
    expect(r.code).toBe('ERR_MULTIPROC_ADDON');
    expect(r.message).toMatch(/could not be loaded/);
    expect(r.message).toMatch(/What to do/);
    expect(r.message).toMatch(/npm rebuild multiproc/);
    expect(r.message).toMatch(/apt-get install -y g\+\+ make python3/);
  });

  it('NODE_DEBUG=multiproc traces forks and waits', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/debug-fork.ts')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_DEBUG: 'multiproc' },
    });
    expect(run.status, run.stderr).toBe(0);
    const statuses = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(statuses).toMatchObject([{ kind: 'exited', code: 3 }, { kind: 'exited', code: 3 }]);
    expect(run.stderr).toMatch(/MULTIPROC \d+: fork: parent \d+ forked child \d+/);
    // each line names the process that wrote it: the child's own pid, not the parent's (util.debuglog keeps the
    // pid it saw when it set itself up, which in a forked child is the parent's)
    const children = [...run.stderr.matchAll(/MULTIPROC (\d+): fork: child (\d+) of (\d+)/g)];
    expect(children, run.stderr).toHaveLength(2);
    for (const [, prefix, pid, parent] of children) {
      expect(prefix).toBe(pid);
      expect(prefix).not.toBe(parent);
    }
    expect(run.stderr).toMatch(/MULTIPROC \d+: waitpidAsync\(\d+\)/);
  });
});

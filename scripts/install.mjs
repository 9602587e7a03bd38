#!/usr/bin/env node
// npm install hook: makes sure both addons load, preferring a bundled prebuild, else building from source.
//   .            the main addon (Node-API, ABI-stable)       prebuilds/linux-x64/multiproc.napi.node
//   native/fork  the fork addon (built per Node ABI)         native/fork/prebuilds/linux-x64/multiproc_fork.abiNNN.node
// With PREBUILDS_ONLY=1 nothing is compiled (proves that the bundled binaries are what loads).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const force = process.argv.includes('--force'); // npm run build:native: always compile
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.platform !== 'linux') {
  console.error(`multiproc: Linux only (this is ${process.platform}); it wraps Linux system calls (fork, pidfd, futex, memfd).`);
  process.exit(1);
}

function loads(dir) {
  try {
    const addon = require('node-gyp-build')(dir);
    return addon && (addon.abi === 'napi' || String(addon.abi) === process.versions.modules);
  } catch {
    return false;
  }
}

function nodeGyp() {
  // npm runs install scripts with its bundled node-gyp reachable; prefer the path it gives, then npm's own copy.
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const js of candidates) {
    if (js && existsSync(js)) return [process.execPath, js];
  }
  return ['node-gyp'];
}

function build(dir, label) {
  const [cmd, ...pre] = nodeGyp();
  console.error(`multiproc: building the ${label} from source in ${path.relative(root, dir) || '.'}`);
  const args = [...pre, 'rebuild'];
  // Build against the headers installed beside this node (no download: machines may be offline).
  const localHeaders = path.resolve(path.dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(path.join(localHeaders, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${localHeaders}`);
  }
  const r = spawnSync(cmd, args, { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) {
    if (r.error) console.error(`multiproc: could not run node-gyp: ${r.error.message}`);
    console.error(`
multiproc: could not build the ${label}. What to do:
  1. Install a C++ toolchain and Python: apt-get install -y g++ make python3
  2. node-gyp needs Node's headers: npm is set up here with nodedir=/usr (npm config get nodedir);
     on a machine without headers, node-gyp downloads them, which needs network access.
  3. Then rebuild: npm rebuild multiproc   (or, in a checkout: npm run build:native)
`);
    process.exit(r.status ?? 1);
  }
}

for (const [dir, label] of [
  [root, 'main addon'],
  [path.join(root, 'native', 'fork'), 'fork addon'],
]) {
  if (!force && loads(dir)) continue;
  if (process.env.PREBUILDS_ONLY === '1') {
    console.error(`multiproc: PREBUILDS_ONLY=1 but no prebuilt ${label} matches this Node (${process.version}).`);
    process.exit(1);
  }
  build(dir, label);
  if (!loads(dir)) {
    console.error(`multiproc: the ${label} was built but does not load; run: npm rebuild multiproc`);
    process.exit(1);
  }
}

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

/** Whether the addon in `dir` loads in this Node: the main one by node-gyp-build, the fork one as lib/binding/addon.ts finds it. */
function loads(dir, fork) {
  const candidates = fork
    ? [path.join(dir, 'build', 'Release', 'multiproc_fork.node'), path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `multiproc_fork.abi${process.versions.modules}.node`)]
    : [dir];
  for (const c of candidates) {
    try {
      const addon = fork ? (existsSync(c) ? require(c) : undefined) : require('node-gyp-build')(c);
      if (addon && (addon.abi === 'napi' || String(addon.abi) === process.versions.modules)) return true;
    } catch {
      /* built for another Node, or absent */
    }
  }
  return false;
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
  if (r.error) console.error(`multiproc: could not run node-gyp: ${r.error.message}`);
  return r.status === 0;
}

const howToBuild = `  1. Install a C++ toolchain and Python: apt-get install -y g++ make python3
  2. node-gyp needs Node's headers (npm config get nodedir); on a machine without them, node-gyp downloads
     them, which needs network access.
  3. Then rebuild: npm rebuild multiproc   (or, in a checkout: npm run build:native)`;

// The main addon is required: nothing works without it. The fork addon only serves fork() and the fork start
// method: without it (a Node line with no prebuild and no compiler) the package installs, fork() says why it
// cannot run, and the spawn start method works.
for (const [dir, label, fork] of [
  [root, 'main addon', false],
  [path.join(root, 'native', 'fork'), 'fork addon', true],
]) {
  if (!force && loads(dir, fork)) continue;
  if (process.env.PREBUILDS_ONLY === '1') {
    console.error(`multiproc: PREBUILDS_ONLY=1 but no prebuilt ${label} matches this Node (${process.version}).`);
    process.exit(1);
  }
  if (build(dir, label) && loads(dir, fork)) continue;
  if (fork) {
    console.error(`
multiproc: warning: no fork addon for this Node (${process.version}, ABI ${process.versions.modules}): prebuilt ones
ship for Node 20, 22, 24 and 26, and building one failed. Everything but fork() and the 'fork' start method works;
use startMethod 'spawn'. To get fork():
${howToBuild}
`);
    continue;
  }
  console.error(`
multiproc: could not build the ${label}. What to do:
${howToBuild}
`);
  process.exit(1);
}

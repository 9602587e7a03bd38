// Loads the addons as the types of lib/binding/types.ts (the one contract of both). Only lib/posix imports
// this module; everything above calls the typed posix layer.
//
//   main addon  (Node-API, ABI-stable)  build/Release/multiproc.node or prebuilds/linux-x64/multiproc.napi.node
//   fork addon  (node.h/v8.h, per ABI)  native/fork/...; loaded only by posix.fork()
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ForkAddon, MainAddon } from './types.js';

export type * from './types.js';

const require = createRequire(import.meta.url);
/** The package root (lib/ and dist/ are both one level below it). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function platformCheck(): void {
  if (process.platform !== 'linux') {
    throw new Error(
      `multiproc supports Linux only (this is ${process.platform}): it wraps Linux system calls such as ` +
        'fork, pidfd_open, futex and memfd_create.',
    );
  }
}

function loadError(what: string, dir: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const err = new Error(
    `multiproc: the ${what} could not be loaded from ${dir}.\n` +
      `  Reason: ${reason}\n` +
      '  What to do:\n' +
      '    1. Rebuild it for this Node: npm rebuild multiproc   (in a checkout: npm run build:native)\n' +
      '    2. Building needs g++, make and python3: apt-get install -y g++ make python3\n' +
      "    3. It also needs Node's headers (npm config get nodedir); offline machines must have them installed.",
    { cause },
  );
  (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_ADDON';
  return err;
}

/** MULTIPROC_ADDON_DIR=build-asan/Release loads both addons from a developer (CMake) build instead. */
const addonDir = process.env.MULTIPROC_ADDON_DIR ? path.resolve(packageRoot, process.env.MULTIPROC_ADDON_DIR) : undefined;

function loadMain(): MainAddon {
  platformCheck();
  try {
    if (addonDir) return require(path.join(addonDir, 'multiproc.node')) as MainAddon;
    return require('node-gyp-build')(packageRoot) as MainAddon;
  } catch (cause) {
    throw loadError('native addon', packageRoot, cause);
  }
}

/** The main addon. */
export const native: MainAddon = loadMain();

let forkAddon: ForkAddon | undefined;
let forkAddonFile: string | undefined;

/**
 * Where the fork addon for this Node comes from, in order: MULTIPROC_ADDON_DIR (a developer build); the local
 * build (native/fork/build/Release) if it was built for this ABI; the bundled prebuild for this ABI
 * (native/fork/prebuilds/<platform>-<arch>/multiproc_fork.abi<NODE_MODULE_VERSION>.node). A local build for
 * another Node is passed over (Node refuses it with an error, never loads it), so a checkout used with
 * several Node lines finds each line's own binary.
 */
function forkAddonCandidates(): string[] {
  const dir = path.join(packageRoot, 'native', 'fork');
  if (addonDir) return [path.join(addonDir, 'multiproc_fork.node')];
  return [
    path.join(dir, 'build', 'Release', 'multiproc_fork.node'),
    path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `multiproc_fork.abi${process.versions.modules}.node`),
  ];
}

const abiMismatch = /NODE_MODULE_VERSION|different Node\.js version|undefined symbol/;

/** The fork addon, loaded on first use. Its ABI must be this Node's (NODE_MODULE_VERSION). */
export function loadForkAddon(): ForkAddon {
  if (forkAddon) return forkAddon;
  const tried: string[] = [];
  let lastError: unknown;
  for (const file of forkAddonCandidates()) {
    if (!existsSync(file)) continue;
    try {
      const addon = require(file) as ForkAddon;
      if (String(addon.abi) !== process.versions.modules) {
        tried.push(`${path.relative(packageRoot, file)} (built for ABI ${addon.abi})`);
        continue;
      }
      forkAddon = addon;
      forkAddonFile = file;
      return addon;
    } catch (cause) {
      lastError = cause;
      const text = String((cause as Error)?.message ?? cause);
      if (!abiMismatch.test(text)) throw loadError('fork addon', file, cause);
      tried.push(`${path.relative(packageRoot, file)} (built for another Node)`);
    }
  }
  const err = new Error(
    `multiproc: fork() needs its fork addon built for this Node (${process.version}, ABI ${process.versions.modules}); ` +
      (tried.length > 0 ? `found only ${tried.join(', ')}. ` : 'none was found. ') +
      'The fork addon uses V8\'s and libuv\'s C++ API to make fork safe, so it is tied to one Node ABI; prebuilt ' +
      'ones ship for Node 20, 22, 24 and 26. Rebuild it for this Node: npm rebuild multiproc (needs g++, make, ' +
      'python3), or use the spawn start method, which needs no fork addon.',
    { cause: lastError },
  );
  (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_ABI';
  throw err;
}

/** The file the fork addon was loaded from (loads it). */
export function forkAddonPath(): string {
  loadForkAddon();
  return forkAddonFile!;
}

// Loads the addons and declares their raw types. Everything above this file calls the typed posix layer.
//
//   main addon  (Node-API, ABI-stable)  build/Release/multiproc.node or prebuilds/linux-x64/multiproc.napi.node
//   fork addon  (node.h/v8.h, per ABI)  native/fork/...; loaded only by posix.fork()
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/** The package root (lib/ and dist/ are both one level below it). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** [pid, kind, value, coreDumped]; kind: 0 exited, 1 signaled, 2 stopped, 3 continued, 4 running. */
export type RawStatus = [pid: number, kind: 0 | 1 | 2 | 3 | 4, value: number, core: boolean];

export interface MainAddon {
  abi: 'napi';
  waitpid(pid: number, flags: number): RawStatus;
  waitpidAsync(pid: number, cb: (err: Error | null, status?: RawStatus) => void): number;
  pidfdOpen(pid: number): number;
  kill(pid: number, signal: number): void;
  getpid(): number;
  getppid(): number;
  gettid(): number;
  setsid(): number;
  getsid(pid: number): number;
  setpgid(pid: number, pgid: number): void;
  getpgid(pid: number): number;
  setSubreaper(on: boolean): void;
  isSubreaper(): boolean;
  setPdeathsig(signal: number): void;
  getPdeathsig(): number;
  setAffinity(pid: number, cpus: number[]): void;
  getAffinity(pid: number): number[];
  getcpu(): number;
  getrlimit(resource: number): [soft: number, hard: number];
  setrlimit(resource: number, soft: number, hard: number): void;
  _exit(code: number): never;
  spawn(file: string, argv: string[], env: string[] | undefined, fds: [childFd: number, parentFd: number][], newGroup: boolean): number;
  signals: Record<string, number>;
  processConstants: Record<string, number>;
  // every async wait (reactor watches: waitpidAsync, readAsync/writeAsync/recvFdsAsync/waitReady, mq async;
  // thread waits: futexWaitAsync, Semaphore/Barrier waitAsync) has an id from one space:
  /**
   * Cancels a pending async wait: true if it was pending. A reactor watch's callback then never runs; a futex
   * wait calls back with 3, a semaphore wait with 2 (nothing consumed); a barrier wait cannot be cancelled.
   */
  cancelWait(id: number): boolean;
  /** Async waits not yet called back: all, or of one kind. */
  pendingWaits(kind?: 'reactor' | 'futex' | 'sync'): number;
  // fd family
  pipe(flags?: number): [number, number];
  socketpair(type?: number, nonBlocking?: boolean): [number, number];
  mkfifo(path: string, mode: number): void;
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  read(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  write(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  writeAllSync(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  readAsync(fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: (err: Error | null, n: number) => void): number;
  writeAsync(fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: (err: Error | null, n: number) => void): number;
  dup(fd: number): number;
  dup2(from: number, to: number): void;
  setNonBlocking(fd: number, on: boolean): void;
  getFlags(fd: number): { nonBlocking: boolean; cloexec: boolean; accessMode: number };
  setCloexec(fd: number, on: boolean): void;
  setPipeSize(fd: number, size: number): number;
  getPipeSize(fd: number): number;
  poll(fd: number, events: number, timeoutMs: number): number;
  fdConstants: Record<string, number>;
  // namespace family (native/ns.cc)
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  sethostname(name: string): void;
  gethostname(): string;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags?: number): void;
  nsConstants: Record<string, number>;
  // signal family (native/signal.cc)
  sigprocmask(how: number, signals: number[] | null): number[];
  sigpending(): number[];
  /** disposition: 0 default, 1 ignore, 2 record, 3 original → [previous: 0 default, 1 ignore, 2 record, 3 other, its flags] */
  sigaction(signal: number, disposition: number, flags?: number, mask?: number[]): [previous: number, flags: number];
  sigsuspend(mask: number[], timeoutMs?: number): boolean;
  sigqueue(pid: number, signal: number, value: number): void;
  /** [seq, signo, si_code, si_pid, si_uid, si_value, si_status, time (ms, CLOCK_MONOTONIC)][] */
  signalRecords(fromSeq?: number): [number, number, number, number, number, number, number, number][];
  signalCount(signal: number): number;
  signalSeq(): number;
  signalConstants: Record<string, number>;
}

export interface ForkAddon {
  abi: number;
  fork(onDry: (exiting: boolean) => number | undefined, quiesceTimeoutMs: number): number;
  fork(
    onDry: (exiting: boolean) => number | undefined,
    quiesceTimeoutMs: number,
    repair: () => void,
    entry: () => void,
    tick: () => void,
    resetAsync: () => void,
  ): number;
  probes(): { name: string; ok: boolean; detail: string }[];
  stats(): {
    workers: number;
    quiesceNs: number;
    remarkNs: number;
    forkNs: number;
    remarkedMappings: number;
    forks: number;
    /** The last child's phases, ns after the fork() call began (0: not reached). */
    child?: { start: number; pool: number; loopFork: number; handles: number; repairStart: number; repairEnd: number; exit: number };
  };
  mark(phase: number): void;
}

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

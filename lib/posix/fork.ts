// The fork family of the posix layer: fork(2) made safe for a running Node process, _exit(2), and
// pthread_atfork(3)-style hooks. The native side is the fork addon (native/fork/run.cc: quiesce, fork, repair
// the child, leave by _exit; its assumptions are probed in native/fork/internals.h); the child's JS side of the
// repair is lib/posix/child.ts. README "Fork safety" says what a forked child may do.
import v8 from 'node:v8';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';
import { loadForkAddon, native, type ForkProbe, type ForkStats } from '../binding/addon.js';
import { describe, rangeError, typeError } from './errors.js';
import { PHASE_EXIT, asyncResets, dropInheritedTicks, exitCodeOf, forkState, jsProbes, refreshUuidCache, repairChild, resetAsyncContext, warmChildRepair } from './child.js';
import { debug } from './debug.js';

export type { ForkProbe, ForkStats } from '../binding/addon.js';

/** What fork() uses of Node's `process` beyond its public API (probed in lib/posix/child.ts: 'exiting', 'tick-callback'). */
type NodeProcess = typeof process & { _exiting: boolean; _tickCallback(): void };

/** The hooks of {@link atFork}; each is optional. */
export interface AtForkHooks {
  /** In the parent, before the fork (an exception aborts it). */
  prepare?(): void;
  /** In the parent, after the fork. */
  parent?(): void;
  /** In the child, after its repair. */
  child?(): void;
}
const hooks: AtForkHooks[] = [];

/**
 * Registers functions to run around every fork(), like pthread_atfork(3): `prepare` in the parent before
 * the fork (last registered first), `parent` in the parent after it and `child` in the child (first
 * registered first). Use `child` to re-seed generators or drop state that must not be shared. An exception
 * in `prepare` aborts the fork; exceptions in `parent`/`child` are printed to stderr and otherwise ignored.
 * Returns a function that unregisters the hooks.
 */
export function atFork(h: AtForkHooks): () => void {
  if (h === null || typeof h !== 'object') throw typeError(`The "hooks" argument must be an object. Received ${describe(h)}`);
  for (const k of ['prepare', 'parent', 'child'] as const) {
    if (h[k] !== undefined && typeof h[k] !== 'function') throw typeError(`The "hooks.${k}" property must be a function`);
  }
  const entry = { ...h };
  hooks.push(entry);
  return () => {
    const i = hooks.indexOf(entry);
    if (i >= 0) hooks.splice(i, 1);
  };
}

const runHooks = (function runHooks(kind: 'parent' | 'child'): void {
  for (const h of [...hooks]) {
    try {
      h[kind]?.();
    } catch (e) {
      process.stderr.write(`multiproc: an atFork ${kind} hook threw: ${(e as Error)?.stack ?? String(e)}\n`);
    }
  }
});

/** Milliseconds fork() waits for V8's background threads to become idle before giving up. */
export let forkQuiesceTimeout = 10_000;
/** Sets {@link forkQuiesceTimeout} (1 ..= 600000 ms). */
export function setForkQuiesceTimeout(ms: number): void {
  if (!Number.isFinite(ms) || ms < 1 || ms > 600_000) throw rangeError('The quiesce timeout must be between 1 and 600000 ms');
  forkQuiesceTimeout = ms;
}

/** What the child's loop calls when it has nothing left to do (see native/fork/fork.cc). */
const onChildLoopDry = (function onChildLoopDry(exiting: boolean): number | undefined {
  const code = exitCodeOf(process.exitCode);
  if (!exiting) {
    process.emit('beforeExit', code);
    return undefined;
  }
  (process as NodeProcess)._exiting = true;
  process.emit('exit', code);
  return exitCodeOf(process.exitCode);
});


/**
 * fork(2): creates a child process that is a copy of this one. Returns the child's pid in the parent and 0
 * in the child. See fork(2).
 *
 * # Safety (what a forked Node child is; README "Fork safety")
 * The child has one thread (this one) and a repaired event loop: it may run any JavaScript, sync or async
 * (promises, timers, fs, child_process, net), allocate, print, and use pipes and shared memory. It must end
 * with {@link exit}, `process.exit()`, an uncaught exception or by running out of work, all of which end in
 * `_exit` after flushing stdout/stderr (Node's teardown never runs in a child). It does not service the
 * parent's sockets, servers, watchers or timers, and it drops the parent's 'exit', 'beforeExit',
 * 'uncaughtException', 'unhandledRejection' and signal listeners. It cannot use worker_threads (the V8
 * platform has no threads in the child). fork() from a worker_thread is an error.
 */
export function fork(): number {
  return forkWith();
}

/**
 * Forks, and runs `entry` in the child; returns the child's pid in the parent and never returns in the
 * child. This is fork() for code that must not continue in the child (the code after the call is the
 * parent's): no code after the call, no `catch` and no `finally` of the caller runs in the child. The child
 * ends with status 0 when `entry` (or the promise it returns) succeeds, 1 when it throws (the stack goes to
 * stderr), whatever it passes to exit()/process.exit(), or 0 when its event loop runs out of work.
 * Everything {@link fork} says about the child applies. How the child leaves the caller's stack depends on
 * where the call is made (see native/fork/fork.cc): inside a running microtask checkpoint (after an await)
 * the microtasks the parent had queued are dropped in the child; elsewhere they run in the child, as any
 * state copied at the fork instant.
 */
export function forkAndRun(entry: () => unknown): number {
  if (typeof entry !== 'function') throw typeError(`The "entry" argument must be of type function. Received ${describe(entry)}`);
  const resetsBefore = asyncResets();
  const run = (function run(): void {
    if (asyncResets() === resetsBefore && !process.hasUncaughtExceptionCaptureCallback()) {
      // internals.h #8 no longer holds on this Node: the child's async-context stack may be corrupt.
      process.stderr.write(`multiproc: the forked child could not reset its async context on ${process.version} (probe 'async-reset'); exiting\n`);
      return exit(70);
    }
    let result: unknown;
    try {
      result = entry();
    } catch (e) {
      return childFailed(e);
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(
        () => exit(0),
        (e) => childFailed(e),
      );
    } else {
      exit(0);
    }
  });
  return forkWith(run);
}

const childFailed: (e: unknown) => never = (function childFailed(e: unknown): never {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  return exit(1);
});

/** Node's own nextTick + microtask pass (a forkAndRun child whose loop runs nested drains with it). */
const runTicks = (): void => (process as NodeProcess)._tickCallback();

/** The child's side of every fork: repair, then the registered child hooks. */
const inChild = (function inChild(): void {
  repairChild();
  debug('fork: child %d of %d', process.pid, process.ppid);
  runHooks('child');
});

/** The child's side of forkAndRun: also drops the ticks its parent had queued. */
const inChildRun = (function inChildRun(): void {
  dropInheritedTicks();
  inChild();
});

/**
 * The probes of what fork() assumes about Node, V8 and libuv (native/fork/internals.h): native ones, run when
 * the fork addon loads, and the JS ones of lib/posix/child.ts. fork() refuses, naming the probe, if one failed.
 */
export function forkProbes(): ForkProbe[] {
  return [...loadForkAddon().probes(), ...jsProbes];
}

// ---- a young generation that is due for collection is collected here, not in every child ----
//
// V8 posts a scavenge task once the young generation is ~80% full (v8 flag scavenge_task_trigger); a parent
// that forks in a synchronous loop never runs it, and every child inherits it and runs it on its copy of the
// heap: 2-6 ms of copy-on-write faults (and TLB shootdowns across the worker threads it starts) per child,
// for about half the children of a fork loop. So fork() collects the young generation first when it is past
// YOUNG_USED_MAX, once in the parent. The collector is V8's gc() (of a context made while the expose-gc flag
// was briefly on: public v8/vm APIs; a node already run with --expose-gc keeps its flag).
const YOUNG_USED_MAX = 0.65;
let minorGc: ((o: { type: 'minor' }) => void) | null | undefined;
let youngCollections = 0;

function collectYoungIfDue(): void {
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (!young) return;
  const total = young.space_used_size + young.space_available_size;
  if (total === 0 || young.space_used_size < total * YOUNG_USED_MAX) return;
  if (minorGc === undefined) {
    const exposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
    try {
      if (!exposed) v8.setFlagsFromString('--expose-gc');
      minorGc = vm.runInNewContext('gc') as typeof minorGc;
    } catch {
      minorGc = null;
    } finally {
      if (!exposed) v8.setFlagsFromString('--no-expose-gc');
    }
    if (typeof minorGc !== 'function') minorGc = null;
  }
  if (minorGc) {
    minorGc({ type: 'minor' });
    youngCollections++;
  }
}

/** fork() and forkAndRun(): with `entry`, the child runs it and never returns from here. */
function forkWith(entry?: () => void): number {
  if (!isMainThread) {
    const err = new Error('fork() must be called from the main thread, not a worker_thread: the child would have no main thread. Use the spawn start method from workers.');
    (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_FORK_THREAD';
    throw err;
  }
  const addon = loadForkAddon();
  const failed = jsProbes.find((p) => !p.ok);
  if (failed) {
    const err = new Error(`fork() is not safe on this Node (${process.version}): the probe '${failed.name}' of lib/posix/child.ts failed (${failed.detail}). Supported Node lines: 20, 22, 24, 26; use the spawn start method here.`);
    (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_FORK_PROBE';
    throw err;
  }
  for (let i = hooks.length - 1; i >= 0; i--) hooks[i]!.prepare?.();
  warmChildRepair();
  collectYoungIfDue();
  let pid: number;
  try {
    pid = entry
      ? addon.fork(onChildLoopDry, forkQuiesceTimeout, inChildRun, entry, runTicks, resetAsyncContext)
      : addon.fork(onChildLoopDry, forkQuiesceTimeout);
  } catch (e) {
    runHooks('parent');
    throw e;
  }
  if (pid === 0) {
    inChild(); // plain fork(): the child returns 0 to its caller, as in C
    return 0;
  }
  refreshUuidCache();
  debug('fork: parent %d forked child %d', process.pid, pid);
  runHooks('parent');
  return pid;
}

/** True in a process created by {@link fork} (not in one started any other way). */
export function isForkedChild(): boolean {
  return forkState.isChild;
}

/** Timings of the last fork() (quiesce, MADV_DOFORK re-marking, fork itself) and counts, for benchmarks. */
export function forkStats(): ForkStats {
  return { ...loadForkAddon().stats(), youngCollections };
}

/**
 * Ends this process at once with `code` (0–255), like _exit(2), after flushing stdout and stderr. No 'exit'
 * listeners run and Node's teardown is skipped: this is how a forked child must leave.
 */
export const exit: (code?: number) => never = (function exit(code = 0): never {
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw rangeError(`The value of "code" is out of range. It must be an integer >= 0 && <= 255. Received ${String(code)}`);
  }
  debug('exit(%d) in %d', code, process.pid);
  if (forkState.isChild) loadForkAddon().mark(PHASE_EXIT);
  return native._exit(code);
});

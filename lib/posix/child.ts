// What a forked child repairs in JavaScript, right after fork() returned 0 and before any other JS runs.
// (The native side, native/fork/fork.cc, already repaired the event loop and made the parent's I/O handles
// inert.) See README "Fork safety" for the list of what a child inherits and what it does not.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { loadForkAddon, native } from '../binding/addon.js';

// ---- timers: the parent's pending timeouts, intervals and immediates must not fire in the child ----
//
// Node keeps its timer lists in internal modules that no public API can enumerate. We track every Timeout and
// Immediate as it is constructed: the constructors assign `this._idleTimeout` / `this._onImmediate`, and an
// accessor of that name on the prototype sees the assignment, records the object and turns the property into
// an ordinary own data property. Cost: about 0.5 µs per timer created. Timers created before multiproc was
// imported are not tracked (import it first); the child clears what it tracked with clearTimeout/clearImmediate.
const tracked = new Set<object>();
let pruneAt = 1024;

function prune(): void {
  for (const t of tracked) if ((t as { _destroyed?: boolean })._destroyed) tracked.delete(t);
  pruneAt = Math.max(1024, tracked.size * 2);
}

function hookConstructorAssignment(proto: object, key: string): boolean {
  const existing = Object.getOwnPropertyDescriptor(proto, key);
  if (existing) return false; // already hooked (module loaded twice) or Node changed: leave it alone
  Object.defineProperty(proto, key, {
    configurable: true,
    enumerable: false,
    get(): undefined {
      return undefined;
    },
    set(this: object, value: unknown) {
      Object.defineProperty(this, key, { value, writable: true, enumerable: true, configurable: true });
      tracked.add(this);
      if (tracked.size >= pruneAt) prune();
    },
  });
  return true;
}

function installTimerTracking(): boolean {
  const t = setTimeout(() => {}, 0);
  clearTimeout(t);
  const i = setImmediate(() => {});
  clearImmediate(i);
  const a = hookConstructorAssignment(Object.getPrototypeOf(t), '_idleTimeout');
  const b = hookConstructorAssignment(Object.getPrototypeOf(i), '_onImmediate');
  return a && b;
}

/** True when the timer hooks are in place (tests assert it, so a Node change cannot go unnoticed). */
export const timersTracked = installTimerTracking();

const disarmTimers = (function disarmTimers(timers: Set<object>): number {
  let n = 0;
  for (const t of timers) {
    if ((t as { _destroyed?: boolean })._destroyed) continue;
    const name = t.constructor?.name;
    if (name === 'Immediate') clearImmediate(t as NodeJS.Immediate);
    else clearTimeout(t as NodeJS.Timeout);
    n++;
  }
  timers.clear();
  return n;
});

// ---- process.nextTick: the parent's pending ticks are the parent's continuations ----
//
// A forkAndRun child must not run what its parent had queued (internals.h #7 drops the parent's microtasks).
// Node's tick queue has no API to drop it, but Node's own modules and user code queue ticks through
// `process.nextTick`, looked up on `process` at each call: every tick queued through it carries the epoch it
// was queued in, and a tick of an earlier epoch does nothing. A forkAndRun child starts a new epoch.
// `process.nextTick` becomes an accessor whose getter always returns the epoch wrapper: code that swaps in a
// function of its own (fake timers; vitest around its RPC calls) swaps what the wrapper calls, and putting the
// wrapper back restores Node's own. (Ticks queued before multiproc was imported are not seen.)
let tickEpoch = 0;
const nodeNextTick = process.nextTick;
let innerNextTick = nodeNextTick;

function runTick(epoch: number, fn: (...args: unknown[]) => void, ...args: unknown[]): void {
  if (epoch === tickEpoch) fn(...args);
}

function nextTick(fn: (...args: unknown[]) => void, ...args: unknown[]): void {
  if (typeof fn !== 'function') return innerNextTick(fn); // Node's own ERR_INVALID_ARG_TYPE
  innerNextTick(runTick, tickEpoch, fn, ...args);
}
Object.defineProperty(nextTick, 'name', { value: 'nextTick' });
Object.defineProperty(process, 'nextTick', {
  configurable: true,
  enumerable: true,
  get: () => nextTick,
  set: (fn: typeof process.nextTick) => {
    innerNextTick = fn === (nextTick as unknown) || typeof fn !== 'function' ? nodeNextTick : fn;
  },
});

/** In a forkAndRun child: ticks its parent queued before the fork are dropped. */
export const dropInheritedTicks = (function dropInheritedTicks(): void {
  tickEpoch++;
});

// ---- the async-context stack of a child that unwound its parent's frames ----
//
// A forkAndRun child that leaves its caller by termination (native/fork/run.cc) skips the pops of the async-id
// stack those frames had pushed; with async hooks enabled Node would then abort on the first mismatched pop.
// Node empties that stack whenever an uncaught exception is handled (internals.h #8), so the child throws a
// private value that only its own one-shot listener takes — a public route, where Node 20 and 22 offered
// process.binding('async_wrap') and Node 24 removed it.
const resetMark = Symbol('multiproc: reset the async context');
let resetsSeen = 0;

/** Called by the fork addon in the child, before the entry (inside a verbose TryCatch). */
export const resetAsyncContext = (function resetAsyncContext(): void {
  // A domain (or anything that set a capture callback) takes every uncaught exception: leave it alone.
  if (process.hasUncaughtExceptionCaptureCallback()) return;
  const events = ['uncaughtExceptionMonitor', 'uncaughtException'] as const;
  const saved = events.map((e) => process.rawListeners(e));
  for (const e of events) process.removeAllListeners(e);
  process.on('uncaughtException', function take(err) {
    process.removeListener('uncaughtException', take);
    events.forEach((e, i) => saved[i]!.forEach((l) => process.on(e, l as (...a: unknown[]) => void)));
    if ((err as unknown) !== resetMark) throw err;
    resetsSeen++;
  });
  throw resetMark;
});

/** How many async-context resets Node carried out (a test and the child's self-check read it). */
export const asyncResets = (function asyncResets(): number {
  return resetsSeen;
});

// ---- randomness: the child must not repeat the parent's "random" values ----
//
// Math.random's state lives inside V8's native context and no API reseeds it, so the child gets another
// Math.random (made here, in the parent, so the child only assigns it) that draws from OpenSSL's CSPRNG
// (crypto.randomFillSync; OpenSSL reseeds after fork), 53 bits per double, filled on first use
// (getRandomValues would load the WebCrypto module: ~0.7 ms in a child).
// crypto.randomUUID() serves UUIDs from a cache of 128 filled in advance, shared by node:crypto and WebCrypto:
// after every fork the *parent* draws the rest of it (refreshUuidCache, ~20 us), so the cache a child
// inherited is never served by the parent or a later sibling; the child uses it alone. (A child that drained it
// itself paid ~140 copy-on-write faults and OpenSSL's reseed even when it never asked for a UUID.)
const UUID_BATCH = 128;

const childRandom = (() => {
  let words: Uint32Array | undefined;
  let next = 0;
  return function random(): number {
    if (words === undefined || next >= words.length) {
      words ??= new Uint32Array(512);
      crypto.randomFillSync(words);
      next = 0;
    }
    const hi = words[next++]! >>> 5; // 27 bits
    const lo = words[next++]! >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
})();

const reseed = (function reseed(): void {
  Math.random = childRandom;
});

/** In the parent, right after a fork: the UUIDs left in the cache are the child's now. */
export function refreshUuidCache(): void {
  for (let i = 0; i < UUID_BATCH; i++) crypto.randomUUID();
}

// ---- stdio: synchronous in the child, so that _exit never loses output ----

/** stdout and stderr written synchronously (poll on EAGAIN): an exit right after a write loses nothing. */
export const synchronousStdio = (function synchronousStdio(): void {
  makeStdioSynchronous(process.stdout, 1);
  makeStdioSynchronous(process.stderr, 2);
});

const makeStdioSynchronous = (function makeStdioSynchronous(stream: NodeJS.WriteStream, fd: number): void {
  const s = stream as unknown as {
    _write: (chunk: Buffer | string, enc: BufferEncoding | 'buffer', cb: (e?: Error | null) => void) => void;
    _writev?: unknown;
  };
  s._write = (function _write(chunk: Buffer | string, enc: BufferEncoding | 'buffer', cb: (e?: Error | null) => void) {
    try {
      // Streams created with decodeStrings: false (test runners do that) hand us strings.
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, enc === 'buffer' ? 'utf8' : enc) : chunk;
      native.writeAllSync(fd, bytes);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  });
  s._writev = undefined;
});

// ---- process listeners: the parent's are the parent's ----

/** Events whose parent listeners a forked child drops (everything else is kept). */
export const droppedEvents = [
  'exit',
  'beforeExit',
  'uncaughtException',
  'uncaughtExceptionMonitor',
  'unhandledRejection',
  'message',
  'disconnect',
] as const;

const droppedEventSet = new Set<string | symbol>(droppedEvents);
process.eventNames(); // compiled here once, not in every child (Node runs it for no one else)

const dropListeners = (function dropListeners(emitter: NodeJS.EventEmitter): void {
  // eventNames(), not listenerCount per signal name: loaders (tsx) patch listenerCount to hide their own
  // signal handlers, which would otherwise survive into the child (a terminate()d child then exits 143
  // instead of -15); and one call instead of one per signal (~70) is ~0.3 ms less per fork.
  for (const name of emitter.eventNames()) {
    if (droppedEventSet.has(name) || (typeof name === 'string' && name in native.signals)) emitter.removeAllListeners(name);
  }
});

// ---- the child's repair code, run in the parent on stand-ins ----
//
// disarmTimers and dropListeners run for real only in children, where their first run pays for cold inline
// caches (and, once V8 has flushed the bytecode of code unused for a while, a recompile), in copy-on-write
// faults of every child: ~140 and ~230 µs of the repair. Run in the parent before each fork() on objects of
// their own (a Timeout and an Immediate, cleared once; an EventEmitter), they cost the child ~45 and ~100 µs.
const standInTimers: object[] = [];
const standInEmitter = new EventEmitter();
const noop = (): void => {};

/** Runs disarmTimers and dropListeners on stand-ins (fork() calls it in the parent, before fork(2)). */
export const warmChildRepair = (function warmChildRepair(): void {
  if (standInTimers.length === 0) {
    // Live timers once (the clearing path), untracked: they are this module's, not the program's.
    const t = setTimeout(noop, 2 ** 30);
    const i = setImmediate(noop);
    tracked.delete(t);
    tracked.delete(i);
    standInTimers.push(t, i);
  }
  disarmTimers(new Set(standInTimers));
  standInEmitter.on('removeListener', noop);
  standInEmitter.on('exit', noop);
  standInEmitter.on('SIGTERM', noop);
  dropListeners(standInEmitter);
  standInEmitter.removeAllListeners();
});

/** process.exitCode as an exit status (0–255). */
export const exitCodeOf = (function exitCodeOf(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : (value as number | undefined);
  return typeof n === 'number' && Number.isInteger(n) ? n & 0xff : 0;
});

/**
 * The child's process.exit: Node's semantics ('exit' listeners of the child run once, process.exitCode is
 * honoured), ending in _exit. It replaces whatever the parent had installed (test runners replace
 * process.exit in their workers; that replacement is the parent's business).
 */
const childExit: (code?: number | string | null) => never = (function childExit(code?: number | string | null): never {
  if (code !== undefined && code !== null) process.exitCode = code;
  const p = process as unknown as { _exiting: boolean };
  if (!p._exiting) {
    p._exiting = true;
    process.emit('exit', exitCodeOf(process.exitCode));
  }
  loadForkAddon().mark(PHASE_EXIT);
  return native._exit(exitCodeOf(process.exitCode));
});

// ---- what this file assumes about Node (native/fork/internals.h #9), checked once at load ----

/** The JS-side probes: fork() refuses with ERR_MULTIPROC_FORK_PROBE when one fails. */
export const jsProbes: readonly { name: string; ok: boolean; detail: string }[] = [
  { name: 'tick-callback', ok: typeof (process as unknown as { _tickCallback?: unknown })._tickCallback === 'function', detail: 'process._tickCallback runs the nextTick + microtask pass' },
  { name: 'exiting', ok: typeof (process as unknown as { _exiting?: unknown })._exiting === 'boolean', detail: 'process._exiting' },
  { name: 'timers', ok: timersTracked, detail: 'Timeout/Immediate constructors assign _idleTimeout/_onImmediate' },
  { name: 'stdio', ok: [process.stdout, process.stderr].every((s) => typeof (s as unknown as { _write?: unknown })._write === 'function'), detail: 'stdout/stderr have a replaceable _write' },
  { name: 'next-tick', ok: process.nextTick === (nextTick as unknown), detail: 'process.nextTick can be wrapped' },
  { name: 'uncaught-exception', ok: typeof process.hasUncaughtExceptionCaptureCallback === 'function', detail: 'handled uncaught exceptions reset the async-id stack' },
];

// ---- identity: process.pid and process.ppid ----
//
// Node sets both as data properties at start, and a child's must be its own. Redefining them in the child
// wrote to the process object's property dictionary (~30 copy-on-write faults per child); instead they become
// accessors here, once: pid reads a variable the child sets, ppid asks the kernel (it changes on adoption).
let ownPid = process.pid;
Object.defineProperty(process, 'pid', { get: () => ownPid, enumerable: true, configurable: true });
Object.defineProperty(process, 'ppid', { get: () => native.getppid(), enumerable: true, configurable: true });

/** State of this process with respect to multiproc's fork. */
export const forkState = { isChild: false, forkedAt: 0, disarmedTimers: 0 };

/** Called by fork() in the child, first thing. */
export const repairChild = (function repairChild(): void {
  const marks = loadForkAddon();
  marks.mark(PHASE_REPAIR_START);
  ownPid = native.getpid();
  forkState.isChild = true;
  forkState.forkedAt = Date.now();
  forkState.disarmedTimers = disarmTimers(tracked);
  dropListeners(process);
  process.exit = childExit;
  synchronousStdio();
  reseed();
  marks.mark(PHASE_REPAIR_END);
});

// Phases a child stamps for forkStats().child (native/fork/run.cc's Mark).
const PHASE_REPAIR_START = 5;
const PHASE_REPAIR_END = 6;
export const PHASE_EXIT = 7;

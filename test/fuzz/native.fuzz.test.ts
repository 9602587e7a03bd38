// Fuzzes every native function of both addons with random and hostile arguments (wrong types, NaN, negative
// and huge numbers, detached/odd buffers, throwing proxies, closed fds, wrong argument counts): the only
// acceptable outcomes are a return value or a thrown Error with a string `code`, never a crash.
//
// The whole fuzz loop runs in a forked sandbox child, so a crash (SIGSEGV, SIGABRT...) shows up here as a
// `signaled` wait status instead of killing the vitest worker. The sandbox reports its counts through a pipe
// and writes the call it is about to make to a progress file, so a crash names its last call.
//
// The fuzzer is harmless by construction: every generated argument list goes through its function's guard,
// which emulates the native argument checks and refuses (the generator then tries again) any list that the
// native code would accept and that would touch something the fuzzer does not own:
//   - pids: only 0/-1 where they mean "this process / my children", the sandbox's own pid (kill: signal 0
//     only) and `cat` children the sandbox spawned itself (reaped at the end); never kill(pid <= 0);
//   - fds: only fds the fuzzer opened (pipes, socketpairs, files in its temp dir; never 0/1/2) and numbers
//     that are verifiably closed; all of them O_NONBLOCK, so read/write never block; writeAllSync only on
//     regular files; poll only with timeout 0 or 1 on open fds;
//   - _exit and the fork addon's fork(): invalid arguments only; setrlimit: RLIMIT_CORE with soft 0 only;
//     mkfifo/open: paths in the sandbox's temp dir only (and open with O_NONBLOCK, so a FIFO cannot block);
//   - shared memory: shm names of the form /multiproc-fuzz-<sandbox pid>-<n> only (unlinked at the end, and by
//     the parent after a crash, with the named semaphores and queues of that prefix); mappings and file sizes of
//     at most 1 MiB; memory is only ever written in anonymous mappings (a file-backed one whose file got
//     truncated would SIGBUS, by design of mmap); fillBench with small sizes only;
//   - async work (waitpidAsync/readAsync/writeAsync/recvFdsAsync/mqSendAsync/mqReceiveAsync) is tracked and
//     cancelled before its fd is closed and at the end; the sandbox must end with nothing pending in the reactor;
//   - spawn: a call that reaches posix_spawn runs /bin/true (argv ['true'], env undefined or tiny, child fds
//     mapped only from fuzzer-owned fds) or a path in the temp dir (which cannot be executed); every pid it
//     returns is recorded with the `cat` children and reaped by the sandbox;
//   - fd passing: sendFds/recvFds only on fuzzer-owned sockets (socketpair ends), passing only fuzzer-owned
//     (or closed) fds; every fd received (recvFds, recvFdsAsync callbacks) becomes fuzzer-owned;
//   - the sync family: every Semaphore/Mutex/Cond/Barrier lives in an anonymous mapping of the fuzzer that holds
//     objects of that one kind (never one that reads, fillBench or async buffers write into), in a slot of
//     SYNC_SLOT bytes chosen by the fuzzer, so no two objects overlap; named semaphores use the sandbox's own
//     prefix. Nothing may block: a wait that can sleep (wait, semWaitFast, timedWait with a long timeout, the
//     ping-pong bench) only on a semaphore whose value is > 0 and on which no async wait of ours is pending;
//     a lock that can sleep (lock, mutexLockFast, timedLock with a long timeout, mutexBench) only on a mutex
//     made by mutexInit (robust and error-checking: this single thread gets EDEADLK, never a sleep); barrier
//     waits and destroy only on a barrier barrierInit made with count 1 (destroy: any count); Cond.wait with
//     a short timeout only; async waits with one of our callbacks (so their end is seen), cancelled at the end;
//     bench loops with 0 or 1 iterations, under the same conditions. Calls on a destroyed/closed object or a
//     closed mapping are always fine (they throw before the syscall);
//   - message queues: names with the sandbox's prefix only, at most two queues at a time (maxMessages <= 4,
//     messageSize <= 256), at most a few descriptors; a send/receive that can sleep only on a queue that is
//     non-blocking or has room/messages (mq_getattr just before), timed ones with a short timeout otherwise;
//   - bench loops (pingPongBench, mqPingPongBench, the sync benches): 0 or 1 iteration, on fds and objects
//     set up so that they cannot block (all owned fds are O_NONBLOCK).
//
// Functions are enumerated from the addons themselves, including the prototype methods and accessors of the
// classes they export (Mapping.prototype.close...): one without a schema below fails the test.
//
// MULTIPROC_FUZZ_SEED replays a run (the seed is printed); MULTIPROC_FUZZ_CALLS sets the number of calls.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { types } from 'node:util';
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { loadForkAddon, native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { forkRun, readAll, reap } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

// ---------------------------------------------------------------------------------------------------------
// constants

function constant(table: Record<string, number>, name: string): number {
  const v = table[name];
  if (v === undefined) throw new Error(`native constant ${name} is missing`);
  return v;
}

const O_RDONLY = constant(native.fdConstants, 'O_RDONLY');
const O_WRONLY = constant(native.fdConstants, 'O_WRONLY');
const O_RDWR = constant(native.fdConstants, 'O_RDWR');
const O_NONBLOCK = constant(native.fdConstants, 'O_NONBLOCK');
const O_DIRECT = constant(native.fdConstants, 'O_DIRECT');
const O_CREAT = constant(native.fdConstants, 'O_CREAT');
const O_EXCL = constant(native.fdConstants, 'O_EXCL');
const O_TRUNC = constant(native.fdConstants, 'O_TRUNC');
const O_APPEND = constant(native.fdConstants, 'O_APPEND');
const SOCK_STREAM = constant(native.fdConstants, 'SOCK_STREAM');
const SOCK_DGRAM = constant(native.fdConstants, 'SOCK_DGRAM');
const SOCK_SEQPACKET = constant(native.fdConstants, 'SOCK_SEQPACKET');
const POLLIN = constant(native.fdConstants, 'POLLIN');
const POLLOUT = constant(native.fdConstants, 'POLLOUT');
const WNOHANG = constant(native.processConstants, 'WNOHANG');
const WUNTRACED = constant(native.processConstants, 'WUNTRACED');
const WCONTINUED = constant(native.processConstants, 'WCONTINUED');
const RLIMIT_CORE = constant(native.processConstants, 'RLIMIT_CORE');
const RLIMIT_NOFILE = constant(native.processConstants, 'RLIMIT_NOFILE');
const CPU_SETSIZE = constant(native.processConstants, 'CPU_SETSIZE');
const SIG = (name: string): number => constant(native.signals, name);
const SIGRTMAX = SIG('SIGRTMAX');
const RLIMIT_NLIMITS = 16; // Linux; getrlimit accepts 0..15
const FD_MAX = 2 ** 30; // native/fd.cc kFdMax
const INT_MAX = 2 ** 31 - 1;
const SHM_LEN_MAX = 2 ** 46; // native/shm.cc kMaxLength
/** Valid mapping lengths and file sizes stay at or below this. */
const SMALL = 1 << 20;
/** The main addon, untyped: new functions are called before lib/binding/addon.ts declares them. */
const mainAddon = native as unknown as Record<string, unknown>;
const mainFn = (name: string): AnyFn | undefined => {
  const v = mainAddon[name];
  return typeof v === 'function' ? (v as AnyFn) : undefined;
};
const PID_MAX = 4194304; // native/process.cc kPidMax
/** Numbers the native layer accepts as fds but that can never be open (above any RLIMIT_NOFILE). */
const CLOSED_FDS = [FD_MAX, FD_MAX - 1];
/** Signals the fuzzer may send to its own `cat` children (no stop signals: a stopped orphan would linger). */
const HARMLESS_CHILD_SIGNALS = [0, SIG('SIGCONT'), SIG('SIGWINCH'), SIG('SIGURG'), SIG('SIGCHLD')];
const LETHAL_CHILD_SIGNALS = [SIG('SIGTERM'), SIG('SIGKILL'), SIG('SIGINT'), SIG('SIGHUP'), SIG('SIGUSR2'), SIG('SIGALRM')];
const CHILD_SIGNALS = [...HARMLESS_CHILD_SIGNALS, ...LETHAL_CHILD_SIGNALS];
/** Parent-death signals the sandbox may arm (delivered only if the vitest worker dies first). */
const PDEATH_SIGNALS = [0, SIG('SIGKILL'), SIG('SIGTERM'), SIG('SIGHUP')];

// The sync family (native/sync.cc).
type SyncKind = 'sem' | 'mutex' | 'cond' | 'barrier';
const SYNC_KINDS: readonly SyncKind[] = ['sem', 'mutex', 'cond', 'barrier'];
/** The class each kind's objects belong to (the schema names of their methods start with it). */
const SYNC_CLASS: Record<SyncKind, string> = { sem: 'Semaphore', mutex: 'Mutex', cond: 'Cond', barrier: 'Barrier' };
const syncTable = (name: string): Partial<Record<SyncKind, number>> => (mainAddon[name] ?? {}) as Partial<Record<SyncKind, number>>;
/** sizeof / alignof of each kind (32/40/48/32 and 8 on x86-64). */
const SYNC_SIZE: Record<SyncKind, number> = { sem: 32, mutex: 40, cond: 48, barrier: 32, ...syncTable('syncSizes') };
const SYNC_ALIGN: Record<SyncKind, number> = { sem: 8, mutex: 8, cond: 8, barrier: 8, ...syncTable('syncAlign') };
/** A sync mapping holds objects of one kind at offsets k * SYNC_SLOT, k < SYNC_SLOTS: they never overlap. */
const SYNC_SLOT = 64;
const SYNC_SLOTS = 8;
/** mutexBench's counter (an int32 it increments) lives here in a mutex mapping, away from every mutex. */
const MUTEX_COUNTER_BASE = 2048;
const MUTEX_COUNTER_SPAN = 256;
const SYNC_OFFSET_MAX = 2 ** 46; // native/sync.cc kMaxOffset
const HANDLE_LIMIT = 2 ** 52; // fast-function handles are integers below this
const SEM_VALUE_MAX = ((mainAddon.syncConstants ?? {}) as Record<string, number | undefined>).SEM_VALUE_MAX ?? INT_MAX;
/** Timeouts (ms) at or below this are short enough to sleep through. */
const SHORT_MS = 5;
/** Async sync waits (threads of the addon) pending at once, at most. */
const SYNC_WAITS_MAX = 16;
const BENCH_ITER_MAX = 2 ** 40; // native/bench.cc kMaxIterations
// Message queues (native/mqueue.cc).
const mqConst = (name: string, fallback: number): number =>
  ((mainAddon.mqConstants ?? {}) as Record<string, number | undefined>)[name] ?? fallback;
const MQ_PRIO_MAX = mqConst('MQ_PRIO_MAX', 32768);
const MQ_TIMEOUT_MAX = 1e12;
/** Queues in existence at once (named or still open), descriptors open at once, and their size when created. */
const MQ_QUEUES_MAX = 2;
const MQ_FDS_MAX = 4;
const MQ_MAXMSG = 4;
const MQ_MSGSIZE = 256;
// fd passing (native/fd.cc).
const SCM_MAX_FD = 253;
const RECV_BYTES_MAX = 2 ** 26;
/** /bin/true children of spawn not yet reaped, at most. */
const SPAWNED_MAX = 8;
const TRUE_BIN = '/bin/true';
/** The progress file: the last PROGRESS_SLOTS steps of the sandbox, one fixed-size slot each. */
const PROGRESS_SLOTS = 64;
const PROGRESS_SLOT_BYTES = 2048;

/** The steps in the progress file, oldest first. */
function readProgress(file: string): string[] {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch {
    return ['(no progress file)'];
  }
  const steps: [number, string][] = [];
  for (let off = 0; off < data.length; off += PROGRESS_SLOT_BYTES) {
    const line = data.subarray(off, off + PROGRESS_SLOT_BYTES).toString('utf8').split('\n')[0] ?? '';
    const tab = line.indexOf('\t');
    if (tab > 0) steps.push([Number(line.slice(0, tab)), line.slice(tab + 1)]);
  }
  return steps.sort((a, b) => a[0] - b[0]).map(([, text]) => text);
}

// ---------------------------------------------------------------------------------------------------------
// small helpers

type AnyFn = (...args: unknown[]) => unknown;
interface Arg {
  v: unknown;
  d: string;
}
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Kind = 'pipe' | 'socket' | 'file' | 'dir' | 'mq' | 'other';

interface ResizableArrayBuffer extends ArrayBuffer {
  resize(n: number): void;
  readonly maxByteLength: number;
}
const ResizableArrayBufferCtor = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ResizableArrayBuffer;

function coded(code: string, message: string): Error {
  const e = new Error(message);
  (e as NodeJS.ErrnoException).code = code;
  return e;
}

/** Integer test that also holds for -0 (which the native layer reads as 0). */
function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function show(v: unknown): string {
  try {
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
    if (typeof v === 'string') return v.length > 48 ? `${JSON.stringify(v.slice(0, 40))}…(${v.length} chars)` : JSON.stringify(v);
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'function') return 'function';
    if (Array.isArray(v)) return `[${v.slice(0, 6).map(show).join(',')}${v.length > 6 ? `,…(${v.length})` : ''}]`;
    if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length}${v.byteOffset ? ` @${v.byteOffset}` : ''})`;
    return String(v);
  } catch {
    return '<unprintable>';
  }
}

function describeThrown(e: unknown): string {
  try {
    if (e instanceof Error) {
      const x = e as NodeJS.ErrnoException;
      return `${e.name} code=${String(x.code)} errno=${String(x.errno)} syscall=${String(x.syscall)}: ${e.message.slice(0, 200)}`;
    }
    return `non-Error ${typeof e}: ${String(e).slice(0, 200)}`;
  } catch {
    return 'an unprintable value';
  }
}

/**
 * Errors that V8 or node-addon-api throw before any code of the addon runs, which the addon therefore cannot
 * give a `code`: a method of an exported class called on a foreign receiver (V8's signature check), a class
 * constructor called without `new`. Counted, not failed.
 */
function isEngineError(e: unknown): boolean {
  try {
    return (
      e instanceof TypeError &&
      (e as NodeJS.ErrnoException).code === undefined &&
      (e.message === 'Illegal invocation' || e.message === "Class constructors cannot be invoked without 'new'")
    );
  } catch {
    return false;
  }
}

/** null when `e` is an acceptable native exception, else why not. */
function badThrown(e: unknown): string | null {
  try {
    if (!(e instanceof Error)) return 'not an Error instance';
    const x = e as NodeJS.ErrnoException;
    if (typeof x.code !== 'string' || x.code === '') return 'no string `code`';
    if (/^E[A-Z0-9]+$/.test(x.code) && (typeof x.errno !== 'number' || typeof x.syscall !== 'string')) {
      return 'a syscall error without numeric `errno` and string `syscall`';
    }
    return null;
  } catch {
    return 'inspecting it threw';
  }
}

/** "TypeError: Illegal invocation" (messages shortened to what identifies the kind of failure). */
function errorKind(e: unknown): string {
  try {
    if (e instanceof Error) return `${e.name}: ${e.message.replace(/Received .*/, '').slice(0, 80)}`;
    return typeof e;
  } catch {
    return 'unprintable';
  }
}

function byteLengthOf(v: unknown): number | undefined {
  try {
    return ArrayBuffer.isView(v) ? v.byteLength : undefined;
  } catch {
    return undefined;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------------------
// hostile values

interface Hostile {
  d: string;
  make(): unknown;
}

function hostileValues(): Hostile[] {
  const trap = (): never => {
    throw coded('ERR_FUZZ_TRAP', 'a hostile proxy trap, getter or valueOf ran');
  };
  const handler: ProxyHandler<object> = {
    get: trap, set: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, defineProperty: trap,
    deleteProperty: trap, getPrototypeOf: trap, setPrototypeOf: trap, isExtensible: trap, preventExtensions: trap,
    apply: trap, construct: trap,
  };
  const detached = new Uint8Array(16);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const oob = new ResizableArrayBufferCtor(64, { maxByteLength: 128 });
  const oobView = new Uint8Array(oob, 32, 16);
  oob.resize(8); // the fixed-length view is now out of bounds
  const xs = 'x'.repeat(10000);
  const s = (d: string, v: unknown): Hostile => ({ d, make: () => v });
  return [
    s('undefined', undefined), s('null', null), s('NaN', NaN), s('Infinity', Infinity), s('-Infinity', -Infinity),
    s('-1', -1), s('-2**31', -(2 ** 31)), s('2**31', 2 ** 31), s('2**31-1', 2 ** 31 - 1), s('-(2**31-1)', -(2 ** 31 - 1)),
    s('2**32', 2 ** 32), s('2**53', 2 ** 53), s('-2**53', -(2 ** 53)), s('1.5', 1.5), s('-0', -0), s('0.1', 0.1),
    s('Number.MAX_VALUE', Number.MAX_VALUE), s('Number.MIN_VALUE', Number.MIN_VALUE), s('-Number.MAX_VALUE', -Number.MAX_VALUE),
    s('2**30+1', FD_MAX + 1), s('4194305', PID_MAX + 1), s('65536', 65536), s('4096', 4096), s('600001', 600001), s('256', 256),
    s("'1'", '1'), s("''", ''), s("'x'.repeat(10000)", xs), s("'a\\0b'", 'a\0b'), s("'\\0'", '\0'), s("'SIGTERM'", 'SIGTERM'),
    s("' 7'", ' 7'), s("'\\ud800'", '\ud800'),
    s('true', true), s('false', false),
    s('{}', {}), s('[]', []), s("[1,'a']", [1, 'a']), s('Object.create(null)', Object.create(null)),
    s('Symbol()', Symbol('fuzz')), s('10n', 10n), s('-1n', -1n), s('2n**64n', 2n ** 64n),
    s('() => {}', () => {}), s('async () => {}', async () => {}), s('function* () {}', function* () {}),
    s('new Number(3)', new Number(3)), s("new String('3')", new String('3')), s('new Boolean(true)', new Boolean(true)),
    s('detached Uint8Array', detached), s('out-of-bounds Uint8Array on a shrunk resizable buffer', oobView),
    s('Uint16Array(4)', new Uint16Array(4)), s('Uint8ClampedArray(4)', new Uint8ClampedArray(4)), s('Int8Array(4)', new Int8Array(4)),
    s('Float64Array(2)', new Float64Array(2)), s('BigInt64Array(1)', new BigInt64Array(1)),
    s('DataView', new DataView(new ArrayBuffer(8))), s('ArrayBuffer(8)', new ArrayBuffer(8)), s('SharedArrayBuffer(8)', new SharedArrayBuffer(8)),
    s('throwing Proxy({})', new Proxy({}, handler)), s('throwing Proxy([])', new Proxy([], handler)),
    s('throwing Proxy(function)', new Proxy(function target() {}, handler)), s('revoked Proxy', revoked.proxy),
    s('{valueOf/toString/@@toPrimitive throw}', { valueOf: trap, toString: trap, [Symbol.toPrimitive]: trap }),
    s('closed fd 2**30-1', FD_MAX - 1), s('closed fd 2**30', FD_MAX),
    s('new Date(0)', new Date(0)), s('/re/', /re/), s('new Map()', new Map()), s('Promise', Promise.resolve()), s('new Error()', new Error('x')),
    ...fakeInstances(),
    { d: 'Array(1025).fill(0)', make: () => new Array<number>(CPU_SETSIZE + 1).fill(0) },
    { d: 'sparse [,1]', make: () => [, 1] },
    { d: '[0, <throwing getter>]', make: () => Object.defineProperty([0, 1], 1, { get: trap }) },
    {
      d: 'array that grows while it is read',
      make: () => {
        const a: number[] = [];
        const grow = (i: number): void => {
          Object.defineProperty(a, i, {
            get: () => {
              if (a.length < 3000) grow(a.length);
              return i % 2;
            },
            enumerable: true,
            configurable: true,
          });
        };
        grow(0);
        return a;
      },
    },
  ];
}

/** Objects that pass `instanceof` for each class the addon exports without being one (Object.create(proto)). */
function fakeInstances(): Hostile[] {
  const out: Hostile[] = [];
  for (const [name, v] of Object.entries(mainAddon)) {
    const proto = typeof v === 'function' ? (v as { prototype?: unknown }).prototype : undefined;
    if (typeof proto === 'object' && proto !== null && Object.getOwnPropertyNames(proto).length > 1) {
      out.push({ d: `Object.create(${name}.prototype)`, make: () => Object.create(proto) as unknown });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// the fuzzer (lives in the sandbox)

interface Pending {
  fn: string;
  fd: number | undefined;
  buf: unknown;
}

interface Rec {
  fired: boolean;
  id: number;
  /** Runs when the callback is called (the end of a sync wait). */
  onFire?: () => void;
}

/** A mapping that holds sync objects of one kind, and what the fuzzer knows of its slots. */
interface SyncMap {
  kind: SyncKind;
  id: number;
  /** Slots where mutexInit made a robust, error-checking mutex (not destroyed since). */
  mutexReady: Set<number>;
  /** Slots where barrierInit made a barrier, with its count (not destroyed since). */
  barrierCount: Map<number, number>;
}

/** A sync object the fuzzer made (every one is recorded, so that a handle it does not know is dead). */
interface SyncRec {
  kind: SyncKind;
  handle: number;
  /** Unnamed objects: their mapping and offset. */
  map: object | undefined;
  off: number;
  /** Named semaphores. */
  name: string | undefined;
  ref: WeakRef<object>;
}

/** An async wait (Semaphore/Barrier waitAsync) that has not called back yet. */
interface SyncWait {
  key: string;
  obj: object;
  kind: SyncKind;
}

export interface FnStats {
  calls: number;
  threw: number;
  returned: number;
  allValid: number;
  codes: Record<string, number>;
}

export interface Report {
  seed: number;
  total: number;
  elapsedMs: number;
  perFn: Record<string, FnStats>;
  /** Distinct bad outcomes ("fn: what was wrong"), each with its count and first example call. */
  offenders: { kind: string; count: number; example: string }[];
  offenderCount: number;
  uncaught: number;
  callbacks: number;
  pendingAtEnd: number;
  guardRetries: number;
  skipped: number;
  constructCalls: number;
  childrenSpawned: number;
  fdsAtPeak: number;
  /** readAsync/writeAsync/waitpidAsync calls that left a watch in the reactor. */
  asyncRegistered: number;
  /** Buffers of pending readAsync/writeAsync detached or resized before the delivery. */
  bufferMutations: number;
  /** Engine-level TypeErrors without a code (see isEngineError). */
  engineErrors: number;
  /** What the callbacks received: an error code, 'n>0', 'n=0', 'n=-1' (spurious readiness) or 'status'. */
  callbackOutcomes: Record<string, number>;
  /** /bin/true children started by spawn (all reaped by the sandbox). */
  spawned: number;
  /** spawn pids that the sandbox could not reap at the end (must be none). */
  spawnedUnreaped: number[];
  /** Sync objects made (semInit, semOpen, mutexAttach...) and async sync waits started. */
  syncObjects: number;
  syncWaitsStarted: number;
  /** Async sync waits not called back at the end (must be none). */
  syncPendingAtEnd: number;
  /** fds received over sockets (recvFds, recvFdsAsync), all fuzzer-owned. */
  fdsReceived: number;
  /** fds the sandbox had before fuzzing (not the fuzzer's) that were closed or replaced: must be none. */
  foreignFdsChanged: string[];
}

type Gen = (f: Fuzzer, prev: readonly Arg[]) => Arg;
interface Param {
  name: string;
  valid: Gen;
  /** Boundary values that are wrong for this parameter in particular (one past the range...). */
  edge?: Gen;
}
interface Schema {
  params: Param[];
  /** Why this argument list must not be passed (it would reach the syscall and touch what is not ours). */
  guard?: (a: readonly unknown[], f: Fuzzer) => string | undefined;
  before?: (a: readonly unknown[], f: Fuzzer) => void;
  after?: (a: readonly unknown[], f: Fuzzer, out: Outcome) => void;
  /** Not called with `new` (the result, a resource, would be lost). */
  noConstruct?: boolean;
  /** How often `new` is used (default 3%). */
  constructChance?: number;
  /** A method or accessor: the first parameter is the receiver (`this`). */
  receiver?: boolean;
}

class Fuzzer {
  readonly rng: () => number;
  readonly self = native.getpid();
  readonly children = new Map<number, ChildProcess>();
  readonly owned = new Map<number, Kind>();
  readonly recentlyClosed: number[] = [];
  readonly pending = new Map<number, Pending>();
  readonly recentIds: number[] = [];
  readonly ours = new WeakSet<object>();
  readonly recs = new WeakMap<object, Rec>();
  /** How to spoil a buffer while an async op holds it: detach, resize, or close its mapping. */
  readonly mutable = new WeakMap<object, () => void>();
  /** Mappings the fuzzer created (mmap): anonymous ones are the only ones whose memory it writes. */
  readonly maps = new Map<object, { anon: boolean; closed: boolean }>();
  readonly page = (mainFn('pageSize')?.() as number | undefined) ?? 4096;
  readonly shmPrefix = `/multiproc-fuzz-${native.getpid()}-`;
  readonly hostiles = hostileValues();
  readonly cpus: number[] = native.getAffinity(0);
  readonly coreHard = native.getrlimit(RLIMIT_CORE)[1];
  /** pids returned by spawn (/bin/true), until the sandbox reaps them. */
  readonly spawned = new Set<number>();
  /** Mappings that hold sync objects (never in `maps`: nothing else writes into them). */
  readonly syncMaps = new Map<object, SyncMap>();
  private syncMapIds = 0;
  /** A few live objects of each kind, for receivers and arguments; older ones are dropped (and collected). */
  readonly syncObjs: Record<SyncKind, object[]> = { sem: [], mutex: [], cond: [], barrier: [] };
  readonly syncByObj = new WeakMap<object, SyncRec>();
  readonly syncByHandle = new Map<number, SyncRec>();
  readonly syncWaits = new Map<number, SyncWait>();
  readonly recentSyncIds: number[] = [];
  /** Whether a semaphore's value can be read from its mapping (glibc: the low 32 bits of its first word). */
  semValueReadable = false;
  /** Arrays the fuzzer built whose every element is (and stays) a closed fd: the guards need not read them. */
  readonly closedFdArrays = new WeakSet<object>();
  /** Whether the last call's receiver could still be used (a destroy() that ran for real changes a slot). */
  receiverWasUsable = false;
  childrenSpawned = 0;
  private progressSeq = 0;
  readonly report: Report;

  constructor(
    readonly seed: number,
    readonly workdir: string,
    private readonly progressFd: number,
  ) {
    this.rng = mulberry32(seed);
    this.report = {
      seed, total: 0, elapsedMs: 0, perFn: {}, offenders: [], offenderCount: 0, uncaught: 0, callbacks: 0,
      pendingAtEnd: -1, guardRetries: 0, skipped: 0, constructCalls: 0, childrenSpawned: 0, fdsAtPeak: 0,
      asyncRegistered: 0, bufferMutations: 0, callbackOutcomes: {}, foreignFdsChanged: [], engineErrors: 0,
      spawned: 0, spawnedUnreaped: [], syncObjects: 0, syncWaitsStarted: 0, syncPendingAtEnd: -1, fdsReceived: 0,
    };
    this.probeSemLayout();
  }

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }
  chance(p: number): boolean {
    return this.rng() < p;
  }
  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new Error('pick from an empty list');
    return a[this.int(a.length)] as T;
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j] as T, a[i] as T];
    }
    return a;
  }
  offend(kind: string, example: string): void {
    this.report.offenderCount++;
    const known = this.report.offenders.find((o) => o.kind === kind);
    if (known) known.count++;
    else if (this.report.offenders.length < 50) this.report.offenders.push({ kind, count: 1, example });
  }
  /** Records a step in a ring of PROGRESS_SLOTS slots: a crash (heap corruption shows up late) names its last steps. */
  progress(text: string): void {
    const slot = this.progressSeq % PROGRESS_SLOTS;
    fs.writeSync(this.progressFd, `${this.progressSeq}\t${text.slice(0, 600)}\n`.padEnd(PROGRESS_SLOT_BYTES), slot * PROGRESS_SLOT_BYTES);
    this.progressSeq++;
  }

  // ---- values ----

  hostile(): Arg {
    const h = this.pick(this.hostiles);
    return { v: h.make(), d: h.d };
  }

  childPids(): number[] {
    return [...this.children.keys(), ...this.spawned];
  }

  isChild(pid: unknown): boolean {
    return typeof pid === 'number' && (this.children.has(pid) || this.spawned.has(pid));
  }

  /** A closed fd number; recently closed ones only if they are still closed right now. */
  closedFd(): Arg {
    const recent = this.recentlyClosed.filter((n) => isClosedNow(n));
    const n = recent.length > 0 && this.chance(0.6) ? this.pick(recent) : this.pick(CLOSED_FDS);
    return { v: n, d: `closed fd ${n}` };
  }

  ownedFds(kinds?: readonly Kind[]): number[] {
    const out: number[] = [];
    for (const [fd, kind] of this.owned) if (fd >= 3 && (!kinds || kinds.includes(kind))) out.push(fd);
    return out.sort((a, b) => a - b);
  }

  fd(kinds?: readonly Kind[]): Arg {
    const pool = this.ownedFds(kinds);
    if (pool.length === 0 || this.chance(0.08)) return this.closedFd();
    const fd = this.pick(pool);
    return { v: fd, d: `fd ${fd} (${this.owned.get(fd)})` };
  }

  buffer(): Arg {
    const tag = (u: Uint8Array, ab: ArrayBuffer, d: string): Arg => {
      const rab = ab as Partial<ResizableArrayBuffer>;
      this.mutable.set(u, () => {
        if (rab.resize && rab.maxByteLength !== undefined && this.chance(0.6)) rab.resize(this.int(rab.maxByteLength + 1));
        else structuredClone(ab, { transfer: [ab] });
      });
      return { v: u, d };
    };
    const anon = [...this.maps].filter(([, m]) => m.anon && !m.closed);
    if (anon.length > 0 && this.chance(0.1)) {
      const [m] = this.pick(anon);
      const ab = (m as { buffer: ArrayBuffer }).buffer;
      const off = this.int(Math.min(ab.byteLength, 64));
      const u = new Uint8Array(ab, off, Math.min(ab.byteLength - off, this.pick([0, 16, 4096])));
      this.mutable.set(u, () => this.closeMapping(m));
      return { v: u, d: `Uint8Array over an anonymous shared mapping (${u.length} bytes)` };
    }
    switch (this.int(10)) {
      case 0: {
        const u = new Uint8Array(0);
        return tag(u, u.buffer, 'Uint8Array(0)');
      }
      case 1: {
        const u = new Uint8Array(1 + this.int(16));
        return tag(u, u.buffer, show(u));
      }
      case 2: {
        const u = new Uint8Array(this.pick([512, 4096, 4097]));
        return tag(u, u.buffer, show(u));
      }
      case 3: {
        const u = Buffer.alloc(this.pick([1, 64, 4096]), 0x61);
        return { v: u, d: `Buffer(${u.length})` };
      }
      case 4: {
        const k = this.int(48);
        const u = new Uint8Array(64).subarray(k);
        return tag(u, u.buffer as ArrayBuffer, `Uint8Array(64).subarray(${k})`);
      }
      case 5:
        return { v: new Uint8Array(new SharedArrayBuffer(64)), d: 'Uint8Array(SharedArrayBuffer(64))' };
      case 6: {
        const rab = new ResizableArrayBufferCtor(64, { maxByteLength: 256 });
        return tag(new Uint8Array(rab), rab, 'length-tracking Uint8Array(resizable 64/256)');
      }
      case 7: {
        const rab = new ResizableArrayBufferCtor(64, { maxByteLength: 256 });
        return tag(new Uint8Array(rab, 16, 32), rab, 'Uint8Array(resizable 64/256, 16, 32)');
      }
      case 8: {
        const u = new Uint8Array(65536);
        return tag(u, u.buffer, 'Uint8Array(65536)');
      }
      default: {
        const rab = new ResizableArrayBufferCtor(128, { maxByteLength: 128 });
        const u = new Uint8Array(rab, 64);
        return tag(u, rab, 'Uint8Array(resizable 128/128, 64)');
      }
    }
  }

  /** A callback the fuzzer recognises (so a reaped child or a finished watch is always noticed). */
  callback(fn: string): Arg {
    const rec: Rec = { fired: false, id: 0 };
    const kind = this.pick(['plain', 'plain', 'throw', 'reenter', 'proxy'] as const);
    const seen = (err: unknown, value: unknown): void => {
      rec.fired = true;
      this.report.callbacks++;
      if (rec.id) this.pending.delete(rec.id);
      rec.onFire?.();
      this.ownReceived(value);
      let outcome: string;
      if (err !== null && err !== undefined) {
        const why = badThrown(err);
        if (why) this.offend(`${fn} callback: an error that is ${why}`, describeThrown(err));
        outcome = `${fn}:${String((err as NodeJS.ErrnoException).code)}`;
      } else if (typeof value === 'number') {
        outcome = `${fn}:${value > 0 ? 'n>0' : `n=${value}`}`;
      } else {
        outcome = `${fn}:${Array.isArray(value) ? 'status' : typeof value}`;
      }
      this.report.callbackOutcomes[outcome] = (this.report.callbackOutcomes[outcome] ?? 0) + 1;
      if (Array.isArray(value) && typeof value[0] === 'number' && (value[1] === 0 || value[1] === 1)) this.reaped(value[0]);
    };
    let cb: object;
    switch (kind) {
      case 'plain':
        cb = (err: unknown, value: unknown) => seen(err, value);
        break;
      case 'throw':
        cb = (err: unknown, value: unknown) => {
          seen(err, value);
          throw coded('ERR_FUZZ_CALLBACK', 'a fuzz callback threw');
        };
        break;
      case 'reenter':
        cb = (err: unknown, value: unknown) => {
          seen(err, value);
          this.reenter();
        };
        break;
      case 'proxy':
        cb = new Proxy(function callbackTarget() {}, {
          apply: (_t, _this, args: unknown[]) => {
            seen(args[0], args[1]);
            throw coded('ERR_FUZZ_TRAP', 'a fuzz callback proxy threw');
          },
        });
        break;
    }
    this.ours.add(cb);
    this.recs.set(cb, rec);
    return { v: cb, d: `callback(${kind})` };
  }

  /** Set when the run is cleaning up: deliveries still queued then must not register new work. */
  cleaning = false;

  /** What a re-entrant callback does: use the reactor from inside a delivery (cancel a watch, add one). */
  reenter(): void {
    native.pendingWaits();
    if (this.cleaning) return;
    const ids = [...this.pending.keys()];
    if (ids.length > 0 && this.chance(0.5)) {
      const id = this.pick(ids);
      if (native.cancelWait(id)) this.pending.delete(id);
    }
    const pipes = this.ownedFds(['pipe', 'socket']);
    if (pipes.length > 0 && this.chance(0.3) && this.pending.size < 64) {
      const fd = this.pick(pipes);
      const reading = this.chance(0.5);
      const name = reading ? 'readAsync' : 'writeAsync';
      const args = [fd, this.buffer().v, undefined, undefined, this.callback(name).v];
      let out: Outcome;
      try {
        out = { ok: true, value: (reading ? native.readAsync : native.writeAsync)(...(args as Parameters<typeof native.readAsync>)) };
      } catch (error) {
        out = { ok: false, error };
        const why = badThrown(error);
        if (why) this.offend(`re-entrant ${name}: threw ${why}`, `${name}(fd ${fd}) threw ${describeThrown(error)}`);
      }
      this.afterAsync(name, args, 4, fd, out);
    }
  }

  path(): Arg {
    const w = this.workdir;
    const name = this.pick([
      'f0', 'f1', 'fifo0', 'fifo1', 'file', 'sink', 'nodir/x', '', '.', 'a'.repeat(255), 'a'.repeat(256), 'é'.repeat(100),
      `new${this.int(4)}`, 'a/'.repeat(2000), 'b'.repeat(4096 - w.length - 1), 'b'.repeat(4096 - w.length),
    ]);
    const p = name === '' ? w : `${w}/${name}`;
    return { v: p, d: show(p.slice(w.length)).replace(/^"/, '"<tmp>') };
  }

  // ---- ownership ----

  own(fd: unknown): void {
    if (!isInt(fd, 0, FD_MAX)) return;
    const kind = classify(fd, this.workdir);
    this.owned.set(fd, kind);
    const i = this.recentlyClosed.indexOf(fd);
    if (i >= 0) this.recentlyClosed.splice(i, 1);
    // A message queue descriptor keeps the blocking mode it was opened with (its guards look at it); read(2)
    // and write(2) on one never sleep.
    if (kind !== 'mq') nonBlocking(fd);
    this.report.fdsAtPeak = Math.max(this.report.fdsAtPeak, this.owned.size);
  }

  disown(fd: number): void {
    if (!this.owned.delete(fd)) return;
    this.recentlyClosed.push(fd);
    if (this.recentlyClosed.length > 8) this.recentlyClosed.shift();
  }

  /** Cancels async I/O registered on `fd` (its deferred I/O would otherwise run on whatever reuses the number). */
  cancelOn(fd: unknown): void {
    if (!isInt(fd, 0, FD_MAX)) return;
    for (const [id, p] of this.pending) {
      if (p.fd === fd) {
        native.cancelWait(id);
        this.pending.delete(id);
      }
    }
  }

  closeOwned(fd: number): void {
    this.cancelOn(fd);
    try {
      native.close(fd);
    } catch {
      /* already closed */
    }
    this.disown(fd);
  }

  /** Takes the fds of a recvFds result ({ fds, data }) as the fuzzer's own. */
  ownReceived(value: unknown): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const fds = (value as { fds?: unknown }).fds;
    if (!Array.isArray(fds)) return;
    for (const fd of fds) {
      this.report.fdsReceived++;
      this.own(fd);
    }
  }

  /** Unlinks every shm name, named semaphore and message queue the fuzzer may have created. */
  unlinkShmNames(): void {
    removeNames(this.shmPrefix.slice(1));
    const unlink = mainFn('mqUnlink');
    for (let n = 0; n < 3 && unlink; n++) {
      try {
        unlink(`${this.shmPrefix}q${n}`);
      } catch {
        /* not there */
      }
    }
  }

  reaped(pid: number): void {
    this.children.delete(pid);
    this.spawned.delete(pid);
  }

  /** Reaps the /bin/true children of spawn that have exited (they are not libuv's: nobody else reaps them). */
  reapSpawned(): void {
    for (const pid of [...this.spawned]) {
      try {
        const st = native.waitpid(pid, WNOHANG) as unknown;
        if (Array.isArray(st) && st[0] === pid && (st[1] === 0 || st[1] === 1)) this.reaped(pid);
      } catch {
        this.reaped(pid); // ECHILD: reaped by a fuzzed waitpid whose result was seen (cannot happen) — forget it
      }
    }
  }

  spawnChild(): void {
    // `cat` blocks on its stdin (a socket the sandbox holds): it exits by itself when the sandbox ends.
    const cp = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
    cp.on('error', () => {});
    cp.stdin?.on('error', () => {});
    const pid = cp.pid;
    if (pid === undefined) return;
    this.childrenSpawned++;
    this.children.set(pid, cp);
    // libuv reaps it when it dies; 'exit' is emitted in the same callback, before any other JS runs.
    cp.on('exit', () => this.reaped(pid));
  }

  afterAsync(name: string, a: readonly unknown[], cbIndex: number, fd: unknown, out: Outcome): void {
    if (!out.ok || typeof out.value !== 'number' || out.value <= 0) return;
    const id = out.value;
    this.recentIds.push(id);
    if (this.recentIds.length > 16) this.recentIds.shift();
    const cb = a[cbIndex];
    const rec = (typeof cb === 'function' || (typeof cb === 'object' && cb !== null)) ? this.recs.get(cb) : undefined;
    if (rec) {
      rec.id = id;
      if (rec.fired) return;
    }
    this.pending.set(id, { fn: name, fd: isInt(fd, 0, FD_MAX) ? fd : undefined, buf: a[1] });
    this.report.asyncRegistered++;
  }

  /** Keeps a small pool of each fd kind, and the number of fds bounded. */
  maintain(): void {
    const kinds = [...this.owned.values()];
    const attempt = (make: () => unknown): void => {
      try {
        const fds = make();
        for (const fd of Array.isArray(fds) ? fds : [fds]) this.own(fd);
      } catch {
        /* the next maintenance tries again */
      }
    };
    if (kinds.filter((k) => k === 'pipe').length < 2) attempt(() => native.pipe(O_NONBLOCK));
    if (!kinds.includes('socket')) attempt(() => native.socketpair(this.pick([SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET]), true));
    if (!kinds.includes('file')) attempt(() => native.open(`${this.workdir}/sink`, O_RDWR | O_CREAT | O_NONBLOCK, 0o600));
    while (this.owned.size > 48) this.closeOwned(this.pick(this.ownedFds()));
    if (this.mqFds().length === 0) attempt(() => this.openQueue());
    this.reapSpawned();
  }

  /** Empties the fuzzer's regular files now and then, so that writes cannot fill the disk. */
  truncateFiles(): void {
    for (const fd of this.ownedFds(['file'])) {
      try {
        fs.ftruncateSync(fd, 0);
      } catch {
        /* read-only or O_PATH */
      }
    }
  }

  /** Occasionally detaches, resizes or unmaps the buffer of a pending readAsync/writeAsync. */
  mutatePending(): void {
    for (const p of this.pending.values()) {
      if (!this.chance(0.1) || typeof p.buf !== 'object' || p.buf === null) continue;
      const spoil = this.mutable.get(p.buf);
      if (!spoil) continue;
      this.report.bufferMutations++;
      try {
        spoil();
      } catch {
        /* already detached */
      }
    }
  }

  // ---- mappings ----

  /** A mapping of ours: live or closed, anonymous or file-backed (`anonOnly`: anonymous or closed). */
  mapping(anonOnly = false): Arg {
    // Sync mappings may be closed, msync'ed and looked at, never written (anonOnly: fillBench writes).
    if (!anonOnly && this.syncMaps.size > 0 && this.chance(0.25)) {
      const [v, m] = this.pick([...this.syncMaps]);
      return { v, d: `Mapping(${m.kind} #${m.id}${mappingClosed(v) ? ', closed' : ''})` };
    }
    const pool = [...this.maps].filter(([, m]) => !anonOnly || m.anon || m.closed);
    if (pool.length === 0) return this.hostile();
    const [v, m] = this.pick(pool);
    return { v, d: `Mapping(${m.anon ? 'anonymous' : 'file'}${m.closed ? ', closed' : ''})` };
  }

  closeMapping(m: object): void {
    const rec = this.maps.get(m);
    if (rec) rec.closed = true;
    mainFn('mappingClose')!(m);
  }

  /** Keeps a few mappings around; drops some unclosed ones so that GC finalizers unmap them. */
  maintainMappings(): void {
    const mmap = mainFn('mmap');
    if (!mmap) return;
    if (![...this.maps.values()].some((m) => m.anon && !m.closed)) {
      try {
        this.maps.set(mmap(this.pick([this.page, 65536])) as object, { anon: true, closed: false });
      } catch {
        /* the next maintenance tries again */
      }
    }
    for (const [m, rec] of this.maps) {
      if (this.maps.size <= 24) break;
      if (!rec.closed && this.chance(0.7)) this.closeMapping(m);
      this.maps.delete(m);
    }
    this.maintainSync();
  }

  // ---- the sync family ----

  /** Keeps a live mapping of each kind, and drops closed ones beyond a few. */
  maintainSync(): void {
    const mmap = mainFn('mmap');
    if (!mmap) return;
    for (const kind of SYNC_KINDS) {
      const all = [...this.syncMaps].filter(([, s]) => s.kind === kind);
      if (!all.some(([m]) => !mappingClosed(m))) {
        try {
          this.addSyncMap(mmap(this.page) as object, kind);
        } catch {
          /* the next maintenance tries again */
        }
      }
      const closed = all.filter(([m]) => mappingClosed(m));
      for (const [m] of closed.slice(0, Math.max(0, closed.length - 2))) this.syncMaps.delete(m);
    }
  }

  addSyncMap(m: object, kind: SyncKind): SyncMap {
    const rec: SyncMap = { kind, id: ++this.syncMapIds, mutexReady: new Set(), barrierCount: new Map() };
    this.syncMaps.set(m, rec);
    return rec;
  }

  /** Checks that a semaphore's value can be read from its mapping: semInit(5), post, tryWait, each read back. */
  probeSemLayout(): void {
    const mmap = mainFn('mmap');
    const semInit = mainFn('semInit');
    if (!mmap || !semInit) return;
    try {
      const m = mmap(this.page) as object;
      this.addSyncMap(m, 'sem');
      const sem = semInit(m, 0, 5) as { post(): void; tryWait(): boolean };
      this.recordSync('sem', sem, m, 0, undefined);
      const seen = [this.semValueAt(m, 0, true)];
      sem.post();
      seen.push(this.semValueAt(m, 0, true));
      sem.tryWait();
      seen.push(this.semValueAt(m, 0, true));
      this.semValueReadable = seen.join() === '5,6,5';
    } catch {
      this.semValueReadable = false;
    }
  }

  /** The value of the semaphore at `off` of sync mapping `m` (-1: unknown). */
  semValueAt(m: object, off: number, force = false): number {
    if (!force && !this.semValueReadable) return -1;
    try {
      const buf = (m as { buffer: ArrayBuffer }).buffer;
      if (buf.byteLength < off + 4) return -1;
      return new DataView(buf).getUint32(off, true);
    } catch {
      return -1;
    }
  }

  recordSync(kind: SyncKind, obj: object, map: object | undefined, off: number, name: string | undefined): void {
    if (this.syncByObj.has(obj)) return;
    let handle = -1;
    try {
      handle = (obj as { handle: number }).handle;
    } catch {
      /* not one of ours after all */
    }
    const rec: SyncRec = { kind, handle, map, off, name, ref: new WeakRef(obj) };
    this.syncByObj.set(obj, rec);
    if (handle >= 0) this.syncByHandle.set(handle, rec);
    this.report.syncObjects++;
    const pool = this.syncObjs[kind];
    pool.push(obj);
    if (pool.length > 12) pool.splice(this.int(pool.length), 1);
  }

  syncRec(v: unknown): SyncRec | undefined {
    return typeof v === 'object' && v !== null ? this.syncByObj.get(v) : undefined;
  }

  /** The record of a natively valid handle (undefined: not a handle, or dead — every object made is recorded). */
  syncRecByHandle(v: unknown): SyncRec | undefined {
    return isInt(v, 0, HANDLE_LIMIT - 1) ? this.syncByHandle.get(v === 0 ? 0 : v) : undefined;
  }

  /** Whether a call on this object gets past its closed checks (no destroy()/close(), mapping open) to the syscall. */
  usable(r: SyncRec, obj?: unknown): boolean {
    const o = obj ?? r.ref.deref();
    try {
      if (o !== undefined && (o as { closed: boolean }).closed) return false;
    } catch {
      /* cannot tell: assume usable */
    }
    return r.map === undefined || !mappingClosed(r.map);
  }

  /** Where the object lives: a slot of a sync mapping, or a semaphore name. */
  locKey(r: SyncRec): string {
    return r.name !== undefined ? `name:${r.name}` : this.slotKey(r.map, r.off);
  }

  slotKey(m: unknown, off: number): string {
    const s = typeof m === 'object' && m !== null ? this.syncMaps.get(m) : undefined;
    return `${s?.id ?? 'unknown'}:${off}`;
  }

  waitPendingAt(key: string): boolean {
    for (const w of this.syncWaits.values()) if (w.key === key) return true;
    return false;
  }

  syncMapOf(r: SyncRec): SyncMap | undefined {
    return r.map === undefined ? undefined : this.syncMaps.get(r.map);
  }

  /** A blocking sem_wait on it returns at once: unusable, or value > 0 with no async wait of ours on it. */
  semWaitSafe(r: SyncRec, obj?: unknown): boolean {
    if (!this.usable(r, obj)) return true;
    if (this.waitPendingAt(this.locKey(r))) return false;
    if (r.name !== undefined) {
      const o = obj ?? r.ref.deref();
      try {
        return o !== undefined && (o as { value(): number }).value() > 0;
      } catch {
        return false;
      }
    }
    return r.map !== undefined && this.semValueAt(r.map, r.off) > 0;
  }

  /** A blocking lock returns at once: unusable, or a mutex from mutexInit (error-checking: EDEADLK if ours). */
  mutexLockSafe(r: SyncRec, obj?: unknown): boolean {
    return !this.usable(r, obj) || (this.syncMapOf(r)?.mutexReady.has(r.off) ?? false);
  }

  /** A barrier wait returns at once: unusable, or a barrier barrierInit made with count 1. */
  barrierWaitSafe(r: SyncRec, obj?: unknown): boolean {
    return !this.usable(r, obj) || this.syncMapOf(r)?.barrierCount.get(r.off) === 1;
  }

  /** A receiver or argument: one of the live objects of `kind`. */
  syncObj(kind: SyncKind): Arg {
    const pool = this.syncObjs[kind];
    if (pool.length === 0) return this.hostile();
    const o = this.pick(pool);
    const r = this.syncByObj.get(o);
    return { v: o, d: `${SYNC_CLASS[kind]}(${r?.name ?? `#${r ? this.slotKey(r.map, r.off) : '?'}`}${r && !this.usable(r, o) ? ', closed' : ''})` };
  }

  /** A handle: mostly of a live object of `kind`, sometimes of another kind or of a dropped object. */
  syncHandle(kind: SyncKind): Arg {
    const pool = this.syncObjs[kind];
    if (pool.length > 0 && this.chance(0.8)) {
      const r = this.syncByObj.get(this.pick(pool));
      if (r) return { v: r.handle, d: `handle ${r.handle} (${kind})` };
    }
    if (this.syncByHandle.size > 0 && this.chance(0.8)) {
      const r = this.pick([...this.syncByHandle.values()].slice(-64));
      return { v: r.handle, d: `handle ${r.handle} (${r.kind}${r.ref.deref() ? '' : ', dropped'})` };
    }
    const h = 2 ** 40 + this.int(1000);
    return { v: h, d: `handle ${h} (never made)` };
  }

  /** A mapping for objects of `kind`: mostly a sync mapping of that kind (live or closed). */
  syncMapping(kind: SyncKind): Arg {
    const own = [...this.syncMaps].filter(([, s]) => s.kind === kind);
    if (own.length > 0 && this.chance(0.92)) {
      const live = own.filter(([m]) => !mappingClosed(m));
      const [v, s] = this.pick(live.length > 0 && this.chance(0.9) ? live : own);
      return { v, d: `Mapping(${kind} #${s.id}${mappingClosed(v) ? ', closed' : ''})` };
    }
    return this.mapping(true);
  }

  /** Registers an async sync wait that started (its callback ends it). */
  syncWaitStarted(kind: SyncKind, recv: unknown, cb: unknown, out: Outcome): void {
    if (!out.ok || typeof out.value !== 'number' || out.value <= 0) return;
    const r = this.syncRec(recv);
    if (!r || typeof recv !== 'object' || recv === null) return;
    const id = out.value;
    this.report.syncWaitsStarted++;
    this.recentSyncIds.push(id);
    if (this.recentSyncIds.length > 16) this.recentSyncIds.shift();
    const rec = (typeof cb === 'function' || (typeof cb === 'object' && cb !== null)) ? this.recs.get(cb) : undefined;
    if (rec?.fired) return;
    this.syncWaits.set(id, { key: this.locKey(r), obj: recv, kind });
    if (rec) rec.onFire = () => this.syncWaits.delete(id);
  }

  /**
   * An id for cancelWait: mostly one of a pending (or recent) reactor watch or thread wait (Semaphore/Barrier,
   * futex: one id space), else any.
   */
  waitId(): Arg {
    const watches = [...this.pending.keys(), ...this.recentIds];
    const waits = [...this.syncWaits.keys(), ...this.recentSyncIds];
    const ids = this.chance(0.5) ? watches : waits;
    return A(ids.length > 0 && this.chance(0.7) ? this.pick(ids) : this.pick([1, 2, 3, 2 ** 53, 1 + this.int(100000)]));
  }

  // ---- message queues ----

  /** An mq fd's attributes (undefined: not an owned message queue descriptor). */
  mqAttr(fd: unknown): { maxMessages: number; currentMessages: number; nonBlocking: boolean } | undefined {
    if (!isInt(fd, 3, FD_MAX) || this.owned.get(fd) !== 'mq') return undefined;
    try {
      return mainFn('mqGetattr')!(fd) as { maxMessages: number; currentMessages: number; nonBlocking: boolean };
    } catch {
      return undefined;
    }
  }

  /** Whether a send (receive) on `fd` could sleep: a blocking queue that is full (empty), `delta` messages on. */
  mqCouldBlock(fd: unknown, sending: boolean, delta = 0): boolean {
    const a = this.mqAttr(fd);
    if (!a || a.nonBlocking) return false;
    const n = a.currentMessages + delta;
    return sending ? n >= a.maxMessages : n <= 0;
  }

  /** The queues that exist now (named, or unlinked but still open), by inode. */
  mqQueues(): Set<number> {
    const out = new Set<number>();
    for (const [fd, kind] of this.owned) {
      if (kind !== 'mq') continue;
      try {
        out.add(fs.fstatSync(fd).ino);
      } catch {
        /* closed meanwhile */
      }
    }
    for (let n = 0; n < 3; n++) {
      const p = `/dev/mqueue/${this.shmPrefix.slice(1)}q${n}`;
      try {
        out.add(fs.statSync(p).ino);
      } catch {
        /* no such queue */
      }
    }
    return out;
  }

  mqFds(): number[] {
    return this.ownedFds(['mq']);
  }

  /** Opens (creating it if there is room) one of the fuzzer's queues, small, blocking or not. */
  openQueue(): unknown {
    const mqOpen = mainFn('mqOpen');
    if (!mqOpen) return undefined;
    const names = [0, 1].map((n) => `${this.shmPrefix}q${n}`);
    const existing = names.filter((n) => fs.existsSync(`/dev/mqueue/${n.slice(1)}`));
    const name = existing.length > 0 ? this.pick(existing) : this.mqQueues().size < MQ_QUEUES_MAX ? this.pick(names) : undefined;
    if (name === undefined) return undefined;
    return mqOpen(name, O_RDWR | O_CREAT | (this.chance(0.5) ? O_NONBLOCK : 0), 0o600, MQ_MAXMSG, MQ_MSGSIZE);
  }

  /** A message: mostly small (a queue of ours takes up to 256 bytes), sometimes any buffer. */
  mqBytes(receiving: boolean): Arg {
    if (this.chance(0.35)) return this.buffer();
    const n = receiving ? this.pick([MQ_MSGSIZE, MQ_MSGSIZE, 8192, 16, 1]) : this.pick([1, 1, 8, 64, MQ_MSGSIZE, MQ_MSGSIZE + 1]);
    const u = new Uint8Array(n).fill(0x6d);
    this.mutable.set(u, () => structuredClone(u.buffer, { transfer: [u.buffer] }));
    return { v: u, d: `Uint8Array(${n})` };
  }

  // ---- calls ----

  generate(schema: Schema): { args: Arg[]; allValid: boolean } {
    const mode = this.rng();
    const pHostile = mode < 0.35 ? 0 : mode < 0.85 ? 0.3 : 0.8;
    const args: Arg[] = [];
    let allValid = true;
    for (const p of schema.params) {
      if (this.chance(pHostile)) {
        allValid = false;
        args.push(p.edge && this.chance(0.4) ? p.edge(this, args) : this.hostile());
      } else {
        args.push(p.valid(this, args));
      }
    }
    const r = this.rng();
    if (r < 0.1 && args.length > 0) {
      args.length = this.int(args.length); // fewer arguments
      allValid = false;
    } else if (r < 0.17) {
      for (let n = 1 + this.int(3); n > 0; n--) args.push(this.hostile()); // more arguments
    } else if (r < 0.175) {
      for (let n = 0; n < 100; n++) args.push(this.hostile());
    }
    return { args, allValid };
  }

  call(name: string, fn: AnyFn, schema: Schema): void {
    let args: Arg[] | undefined;
    let allValid = false;
    for (let attempt = 0; attempt < 40 && !args; attempt++) {
      const g = this.generate(schema);
      if (schema.guard?.(g.args.map((a) => a.v), this)) {
        this.report.guardRetries++;
        continue;
      }
      args = g.args;
      allValid = g.allValid;
    }
    if (!args) {
      if (schema.guard?.([], this)) {
        this.report.skipped++;
        return;
      }
      args = [];
    }
    const values = args.map((a) => a.v);
    const construct = !schema.noConstruct && this.chance(schema.constructChance ?? 0.03);
    const [thisArg, callArgs] = schema.receiver ? [values[0], values.slice(1)] : [undefined, values];
    const shown = args.map((a) => a.d);
    if (schema.receiver) shown[0] = `this=${shown[0] ?? 'undefined'}`;
    const desc = `${construct ? 'new ' : ''}${name}(${shown.join(', ')})`;
    const st = (this.report.perFn[name] ??= { calls: 0, threw: 0, returned: 0, allValid: 0, codes: {} });
    this.progress(`call #${this.report.total}: ${desc}`);
    schema.before?.(values, this);
    let out: Outcome;
    try {
      const value = construct ? (Reflect.construct(fn, callArgs) as unknown) : Reflect.apply(fn, thisArg, callArgs);
      out = { ok: true, value };
      st.returned++;
    } catch (error) {
      out = { ok: false, error };
      st.threw++;
      const why = badThrown(error);
      if (why && isEngineError(error)) this.report.engineErrors++;
      else if (why) this.offend(`${name}: threw ${why} (${errorKind(error)})`, `${desc} threw ${describeThrown(error)}`);
      const code = (() => {
        try {
          return String((error as NodeJS.ErrnoException).code);
        } catch {
          return '?';
        }
      })();
      st.codes[code] = (st.codes[code] ?? 0) + 1;
    }
    st.calls++;
    if (allValid) st.allValid++;
    if (construct) this.report.constructCalls++;
    this.report.total++;
    schema.after?.(values, this, out);
  }
}

/** fd -> what it refers to, for every fd of this process. */
function fdTable(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), fs.readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      /* the directory listing's own fd */
    }
  }
  return out;
}

function isClosedNow(fd: number): boolean {
  try {
    fs.fstatSync(fd);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EBADF';
  }
}

function classify(fd: number, workdir: string): Kind {
  try {
    mainFn('mqGetattr')?.(fd);
    return 'mq';
  } catch {
    /* not a message queue descriptor */
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isFIFO()) return 'pipe';
    if (st.isSocket()) return 'socket';
    const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
    if (!link.startsWith(`${workdir}/`) && link !== workdir) return 'other';
    if (st.isFile()) return 'file';
    if (st.isDirectory()) return 'dir';
    return 'other';
  } catch {
    return 'other';
  }
}

/** Whether a Mapping is closed (true also for anything that is not a Mapping). */
function mappingClosed(m: unknown): boolean {
  try {
    return (mainFn('mappingState')!(m) as [number, boolean])[1];
  } catch {
    return true;
  }
}

/** Removes the /dev/shm names (shm objects, named semaphores) and message queues that start with `prefix`. */
function removeNames(prefix: string): void {
  for (const [dir, start] of [['/dev/shm', prefix], ['/dev/shm', `sem.${prefix}`], ['/dev/mqueue', prefix]] as const) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.startsWith(start)) fs.rmSync(`${dir}/${name}`, { force: true });
  }
}

function nonBlocking(fd: number): void {
  try {
    native.setNonBlocking(fd, true);
  } catch {
    /* O_PATH fds and the like: they cannot block either */
  }
}

// ---------------------------------------------------------------------------------------------------------
// guards

/** Refuses an fd that the native layer would accept and that is neither owned (>= 3, of `kinds`) nor closed. */
function fdUnsafe(v: unknown, f: Fuzzer, kinds?: readonly Kind[], allowClosed = true, max = FD_MAX): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) return undefined; // rejected natively (-0 is not), or -1 = none
  const fd = v === 0 ? 0 : v;
  const kind = f.owned.get(fd);
  if (fd >= 3 && kind !== undefined && (!kinds || kinds.includes(kind))) return undefined;
  if (allowClosed && kind === undefined && isClosedNow(fd)) return undefined;
  return `fd ${fd} is not a fuzzer-owned fd${kinds ? ` of kind ${kinds.join('/')}` : ''}`;
}

/** Refuses a pid that the native layer would accept and that is not in `allowed`. */
function pidUnsafe(v: unknown, allowed: readonly number[]): string | undefined {
  if (!isInt(v, -(2 ** 31), 2 ** 31)) return undefined;
  return allowed.includes(v) ? undefined : `pid ${String(v)} is not the sandbox or one of its children`;
}

function pathUnsafe(v: unknown, f: Fuzzer): string | undefined {
  if (typeof v !== 'string' || v.includes('\0') || Buffer.byteLength(v) > 4096) return undefined; // rejected natively
  if (v === '') return undefined; // ENOENT
  const inside = v === f.workdir || v.startsWith(`${f.workdir}/`);
  if (inside && !v.split('/').includes('..')) return undefined;
  return `path ${JSON.stringify(v.slice(0, 60))} is outside the sandbox's temp dir`;
}

/** Refuses a shm name that shm_open would accept and that is not the fuzzer's. */
function shmNameUnsafe(v: unknown, f: Fuzzer): string | undefined {
  if (typeof v !== 'string' || v.includes('\0') || Buffer.byteLength(v) > 255) return undefined; // rejected natively
  if (v.length < 2 || !v.startsWith('/') || v.indexOf('/', 1) !== -1) return undefined; // rejected natively
  return v.startsWith(f.shmPrefix) ? undefined : `shm name ${JSON.stringify(v.slice(0, 40))} is not the fuzzer's`;
}

/** Refuses an integer above `max` that the native layer would accept (in `min..nativeMax`). */
function tooBig(v: unknown, min: number, nativeMax: number, max: number, what: string): string | undefined {
  return isInt(v, min, nativeMax) && v > max ? `${what} above ${max} is not needed` : undefined;
}

const first = (...reasons: (string | undefined)[]): string | undefined => reasons.find((r) => r !== undefined);

/** Refuses a semaphore name that sem_open would accept and that is not the fuzzer's. */
function semNameUnsafe(v: unknown, f: Fuzzer): string | undefined {
  if (typeof v !== 'string' || v.includes('\0')) return undefined; // rejected natively
  const n = Buffer.byteLength(v);
  // ArgSemName: '/' and 1 to NAME_MAX - 4 characters other than '/', not "/." or "/.."
  if (n < 2 || n > 252 || !v.startsWith('/') || v.indexOf('/', 1) !== -1 || v === '/.' || v === '/..') return undefined;
  return v.startsWith(f.shmPrefix) ? undefined : `semaphore name ${JSON.stringify(v.slice(0, 40))} is not the fuzzer's`;
}

/** Refuses a queue name that mq_open would accept and that is not one of the fuzzer's (q0..q2). */
function mqNameUnsafe(v: unknown, f: Fuzzer): string | undefined {
  if (typeof v !== 'string' || v.includes('\0')) return undefined;
  const n = Buffer.byteLength(v);
  if (n < 2 || n > 256 || !v.startsWith('/') || v.indexOf('/', 1) !== -1) return undefined; // ArgMqName
  return /^q[0-2]$/.test(v.slice(f.shmPrefix.length)) && v.startsWith(f.shmPrefix) ? undefined : `queue name ${JSON.stringify(v.slice(0, 40))} is not the fuzzer's`;
}

/** Whether `m` is a live sync mapping that holds objects of `kind`. */
function liveSyncMap(m: unknown, kind: SyncKind, f: Fuzzer): m is object {
  return typeof m === 'object' && m !== null && f.syncMaps.get(m)?.kind === kind && !mappingClosed(m);
}

/** Refuses a live mapping that is not a sync mapping of `kind` (an object would be placed or used in it). */
function syncMapUnsafe(m: unknown, kind: SyncKind, f: Fuzzer): string | undefined {
  if (typeof m !== 'object' || m === null || mappingClosed(m)) return undefined; // TypeError / ERR_MULTIPROC_CLOSED
  const s = f.syncMaps.get(m);
  if (!s) return 'sync objects live only in sync mappings (which nothing else writes into)';
  return s.kind === kind ? undefined : `a ${s.kind} mapping holds no ${kind}`;
}

function mappingLength(m: object): number {
  try {
    return (mainFn('mappingState')!(m) as [number, boolean])[0];
  } catch {
    return 0;
  }
}

/** Whether the native layer accepts `off` for an object of `kind` in the live mapping `m` (RegionAt). */
function placeable(m: object, off: unknown, kind: SyncKind): off is number {
  return isInt(off, 0, SYNC_OFFSET_MAX) && off % SYNC_ALIGN[kind] === 0 && off + SYNC_SIZE[kind] <= mappingLength(m);
}

/** Refuses an accepted offset in a live sync mapping of `kind` that is not a slot (objects would overlap). */
function slotUnsafe(m: unknown, off: unknown, kind: SyncKind, f: Fuzzer): string | undefined {
  if (!liveSyncMap(m, kind, f) || !placeable(m, off, kind)) return undefined;
  return off % SYNC_SLOT === 0 && off < SYNC_SLOT * SYNC_SLOTS ? undefined : `offset ${off} is not a slot: objects would overlap`;
}

/** Refuses an accepted counter offset of mutexBench outside the counter area of a live mutex mapping. */
function counterUnsafe(m: unknown, off: unknown, f: Fuzzer): string | undefined {
  if (!liveSyncMap(m, 'mutex', f) || !isInt(off, 0, SYNC_OFFSET_MAX) || off % 4 !== 0 || off + 4 > mappingLength(m)) return undefined;
  return off >= MUTEX_COUNTER_BASE && off < MUTEX_COUNTER_BASE + MUTEX_COUNTER_SPAN ? undefined : `counter offset ${off} would write into a mutex`;
}

/** A natively accepted timeout (ArgNumber(0, ...)), in ms; undefined when the native layer rejects it. */
function timeoutOf(v: unknown, max = Infinity): number | undefined {
  return typeof v === 'number' && v >= 0 && v <= max ? v : undefined;
}

/** The elements of an array argument as the native layer reads them (undefined: it rejects the array). */
function elements(v: unknown, maxLength: number): unknown[] | undefined {
  try {
    if (!Array.isArray(v) || types.isProxy(v) || v.length > maxLength) return undefined; // napi IsArray: no proxies
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) out.push(v[i] as unknown); // the length is read again, like the native loop
    return out;
  } catch {
    return undefined; // a getter threw: so does the native read, before any syscall
  }
}

/** Refuses an fd list (sendFds) with an accepted fd that the fuzzer does not own. */
function fdListUnsafe(v: unknown, f: Fuzzer): string | undefined {
  if (typeof v === 'object' && v !== null && f.closedFdArrays.has(v)) return undefined; // closed fds by construction
  const fds = elements(v, SCM_MAX_FD);
  if (!fds) return undefined;
  for (const fd of fds) {
    if (!isInt(fd, 0, FD_MAX)) return undefined; // the native loop throws here
    const why = fdUnsafe(fd, f);
    if (why) return why;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// schemas: one per native function

const A = (v: unknown, d?: string): Arg => ({ v, d: d ?? show(v) });
const P = (name: string, valid: Gen, edge?: Gen): Param => (edge ? { name, valid, edge } : { name, valid });

const pidParam = (allowed: (f: Fuzzer) => number[]): Param =>
  P('pid', (f) => A(f.pick(allowed(f))), (f) => A(f.pick([-1, PID_MAX, PID_MAX + 1, 2 ** 31, -(2 ** 31), 0.5])));
const queryPids = (f: Fuzzer): number[] => [0, f.self, ...f.childPids()];
const positivePids = (f: Fuzzer): number[] => [f.self, ...f.childPids()];
const waitPids = (f: Fuzzer): number[] => [0, -1, f.self, ...f.childPids()];
const fdParam = (name = 'fd', kinds?: readonly Kind[]): Param =>
  P(name, (f) => f.fd(kinds), (f) => A(f.pick([-1, FD_MAX + 1, 2 ** 31, 0.5, -0.5])));
const boolParam = (name: string): Param => P(name, (f) => A(f.chance(0.5)), () => A(1));
const offsetParam = P(
  'offset',
  (f, prev) => {
    const len = byteLengthOf(prev[1]?.v);
    return len === undefined || f.chance(0.3) ? A(undefined) : A(f.int(len + 1));
  },
  (_f, prev) => A((byteLengthOf(prev[1]?.v) ?? 0) + 1),
);
const lengthParam = P(
  'length',
  (f, prev) => {
    const len = byteLengthOf(prev[1]?.v);
    const off = typeof prev[2]?.v === 'number' ? prev[2].v : 0;
    return len === undefined || len < off || f.chance(0.3) ? A(undefined) : A(f.int(len - off + 1));
  },
  (_f, prev) => {
    const len = byteLengthOf(prev[1]?.v) ?? 0;
    const off = typeof prev[2]?.v === 'number' ? prev[2].v : 0;
    return A(len - off + 1);
  },
);
const bufferParam = P('buffer', (f) => f.buffer());
const ioParams = [fdParam(), bufferParam, offsetParam, lengthParam];

function ioAsyncSchema(name: string): Schema {
  return {
    params: [...ioParams, P('callback', (f) => f.callback(name))],
    guard: (a, f) => fdUnsafe(a[0], f),
    after: (a, f, out) => f.afterAsync(name, a, 4, a[0], out),
    noConstruct: true,
  };
}

const ownResult: Schema['after'] = (_a, f, out) => {
  if (out.ok) f.own(out.value);
};
const ownPair: Schema['after'] = (_a, f, out) => {
  if (out.ok && Array.isArray(out.value)) for (const fd of out.value) f.own(fd);
};
const none: Schema = { params: [] };

// ---- sync family helpers ----

const otherKind = (f: Fuzzer, kind: SyncKind): SyncKind => f.pick(SYNC_KINDS.filter((k) => k !== kind));
/** The receiver of a method or accessor of SYNC_CLASS[kind]; the edge is an object of another class. */
const recvParam = (kind: SyncKind): Param => P('this', (f) => f.syncObj(kind), (f) => f.syncObj(otherKind(f, kind)));
const syncMethod = (kind: SyncKind, rest: Partial<Schema> = {}): Schema => ({ ...rest, receiver: true, params: [recvParam(kind), ...(rest.params ?? [])] });
/** The record of a receiver of the right kind (anything else fails V8's signature check: Illegal invocation). */
const recvOf = (a: readonly unknown[], f: Fuzzer, kind: SyncKind): SyncRec | undefined => {
  const r = f.syncRec(a[0]);
  return r?.kind === kind ? r : undefined;
};
const handleParam = (kind: SyncKind): Param => P('handle', (f) => f.syncHandle(kind), (f) => A(f.pick([-1, 0.5, HANDLE_LIMIT, NaN, Infinity, '1'])));
/**
 * A fast function of a `kind` handle that may block: refused unless `safe` says that it returns at once on
 * the object (`why` otherwise).
 */
const blockingFast = (kind: SyncKind, safe: (f: Fuzzer, r: SyncRec) => boolean, why: string): Schema => ({
  params: [handleParam(kind)],
  guard: (a, f) => {
    const r = f.syncRecByHandle(a[0]);
    return r?.kind === kind && !safe(f, r) ? why : undefined;
  },
});
const iterationsParam = P('iterations', (f) => A(f.pick([0, 1, 1])), (f) => A(f.pick([-1, BENCH_ITER_MAX + 1, 0.5, NaN])));
const tooManyIterations = (v: unknown): string | undefined => tooBig(v, 0, BENCH_ITER_MAX, 1, 'a bench iteration count');
const slotParam = (kind: SyncKind, name = 'offset'): Param =>
  P(name, (f) => A(f.int(SYNC_SLOTS) * SYNC_SLOT), (f) => A(f.pick([1, 4, f.page - SYNC_SIZE[kind] + 8, f.page, -8, SYNC_OFFSET_MAX + 8, 0.5])));
const placeParams = (kind: SyncKind): Param[] => [P('mapping', (f) => f.syncMapping(kind)), slotParam(kind)];
const placeGuard = (kind: SyncKind, a: readonly unknown[], f: Fuzzer): string | undefined =>
  first(syncMapUnsafe(a[0], kind, f), slotUnsafe(a[0], a[1], kind, f));
/** Records what semInit & co. made (every object, so that an unknown handle is a dead one). */
const recordPlaced = (kind: SyncKind): Schema['after'] => (a, f, out) => {
  if (!out.ok || typeof out.value !== 'object' || out.value === null || typeof a[0] !== 'object' || a[0] === null) return;
  f.recordSync(kind, out.value, a[0], (a[1] as number) + 0, undefined);
};
const syncCtor = (kind: SyncKind): Schema => ({
  // Only the factories can make one (with an External): `new` is ERR_ILLEGAL_CONSTRUCTOR, a call without it
  // V8's "Class constructors cannot be invoked without 'new'".
  params: [P('placement', (f) => (f.chance(0.5) ? f.syncObj(kind) : f.syncMapping(kind)))],
  constructChance: 0.6,
});
/** Accessors: V8 checks no signature for them, so a receiver of another class reaches node-addon-api's unwrap. */
const syncGetter = (kind: SyncKind): Schema => syncMethod(kind);
const longTimeouts = [0, 0.5, 1, SHORT_MS, 50, 1000, Infinity];
const timeoutEdge = (f: Fuzzer): Arg => A(f.pick([-1, NaN, -Infinity, '1', -0.5]));
/** An async wait may start a thread: only with a callback of ours (its end is seen), and not too many. */
const asyncWaitUnsafe = (cb: unknown, f: Fuzzer): string | undefined => {
  if (typeof cb !== 'function') return undefined; // ArgFunction throws
  if (!f.ours.has(cb)) return 'an unrecognised callback would hide the end of the wait';
  return f.syncWaits.size >= SYNC_WAITS_MAX ? 'enough async waits are pending' : undefined;
};

// ---- message queue helpers ----

const mqFdParam = (name = 'mqd'): Param =>
  P(name, (f) => {
    const mq = f.mqFds();
    if (mq.length === 0 || f.chance(0.25)) return f.fd();
    const fd = f.pick(mq);
    return A(fd, `mqd ${fd}`);
  }, (f) => A(f.pick([-1, FD_MAX + 1, 0.5])));
const mqNameParam = P('name', (f) => A(`${f.shmPrefix}q${f.pick([0, 0, 1, 1, 2])}`), (f) => A(f.pick(['/', 'noslash', '/a/b', '', `/${'x'.repeat(256)}`])));
const priorityParam = P('priority', (f) => A(f.pick([0, 0, 1, MQ_PRIO_MAX - 1])), (f) => A(f.pick([-1, MQ_PRIO_MAX, 0.5, 32768 * 2])));
const mqTimeoutParam = P('timeout', (f) => A(f.pick([0, 0, 0.5, 1, 2, 50, Infinity])), (f) => A(f.pick([-1, NaN, MQ_TIMEOUT_MAX + 1, '1'])));
const priorityOutParam = P('priorityOut', (f) => A(f.pick([undefined, new Uint32Array(1), new Uint32Array(4)])), (f) => A(f.pick([new Uint32Array(0), new Uint8Array(4), new Int32Array(1), [0]])));
const mqGuard = (a: readonly unknown[], f: Fuzzer): string | undefined => fdUnsafe(a[0], f);

// ---- namespace and signal family helpers ----

/** Signals whose disposition and mask the fuzzer may change: ignored by default, sent to the sandbox by nobody. */
const QUIET_SIGNALS = [SIG('SIGWINCH'), SIG('SIGURG')];
function sigListUnsafe(v: unknown): string | undefined {
  const sigs = elements(v, 128);
  if (!sigs || !sigs.every((s) => isInt(s, 1, SIGRTMAX))) return undefined; // null/undefined: the empty set; else rejected natively
  return sigs.every((s) => QUIET_SIGNALS.includes(s as number)) ? undefined : 'only SIGWINCH and SIGURG may be blocked or masked';
}
const nsC = (name: string): number => constant((mainAddon.nsConstants ?? {}) as Record<string, number>, name);
const sigC = (name: string): number => constant((mainAddon.signalConstants ?? {}) as Record<string, number>, name);
const NS_FLAGS = ['CLONE_NEWNS', 'CLONE_NEWUTS', 'CLONE_NEWIPC', 'CLONE_NEWNET', 'CLONE_NEWPID', 'CLONE_NEWUSER', 'CLONE_NEWCGROUP', 'CLONE_NEWTIME'].reduce((a, n) => a | nsC(n), 0);
/** Fds that cannot refer to a namespace (setns fails on them). */
const NOT_NAMESPACES: readonly Kind[] = ['pipe', 'socket', 'file', 'mq'];

export const schemas: Record<string, Schema> = {
  // ---- process family ----
  waitpid: {
    params: [
      pidParam(waitPids),
      P('flags', (f) => A(WNOHANG | f.pick([0, WUNTRACED, WCONTINUED, WUNTRACED | WCONTINUED])), (f) => A(f.pick([16, 0x100, -1, 12, 0x7fffffff]))),
    ],
    guard: (a, f) =>
      first(pidUnsafe(a[0], waitPids(f)), isInt(a[1], 0, 0xffff) && (a[1] & WNOHANG) === 0 ? 'waitpid without WNOHANG could block' : undefined),
    after: (_a, f, out) => {
      const v = out.ok ? out.value : undefined;
      if (Array.isArray(v) && typeof v[0] === 'number' && (v[1] === 0 || v[1] === 1)) f.reaped(v[0]);
    },
    noConstruct: true,
  },
  waitpidAsync: {
    params: [pidParam(positivePids), P('callback', (f) => f.callback('waitpidAsync'))],
    guard: (a, f) =>
      first(
        pidUnsafe(a[0], positivePids(f)),
        isInt(a[0], 1, PID_MAX) && typeof a[1] === 'function' && !f.ours.has(a[1]) ? 'an unrecognised callback would hide a reaped child' : undefined,
      ),
    after: (a, f, out) => f.afterAsync('waitpidAsync', a, 1, undefined, out),
    noConstruct: true,
  },
  pidfdOpen: { params: [pidParam(positivePids)], guard: (a, f) => pidUnsafe(a[0], positivePids(f)), after: ownResult, noConstruct: true },
  // Signal 0 only (an existence check), on any fd: a pidfd of the sandbox's children or not a pidfd at all (EBADF/EINVAL).
  pidfdSendSignal: { params: [fdParam('pidfd'), P('signal', () => A(0), () => A(SIGRTMAX + 1))] },
  kill: {
    params: [
      P('pid', (f) => A(f.children.size > 0 && f.chance(0.8) ? f.pick(f.childPids()) : f.self), (f) => A(f.pick([PID_MAX + 1, 2 ** 31, -(2 ** 31), 0.5]))),
      P('signal', (f, prev) => {
        if (!f.isChild(prev[0]?.v)) return A(0);
        return A(f.pick(f.chance(0.15) ? LETHAL_CHILD_SIGNALS : HARMLESS_CHILD_SIGNALS));
      }, () => A(SIGRTMAX + 1)),
    ],
    guard: (a, f) => {
      const [pid, sig] = a;
      if (a.length < 2 || !isInt(pid, -(2 ** 31), 2 ** 31) || !isInt(sig, 0, SIGRTMAX)) return undefined; // rejected natively
      if (f.isChild(pid) && CHILD_SIGNALS.includes(sig)) return undefined;
      if (pid === f.self && sig === 0) return undefined;
      return `kill(${show(pid)}, ${sig}) would signal a process the fuzzer does not own (or itself)`;
    },
  },
  getpid: none,
  getppid: none,
  gettid: none,
  setsid: none, // real calls are fine in the sandbox
  getsid: { params: [pidParam(queryPids)], guard: (a, f) => pidUnsafe(a[0], queryPids(f)) },
  setpgid: {
    params: [pidParam(queryPids), { ...pidParam(queryPids), name: 'pgid' }],
    guard: (a, f) => first(pidUnsafe(a[0], queryPids(f)), pidUnsafe(a[1], queryPids(f))),
  },
  getpgid: { params: [pidParam(queryPids)], guard: (a, f) => pidUnsafe(a[0], queryPids(f)) },
  setSubreaper: { params: [boolParam('on')] },
  isSubreaper: none,
  setPdeathsig: {
    params: [P('signal', (f) => A(f.pick(PDEATH_SIGNALS)), (f) => A(f.pick([-1, SIGRTMAX + 1])))],
    guard: (a) => (isInt(a[0], 0, SIGRTMAX) && !PDEATH_SIGNALS.includes(a[0]) ? 'parent-death signal not in the harmless set' : undefined),
  },
  getPdeathsig: none,
  setAffinity: {
    params: [
      pidParam(queryPids),
      P('cpus', (f) => {
        const some = f.cpus.filter(() => f.chance(0.6));
        return A(some.length > 0 ? some : [...f.cpus]);
      }, (f) => A(f.pick([[], [CPU_SETSIZE], [-1], [0.5], [NaN], [Math.max(...f.cpus) + 1], [0, 'a']]))),
    ],
    guard: (a, f) => pidUnsafe(a[0], queryPids(f)),
  },
  getAffinity: { params: [pidParam(queryPids)], guard: (a, f) => pidUnsafe(a[0], queryPids(f)) },
  getcpu: none,
  getrlimit: { params: [P('resource', (f) => A(f.int(RLIMIT_NLIMITS)), (f) => A(f.pick([RLIMIT_NLIMITS, -1, 64])))] },
  setrlimit: {
    params: [
      P('resource', () => A(RLIMIT_CORE), (f) => A(f.pick([RLIMIT_NLIMITS, -1]))),
      P('soft', () => A(0), (f) => A(f.pick([-1, 2 ** 53, 0.5, NaN]))),
      P('hard', (f) => A(f.pick([f.coreHard, Infinity, 0])), (f) => A(f.pick([-1, 2 ** 53, 0.5, NaN]))),
    ],
    guard: (a) => {
      const lim = (x: unknown): boolean => typeof x === 'number' && !Number.isNaN(x) && x >= 0;
      if (!isInt(a[0], 0, 64) || !lim(a[1]) || !lim(a[2])) return undefined; // rejected natively
      return a[0] === RLIMIT_CORE && a[1] === 0 ? undefined : 'only setrlimit(RLIMIT_CORE, 0, hard) is allowed';
    },
  },
  _exit: {
    // Valid codes would end the sandbox: only invalid ones (the sandbox's own exit is the one valid call).
    params: [P('code', (f) => A(f.pick([256, -1, 255.5, 1000, '0', NaN, 2 ** 31])))],
    guard: (a) => (a.length >= 1 && isInt(a[0], 0, 255) ? '_exit with a valid code would end the sandbox' : undefined),
  },

  // ---- fd family ----
  pipe: {
    params: [P('flags', (f) => A(f.pick([undefined, 0, O_NONBLOCK, O_DIRECT, O_NONBLOCK | O_DIRECT])), (f) => A(f.pick([1, 0x80000, O_NONBLOCK | 1, 0x4801, -1])))],
    after: ownPair,
    noConstruct: true,
  },
  socketpair: {
    params: [
      P('type', (f) => A(f.pick([undefined, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET])), (f) => A(f.pick([0, 3, 4, 16, 17]))),
      P('nonBlocking', (f) => A(f.pick([undefined, true, false])), () => A(1)),
    ],
    after: ownPair,
    noConstruct: true,
  },
  mkfifo: {
    params: [P('path', (f) => f.path()), P('mode', (f) => A(f.pick([0o600, 0o644, 0, 0o7777])), (f) => A(f.pick([0o10000, -1])))],
    guard: (a, f) => pathUnsafe(a[0], f),
  },
  unixConnect: {
    // paths in the sandbox's temp dir only, where nothing listens: connect fails (ENOENT, ECONNREFUSED, ENOTSOCK)
    params: [P('path', (f) => f.path())],
    guard: (a, f) => pathUnsafe(a[0], f),
    after: ownResult,
    noConstruct: true,
  },
  open: {
    params: [
      P('path', (f) => f.path()),
      P('flags', (f) => {
        if (f.chance(0.2)) return A((f.int(0x80000000) | O_NONBLOCK) >>> 0);
        let fl = f.pick([O_RDONLY, O_WRONLY, O_RDWR]) | O_NONBLOCK;
        for (const extra of [O_CREAT, O_EXCL, O_TRUNC, O_APPEND]) if (f.chance(0.3)) fl |= extra;
        return A(fl);
      }, (f) => A(f.pick([-1, 2 ** 31]))),
      P('mode', (f) => A(f.pick([undefined, 0o600, 0o644, 0])), (f) => A(f.pick([0o10000, -1]))),
    ],
    guard: (a, f) =>
      first(pathUnsafe(a[0], f), isInt(a[1], 0, 0x7fffffff) && (a[1] & O_NONBLOCK) === 0 ? 'open without O_NONBLOCK could block on a FIFO' : undefined),
    after: ownResult,
    noConstruct: true,
  },
  close: {
    params: [fdParam()],
    guard: (a, f) => fdUnsafe(a[0], f),
    before: (a, f) => f.cancelOn(a[0]),
    after: (a, f) => {
      if (isInt(a[0], 0, FD_MAX)) f.disown(a[0]);
    },
  },
  read: { params: ioParams, guard: (a, f) => fdUnsafe(a[0], f) },
  write: { params: ioParams, guard: (a, f) => fdUnsafe(a[0], f) },
  // Only on regular files (a full pipe or socket would block it forever).
  writeAllSync: { params: [fdParam('fd', ['file', 'dir']), bufferParam, offsetParam, lengthParam], guard: (a, f) => fdUnsafe(a[0], f, ['file', 'dir']) },
  readAsync: ioAsyncSchema('readAsync'),
  writeAsync: ioAsyncSchema('writeAsync'),
  dup: { params: [fdParam()], guard: (a, f) => fdUnsafe(a[0], f), after: ownResult, noConstruct: true },
  dup2: {
    params: [fdParam('from'), P('to', (f) => {
      const pool = f.ownedFds();
      return pool.length > 0 ? A(f.pick(pool)) : f.closedFd();
    }, (f) => A(f.pick([-1, FD_MAX + 1])))],
    guard: (a, f) => first(fdUnsafe(a[0], f), fdUnsafe(a[1], f, undefined, false)),
    before: (a, f) => f.cancelOn(a[1]),
    after: (a, f, out) => {
      if (out.ok && isInt(a[1], 3, FD_MAX) && f.owned.has(a[1])) f.own(a[1]); // reclassify: `to` is now a copy of `from`
    },
  },
  setNonBlocking: {
    params: [fdParam(), boolParam('on')],
    guard: (a, f) => fdUnsafe(a[0], f),
    after: (a, f) => {
      if (isInt(a[0], 3, FD_MAX) && f.owned.has(a[0])) nonBlocking(a[0]); // keep every owned fd non-blocking
    },
  },
  getFlags: { params: [fdParam()], guard: (a, f) => fdUnsafe(a[0], f) },
  setCloexec: { params: [fdParam(), boolParam('on')], guard: (a, f) => fdUnsafe(a[0], f) },
  setPipeSize: {
    params: [fdParam(), P('size', (f) => A(f.pick([1, 4096, 65536, 1 << 20, 1 + f.int(1 << 20)])), (f) => A(f.pick([0, FD_MAX + 1, -1])))],
    guard: (a, f) => first(fdUnsafe(a[0], f), isInt(a[1], 1, 2 ** 31) && a[1] > 1 << 20 ? 'pipe sizes above 1 MiB are not needed' : undefined),
  },
  getPipeSize: { params: [fdParam()], guard: (a, f) => fdUnsafe(a[0], f) },
  poll: {
    params: [
      fdParam(),
      P('events', (f) => A(f.pick([POLLIN, POLLOUT, POLLIN | POLLOUT, 0, 0xffff])), (f) => A(f.pick([0x10000, -1]))),
      P('timeout', (f) => A(f.pick([0, 0, 1])), (f) => A(f.pick([-2, 2 ** 31]))),
    ],
    guard: (a, f) => {
      const fdReason = fdUnsafe(a[0], f);
      if (fdReason) return fdReason;
      const timeoutOk = !isInt(a[2], -1, 0x7fffffff) || a[2] === 0 || a[2] === 1;
      const fdOpen = isInt(a[0], 0, FD_MAX) && !isClosedNow(a[0]);
      return !timeoutOk && fdOpen ? 'poll on an open fd with a long or infinite timeout could block' : undefined;
    },
  },

  // ---- shm family ----
  mmap: {
    params: [
      P('length', (f) => A(f.pick([1, 100, f.page, 3 * f.page, 65536, SMALL])), (f) => A(f.pick([0, SHM_LEN_MAX + 1, -1]))),
      P('fd', (f) => (f.chance(0.5) ? A(f.pick([undefined, -1])) : f.fd()), (f) => A(f.pick([-2, 2 ** 31]))),
      P('offset', (f) => A(f.pick([undefined, 0, 0, f.page])), (f) => A(f.pick([1, f.page - 1, f.page + 1, -1]))),
      P('readOnly', (f) => A(f.pick([undefined, false, true])), () => A(0)),
    ],
    guard: (a, f) => first(tooBig(a[0], 1, SHM_LEN_MAX, SMALL, 'a mapping'), fdUnsafe(a[1], f, undefined, true, INT_MAX)),
    after: (a, f, out) => {
      if (out.ok && typeof out.value === 'object' && out.value !== null) {
        f.maps.set(out.value, { anon: a[1] === undefined || a[1] === -1, closed: false });
      }
    },
  },
  shmOpen: {
    params: [
      P('name', (f) => A(`${f.shmPrefix}${f.int(4)}`), (f) => A(f.pick(['/', 'noslash', '/a/b', '//', `/${'x'.repeat(255)}`]))),
      P('flags', (f) => A(f.pick([O_RDWR | O_CREAT, O_RDWR | O_CREAT | O_EXCL, O_RDWR | O_CREAT | O_TRUNC, O_RDONLY, O_RDWR, f.int(2 ** 31)])), (f) => A(f.pick([-1, 2 ** 31]))),
      P('mode', (f) => A(f.pick([undefined, 0o600, 0o644, 0])), (f) => A(f.pick([0o10000, -1]))),
    ],
    guard: (a, f) => shmNameUnsafe(a[0], f),
    after: ownResult,
    noConstruct: true,
  },
  shmUnlink: {
    params: [P('name', (f) => A(`${f.shmPrefix}${f.int(5)}`), (f) => A(f.pick(['/', 'noslash', '/a/b', `/${'x'.repeat(255)}`])))],
    guard: (a, f) => shmNameUnsafe(a[0], f),
  },
  memfdCreate: {
    params: [
      P('name', (f) => A(f.pick(['fuzz', '', 'x'.repeat(249), 'é', 'a b'])), () => A('x'.repeat(250))),
      P('allowSealing', (f) => A(f.pick([undefined, true, false])), () => A(1)),
    ],
    after: ownResult,
    noConstruct: true,
  },
  ftruncate: {
    params: [fdParam(), P('size', (f) => A(f.pick([0, 1, f.page, 65536, SMALL])), (f) => A(f.pick([-1, SHM_LEN_MAX + 1])))],
    guard: (a, f) => first(fdUnsafe(a[0], f, undefined, true, INT_MAX), tooBig(a[1], 0, SHM_LEN_MAX, SMALL, 'a file size')),
  },
  fallocate: {
    params: [
      fdParam(),
      P('offset', (f) => A(f.pick([0, 0, f.page, 65536])), (f) => A(f.pick([-1, SHM_LEN_MAX + 1]))),
      P('length', (f) => A(f.pick([1, f.page, 65536, SMALL])), (f) => A(f.pick([0, -1, SHM_LEN_MAX + 1]))),
    ],
    guard: (a, f) => first(fdUnsafe(a[0], f, undefined, true, INT_MAX), tooBig(a[1], 0, SHM_LEN_MAX, SMALL, 'an offset'), tooBig(a[2], 1, SHM_LEN_MAX, SMALL, 'a length')),
  },
  fdSize: { params: [fdParam()], guard: (a, f) => fdUnsafe(a[0], f, undefined, true, INT_MAX) },
  pageSize: none,
  memoryLimit: none,
  fillBench: {
    params: [
      P('mapping', (f) => f.mapping(true)),
      P('bytes', (f) => A(f.pick([1, 16, f.page, 65536])), (f) => A(f.pick([0, -1, SHM_LEN_MAX + 1]))),
      P('iterations', (f) => A(f.pick([1, 2, 16])), (f) => A(f.pick([0, -1, 2 ** 40 + 1]))),
    ],
    guard: (a, f) => {
      const m = typeof a[0] === 'object' && a[0] !== null ? f.maps.get(a[0]) : undefined;
      return first(
        m && !m.anon && !m.closed ? 'a file-backed mapping could SIGBUS if its file was truncated' : undefined,
        tooBig(a[1], 1, SHM_LEN_MAX, 65536, 'a copy'),
        tooBig(a[2], 1, 2 ** 40, 64, 'an iteration count'),
      );
    },
  },
  // Mapping handles are made by mmap (type-tagged objects); these must refuse everything else.
  mappingClose: {
    params: [P('mapping', (f) => f.mapping())],
    after: (a, f, out) => {
      const m = typeof a[0] === 'object' && a[0] !== null ? f.maps.get(a[0]) : undefined;
      if (m && out.ok) m.closed = true;
    },
  },
  mappingState: { params: [P('mapping', (f) => f.mapping())] },
  mappingMsync: {
    params: [
      P('mapping', (f) => f.mapping()),
      P('offset', (f) => A(f.pick([undefined, 0, 1, f.page])), (f) => A(f.pick([-1, SMALL + 1]))),
      P('length', (f) => A(f.pick([undefined, 0, 1, f.page])), (f) => A(f.pick([-1, SMALL + 1]))),
    ],
  },

  // ---- fork addon ----
  'fork.fork': {
    // Invalid arguments only: a valid call would fork the sandbox.
    params: [
      P('onDry', (f) => f.callback('fork')),
      P('quiesceTimeoutMs', (f) => A(f.pick([0, 0.5, 600001, -1, NaN, Infinity, '100', undefined]))),
    ],
    guard: (a) => {
      const t = a[1];
      return a.length >= 2 && typeof a[0] === 'function' && typeof t === 'number' && t >= 1 && t <= 600000 ? 'a valid fork() would fork the sandbox' : undefined;
    },
  },
  'fork.stats': none,
  'fork.probes': none,
  // A phase stamp into the fork addon's shared page of child timings: any int32 is harmless.
  'fork.mark': { params: [P('phase', (f) => A(f.pick([5, 6, 7])), (f) => A(f.pick(['5', 1.5, undefined, null, 0, 8, -1])))] },

  // ---- process: spawn ----
  spawn: {
    params: [
      P('file', (f) => (f.chance(0.8) ? A(TRUE_BIN) : f.path()), (f) => A(f.pick(['', 'a\0b', 'x'.repeat(4097), 'true']))),
      P('argv', (f, prev) => A(prev[0]?.v === TRUE_BIN || f.chance(0.5) ? ['true'] : ['x', '-y']), (f) => A(f.pick([[], ['a\0b'], ['true', 1], [undefined], 'true']))),
      P('env', (f) => A(f.pick([undefined, undefined, [], ['A=1'], ['PATH=/bin', 'MULTIPROC_FUZZ=1']])), (f) => A(f.pick([null, 'A=1', [1], ['a\0b'], [['A=1']]]))),
      P('fds', (f) => {
        const pairs: [number, number][] = [];
        for (let n = f.pick([0, 0, 1, 2]); n > 0; n--) pairs.push([f.pick([0, 1, 2, 3, 9]), f.fd().v as number]);
        return A(pairs, `[${pairs.map(([c, p]) => `[${c},${p}]`).join(',')}]`);
      }, (f) => A(f.pick([[[0]], [[-1, 3]], [[2 ** 20 + 1, 3]], [[0, FD_MAX + 1]], [1, 2], [[0, '3']], [[0, 3, 4]], 'x', new Array<number[]>(1025).fill([0, FD_MAX])]))),
      boolParam('newGroup'),
    ],
    guard: (a, f) => {
      // The call reaches posix_spawn only when all five arguments pass the native checks.
      const [file, argv, env, fds, newGroup] = a;
      if (a.length < 5 || typeof file !== 'string' || file.includes('\0') || Buffer.byteLength(file) > 4096) return undefined;
      const args = elements(argv, 65536);
      const envs = env === undefined ? [] : elements(env, 65536);
      const pairs = elements(fds, 1024);
      if (!args || !envs || !pairs || typeof newGroup !== 'boolean') return undefined;
      const strings = (xs: unknown[]): boolean => xs.every((x) => typeof x === 'string' && !x.includes('\0'));
      if (!strings(args) || !strings(envs) || args.length === 0) return undefined;
      const parents: number[] = [];
      for (const p of pairs) {
        const pair = elements(p, 2);
        if (!pair || pair.length !== 2 || !isInt(pair[0], 0, 2 ** 20) || !isInt(pair[1], 0, FD_MAX)) return undefined;
        parents.push(pair[1]);
      }
      return first(
        file === TRUE_BIN ? (args.length === 1 && args[0] === 'true' ? undefined : `${TRUE_BIN} runs with argv ['true'] only`) : pathUnsafe(file, f),
        envs.length > 4 ? 'a big environment is not needed' : undefined,
        ...parents.map((p) => fdUnsafe(p, f)),
        f.spawned.size >= SPAWNED_MAX ? 'enough spawned children are waiting to be reaped' : undefined,
      );
    },
    after: (_a, f, out) => {
      if (out.ok && isInt(out.value, 1, PID_MAX)) {
        f.spawned.add(out.value);
        f.report.spawned++;
      }
    },
    noConstruct: true,
  },

  // ---- fd passing and the pipe ping-pong bench ----
  sendFds: {
    params: [
      fdParam('sock', ['socket']),
      P('fds', (f) => {
        if (f.chance(0.15)) return A([]);
        const fds: number[] = [];
        for (let n = 1 + f.int(3); n > 0; n--) fds.push(f.fd().v as number);
        return A(fds);
      }, (f) => {
        if (f.chance(0.3)) {
          // Grows while the native loop reads it: each element is a closed fd (so no guard needs to read it).
          const a: number[] = [];
          const grow = (i: number): void => {
            Object.defineProperty(a, i, {
              get: () => {
                if (a.length < 600) grow(a.length);
                return FD_MAX;
              },
              enumerable: true,
              configurable: true,
            });
          };
          grow(0);
          f.closedFdArrays.add(a);
          return A(a, 'array of closed fds that grows while it is read');
        }
        return A(f.pick([[-1], [FD_MAX + 1], new Array<number>(SCM_MAX_FD + 1).fill(FD_MAX), ['3'], [0.5], 3]));
      }),
      P('data', (f) => (f.chance(0.3) ? A(undefined) : f.buffer())),
    ],
    guard: (a, f) => first(fdUnsafe(a[0], f, ['socket']), fdListUnsafe(a[1], f)),
  },
  recvFds: {
    params: [
      fdParam('sock', ['socket']),
      P('maxFds', (f) => A(f.pick([undefined, 1, 2, 16, SCM_MAX_FD])), (f) => A(f.pick([0, SCM_MAX_FD + 1, -1, 0.5]))),
      P('maxBytes', (f) => A(f.pick([undefined, 1, 64, 4096, 65536])), (f) => A(f.pick([0, RECV_BYTES_MAX + 1, -1]))),
    ],
    guard: (a, f) => first(fdUnsafe(a[0], f, ['socket']), tooBig(a[2], 1, RECV_BYTES_MAX, 65536, 'a receive buffer')),
    after: (_a, f, out) => {
      if (out.ok) f.ownReceived(out.value);
    },
    noConstruct: true,
  },
  recvFdsAsync: {
    params: [
      fdParam('sock', ['socket']),
      P('maxFds', (f) => A(f.pick([undefined, 1, 16])), (f) => A(f.pick([0, SCM_MAX_FD + 1]))),
      P('maxBytes', (f) => A(f.pick([undefined, 16, 4096])), (f) => A(f.pick([0, RECV_BYTES_MAX + 1]))),
      P('callback', (f) => f.callback('recvFdsAsync')),
    ],
    guard: (a, f) =>
      first(
        fdUnsafe(a[0], f, ['socket']),
        tooBig(a[2], 1, RECV_BYTES_MAX, 65536, 'a receive buffer'),
        // Received fds must reach the fuzzer: only callbacks it recognises.
        isInt(a[0], 3, FD_MAX) && f.owned.has(a[0]) && typeof a[3] === 'function' && !f.ours.has(a[3]) ? 'an unrecognised callback would lose received fds' : undefined,
      ),
    after: (a, f, out) => f.afterAsync('recvFdsAsync', a, 3, a[0], out),
    noConstruct: true,
  },
  waitReady: {
    params: [
      fdParam('fd', ['pipe', 'socket']),
      P('writable', (f) => A(f.pick([true, false])), () => A(1)),
      P('callback', (f) => f.callback('waitReady')),
    ],
    guard: (a, f) => fdUnsafe(a[0], f, ['pipe', 'socket']),
    after: (a, f, out) => f.afterAsync('waitReady', a, 2, a[0], out),
    noConstruct: true,
  },
  pingPongBench: {
    // Owned fds are O_NONBLOCK (EAGAIN instead of a sleep); one iteration at most.
    params: [fdParam('readFd'), fdParam('writeFd'), iterationsParam, boolParam('initiator')],
    guard: (a, f) => first(fdUnsafe(a[0], f), fdUnsafe(a[1], f), tooManyIterations(a[2])),
  },

  // ---- message queues ----
  mqOpen: {
    params: [
      mqNameParam,
      P('oflag', (f) => {
        let fl = f.pick([O_RDONLY, O_WRONLY, O_RDWR, O_RDWR]);
        if (f.chance(0.7)) fl |= O_CREAT;
        if (f.chance(0.15)) fl |= O_EXCL;
        if (f.chance(0.5)) fl |= O_NONBLOCK;
        return A(fl);
      }, (f) => A(f.pick([O_RDWR | O_WRONLY, 0x80000, O_TRUNC, -1, 2 ** 31]))),
      P('mode', (f) => A(f.pick([0o600, 0o644, 0])), (f) => A(f.pick([0o1000, -1, undefined]))),
      P('maxMessages', (f) => A(f.pick([undefined, 1, 2, MQ_MAXMSG])), (f) => A(f.pick([0, -1, 2 ** 31]))),
      P('messageSize', (f, prev) => A(prev[3]?.v === undefined ? undefined : f.pick([1, 16, MQ_MSGSIZE])), (f) => A(f.pick([0, -1, 2 ** 31]))),
    ],
    guard: (a, f) => {
      const [name, oflag, mode, maxMsg, msgSize] = a;
      const nameWhy = mqNameUnsafe(name, f);
      if (nameWhy) return nameWhy;
      // The rest only matters for a call that reaches mq_open.
      const known = O_RDWR | O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK;
      if (a.length < 3 || typeof name !== 'string' || !isInt(oflag, 0, INT_MAX) || (oflag & ~known) !== 0 || (oflag & 3) === 3 || !isInt(mode, 0, 0o777)) return undefined;
      const attr = (v: unknown): number | undefined | null => (v === undefined ? undefined : isInt(v, 1, INT_MAX) ? v : null);
      const mm = attr(maxMsg);
      const ms = attr(msgSize);
      if (mm === null || ms === null || (mm === undefined) !== (ms === undefined)) return undefined;
      if (f.mqFds().length >= MQ_FDS_MAX) return 'enough queue descriptors are open';
      if ((oflag & O_CREAT) === 0) return undefined; // opens an existing queue of ours (or ENOENT)
      if (mm === undefined || ms === undefined || mm > MQ_MAXMSG || ms > MQ_MSGSIZE) return `queues are created small (at most ${MQ_MAXMSG} x ${MQ_MSGSIZE} bytes)`;
      const exists = fs.existsSync(`/dev/mqueue/${name.slice(1)}`);
      return !exists && f.mqQueues().size >= MQ_QUEUES_MAX ? 'enough queues exist' : undefined;
    },
    after: ownResult,
    noConstruct: true,
  },
  mqUnlink: { params: [mqNameParam], guard: (a, f) => mqNameUnsafe(a[0], f) },
  mqClose: {
    params: [mqFdParam()],
    guard: mqGuard,
    before: (a, f) => f.cancelOn(a[0]),
    after: (a, f) => {
      if (isInt(a[0], 0, FD_MAX)) f.disown(a[0]); // mq_close is close(2), whatever the fd
    },
  },
  mqGetattr: { params: [mqFdParam()], guard: mqGuard },
  mqSetNonBlocking: { params: [mqFdParam(), boolParam('on')], guard: mqGuard },
  mqSend: {
    params: [mqFdParam(), P('data', (f) => f.mqBytes(false)), priorityParam],
    guard: (a, f) => first(mqGuard(a, f), f.mqCouldBlock(a[0], true) ? 'mq_send on a full blocking queue would sleep' : undefined),
  },
  mqTimedSend: {
    params: [mqFdParam(), P('data', (f) => f.mqBytes(false)), priorityParam, mqTimeoutParam],
    guard: (a, f) => {
      const t = timeoutOf(a[3], MQ_TIMEOUT_MAX);
      return first(mqGuard(a, f), t !== undefined && t > SHORT_MS && f.mqCouldBlock(a[0], true) ? 'a long timed send on a full queue' : undefined);
    },
  },
  mqReceive: {
    params: [mqFdParam(), P('buffer', (f) => f.mqBytes(true)), priorityOutParam],
    guard: (a, f) => first(mqGuard(a, f), f.mqCouldBlock(a[0], false) ? 'mq_receive on an empty blocking queue would sleep' : undefined),
  },
  mqTimedReceive: {
    params: [mqFdParam(), P('buffer', (f) => f.mqBytes(true)), mqTimeoutParam, priorityOutParam],
    guard: (a, f) => {
      const t = timeoutOf(a[2], MQ_TIMEOUT_MAX);
      return first(mqGuard(a, f), t !== undefined && t > SHORT_MS && f.mqCouldBlock(a[0], false) ? 'a long timed receive on an empty queue' : undefined);
    },
  },
  mqSendAsync: {
    params: [mqFdParam(), P('data', (f) => f.mqBytes(false)), priorityParam, P('callback', (f) => f.callback('mqSendAsync'))],
    guard: mqGuard,
    after: (a, f, out) => f.afterAsync('mqSendAsync', a, 3, a[0], out),
    noConstruct: true,
  },
  mqReceiveAsync: {
    params: [mqFdParam(), P('buffer', (f) => f.mqBytes(true)), P('callback', (f) => f.callback('mqReceiveAsync'))],
    guard: mqGuard,
    after: (a, f, out) => f.afterAsync('mqReceiveAsync', a, 2, a[0], out),
    noConstruct: true,
  },
  mqPingPongBench: {
    params: [mqFdParam('receiveMqd'), mqFdParam('sendMqd'), iterationsParam, boolParam('initiator')],
    guard: (a, f) => {
      const [rq, sq, n, initiator] = a;
      const why = first(fdUnsafe(rq, f), fdUnsafe(sq, f), tooManyIterations(n));
      if (why || a.length < 4 || !isInt(rq, 0, FD_MAX) || !isInt(sq, 0, FD_MAX) || n !== 1 || typeof initiator !== 'boolean') return why;
      if (!f.mqAttr(rq)) return undefined; // mq_getattr(receiveMqd) fails before the loop
      let same = false;
      try {
        same = f.mqAttr(sq) !== undefined && fs.fstatSync(rq).ino === fs.fstatSync(sq).ino;
      } catch {
        /* closed */
      }
      if (initiator) {
        return f.mqCouldBlock(sq, true) || (f.mqAttr(sq) !== undefined && f.mqCouldBlock(rq, false, same ? 1 : 0)) ? 'a blocking queue could sleep' : undefined;
      }
      return f.mqCouldBlock(rq, false) || f.mqCouldBlock(sq, true, same ? -1 : 0) ? 'a blocking queue could sleep' : undefined;
    },
  },

  // ---- the sync family: factories ----
  semInit: {
    params: [...placeParams('sem'), P('value', (f) => A(f.pick([0, 1, 1, 2, 3, SEM_VALUE_MAX])), (f) => A(f.pick([-1, SEM_VALUE_MAX + 1, 0.5])))],
    guard: (a, f) => placeGuard('sem', a, f),
    after: recordPlaced('sem'),
  },
  semAttach: { params: placeParams('sem'), guard: (a, f) => placeGuard('sem', a, f), after: recordPlaced('sem') },
  semOpen: {
    params: [
      P('name', (f) => A(`${f.shmPrefix}s${f.int(3)}`), (f) => A(f.pick(['/', 'noslash', '/a/b', '/.', '/..', `/${'x'.repeat(252)}`]))),
      P('flags', (f) => A(f.pick([0, O_CREAT, O_CREAT, O_CREAT | O_EXCL])), (f) => A(f.pick([O_RDWR, 0x80000, O_NONBLOCK | O_CREAT, -1]))),
      P('mode', (f) => A(f.pick([undefined, 0o600, 0o644, 0])), (f) => A(f.pick([0o1000, -1]))),
      P('value', (f) => A(f.pick([undefined, 0, 1, 3])), (f) => A(f.pick([-1, SEM_VALUE_MAX + 1]))),
    ],
    guard: (a, f) => semNameUnsafe(a[0], f),
    after: (a, f, out) => {
      if (out.ok && typeof out.value === 'object' && out.value !== null && typeof a[0] === 'string') f.recordSync('sem', out.value, undefined, 0, a[0]);
    },
  },
  semUnlink: {
    params: [P('name', (f) => A(`${f.shmPrefix}s${f.int(4)}`), (f) => A(f.pick(['/', 'noslash', '/..', `/${'x'.repeat(252)}`])))],
    guard: (a, f) => semNameUnsafe(a[0], f),
  },
  mutexInit: {
    params: placeParams('mutex'),
    guard: (a, f) => placeGuard('mutex', a, f),
    after: (a, f, out) => {
      recordPlaced('mutex')!(a, f, out);
      if (out.ok && typeof a[0] === 'object' && a[0] !== null) f.syncMaps.get(a[0])?.mutexReady.add((a[1] as number) + 0);
    },
  },
  mutexAttach: { params: placeParams('mutex'), guard: (a, f) => placeGuard('mutex', a, f), after: recordPlaced('mutex') },
  condInit: { params: placeParams('cond'), guard: (a, f) => placeGuard('cond', a, f), after: recordPlaced('cond') },
  condAttach: { params: placeParams('cond'), guard: (a, f) => placeGuard('cond', a, f), after: recordPlaced('cond') },
  barrierInit: {
    params: [...placeParams('barrier'), P('count', (f) => A(f.pick([1, 1, 1, 2, 3])), (f) => A(f.pick([0, -1, 2 ** 30 + 1, 0.5])))],
    guard: (a, f) =>
      first(
        placeGuard('barrier', a, f),
        // A waiting thread that saw count 1 would wait for ever if the count changed under it.
        liveSyncMap(a[0], 'barrier', f) && placeable(a[0], a[1], 'barrier') && f.waitPendingAt(f.slotKey(a[0], a[1] + 0)) ? 'an async wait is in this barrier' : undefined,
      ),
    after: (a, f, out) => {
      recordPlaced('barrier')!(a, f, out);
      if (out.ok && typeof a[0] === 'object' && a[0] !== null && typeof a[2] === 'number') f.syncMaps.get(a[0])?.barrierCount.set((a[1] as number) + 0, a[2]);
    },
  },
  barrierAttach: { params: placeParams('barrier'), guard: (a, f) => placeGuard('barrier', a, f), after: recordPlaced('barrier') },

  // ---- Semaphore ----
  Semaphore: syncCtor('sem'),
  'Semaphore.prototype.wait': syncMethod('sem', {
    guard: (a, f) => {
      const r = recvOf(a, f, 'sem');
      return r && !f.semWaitSafe(r, a[0]) ? 'sem_wait could sleep (value 0, or an async wait of ours on it)' : undefined;
    },
  }),
  'Semaphore.prototype.tryWait': syncMethod('sem'),
  'Semaphore.prototype.post': syncMethod('sem'),
  'Semaphore.prototype.value': syncMethod('sem'),
  'Semaphore.prototype.timedWait': syncMethod('sem', {
    params: [P('timeout', (f) => A(f.pick(longTimeouts)), timeoutEdge)],
    guard: (a, f) => {
      const r = recvOf(a, f, 'sem');
      const t = timeoutOf(a[1]);
      return r && t !== undefined && t > SHORT_MS && !f.semWaitSafe(r, a[0]) ? 'a long wait on a semaphore that may stay 0' : undefined;
    },
  }),
  'Semaphore.prototype.waitAsync': syncMethod('sem', {
    params: [P('timeout', (f) => A(f.pick([0, 1, SHORT_MS, 20, 200, Infinity])), timeoutEdge), P('callback', (f) => f.callback('Semaphore.waitAsync'))],
    guard: (a, f) => {
      const r = recvOf(a, f, 'sem');
      const t = timeoutOf(a[1]);
      if (!r || t === undefined || t === 0 || !f.usable(r, a[0])) return undefined; // throws, or -1 at once
      return asyncWaitUnsafe(a[2], f);
    },
    after: (a, f, out) => f.syncWaitStarted('sem', a[0], a[2], out),
    noConstruct: true,
  }),
  'Semaphore.prototype.destroy': syncMethod('sem'),
  'Semaphore.prototype.close': syncMethod('sem'),
  'get Semaphore.prototype.closed': syncGetter('sem'),
  'get Semaphore.prototype.handle': syncGetter('sem'),
  'get Semaphore.prototype.name': syncGetter('sem'),

  // ---- Mutex ----
  Mutex: syncCtor('mutex'),
  'Mutex.prototype.lock': syncMethod('mutex', {
    guard: (a, f) => {
      const r = recvOf(a, f, 'mutex');
      return r && !f.mutexLockSafe(r, a[0]) ? 'a mutex not made by mutexInit could be held by this thread (no EDEADLK)' : undefined;
    },
  }),
  'Mutex.prototype.tryLock': syncMethod('mutex'),
  'Mutex.prototype.timedLock': syncMethod('mutex', {
    params: [P('timeout', (f) => A(f.pick(longTimeouts)), timeoutEdge)],
    guard: (a, f) => {
      const r = recvOf(a, f, 'mutex');
      const t = timeoutOf(a[1]);
      return r && t !== undefined && t > SHORT_MS && !f.mutexLockSafe(r, a[0]) ? 'a long lock of a mutex not made by mutexInit' : undefined;
    },
  }),
  'Mutex.prototype.unlock': syncMethod('mutex'),
  'Mutex.prototype.destroy': syncMethod('mutex', {
    before: (a, f) => {
      const r = recvOf(a, f, 'mutex');
      f.receiverWasUsable = r !== undefined && f.usable(r, a[0]);
    },
    after: (a, f, out) => {
      const r = recvOf(a, f, 'mutex');
      if (out.ok && r && f.receiverWasUsable) f.syncMapOf(r)?.mutexReady.delete(r.off);
    },
  }),
  'get Mutex.prototype.closed': syncGetter('mutex'),
  'get Mutex.prototype.handle': syncGetter('mutex'),
  'get Mutex.prototype.ownerDied': syncGetter('mutex'),

  // ---- Cond ----
  Cond: syncCtor('cond'),
  'Cond.prototype.wait': syncMethod('cond', {
    params: [
      P('mutex', (f) => f.syncObj('mutex'), (f) => f.syncObj(otherKind(f, 'mutex'))),
      P('timeout', (f) => A(f.pick([0, 0.5, 1, SHORT_MS])), timeoutEdge),
    ],
    guard: (a, f) => {
      const c = recvOf(a, f, 'cond');
      const m = f.syncRec(a[1]);
      if (!c || m?.kind !== 'mutex' || !f.usable(c, a[0]) || !f.usable(m, a[1])) return undefined; // throws first
      if (a[2] !== undefined && timeoutOf(a[2]) === undefined) return undefined; // RangeError / TypeError
      // Nobody signals: a wait without a short timeout would never end.
      const t = timeoutOf(a[2]);
      return t !== undefined && t <= SHORT_MS ? undefined : 'a condition wait without a short timeout';
    },
  }),
  'Cond.prototype.signal': syncMethod('cond'),
  'Cond.prototype.broadcast': syncMethod('cond'),
  'Cond.prototype.destroy': syncMethod('cond'),
  'get Cond.prototype.closed': syncGetter('cond'),
  'get Cond.prototype.handle': syncGetter('cond'),

  // ---- Barrier ----
  Barrier: syncCtor('barrier'),
  'Barrier.prototype.wait': syncMethod('barrier', {
    guard: (a, f) => {
      const r = recvOf(a, f, 'barrier');
      return r && !f.barrierWaitSafe(r, a[0]) ? 'a barrier wait returns at once only with count 1' : undefined;
    },
  }),
  'Barrier.prototype.waitAsync': syncMethod('barrier', {
    params: [P('callback', (f) => f.callback('Barrier.waitAsync'))],
    guard: (a, f) => {
      const r = recvOf(a, f, 'barrier');
      if (!r || typeof a[1] !== 'function' || !f.usable(r, a[0])) return undefined;
      // pthread_barrier_wait cannot be cancelled: a thread waiting for others would wait for ever.
      return first(f.barrierWaitSafe(r, a[0]) ? undefined : 'a barrier wait returns at once only with count 1', asyncWaitUnsafe(a[1], f));
    },
    after: (a, f, out) => f.syncWaitStarted('barrier', a[0], a[1], out),
    noConstruct: true,
  }),
  'Barrier.prototype.destroy': syncMethod('barrier', {
    guard: (a, f) => {
      const r = recvOf(a, f, 'barrier');
      // pthread_barrier_destroy waits for the threads its counters say are inside: only barriers made here.
      return r && f.usable(r, a[0]) && f.syncMapOf(r)?.barrierCount.has(r.off) !== true ? 'a barrier not made by barrierInit (unknown counters)' : undefined;
    },
    before: (a, f) => {
      const r = recvOf(a, f, 'barrier');
      f.receiverWasUsable = r !== undefined && f.usable(r, a[0]);
    },
    after: (a, f, out) => {
      const r = recvOf(a, f, 'barrier');
      if (out.ok && r && f.receiverWasUsable) f.syncMapOf(r)?.barrierCount.delete(r.off);
    },
  }),
  'get Barrier.prototype.closed': syncGetter('barrier'),
  'get Barrier.prototype.handle': syncGetter('barrier'),

  // ---- the fast functions (a handle instead of a receiver) ----
  semWaitFast: blockingFast('sem', (f, r) => f.semWaitSafe(r), 'sem_wait could sleep (value 0, or an async wait of ours on it)'),
  semPostFast: { params: [handleParam('sem')] },
  semTryWaitFast: { params: [handleParam('sem')] },
  mutexLockFast: blockingFast('mutex', (f, r) => f.mutexLockSafe(r), 'a mutex not made by mutexInit could be held by this thread'),
  mutexUnlockFast: { params: [handleParam('mutex')] },
  mutexTryLockFast: { params: [handleParam('mutex')] },
  barrierWaitFast: blockingFast('barrier', (f, r) => f.barrierWaitSafe(r), 'a barrier wait returns at once only with count 1'),

  // ---- the sync benches (native/bench.cc): 0 or 1 iteration, on objects that cannot make them sleep ----
  semPingPongBench: {
    params: [P('mapping', (f) => f.syncMapping('sem')), slotParam('sem', 'pingOffset'), slotParam('sem', 'pongOffset'), iterationsParam, P('side', (f) => A(f.int(2)), (f) => A(f.pick([2, -1, 0.5])))],
    guard: (a, f) => {
      const [m, ping, pong, n, side] = a;
      const why = first(syncMapUnsafe(m, 'sem', f), slotUnsafe(m, ping, 'sem', f), slotUnsafe(m, pong, 'sem', f), tooManyIterations(n));
      if (why || a.length < 5 || n !== 1 || !isInt(side, 0, 1) || !liveSyncMap(m, 'sem', f) || !placeable(m, ping, 'sem') || !placeable(m, pong, 'sem')) return why;
      // side 0: post(ping), wait(pong); side 1: wait(ping), post(pong)
      const waited = side === 0 ? pong + 0 : ping + 0;
      const posted = side === 0 ? ping + 0 : -1;
      const ok = !f.waitPendingAt(f.slotKey(m, waited)) && (waited === posted || f.semValueAt(m, waited) > 0);
      return ok ? undefined : 'the bench would wait on a semaphore that may stay 0';
    },
  },
  semUncontendedBench: {
    params: [P('mapping', (f) => f.syncMapping('sem')), slotParam('sem'), iterationsParam],
    guard: (a, f) => {
      const why = first(placeGuard('sem', a, f), tooManyIterations(a[2]));
      if (why || a[2] !== 1 || !liveSyncMap(a[0], 'sem', f) || !placeable(a[0], a[1], 'sem')) return why;
      // post then wait: an async waiter of ours could take the token in between
      return f.waitPendingAt(f.slotKey(a[0], a[1] + 0)) ? 'an async wait is pending on this semaphore' : undefined;
    },
  },
  barrierBench: {
    params: [P('mapping', (f) => f.syncMapping('barrier')), slotParam('barrier'), iterationsParam],
    guard: (a, f) => {
      const why = first(placeGuard('barrier', a, f), tooManyIterations(a[2]));
      if (why || a[2] !== 1 || !liveSyncMap(a[0], 'barrier', f) || !placeable(a[0], a[1], 'barrier')) return why;
      return f.syncMaps.get(a[0])?.barrierCount.get(a[1] + 0) === 1 ? undefined : 'a barrier wait returns at once only with count 1';
    },
  },
  mutexBench: {
    params: [
      P('mapping', (f) => f.syncMapping('mutex')),
      slotParam('mutex', 'mutexOffset'),
      P('counterOffset', (f) => A(MUTEX_COUNTER_BASE + 4 * f.int(MUTEX_COUNTER_SPAN / 4)), (f) => A(f.pick([2, f.page - 2, f.page, -4]))),
      iterationsParam,
    ],
    guard: (a, f) => {
      const why = first(placeGuard('mutex', a, f), counterUnsafe(a[0], a[2], f), tooManyIterations(a[3]));
      if (why || a[3] !== 1 || !liveSyncMap(a[0], 'mutex', f) || !placeable(a[0], a[1], 'mutex')) return why;
      return f.syncMaps.get(a[0])?.mutexReady.has(a[1] + 0) ? undefined : 'a mutex not made by mutexInit could be held by this thread';
    },
  },

  // ---- the bench loops of `multiproc bench` (native/bench.cc) ----
  futexPingPongBench: {
    // Any round trip can sleep on the word (no partner here): 0 iterations only; the word is in an anonymous mapping.
    params: [
      P('mapping', (f) => f.mapping(true)),
      P('offset', (f) => A(f.pick([0, 4, 64, f.page - 4])), (f) => A(f.pick([2, -4, f.page, 0.5]))),
      iterationsParam,
      P('side', (f) => A(f.int(2)), (f) => A(f.pick([2, -1, 0.5]))),
    ],
    guard: (a, f) => {
      const m = typeof a[0] === 'object' && a[0] !== null ? f.maps.get(a[0]) : undefined;
      return first(
        m && !m.anon && !m.closed ? 'only anonymous mappings are written' : undefined,
        tooBig(a[2], 0, BENCH_ITER_MAX, 0, 'a futex round trip (it would sleep)'),
      );
    },
  },
  streamBench: {
    // Owned fds are O_NONBLOCK (EAGAIN instead of a sleep); a few bytes at most, small buffers.
    params: [
      fdParam(),
      P('totalBytes', (f) => A(f.pick([0, 1, 64])), (f) => A(f.pick([-1, 2 ** 46 + 1, 0.5]))),
      P('chunkBytes', (f) => A(f.pick([1, 16, 4096])), (f) => A(f.pick([0, -1, 64 * 2 ** 20 + 1, 0.5]))),
      P('side', (f) => A(f.int(2)), (f) => A(f.pick([2, -1, 0.5]))),
    ],
    guard: (a, f) => first(fdUnsafe(a[0], f), tooBig(a[1], 0, 2 ** 46, 4096, 'a transfer'), tooBig(a[2], 1, 64 * 2 ** 20, 65536, 'a chunk')),
  },
  copyBench: {
    params: [
      P('mapping', (f) => f.mapping(true)),
      P('bytes', (f) => A(f.pick([1, 16, f.page, 65536])), (f) => A(f.pick([0, -1, SHM_LEN_MAX + 1]))),
      iterationsParam,
    ],
    guard: (a, f) => {
      const m = typeof a[0] === 'object' && a[0] !== null ? f.maps.get(a[0]) : undefined;
      return first(
        m && !m.anon && !m.closed ? 'a file-backed mapping could SIGBUS if its file was truncated' : undefined,
        tooBig(a[1], 1, SHM_LEN_MAX, 65536, 'a copy'),
        tooBig(a[2], 0, BENCH_ITER_MAX, 1, 'an iteration count'),
      );
    },
  },
  forkWaitBench: {
    // fork + _exit(0) + waitpid of its own child: harmless, one at most.
    params: [iterationsParam],
    guard: (a) => tooBig(a[0], 0, BENCH_ITER_MAX, 1, 'a fork count'),
  },
  spawnWaitBench: {
    params: [
      P('path', (f) => (f.chance(0.8) ? A(TRUE_BIN) : f.path()), (f) => A(f.pick(['', 'a\0b', 'x'.repeat(4097), 'true']))),
      iterationsParam,
    ],
    guard: (a, f) => first(a[0] === TRUE_BIN ? undefined : pathUnsafe(a[0], f), tooBig(a[1], 0, BENCH_ITER_MAX, 1, 'a spawn count')),
  },

  // ---- futex family (native/futex.cc): words in mappings, never written by these calls ----
  futexWait: {
    params: [
      P('mapping', (f) => f.mapping()),
      P('offset', (f) => A(f.pick([0, 4, 8, f.page - 4])), (f) => A(f.pick([1, 2, f.page, -4, 0.5, 2 ** 47]))),
      P('expected', (f) => A(f.pick([0, 1, -1, 0x7fffffff, 0xffffffff])), (f) => A(f.pick([2 ** 32, -(2 ** 31) - 1, 0.5, '0']))),
      P('timeout', (f) => A(f.pick([0, 0.5, 1, SHORT_MS])), (f) => A(f.pick([-1, NaN, '1', undefined, Infinity]))),
    ],
    // Only short timeouts: the word's value is not ours to know, so any wait may sleep until its timeout.
    guard: (a) => (timeoutOf(a[3], SHORT_MS) === undefined && (a[3] === undefined || timeoutOf(a[3]) !== undefined) ? 'a futex wait without a short timeout could block' : undefined),
    noConstruct: true,
  },
  futexWake: {
    params: [
      P('mapping', (f) => f.mapping()),
      P('offset', (f) => A(f.pick([0, 4, 8, f.page - 4])), (f) => A(f.pick([1, 2, f.page, -4, 0.5]))),
      P('count', (f) => A(f.pick([undefined, 0, 1, 0x7fffffff])), (f) => A(f.pick([-1, 2 ** 31, 0.5]))),
    ],
    noConstruct: true,
  },
  futexWaitAsync: {
    params: [
      P('mapping', (f) => f.mapping()),
      P('offset', (f) => A(f.pick([0, 4, 8, f.page - 4])), (f) => A(f.pick([1, 2, f.page, -4]))),
      P('expected', (f) => A(f.pick([0, 1, -1])), (f) => A(f.pick([2 ** 32, 0.5]))),
      P('timeout', (f) => A(f.pick([0, 1, SHORT_MS, 20])), (f) => A(f.pick([-1, NaN, '1']))),
      P('callback', (f) => f.callback('futexWaitAsync')),
    ],
    // A thread waits: only with a short timeout (it ends by itself), a callback of ours, and not too many.
    guard: (a, f) => {
      if (typeof a[4] !== 'function') return undefined; // ArgFunction throws
      if (timeoutOf(a[3], 20) === undefined) return timeoutOf(a[3]) !== undefined || a[3] === undefined ? 'a futex wait without a short timeout could outlive the run' : undefined;
      if (!f.ours.has(a[4])) return 'an unrecognised callback would hide the end of the wait';
      return Number(mainFn('pendingWaits')?.('futex') ?? 0) >= SYNC_WAITS_MAX ? 'enough futex waits are pending' : undefined;
    },
    noConstruct: true,
  },

  // ---- every async wait (native/addon.cc): one id space, one cancel ----
  cancelWait: {
    params: [P('id', (f) => f.waitId(), (f) => A(f.pick([0, -1, 0.5, 1.5, 2 ** 53 + 2])))],
    after: (a, f, out) => {
      // A reactor watch never calls back once cancelled; a thread wait calls back (2 or 3) and ends itself.
      if (out.ok && out.value === true && typeof a[0] === 'number') f.pending.delete(a[0]);
    },
    noConstruct: true,
  },
  pendingWaits: {
    params: [P('kind', (f) => A(f.pick([undefined, 'reactor', 'futex', 'sync'])), (f) => A(f.pick(['', 'Reactor', 'all', 1, null])))],
    noConstruct: true,
  },

  // ---- namespace family (native/ns.cc): nothing outside the sandbox may change ----
  unshare: {
    // A new UTS or mount namespace only moves the sandbox itself (no mount is ever made; see mount). PID (its
    // later children: the cat and /bin/true children would die with the first), user (caps), IPC (the parent's
    // clean-up of queue names), network, cgroup and time namespaces are refused.
    params: [P('flags', (f) => A(f.pick([0, nsC('CLONE_NEWUTS'), nsC('CLONE_NEWNS'), nsC('CLONE_NEWUTS') | nsC('CLONE_NEWNS'), nsC('CLONE_NEWPID')])), (f) => A(f.pick([-1, 0x100, 2 ** 31, 0.5, nsC('CLONE_NEWPID') | 0x100])))],
    guard: (a) => (isInt(a[0], 0, 2 ** 31) && (a[0] & ~(nsC('CLONE_NEWUTS') | nsC('CLONE_NEWNS'))) === 0 ? undefined : isInt(a[0], 0, 2 ** 31) && (a[0] & ~NS_FLAGS) === 0 ? 'only UTS and mount namespaces may be unshared' : undefined),
  },
  setns: {
    // Pipes, sockets, files and queues only, which are no namespace: EINVAL. Never a pidfd ('other'): setns on
    // a pidfd of a child joins that child's namespaces, the host's.
    params: [fdParam('fd', NOT_NAMESPACES), P('nstype', (f) => A(f.pick([0, nsC('CLONE_NEWUTS'), nsC('CLONE_NEWNS')])), (f) => A(f.pick([-1, 0x100, 0.5])))],
    guard: (a, f) => fdUnsafe(a[0], f, NOT_NAMESPACES),
  },
  sethostname: {
    // Never a valid name: whether the sandbox's UTS namespace is its own cannot be known for sure (a setns
    // could have joined the host's again), and a valid call there renames the machine.
    params: [P('name', (f) => A(f.pick(['h'.repeat(65), 'a\0b'])), (f) => A(f.pick(['h'.repeat(65), 'a\0b', 7])))],
    guard: (a) => (typeof a[0] === 'string' && !a[0].includes('\0') && Buffer.byteLength(a[0]) <= 64 ? 'a valid host name could rename the machine' : undefined),
  },
  gethostname: none,
  mount: {
    // Only targets that do not exist (ENOENT): a mount that succeeded could land in the host's mount tree.
    params: [
      P('source', (f) => A(f.pick([null, 'none', 'proc', 'multiproc-fuzz'])), (f) => A(f.pick([5, 'a\0b', 'x'.repeat(5000)]))),
      P('target', (f) => A(`${f.workdir}/no-such-dir/target`), (f) => A(f.pick(['', 'a\0b', 'x'.repeat(5000), 3]))),
      P('fstype', (f) => A(f.pick([null, 'tmpfs', 'proc', 'no-such-fs'])), (f) => A(f.pick(['x'.repeat(300), 'a\0b', 1]))),
      P('flags', (f) => A(f.pick([0, nsC('MS_REC') | nsC('MS_PRIVATE'), nsC('MS_BIND'), nsC('MS_RDONLY') | nsC('MS_REMOUNT')])), (f) => A(f.pick([-1, 2 ** 31, 0.5, 1 << 26]))),
      P('data', (f) => A(f.pick([null, undefined, 'size=4k'])), (f) => A(f.pick(['d'.repeat(5000), 'a\0b', 9]))),
    ],
    guard: (a, f) => (typeof a[1] === 'string' && a[1] !== '' && !a[1].includes('\0') && a[1] !== `${f.workdir}/no-such-dir/target` ? 'mount only on a target that does not exist' : undefined),
  },
  umount2: {
    // Paths in the sandbox's temp dir, where nothing is mounted: EINVAL or ENOENT.
    params: [P('target', (f) => f.path(), (f) => A(f.pick(['', 'a\0b', 4]))), P('flags', (f) => A(f.pick([undefined, 0, nsC('MNT_DETACH'), nsC('MNT_EXPIRE')])), (f) => A(f.pick([-1, 0x100, 0.5])))],
    guard: (a, f) => pathUnsafe(a[0], f),
  },

  // ---- signal family (native/signal.cc): dispositions and masks of SIGWINCH and SIGURG only (default: ignored) ----
  sigprocmask: {
    params: [P('how', (f) => A(f.int(3)), (f) => A(f.pick([3, -1, 0.5]))), P('signals', (f) => A(f.pick([null, undefined, [], [SIG('SIGWINCH')], [SIG('SIGURG'), SIG('SIGWINCH')]])), (f) => A(f.pick([[0], [SIGRTMAX + 1], ['x'], new Array(200).fill(1)])))],
    guard: (a) => sigListUnsafe(a[1]),
  },
  sigpending: none,
  sigaction: {
    params: [
      P('signal', (f) => A(f.pick(QUIET_SIGNALS)), (f) => A(f.pick([0, SIGRTMAX + 1, 'SIGWINCH']))),
      P('disposition', (f) => A(f.int(4)), (f) => A(f.pick([4, -1, 0.5]))),
      P('flags', (f) => A(f.pick([undefined, 0, sigC('SA_RESTART'), sigC('SA_RESETHAND') + sigC('SA_NODEFER')])), (f) => A(f.pick([4, -1, 2 ** 32]))),
      P('mask', (f) => A(f.pick([undefined, [], [SIG('SIGURG')]])), (f) => A(f.pick([[0], 'x']))),
    ],
    guard: (a) => first(isInt(a[0], 1, SIGRTMAX) && !QUIET_SIGNALS.includes(a[0]) && isInt(a[1], 0, 3) ? `signal ${a[0]}: only ${QUIET_SIGNALS.join(', ')} may change` : undefined, sigListUnsafe(a[3])),
  },
  sigsuspend: {
    params: [P('mask', (f) => A(f.pick([[], [SIG('SIGWINCH')]])), (f) => A(f.pick([[0], 'x']))), P('timeout', (f) => A(f.pick([0, 1, SHORT_MS])), (f) => A(f.pick([-1, NaN, 1e13])))],
    guard: (a) => first(sigListUnsafe(a[0]), timeoutOf(a[1], SHORT_MS) === undefined && (a[1] === undefined || timeoutOf(a[1], 1e12) !== undefined) ? 'sigsuspend without a short timeout could sleep for good' : undefined),
  },
  sigqueue: {
    params: [
      P('pid', (f) => A(f.children.size > 0 && f.chance(0.8) ? f.pick(f.childPids()) : f.self), (f) => A(f.pick([0, -1, PID_MAX + 1, 0.5]))),
      P('signal', (f, prev) => A(f.isChild(prev[0]?.v) ? f.pick(HARMLESS_CHILD_SIGNALS) : 0), () => A(SIGRTMAX + 1)),
      P('value', (f) => A(f.pick([0, 1, -1, 2 ** 31 - 1])), (f) => A(f.pick([2 ** 31, 0.5, 'x']))),
    ],
    guard: (a, f) => {
      const [pid, sig] = a;
      if (!isInt(pid, 1, PID_MAX) || !isInt(sig, 0, SIGRTMAX)) return undefined; // rejected natively
      if (f.isChild(pid) && HARMLESS_CHILD_SIGNALS.includes(sig)) return undefined;
      return pid === f.self && sig === 0 ? undefined : `sigqueue(${pid}, ${sig}) would signal a process the fuzzer does not own (or itself)`;
    },
  },
  signalRecords: { params: [P('fromSeq', (f) => A(f.pick([undefined, 0, 1, 2 ** 53])), (f) => A(f.pick([-1, 0.5, 2 ** 53 + 2])))] },
  signalCount: { params: [P('signal', (f) => A(1 + f.int(SIGRTMAX)), (f) => A(f.pick([0, SIGRTMAX + 1, 0.5])))] },
  signalSeq: none,
};


/** Every function the addons export, by schema name, with the methods and accessors of exported classes. */
function nativeFunctions(): Map<string, AnyFn> {
  const out = new Map<string, AnyFn>();
  for (const k of Object.keys(mainAddon).sort()) {
    const v = mainAddon[k];
    if (typeof v !== 'function') continue;
    out.set(k, v as AnyFn);
    const proto = (v as { prototype?: unknown }).prototype;
    if (typeof proto !== 'object' || proto === null) continue;
    for (const key of Object.getOwnPropertyNames(proto).sort()) {
      const d = key === 'constructor' ? undefined : Object.getOwnPropertyDescriptor(proto, key);
      if (typeof d?.value === 'function') out.set(`${k}.prototype.${key}`, d.value as AnyFn);
      if (typeof d?.get === 'function') out.set(`get ${k}.prototype.${key}`, d.get as AnyFn);
      if (typeof d?.set === 'function') out.set(`set ${k}.prototype.${key}`, d.set as AnyFn);
    }
  }
  const forkAddon = loadForkAddon() as unknown as Record<string, unknown>;
  for (const k of Object.keys(forkAddon).sort()) {
    const v = forkAddon[k];
    if (typeof v === 'function') out.set(`fork.${k}`, v as AnyFn);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// the sandbox body

interface SandboxOptions {
  seed: number;
  target: number;
  budgetMs: number;
  workdir: string;
  progressPath: string;
}

async function sandbox(o: SandboxOptions): Promise<Report> {
  const t0 = Date.now();
  process.chdir(o.workdir); // relative paths, were any to slip through, land in the temp dir
  try {
    native.setrlimit(RLIMIT_CORE, 0, native.getrlimit(RLIMIT_CORE)[1]); // a crash is reported, not dumped
  } catch {
    /* keep going */
  }
  const progressFd = fs.openSync(o.progressPath, 'w');
  const f = new Fuzzer(o.seed, o.workdir, progressFd);
  const foreign = fdTable(); // none of these is the fuzzer's: they must all survive unchanged
  // A throwing callback delivered later by the reactor surfaces as an uncaught exception: count it.
  process.on('uncaughtException', (e: unknown) => {
    f.report.uncaught++;
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (!(typeof code === 'string' && code.startsWith('ERR_FUZZ_'))) f.offend('uncaught exception during an async delivery', describeThrown(e));
  });
  const nofileHard = native.getrlimit(RLIMIT_NOFILE)[1];
  if (nofileHard < FD_MAX - 1) CLOSED_FDS.push(nofileHard);

  for (let i = 0; i < 3; i++) f.spawnChild();
  f.maintain();
  f.maintainMappings();
  // A forced GC now and then runs the finalizers of mappings the fuzzer dropped without closing them.
  const gc = (() => {
    try {
      v8.setFlagsFromString('--expose-gc');
      return vm.runInNewContext('gc') as () => void;
    } catch {
      return undefined;
    }
  })();

  const fns = nativeFunctions();
  const names = [...fns.keys()].filter((n) => schemas[n]);
  let sinceYield = 0;
  rounds: while (f.report.total < o.target) {
    for (const name of f.shuffle([...names])) {
      if (Date.now() - t0 > o.budgetMs) break rounds;
      f.call(name, fns.get(name) as AnyFn, schemas[name] as Schema);
      if (f.report.total % 16 === 0) {
        f.maintain();
        f.maintainMappings();
      }
      if (f.report.total % 5000 === 0 && gc) {
        f.progress(`after call #${f.report.total}: garbage collection (mapping finalizers)`);
        gc();
      }
      if (++sinceYield >= 48) {
        sinceYield = 0;
        f.mutatePending();
        if (f.chance(0.05)) f.truncateFiles();
        f.progress(`after call #${f.report.total}: event loop turn (reactor deliveries, child exits)`);
        await tick();
        while (f.children.size < 3 && f.childrenSpawned < 200) f.spawnChild();
      }
    }
  }

  f.progress('cleanup: cancelling pending async work');
  f.cleaning = true;
  // Deliveries already queued when the cancelling starts still run (and re-entrant ones, before `cleaning`,
  // may have added work): cancel, let the loop turn, until nothing of ours is pending.
  for (let round = 0; round < 20; round++) {
    for (const id of [...f.pending.keys()]) native.cancelWait(id);
    f.pending.clear();
    await tick();
    if (f.pending.size === 0) break;
  }
  // Async sync waits: cancel the semaphore ones (barrier ones, count 1, end by themselves), then let every
  // callback run.
  for (const [id, w] of f.syncWaits) if (w.kind === 'sem') native.cancelWait(id);
  for (let i = 0; i < 3 || (f.syncWaits.size > 0 && i < 600); i++) await new Promise((resolve) => setTimeout(resolve, i < 3 ? 0 : 5));
  f.report.syncPendingAtEnd = native.pendingWaits('sync');
  f.report.pendingAtEnd = native.pendingWaits('reactor');
  f.progress('cleanup: closing fds, killing and reaping children');
  for (const fd of f.ownedFds()) f.closeOwned(fd);
  for (const fd of [...f.owned.keys()]) f.closeOwned(fd);
  for (const [m, rec] of f.maps) if (!rec.closed) f.closeMapping(m);
  f.maps.clear();
  for (const m of f.syncMaps.keys()) if (!mappingClosed(m)) mainFn('mappingClose')!(m);
  f.syncMaps.clear();
  f.unlinkShmNames();
  f.progress('cleanup: reaping the children of spawn');
  for (const pid of [...f.spawned]) {
    try {
      native.kill(pid, SIG('SIGKILL'));
      native.waitpid(pid, 0);
    } catch (e) {
      f.report.spawnedUnreaped.push(pid);
      f.offend('spawn: a returned pid could not be reaped', `pid ${pid}: ${describeThrown(e)}`);
    }
    f.spawned.delete(pid);
  }
  for (const [pid, cp] of [...f.children]) {
    native.kill(pid, SIG('SIGKILL'));
    native.waitpid(pid, 0);
    f.children.delete(pid);
    cp.stdin?.destroy();
  }
  const now = fdTable();
  for (const [fd, link] of foreign) {
    if (now.get(fd) !== link) f.report.foreignFdsChanged.push(`${fd}: ${link} -> ${now.get(fd) ?? 'closed'}`);
  }
  f.report.childrenSpawned = f.childrenSpawned;
  f.report.elapsedMs = Date.now() - t0;
  f.progress('done');
  fs.closeSync(progressFd);
  return f.report;
}

// ---------------------------------------------------------------------------------------------------------
// the test (in the vitest worker)

test('every native function, called with random and hostile arguments in a forked sandbox, throws or returns and never crashes', async () => {
  const fns = nativeFunctions();
  const missing = [...fns.keys()].filter((n) => !schemas[n]);
  // Soft: the functions that have a schema are still fuzzed, and every problem is reported at once.
  expect.soft(missing, `native function(s) without a fuzz schema in test/fuzz/native.fuzz.test.ts: ${missing.join(', ')}. Add a schema (parameters, valid values, harmlessness guard).`).toEqual([]);
  const stale = Object.keys(schemas).filter((n) => !fns.has(n));
  if (stale.length > 0) console.log(`native fuzz: schemas for functions this build does not export (skipped): ${stale.join(', ')}`);

  const seed = process.env.MULTIPROC_FUZZ_SEED ? Number(process.env.MULTIPROC_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  const target = Number(process.env.MULTIPROC_FUZZ_CALLS ?? 100_000);
  console.log(`native fuzz: seed ${seed} (replay with MULTIPROC_FUZZ_SEED=${seed}), ${target} calls`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'multiproc-fuzz-'));
  try {
    const workdir = path.join(tmp, 'work');
    fs.mkdirSync(workdir);
    const progressPath = path.join(tmp, 'progress');
    const opts: SandboxOptions = { seed, target, budgetMs: 45_000, workdir, progressPath };
    const started = Date.now();
    const [r, w] = posix.pipe();
    const pid = await forkRun(async () => {
      posix.close(r);
      const report = await sandbox(opts);
      posix.writeAll(w, v8.serialize(report));
      posix.close(w);
      return 0; // forkRun ends the sandbox with _exit(0): the one valid _exit call
    });
    posix.close(w);
    const [data, status] = await Promise.all([readAll(r), reap(pid, 100_000)]).finally(() => {
      posix.close(r);
      // The sandbox unlinks its shm names, named semaphores and queues itself; after a crash, they go here.
      removeNames(`multiproc-fuzz-${pid}-`);
    });
    const wall = Date.now() - started;
    const steps = readProgress(progressPath);
    const last = steps[steps.length - 1] ?? '(no step recorded)';
    if (status.kind !== 'exited' || status.code !== 0) {
      console.log(`native fuzz: the sandbox's last ${steps.length} steps (seed ${seed}), oldest first:\n  ${steps.map((t) => t.slice(0, 240)).join('\n  ')}`);
    }
    expect(status, `the fuzz sandbox did not exit cleanly: ${JSON.stringify(status)}; its last step was "${last}" (seed ${seed}, replay with MULTIPROC_FUZZ_SEED=${seed})`).toEqual({ kind: 'exited', pid, code: 0 });

    const report = v8.deserialize(data) as Report;
    const lines = Object.entries(report.perFn)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, s]) => {
        const codes = Object.entries(s.codes).sort((x, y) => y[1] - x[1]).slice(0, 4).map(([c, n]) => `${c}×${n}`).join(' ');
        return `  ${name.padEnd(30)} ${String(s.calls).padStart(5)} calls ${String(s.threw).padStart(5)} threw ${String(s.returned).padStart(5)} returned ${String(s.allValid).padStart(4)} all-valid  ${codes}`;
      });
    console.log(
      `native fuzz: ${report.total} calls in ${report.elapsedMs} ms (sandbox wall ${wall} ms), seed ${seed}; ` +
        `${report.callbacks} callbacks, ${report.uncaught} uncaught callback exceptions, ${report.constructCalls} 'new' calls, ` +
        `${report.guardRetries} argument lists refused by the harmlessness guards, ${report.skipped} calls skipped, ` +
        `${report.engineErrors} engine-level TypeErrors (Illegal invocation / class constructor without new), ` +
        `${report.childrenSpawned} children spawned, peak ${report.fdsAtPeak} owned fds, ${report.asyncRegistered} async watches ` +
        `registered, ${report.bufferMutations} pending buffers detached/resized, ${report.spawned} /bin/true spawned (all reaped), ` +
        `${report.syncObjects} sync objects made, ${report.syncWaitsStarted} async sync waits, ${report.fdsReceived} fds received` +
        `\n  callbacks: ${JSON.stringify(report.callbackOutcomes)}\n${lines.join('\n')}`,
    );

    const offenders = report.offenders.map((o) => `${o.kind} ×${o.count}, e.g. ${o.example}`);
    expect.soft(offenders, `${report.offenderCount} call(s) threw something other than an Error with a string \`code\` (seed ${seed}):\n  ${offenders.join('\n  ')}\n`).toEqual([]);
    expect.soft(report.total, `only ${report.total} calls were made (seed ${seed})`).toBeGreaterThanOrEqual(10_000);
    const notCalled = [...fns.keys()].filter((n) => schemas[n] && !((report.perFn[n]?.calls ?? 0) >= 20));
    expect.soft(notCalled, `native function(s) fuzzed fewer than 20 times: ${notCalled.join(', ')}`).toEqual([]);
    for (const [name, s] of Object.entries(report.perFn)) {
      expect.soft(s.threw + s.returned, `${name}: every call either threw or returned`).toBe(s.calls);
      if (schemas[name]!.params.length > 0) expect.soft(s.threw, `${name} never threw on hostile arguments`).toBeGreaterThan(0);
    }
    expect.soft(report.pendingAtEnd, 'async work left pending in the sandbox reactor').toBe(0);
    expect.soft(report.syncPendingAtEnd, 'async sync waits (Semaphore/Barrier waitAsync) that never called back').toBe(0);
    expect.soft(report.spawnedUnreaped, 'spawned children the sandbox could not reap').toEqual([]);
    expect.soft(report.foreignFdsChanged, 'fds the fuzzer did not open were closed or replaced').toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 150_000);

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
//     the parent after a crash); mappings and file sizes of at most 1 MiB; memory is only ever written in
//     anonymous mappings (a file-backed one whose file got truncated would SIGBUS, by design of mmap);
//     fillBench with small sizes only;
//   - async work (waitpidAsync/readAsync/writeAsync) is tracked and cancelled before its fd is closed and at
//     the end; the sandbox must end with nothing pending in the reactor.
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
import vm from 'node:vm';
import { expect, test } from 'vitest';
import { loadForkAddon, native } from '../../lib/native.js';
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
/** The main addon, untyped: new functions are called before lib/native.ts declares them. */
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

// ---------------------------------------------------------------------------------------------------------
// small helpers

type AnyFn = (...args: unknown[]) => unknown;
interface Arg {
  v: unknown;
  d: string;
}
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
type Kind = 'pipe' | 'socket' | 'file' | 'dir' | 'other';

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
  childrenSpawned = 0;
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
    };
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
  progress(text: string): void {
    fs.writeSync(this.progressFd, `${text.slice(0, 1800)}\n`.padEnd(2048), 0);
  }

  // ---- values ----

  hostile(): Arg {
    const h = this.pick(this.hostiles);
    return { v: h.make(), d: h.d };
  }

  childPids(): number[] {
    return [...this.children.keys()];
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

  /** What a re-entrant callback does: use the reactor from inside a delivery (cancel a watch, add one). */
  reenter(): void {
    native.reactorPending();
    const ids = [...this.pending.keys()];
    if (ids.length > 0 && this.chance(0.5)) {
      const id = this.pick(ids);
      if (native.waitCancel(id)) this.pending.delete(id);
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
    this.owned.set(fd, classify(fd, this.workdir));
    const i = this.recentlyClosed.indexOf(fd);
    if (i >= 0) this.recentlyClosed.splice(i, 1);
    nonBlocking(fd);
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
        native.waitCancel(id);
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

  /** Unlinks every shm name the fuzzer may have created. */
  unlinkShmNames(): void {
    for (const name of fs.readdirSync('/dev/shm')) {
      if (`/${name}`.startsWith(this.shmPrefix)) fs.rmSync(`/dev/shm/${name}`, { force: true });
    }
  }

  reaped(pid: number): void {
    this.children.delete(pid);
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
  waitCancel: {
    params: [
      P('id', (f) => {
        const ids = [...f.pending.keys(), ...f.recentIds];
        return A(ids.length > 0 && f.chance(0.7) ? f.pick(ids) : f.pick([1, 2, 2 ** 53, 1 + f.int(100000)]));
      }, (f) => A(f.pick([0, -1, 2 ** 53 + 2, 1.5]))),
    ],
    after: (a, f, out) => {
      if (out.ok && out.value === true && typeof a[0] === 'number') f.pending.delete(a[0]);
    },
    noConstruct: true,
  },
  pidfdOpen: { params: [pidParam(positivePids)], guard: (a, f) => pidUnsafe(a[0], positivePids(f)), after: ownResult, noConstruct: true },
  kill: {
    params: [
      P('pid', (f) => A(f.children.size > 0 && f.chance(0.8) ? f.pick(f.childPids()) : f.self), (f) => A(f.pick([PID_MAX + 1, 2 ** 31, -(2 ** 31), 0.5]))),
      P('signal', (f, prev) => {
        if (!f.children.has(prev[0]?.v as number)) return A(0);
        return A(f.pick(f.chance(0.15) ? LETHAL_CHILD_SIGNALS : HARMLESS_CHILD_SIGNALS));
      }, () => A(SIGRTMAX + 1)),
    ],
    guard: (a, f) => {
      const [pid, sig] = a;
      if (a.length < 2 || !isInt(pid, -(2 ** 31), 2 ** 31) || !isInt(sig, 0, SIGRTMAX)) return undefined; // rejected natively
      if (f.children.has(pid) && CHILD_SIGNALS.includes(sig)) return undefined;
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
  reactorPending: none,

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
  for (const id of [...f.pending.keys()]) native.waitCancel(id);
  f.pending.clear();
  for (let i = 0; i < 3; i++) await tick();
  f.report.pendingAtEnd = native.reactorPending();
  f.progress('cleanup: closing fds, killing and reaping children');
  for (const fd of f.ownedFds()) f.closeOwned(fd);
  for (const fd of [...f.owned.keys()]) f.closeOwned(fd);
  for (const [m, rec] of f.maps) if (!rec.closed) f.closeMapping(m);
  f.maps.clear();
  f.unlinkShmNames();
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
      // The sandbox unlinks its shm names itself; after a crash, they are removed here.
      for (const name of fs.readdirSync('/dev/shm')) {
        if (name.startsWith(`multiproc-fuzz-${pid}-`)) fs.rmSync(`/dev/shm/${name}`, { force: true });
      }
    });
    const wall = Date.now() - started;
    const last = (() => {
      try {
        return fs.readFileSync(progressPath, 'utf8').split('\n')[0] ?? '';
      } catch {
        return '(no progress file)';
      }
    })();
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
        `registered, ${report.bufferMutations} pending buffers detached/resized\n  callbacks: ${JSON.stringify(report.callbackOutcomes)}\n${lines.join('\n')}`,
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
    expect.soft(report.foreignFdsChanged, 'fds the fuzzer did not open were closed or replaced').toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 150_000);

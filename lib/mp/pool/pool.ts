// Pool: Python's multiprocessing.Pool with Node's conventions (map() is a Promise, imap() an async iterable).
//
// Design
//   • One worker = one daemon Process + one Unix stream socketpair. Frames are batched both ways (lib/pool-
//     protocol.ts): the parent appends every chunk it hands out during one scheduling pass to a worker's
//     buffer and writes it with one write(2); a worker replies with as many results per write as it has
//     finished by the time it would wait. So a task costs a few µs of encoding, not a round trip.
//   • Pipelining: a worker holds several chunks at once. How many adapts to the measured run time of a
//     chunk (about 5 ms of queued work per worker, from 1 to 256 chunks): tiny tasks keep the socket full,
//     long ones are not hoarded by one worker while another idles.
//   • fork: `fn` may be any function, closures included. Each distinct function gets an id (a WeakMap);
//     workers are forked lazily, when a call needs them, and know every function registered at their fork
//     (a copy of the parent's table). A call with a function the current workers have not seen retires them
//     (they finish the chunks they hold, then exit) and forks fresh workers that have it. So a closure sees
//     the parent's state as it was at that fork: variables it captured, module state, everything — later
//     changes in the parent are not seen by workers already running, and a worker's changes stay in the
//     worker. Reuse one function object for repeated calls: each new closure costs a fork of the workers
//     (the last 16 functions used are passed on to every new worker, so alternating between a few is cheap).
//   • spawn: `fn` is the name of an export of the Pool's `module`, or { module, export }; workers import it on
//     first use and are started eagerly (a fresh node takes a while).
//   • Death: every worker's pid is watched (pidfd). When one ends, whatever it wrote is read first; then the
//     chunks it still held reject their calls with a WorkerDiedError naming the exit code or signal, and a
//     replacement is started. Nothing waits for a dead worker, so nothing hangs (Python's Pool does,
//     gh-66587). A worker that cannot start (its initializer throws, or it dies before it is ready three
//     times in a row) breaks the pool: every call rejects with the cause.
//   • An idle pool holds no watches, so it does not keep the event loop (the program) alive; its workers
//     are daemons: they are terminated at exit and die with this process even if it is SIGKILLed.
// Files: pool-calls.ts (calls and their chunks), pool-channel.ts (the parent's end of a worker's socket),
// pool-protocol.ts (frames and encodings), pool-worker.ts (the worker's loop).
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AnyFn, ArrayCall, type Call, type Chunk, type FnRef, IterCall } from './calls.js';
import { Channel, parentEnds } from './channel.js';
import { type ErrorRecord, FrameReader, T, workerError } from './protocol.js';
import { type ModuleSpec, runWorker } from './worker.js';
import * as posix from '../../posix/index.js';
import { cpuCount, getStartMethod, Process, type StartMethod } from '../process/process.js';
import { WorkerDiedError } from '../core/errors.js';
import { markNotSendable } from '../core/sendable.js';
import { coded, integer, rangeError, typeError } from '../../posix/errors.js';

/** A task function: fork — any function; both methods — an export name of the Pool's module, or { module, export }. */
export type PoolFunction<A extends unknown[] = never[], R = unknown> = ((...args: A) => R) | string | { module: string | URL; export: string };

export interface PoolOptions {
  /** Number of workers (default: the CPUs this process may run on, as Python 3.13's process_cpu_count()). */
  processes?: number;
  /** Runs once in every worker before its first task: a function (fork), or an export (name / { module, export }). */
  initializer?: AnyFn | string | { module: string | URL; export: string };
  /** Arguments for the initializer (structured-cloned with spawn). */
  initArgs?: unknown[];
  /** A worker exits and is replaced after this many chunks (Python's maxtasksperchild; a chunk is a "task" there). */
  maxTasksPerChild?: number | null;
  /** 'fork' (the default start method) or 'spawn'. */
  startMethod?: StartMethod;
  /** The module whose exports task functions may name (required for spawn unless every call names its module). */
  module?: string | URL;
}

export interface MapOptions {
  /** Items per message to a worker. map/starmap: ceil(length / (4 × processes)); imap/imapUnordered: 1. */
  chunkSize?: number;
  /** Aborting rejects the call with the signal's reason; chunks not yet handed to a worker are dropped. */
  signal?: AbortSignal;
}

/** A summary of recent samples, in milliseconds. */
export interface TimeSummary {
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface PoolStats {
  processes: number;
  /** Worker processes alive now (retiring ones included). */
  workers: number;
  /** Tasks (items) that completed / that threw (their whole chunk), were lost with a dead worker, or were
   *  dropped because their call ended first (aborted, failed, terminated; a lazy input's unread rest is not counted). */
  completed: number;
  failed: number;
  /** Chunks (messages of tasks) whose results or error came back. */
  chunks: number;
  /** Tasks waiting for a worker (known ones: the unread rest of a lazy imap input is not counted). */
  queueLength: number;
  /** Tasks held by workers now. */
  inFlight: number;
  /** Workers that died while holding tasks, and workers started in all. */
  workerDeaths: number;
  workersStarted: number;
  /** Per-task run time in the worker (each chunk's time divided by its items; last 4096 chunks). */
  runTime: TimeSummary;
  /**
   * Per-task wait: from being queued (a map's call, or an imap item read from its input) to its result
   * arriving, minus its run time in the worker (last 4096 chunks).
   */
  waitTime: TimeSummary;
}

/** A task whose worker died: lib/mp/core/errors.ts (exported here too, where it always was). */
export { WorkerDiedError };

function checkPositiveInt(name: string, v: unknown): number {
  return integer(name, v, 1, 2 ** 31);
}

function toModuleUrl(m: string | URL, what: string): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string' || m === '') throw typeError(`${what} must be a path or a URL`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(m)) return m;
  return pathToFileURL(path.resolve(m)).href;
}

/** The worker module a spawned worker imports: next to this file (.ts from sources, .js from dist). */
function workerModule(): string {
  const here = fileURLToPath(import.meta.url);
  return pathToFileURL(path.join(path.dirname(here), here.endsWith('.ts') ? 'worker.ts' : 'worker.js')).href;
}

function usableCpus(): number {
  try {
    return posix.getAffinity(0).length || cpuCount();
  } catch {
    return cpuCount();
  }
}

async function importExport(spec: ModuleSpec): Promise<AnyFn> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const fn = mod[spec.export];
  if (typeof fn !== 'function') {
    throw coded(
      new TypeError(`${spec.module} has no exported function "${spec.export}" (exports: ${Object.keys(mod).join(', ') || 'none'})`),
      'ERR_INVALID_ARG_VALUE',
    );
  }
  return fn as AnyFn;
}

/**
 * A forked worker's Process. Built here, outside the Pool, so that the child's entry closure does not hold
 * the Pool (a dropped Pool must be collectable: its finalizer ends its workers).
 */
function forkedWorker(name: string, fd: number, registry: Map<number, AnyFn>, init: AnyFn | undefined, initArgs: unknown[]): Process {
  return new Process({
    name,
    daemon: true,
    startMethod: 'fork',
    target: () => {
      for (const other of parentEnds) {
        try {
          posix.close(other); // every pool's channels but this worker's own end
        } catch {
          /* closed already */
        }
      }
      return runWorker(fd, { lookup: (id) => registry.get(id) as never, initializer: init as never, initArgs });
    },
  });
}

interface Leftovers {
  /** The process whose workers and fds these are: a forked child has a copy of the heap, not of them. */
  pid: number;
  procs: Set<Process>;
  fds: Set<number>;
}

/** A Pool collected while it still had workers: SIGKILL them, reap them, close their channels. */
const dropped = new FinalizationRegistry<Leftovers>((left) => {
  // In a forked child (a worker) the parent's Pools are unreachable garbage: their fd numbers may be the
  // child's own by now (its reactor's epoll fd…) and their workers are not its children. Hands off.
  if (left.pid !== process.pid) return;
  for (const fd of left.fds) {
    parentEnds.delete(fd);
    try {
      posix.close(fd);
    } catch {
      /* closed */
    }
  }
  for (const p of left.procs) {
    try {
      p.kill();
      p.join().catch(() => {});
    } catch {
      /* reaped already */
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// statistics

const RING = 4096;

class Samples {
  readonly #ring = new Float64Array(RING);
  #n = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  add(v: number): void {
    this.#ring[this.#n % RING] = v;
    this.#n++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  summary(): TimeSummary {
    if (this.#n === 0) return { count: 0, mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
    const recent = Float64Array.from(this.#ring.subarray(0, Math.min(this.#n, RING))).sort();
    const q = (p: number): number => recent[Math.min(recent.length - 1, Math.floor(p * recent.length))]!;
    return { count: this.#n, mean: this.#sum / this.#n, min: this.#min, max: this.#max, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// workers

class Worker {
  readonly held = new Map<number, Chunk>();
  readonly defined = new Set<number>();
  assigned = 0;
  ready = false;
  retiring = false;
  /** Recycled (maxTasksPerChild): counts as a worker until it exits, as in Python. */
  recycling = false;
  exited = false;
  joinAc: AbortController | undefined;
  readonly pid: number;

  constructor(
    readonly proc: Process,
    readonly chan: Channel,
    /** fork: the local functions this worker got at its fork. */
    readonly known: ReadonlySet<number>,
  ) {
    this.pid = proc.pid!;
  }

  heldTasks(): number {
    let n = 0;
    for (const c of this.held.values()) n += c.size;
    return n;
  }
}

type State = 'running' | 'closing' | 'closed' | 'terminated' | 'broken';

const TARGET_QUEUE_MS = 5;
const MAX_WINDOW = 256;
const STARTUP_FAILURES = 3;
/** Functions no call uses any more that a fork still passes on to new workers. */
const RECENT_FNS = 16;

/**
 * A pool of worker processes (Python's multiprocessing.Pool). See the file header for the design, and
 * README "Pool" for what a closure sees under fork.
 */
export class Pool {
  readonly processes: number;
  readonly startMethod: StartMethod;
  readonly maxTasksPerChild: number | null;
  readonly #module: string | undefined;
  #initializer: AnyFn | ModuleSpec | undefined;
  readonly #initArgs: unknown[];
  #state: State = 'running';
  #brokenError: Error | undefined;
  readonly #workers = new Set<Worker>();
  readonly #calls = new Set<Call>();
  // fork: local functions by id (while calls use them) and their ids
  readonly #fnIds = new WeakMap<AnyFn, number>();
  readonly #registry = new Map<number, AnyFn>();
  readonly #recent = new Map<number, AnyFn>();
  readonly #fnUsers = new Map<number, number>();
  readonly #specIds = new Map<string, number>();
  readonly #imported = new Map<string, AnyFn>(); // fork: module exports the parent imported
  #initLoading = false;
  #nextFnId = 0;
  #nextChunkId = 0;
  #workerCount = 0;
  #startupFailures = 0;
  #emaChunkMs: number | undefined;
  readonly #reader = new FrameReader();
  readonly #joinWaiters: Array<() => void> = [];
  #pumping = false;
  #fillQueued = false;
  #pumpAgain = false;
  // stats
  #completed = 0;
  #failed = 0;
  #chunks = 0;
  #deaths = 0;
  readonly #runTime = new Samples();
  readonly #waitTime = new Samples();
  // what a finalizer kills and closes if the Pool is dropped without close()/terminate()
  readonly #leftovers: Leftovers = { pid: process.pid, procs: new Set(), fds: new Set() };

  constructor(opts: PoolOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw typeError('new Pool(options): options must be an object');
    this.processes = opts.processes === undefined ? usableCpus() : checkPositiveInt('options.processes', opts.processes);
    this.maxTasksPerChild = opts.maxTasksPerChild == null ? null : checkPositiveInt('options.maxTasksPerChild', opts.maxTasksPerChild);
    const method = opts.startMethod ?? getStartMethod();
    if (method !== 'fork' && method !== 'spawn') throw coded(new TypeError(`Unknown start method: ${String(method)} (expected 'fork' or 'spawn')`), 'ERR_INVALID_ARG_VALUE');
    this.startMethod = method;
    dropped.register(this, this.#leftovers, this);
    this.#module = opts.module === undefined ? undefined : toModuleUrl(opts.module, 'The "module" option');
    this.#initArgs = opts.initArgs ?? [];
    if (!Array.isArray(this.#initArgs)) throw typeError('The "initArgs" option must be an array');
    const init = opts.initializer;
    if (init === undefined || init === null) this.#initializer = undefined;
    else if (typeof init === 'function' && method === 'fork') this.#initializer = init;
    else this.#initializer = this.#spec(init as PoolFunction, 'initializer');
    if (method === 'spawn') {
      this.#fill(); // a fresh node takes a while: start now
      if (this.#state === 'broken') throw this.#brokenError!;
    }
    else if (this.#initializer !== undefined && typeof this.#initializer !== 'function') {
      // fork: the parent imports the initializer; workers are forked once it is here
      this.#initLoading = true;
      importExport(this.#initializer).then(
        (fn) => {
          this.#initializer = fn;
          this.#initLoading = false;
          this.#pump();
        },
        (e) => {
          this.#initLoading = false;
          this.#break(coded(new Error(`The Pool's initializer could not be loaded: ${(e as Error)?.message}`, { cause: e }), 'ERR_MULTIPROC_POOL_BROKEN'));
        },
      );
    }
  }

  // ---- public API ----

  /** fn over every item; the results in input order. */
  map<T, R>(fn: PoolFunction<[T], R>, iterable: Iterable<T>, opts: MapOptions = {}): Promise<Awaited<R>[]> {
    return this.#arrayCall(fn, iterable, opts, false, 'map') as Promise<Awaited<R>[]>;
  }

  /** fn(...args) for every args list; the results in input order. */
  starmap<A extends unknown[], R>(fn: PoolFunction<A, R>, iterable: Iterable<A>, opts: MapOptions = {}): Promise<Awaited<R>[]> {
    return this.#arrayCall(fn as PoolFunction, iterable, opts, true, 'starmap') as Promise<Awaited<R>[]>;
  }

  /** fn(...args) in a worker. */
  async apply<A extends unknown[], R>(fn: PoolFunction<A, R>, args: A = [] as unknown as A, opts: { signal?: AbortSignal } = {}): Promise<Awaited<R>> {
    if (!Array.isArray(args)) throw typeError('apply(fn, args): args must be an array');
    const [r] = await this.#arrayCall(fn as PoolFunction, [args], { ...opts, chunkSize: 1 }, true, 'apply');
    return r as Awaited<R>;
  }

  /** Lazily over `iterable` (sync or async, and may be infinite): results in input order, as they become available. */
  imap<T, R>(fn: PoolFunction<[T], R>, iterable: Iterable<T> | AsyncIterable<T>, opts: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    return this.#iterCall(fn, iterable, opts, true) as AsyncIterableIterator<Awaited<R>>;
  }

  /** As imap, in completion order. */
  imapUnordered<T, R>(fn: PoolFunction<[T], R>, iterable: Iterable<T> | AsyncIterable<T>, opts: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    return this.#iterCall(fn, iterable, opts, false) as AsyncIterableIterator<Awaited<R>>;
  }

  /** No more calls; the workers exit once every pending call has finished. */
  close(): void {
    if (this.#state !== 'running') return;
    this.#state = 'closing';
    this.#maybeFinishClose();
    this.#refresh();
  }

  /** Stops at once: pending calls reject (ERR_MULTIPROC_POOL_TERMINATED), workers are SIGKILLed and reaped. */
  async terminate(): Promise<void> {
    if (this.#state === 'running' || this.#state === 'closing') {
      this.#state = 'terminated';
      this.#stopAll(coded(new Error('The pool was terminated'), 'ERR_MULTIPROC_POOL_TERMINATED'));
    }
    await this.#joined();
  }

  /** Waits until every worker has exited (after close() or terminate(), as in Python). */
  async join(): Promise<void> {
    if (this.#state === 'running') throw coded(new Error('Pool is still running: call close() or terminate() before join()'), 'ERR_MULTIPROC_POOL_RUNNING');
    await this.#joined();
  }

  /** Python's `with Pool() as p:` terminates on exit; so does `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.terminate();
  }

  /** The worker pids now (retiring ones included). */
  get pids(): number[] {
    return [...this.#workers].filter((w) => !w.exited).map((w) => w.pid);
  }

  stats(): PoolStats {
    let queueLength = 0;
    for (const c of this.#calls) queueLength += c.queued;
    let inFlight = 0;
    for (const w of this.#workers) inFlight += w.heldTasks();
    return {
      processes: this.processes,
      workers: this.pids.length,
      completed: this.#completed,
      failed: this.#failed,
      chunks: this.#chunks,
      queueLength,
      inFlight,
      workerDeaths: this.#deaths,
      workersStarted: this.#workerCount,
      runTime: this.#runTime.summary(),
      waitTime: this.#waitTime.summary(),
    };
  }

  toString(): string {
    return `<Pool state=${this.#state} processes=${this.processes} startMethod=${this.startMethod}>`;
  }

  // ---- calls ----

  #checkRunning(): void {
    if (this.#state === 'broken') throw this.#brokenError!;
    if (this.#state !== 'running') throw coded(new Error('Pool not running (closed or terminated)'), 'ERR_MULTIPROC_CLOSED');
  }

  #chunkSize(opts: MapOptions, length: number | undefined): number {
    if (opts === null || typeof opts !== 'object') throw typeError('The options argument must be an object');
    if (opts.chunkSize !== undefined) return checkPositiveInt('options.chunkSize', opts.chunkSize);
    if (length === undefined) return 1;
    return Math.max(1, Math.ceil(length / (4 * this.processes)));
  }

  #arrayCall(fn: PoolFunction, iterable: Iterable<unknown>, opts: MapOptions, star: boolean, what: string): Promise<unknown[]> {
    try {
      this.#checkRunning();
      if (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
        throw typeError(`${what}(fn, iterable): iterable must be iterable`);
      }
      const items = Array.isArray(iterable) ? iterable : Array.from(iterable);
      const chunkSize = this.#chunkSize(opts, items.length);
      opts.signal?.throwIfAborted();
      const ref = this.#fnRef(fn);
      const call = new ArrayCall(ref, star, chunkSize, items, opts.signal);
      if (items.length === 0) {
        call.deliver({ id: 0, call, index: 0, offset: 0, size: 0, queuedAt: 0 }, []);
        return call.promise;
      }
      this.#submit(call);
      return call.promise;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #iterCall(fn: PoolFunction, iterable: Iterable<unknown> | AsyncIterable<unknown>, opts: MapOptions, ordered: boolean): AsyncIterableIterator<unknown> {
    this.#checkRunning();
    const isAsync = iterable !== null && typeof (iterable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
    if (!isAsync && (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== 'function')) {
      throw typeError(`${ordered ? 'imap' : 'imapUnordered'}(fn, iterable): iterable must be iterable or async iterable`);
    }
    const chunkSize = this.#chunkSize(opts, undefined);
    opts.signal?.throwIfAborted();
    const ref = this.#fnRef(fn);
    const input = isAsync
      ? { async: (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]() }
      : (iterable as Iterable<unknown>)[Symbol.iterator]();
    const call = new IterCall(ref, chunkSize, input, opts.signal, ordered);
    call.onConsume = () => queueMicrotask(() => this.#pump());
    call.onInput = () => this.#pump();
    this.#submit(call);
    return call;
  }

  #spec(fn: PoolFunction, what: string): ModuleSpec {
    if (typeof fn === 'string') {
      if (this.#module === undefined) {
        throw typeError(`${what}: a function named by export ("${fn}") needs the Pool's "module" option, or { module, export }`);
      }
      return { module: this.#module, export: fn };
    }
    if (fn !== null && typeof fn === 'object' && typeof (fn as { export?: unknown }).export === 'string') {
      const o = fn as { module: string | URL; export: string };
      return { module: toModuleUrl(o.module, `${what}: module`), export: o.export };
    }
    if (typeof fn === 'function') {
      throw typeError(`${what}: with the spawn start method a function cannot be sent; name an export of the Pool's module, or pass { module, export }`);
    }
    throw typeError(`${what}: expected a function, an export name or { module, export }`);
  }

  #localId(fn: AnyFn): number {
    let id = this.#fnIds.get(fn);
    if (id === undefined) {
      id = ++this.#nextFnId;
      this.#fnIds.set(fn, id);
    }
    return id;
  }

  #fnRef(fn: PoolFunction): FnRef {
    if (typeof fn === 'function' && this.startMethod === 'fork') return { id: this.#localId(fn), local: fn, spec: undefined };
    const spec = this.#spec(fn, 'fn');
    if (this.startMethod === 'fork') {
      // Under fork the parent imports the export and workers get it by inheritance, like any function
      // (a forked child cannot rely on a module loader that runs hooks on another thread, as tsx does).
      const key = `${spec.module}#${spec.export}`;
      const loaded = this.#imported.get(key);
      if (loaded) return { id: this.#localId(loaded), local: loaded, spec: undefined };
      return { id: 0, local: undefined, spec };
    }
    const key = `${spec.module}#${spec.export}`;
    let id = this.#specIds.get(key);
    if (id === undefined) {
      id = ++this.#nextFnId;
      this.#specIds.set(key, id);
    }
    return { id, local: undefined, spec };
  }

  #submit(call: Call): void {
    // A worker may have died since we last heard (killed while the pool was idle and unwatched, or its death
    // not yet reported by the reactor): find out now, before a chunk is handed to it (WNOHANG, one syscall
    // per worker per call).
    for (const w of [...this.#workers]) {
      if (!w.exited && !w.proc.isAlive()) {
        const ac = w.joinAc;
        w.joinAc = undefined;
        ac?.abort();
        this.#onExit(w);
      }
    }
    call.onFinish = () => this.#callFinished(call);
    this.#calls.add(call);
    const ref = call.fn;
    if (this.startMethod === 'fork' && ref.spec) {
      call.ready = false;
      importExport(ref.spec).then(
        (fn) => {
          this.#imported.set(`${ref.spec!.module}#${ref.spec!.export}`, fn);
          ref.id = this.#localId(fn);
          ref.local = fn;
          ref.spec = undefined;
          if (call.done) return;
          call.ready = true;
          this.#register(call);
          this.#pump();
        },
        (e) => call.fail(e),
      );
      this.#refresh();
      return;
    }
    this.#register(call);
    this.#pump();
  }

  #register(call: Call): void {
    const ref = call.fn;
    if (ref.local) {
      this.#registry.set(ref.id, ref.local);
      this.#fnUsers.set(ref.id, (this.#fnUsers.get(ref.id) ?? 0) + 1);
      // Workers that do not have this function finish what they hold and leave; fresh ones are forked.
      for (const w of this.#workers) if (!w.retiring && !w.known.has(ref.id)) this.#retire(w);
      call.registered = true;
    }
  }

  #callFinished(call: Call): void {
    this.#calls.delete(call);
    this.#failed += call.dropped;
    const ref = call.fn;
    if (call.registered) {
      const n = (this.#fnUsers.get(ref.id) ?? 1) - 1;
      if (n <= 0) {
        this.#fnUsers.delete(ref.id);
        this.#registry.delete(ref.id);
        // kept (strongly, the last RECENT_FNS) so that workers forked later know it too: alternating between
        // a few functions then does not fork new workers each time
        this.#recent.delete(ref.id);
        this.#recent.set(ref.id, ref.local!);
        if (this.#recent.size > RECENT_FNS) this.#recent.delete(this.#recent.keys().next().value!);
      } else {
        this.#fnUsers.set(ref.id, n);
      }
    }
    this.#maybeFinishClose();
    queueMicrotask(() => this.#refresh());
  }

  // ---- scheduling ----

  /** Chunks one worker may hold: about TARGET_QUEUE_MS of work, from 1 to MAX_WINDOW. */
  #window(): number {
    const ema = this.#emaChunkMs;
    if (ema === undefined) return 4;
    return Math.max(1, Math.min(MAX_WINDOW, Math.ceil(TARGET_QUEUE_MS / Math.max(ema, 1e-3))));
  }

  /** Hands out chunks while some worker has room. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#pumpOnce();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
    this.#refresh();
  }

  #pumpOnce(): void {
    if (this.#state !== 'running' && this.#state !== 'closing') return;
    if (this.#calls.size === 0) return;
    this.#fill();
    const window = this.#window();
    const aheadLimit = Math.max(8, 2 * window * this.processes);
    const touched = new Set<Worker>();
    for (const call of this.#calls) {
      while (call.wantsMore(aheadLimit)) {
        const w = this.#pickWorker(call.fn, window);
        if (!w) break;
        const items = call.take();
        if (!items) break;
        if (!this.#send(w, call, items)) break;
        touched.add(w);
      }
      if (!call.done && call.complete) call.deliverComplete();
    }
    for (const w of touched) w.chan.flush();
  }

  #pickWorker(ref: FnRef, window: number): Worker | undefined {
    let best: Worker | undefined;
    for (const w of this.#workers) {
      if (w.retiring || w.exited || w.held.size >= window) continue;
      if (ref.local && !w.known.has(ref.id)) continue;
      if (!best || w.held.size < best.held.size) best = w;
    }
    return best;
  }

  #send(w: Worker, call: Call, items: unknown[]): boolean {
    const out = w.chan.out;
    try {
      if (call.fn.spec && !w.defined.has(call.fn.id)) {
        out.begin(T.Define);
        out.u32(call.fn.id);
        out.payload([call.fn.spec], 'A function spec');
        out.end();
        w.defined.add(call.fn.id);
      }
      const id = (this.#nextChunkId = (this.#nextChunkId + 1) >>> 0);
      out.begin(T.Task);
      out.u32(id);
      out.u32(call.fn.id);
      out.u8(call.star ? 1 : 0);
      out.payload(items, 'A Pool task argument');
      out.end();
      const chunk: Chunk = { id, call, index: call.produced++, offset: call.itemsTaken - items.length, size: items.length, queuedAt: call.queuedSince ?? performance.now() };
      w.held.set(id, chunk);
      call.inFlight++;
      w.assigned++;
      if (this.maxTasksPerChild !== null && w.assigned >= this.maxTasksPerChild) {
        w.recycling = true;
        this.#retire(w);
      }
      return true;
    } catch (e) {
      out.abort();
      this.#failed += items.length;
      call.fail(e);
      return false;
    }
  }

  // ---- worker lifecycle ----

  /** Starts workers until `processes` are active (fork: only when there is work for them). */
  #fill(): void {
    if (this.#state !== 'running' && this.#state !== 'closing') return;
    if (this.startMethod === 'fork') {
      if (this.#calls.size === 0 || this.#initLoading || this.#fillQueued || this.#activeCount() >= this.processes) return;
      // Fork only from inside a microtask. Forked elsewhere (an I/O callback: a result just arrived), the
      // child would run the microtasks this process had queued — the continuations of calls that just
      // settled, i.e. the user's code — before leaving (posix.forkAndRun); inside a running microtask
      // checkpoint the child drops them.
      this.#fillQueued = true;
      queueMicrotask(() => {
        this.#fillQueued = false;
        if (this.#startWorkers() > 0) this.#pump(); // none started: wait for the next event, never spin
      });
      return;
    }
    this.#startWorkers();
  }

  #activeCount(): number {
    let active = 0;
    for (const w of this.#workers) if ((!w.retiring || w.recycling) && !w.exited) active++;
    return active;
  }

  /** Starts workers until `processes` are active; returns how many it started. */
  #startWorkers(): number {
    if (this.#state !== 'running' && this.#state !== 'closing') return 0;
    if (this.startMethod === 'fork' && (this.#calls.size === 0 || this.#initLoading)) return 0;
    let started = 0;
    for (let active = this.#activeCount(); active < this.processes; active++) {
      try {
        this.#startWorker();
        started++;
      } catch (e) {
        this.#break(coded(new Error(`The pool could not start a worker: ${(e as Error).message}`, { cause: e }), 'ERR_MULTIPROC_POOL_BROKEN'));
        break;
      }
    }
    return started;
  }

  #startWorker(): void {
    const [parentEnd, childEnd0] = posix.socketpair('stream');
    let childEnd = childEnd0;
    let proc: Process;
    const name = `PoolWorker-${++this.#workerCount}`;
    parentEnds.add(parentEnd);
    let known: ReadonlySet<number> = new Set<number>();
    try {
      if (this.startMethod === 'fork') {
        const registry = new Map([...this.#recent, ...this.#registry]); // the child's copy: id → function
        known = new Set(registry.keys());
        const init = this.#initializer;
        const initArgs = this.#initArgs;
        const fd = childEnd;
        proc = forkedWorker(name, fd, registry, init as AnyFn | undefined, initArgs);
        proc.start();
      } else {
        if (childEnd === 3) {
          // fd 3 is where the spawn bootstrap receives its payload: move the socket elsewhere
          childEnd = posix.dup(childEnd0);
          posix.close(childEnd0);
        }
        posix.setCloexec(childEnd, false); // inherited by this one posix_spawn (closed right after)
        proc = new Process({
          name,
          daemon: true,
          startMethod: 'spawn',
          module: workerModule(),
          export: 'spawnWorker',
          args: [childEnd, { initializer: this.#initializer as ModuleSpec | undefined, initArgs: this.#initArgs }],
        });
        proc.start();
      }
    } catch (e) {
      parentEnds.delete(parentEnd);
      posix.close(parentEnd);
      posix.close(childEnd);
      throw e;
    }
    posix.close(childEnd);
    posix.setNonBlocking(parentEnd);
    this.#leftovers.procs.add(proc);
    this.#leftovers.fds.add(parentEnd);
    let w!: Worker;
    const chan = new Channel(
      parentEnd,
      () => this.#onFrames(w),
      () => {},
    );
    w = new Worker(proc, chan, known);
    this.#workers.add(w);
  }

  /** The worker gets no more chunks; it exits after the ones it holds. */
  #retire(w: Worker): void {
    if (w.retiring) return;
    w.retiring = true;
    if (!w.recycling) this.#pumpAgain = true; // a replacement may be started
    if (!w.exited && !w.chan.closed) {
      w.chan.out.begin(T.Stop);
      w.chan.out.end();
      w.chan.flush();
    }
  }

  #onFrames(w: Worker): void {
    const p = w.chan.parser;
    const rd = this.#reader;
    let progressed = false;
    try {
      while (p.next()) {
        rd.set(p.buf, p.frameStart, p.frameEnd);
        const type = rd.u8();
        if (type === T.Result || type === T.Error) {
          const id = rd.u32();
          const ms = rd.f64();
          const chunk = w.held.get(id);
          if (!chunk) throw coded(new Error(`Pool worker ${w.pid} answered an unknown chunk ${id}`), 'ERR_MULTIPROC_BAD_FRAME');
          w.held.delete(id);
          const call = chunk.call;
          call.inFlight--;
          call.settled++;
          this.#chunks++;
          progressed = true;
          this.#emaChunkMs = this.#emaChunkMs === undefined ? ms : this.#emaChunkMs * 0.8 + ms * 0.2;
          const perTask = ms / Math.max(1, chunk.size);
          this.#runTime.add(perTask);
          this.#waitTime.add(Math.max(0, (performance.now() - chunk.queuedAt - ms) / Math.max(1, chunk.size)));
          if (type === T.Result) {
            const values = rd.payload();
            if (call.done) {
              this.#failed += chunk.size; // results of a cancelled call
            } else {
              this.#completed += chunk.size;
              call.deliver(chunk, values);
            }
          } else {
            const rec = rd.payload()[0] as ErrorRecord;
            this.#failed += chunk.size;
            call.fail(workerError(rec, w.pid));
          }
        } else if (type === T.Ready) {
          w.ready = true;
          this.#startupFailures = 0;
        } else if (type === T.InitFail) {
          const rec = rd.payload()[0] as ErrorRecord;
          const cause = workerError(rec, w.pid);
          this.#break(coded(new Error(`The Pool's initializer failed in worker ${w.pid}: ${(cause as Error)?.message ?? String(cause)}`, { cause }), 'ERR_MULTIPROC_POOL_BROKEN'));
          return;
        } else {
          throw coded(new Error(`Malformed Pool message from worker ${w.pid}: type ${type}`), 'ERR_MULTIPROC_BAD_FRAME');
        }
      }
    } catch (e) {
      // A worker that speaks garbage is killed; its death handler rejects what it held.
      process.emitWarning(`multiproc Pool: ${(e as Error).message}; killing worker ${w.pid}`, { code: 'MULTIPROC_POOL_BAD_FRAME' });
      w.chan.disarmRead();
      try {
        w.proc.kill();
      } catch {
        /* already gone */
      }
      return;
    }
    if (progressed) this.#pump();
  }

  /** The worker's process ended: read its last words, reject what it still held, replace it. */
  #onExit(w: Worker): void {
    if (w.exited) return;
    w.exited = true;
    w.joinAc = undefined;
    if (!w.chan.closed) w.chan.drainSync();
    const code = w.proc.exitCode;
    const signal = code !== null && code < 0 ? posix.signalName(-code) : null;
    const held = [...w.held.values()];
    w.held.clear();
    const tasks = held.reduce((n, c) => n + c.size, 0);
    w.chan.close();
    this.#workers.delete(w);
    this.#leftovers.procs.delete(w.proc);
    this.#leftovers.fds.delete(w.chan.fd);
    try {
      w.proc.close();
    } catch {
      /* not reaped: cannot happen after join */
    }
    if (held.length > 0) {
      this.#deaths++;
      const err = new WorkerDiedError(w.pid, signal ? null : code, signal, tasks);
      for (const c of held) {
        c.call.inFlight--;
        c.call.settled++;
        this.#failed += c.size;
        c.call.fail(err);
      }
    }
    if (!w.ready && this.#state === 'running' && !w.retiring) {
      if (++this.#startupFailures >= STARTUP_FAILURES) {
        this.#break(
          coded(new Error(`Pool workers keep dying before they are ready (last: pid ${w.pid}, ${signal ?? `exit code ${code}`})`), 'ERR_MULTIPROC_POOL_BROKEN'),
        );
      }
    }
    if (this.#state === 'running' || this.#state === 'closing') this.#pump();
    this.#maybeFinishClose();
    this.#checkJoined();
    this.#refresh();
  }

  #maybeFinishClose(): void {
    if (this.#state !== 'closing' || this.#calls.size > 0) return;
    for (const w of this.#workers) this.#retire(w);
    this.#checkJoined();
  }

  /** Fails every call with `err` and kills every worker. */
  #stopAll(err: Error): void {
    this.#recent.clear();
    for (const call of [...this.#calls]) call.fail(err);
    this.#calls.clear();
    for (const w of this.#workers) {
      w.retiring = true;
      try {
        w.proc.kill();
      } catch {
        /* already reaped */
      }
    }
    this.#refresh();
  }

  #break(err: Error): void {
    if (this.#state === 'broken' || this.#state === 'terminated') return;
    this.#state = 'broken';
    this.#brokenError = err;
    this.#stopAll(err);
  }

  #checkJoined(): void {
    if (this.#state === 'running' || this.#workers.size > 0) return;
    if (this.#state === 'closing') this.#state = 'closed';
    const waiters = this.#joinWaiters.splice(0);
    for (const r of waiters) r();
  }

  #joined(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#joinWaiters.push(resolve);
      this.#checkJoined();
      this.#refresh();
    });
  }

  /**
   * Arms (or disarms) the reads and pidfd watches: armed while anything is pending, so an idle pool does
   * not keep the event loop alive (a watch that resolves on re-arm reports a death that happened meanwhile).
   */
  #refresh(): void {
    let busy = this.#calls.size > 0 || this.#joinWaiters.length > 0 || this.#state !== 'running';
    if (!busy) for (const w of this.#workers) if (w.retiring || w.held.size > 0) busy = true;
    for (const w of this.#workers) {
      if (w.exited) continue;
      const want = busy || w.retiring || w.held.size > 0;
      if (want) {
        w.chan.armRead();
        if (!w.joinAc) {
          const ac = new AbortController();
          w.joinAc = ac;
          w.proc.join({ signal: ac.signal }).then(
            () => {
              if (w.joinAc === ac) this.#onExit(w);
            },
            () => {
              if (w.joinAc === ac && !ac.signal.aborted) this.#onExit(w);
            },
          );
        }
      } else {
        w.chan.disarmRead();
        const ac = w.joinAc;
        if (ac) {
          w.joinAc = undefined;
          ac.abort();
        }
      }
    }
  }
}

markNotSendable(Pool);

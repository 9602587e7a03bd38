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
//   • fork (a start method that runsClosures): `fn` may be any function, closures included. Each distinct
//     function gets an id (a WeakMap); workers are forked lazily, when a call needs them, and know every
//     function registered at their fork (a copy of the parent's table: functions.ts). A call with a function
//     the current workers have not seen retires them (they finish the chunks they hold, then exit) and forks
//     fresh workers that have it. So a closure sees the parent's state as it was at that fork: variables it
//     captured, module state, everything — later changes in the parent are not seen by workers already
//     running, and a worker's changes stay in the worker. Reuse one function object for repeated calls: each
//     new closure costs a fork of the workers (the last 16 functions used are passed on to every new worker,
//     so alternating between a few is cheap).
//   • spawn (one that does not): `fn` is the name of an export of the Pool's `module`, or { module, export };
//     workers import it on first use and are started eagerly (a fresh node takes a while).
//   • Death: every worker's pid is watched (pidfd). When one ends, whatever it wrote is read first; then the
//     chunks it still held reject their calls with a WorkerDiedError naming the exit code or signal, and a
//     replacement is started. Nothing waits for a dead worker, so nothing hangs (Python's Pool does,
//     gh-66587). A worker that cannot start (its initializer throws, or it dies before it is ready three
//     times in a row) breaks the pool: every call rejects with the cause.
//   • An idle pool holds no watches, so it does not keep the event loop (the program) alive; its workers
//     are daemons: they are terminated at exit and die with this process even if it is SIGKILLed.
// Files: options.ts (the options and their checks), calls.ts (calls and their chunks), functions.ts (task
// functions by id), workers.ts (starting and watching workers), channel.ts (the parent's end of a worker's
// socket), protocol.ts (frames and encodings), worker.ts (the worker's loop), stats.ts (what stats() returns).
import { performance } from 'node:perf_hooks';
import { type AnyFn, ArrayCall, type Call, type Chunk, type FnRef, IterCall } from './calls.js';
import { FunctionTable, type PoolFunction } from './functions.js';
import { checkPositiveInt, chunkSizeFor, type MapOptions, type PoolOptions, usableCpus } from './options.js';
import { type ErrorRecord, FrameReader, T, workerError } from './protocol.js';
import { type PoolStats, Tally } from './stats.js';
import type { ModuleSpec } from './worker.js';
import { Leftovers, Worker } from './workers.js';
import { WorkerDiedError } from '../core/errors.js';
import type { StartMethod } from '../process/process.js';
import { getStartMethod, importTarget, moduleUrl, startMethod, type StartMethodStrategy } from '../process/start/index.js';
import { markNotSendable } from '../core/sendable.js';
import { coded, typeError } from '../../posix/errors.js';

export type { PoolFunction } from './functions.js';
export type { MapOptions, PoolOptions } from './options.js';
export type { PoolStats, TimeSummary } from './stats.js';

/** A task whose worker died: lib/mp/core/errors.ts (exported here too, where it always was). */
export { WorkerDiedError };

type State = 'running' | 'closing' | 'closed' | 'terminated' | 'broken';

const TARGET_QUEUE_MS = 5;
const MAX_WINDOW = 256;
const STARTUP_FAILURES = 3;

/**
 * A pool of worker processes (Python's multiprocessing.Pool). The design is in this file's header comment;
 * docs/guide.md "Pool" says more on what a closure sees under fork.
 *
 * - **Any function under fork, closures included.** Workers are forked when a call first needs them and
 *   get every function in use as a copy of the parent. A function the running workers have not seen makes
 *   the pool fork fresh workers that have it (the old ones finish what they hold and leave). So a closure
 *   sees the parent's state as it was when its workers were forked; reuse one function object for repeated
 *   calls. Arguments and results are structured-cloned under both start methods.
 * - **Spawn:** a task function is an export name of the Pool's `module`, or `{ module, export }`.
 * - **A dying worker never hangs a call:** the calls whose chunks it held reject with a
 *   {@link WorkerDiedError}, and it is replaced. A task that throws rejects its call with the remote error
 *   (same class for built-in errors, `stack` the worker's, `remoteStack`, `workerPid`).
 * - **Lifetime:** close() + join() finish the work; terminate() SIGKILLs and reaps; `await using` terminates.
 *   An idle pool does not keep the program alive; its workers are daemons.
 * @example
 * ```ts
 * import { Pool } from 'multiproc';
 *
 * await using pool = new Pool({ processes: 2 });                    // fork by default
 * const squares = await pool.map((x: number) => x * x, [1, 2, 3]);  // [1, 4, 9], in input order
 * for await (const r of pool.imapUnordered((x: number) => x + 1, [1, 2, 3])) console.log(r);
 * await pool.apply((a: number, b: number) => a + b, [1, 2]);       // 3
 * pool.stats();                                                     // completed, failed, queueLength, runTime…
 *
 * const spawned = new Pool({ startMethod: 'spawn', module: './tasks.js' });
 * await spawned.map('crunch', [1, 2, 3]);                          // an export of ./tasks.js
 * await spawned.terminate();
 * ```
 */
export class Pool {
  /** How many workers the pool keeps. */
  readonly processes: number;
  /** The workers' start method. */
  readonly startMethod: StartMethod;
  /** Chunks a worker runs before it is replaced, or null (never). */
  readonly maxTasksPerChild: number | null;
  readonly #method: StartMethodStrategy;
  readonly #functions: FunctionTable;
  #initializer: AnyFn | ModuleSpec | undefined;
  readonly #initArgs: unknown[];
  #state: State = 'running';
  #brokenError: Error | undefined;
  readonly #workers = new Set<Worker>();
  readonly #calls = new Set<Call>();
  #initLoading = false;
  #nextChunkId = 0;
  #workerCount = 0;
  #startupFailures = 0;
  #emaChunkMs: number | undefined;
  readonly #reader = new FrameReader();
  readonly #joinWaiters: Array<() => void> = [];
  #pumping = false;
  #fillQueued = false;
  #pumpAgain = false;
  /** The counts and times stats() reports. */
  readonly #tally = new Tally();
  /** What a finalizer kills and closes if the Pool is dropped without close()/terminate(). */
  readonly #leftovers = new Leftovers(this);

  /**
   * Checks the options; under a start method that does not runsClosures (spawn) starts the workers at once.
   * @param opts processes, initializer, maxTasksPerChild, start method, module; see {@link PoolOptions}
   * @throws TypeError / RangeError for bad options (ERR_INVALID_ARG_VALUE for an unknown start method); the
   *   cause, coded ERR_MULTIPROC_POOL_BROKEN, when the workers cannot be started.
   */
  constructor(opts: PoolOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw typeError('new Pool(options): options must be an object');
    this.processes = opts.processes === undefined ? usableCpus() : checkPositiveInt('options.processes', opts.processes);
    this.maxTasksPerChild = opts.maxTasksPerChild == null ? null : checkPositiveInt('options.maxTasksPerChild', opts.maxTasksPerChild);
    const method = (this.#method = startMethod('options.startMethod', opts.startMethod ?? getStartMethod()));
    this.startMethod = method.name;
    this.#functions = new FunctionTable(method, opts.module === undefined ? undefined : moduleUrl('options.module', opts.module));
    this.#initArgs = opts.initArgs ?? [];
    if (!Array.isArray(this.#initArgs)) throw typeError('The "initArgs" option must be an array');
    this.#initializer = this.#functions.initializer(opts.initializer);
    if (!method.runsClosures) {
      this.#fill(); // a fresh node takes a while: start now
      if (this.#state === 'broken') throw this.#brokenError!;
    } else if (this.#initializer !== undefined && typeof this.#initializer !== 'function') {
      // the parent imports the initializer; workers are forked once it is here
      this.#initLoading = true;
      importTarget(this.#initializer).then(
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

  /**
   * fn over every item; the results in input order. The items are sent in chunks (default
   * `ceil(n / (4 × processes))`, as Python).
   * @param fn the task function (fork: any function; spawn: an export's name or `{ module, export }`)
   * @param iterable the items (read at once)
   * @param opts `chunkSize` and `signal`; see {@link MapOptions}
   * @returns a promise of the results; it rejects with the first task error, or a WorkerDiedError
   */
  map<T, R>(fn: PoolFunction<[T], R>, iterable: Iterable<T>, opts: MapOptions = {}): Promise<Awaited<R>[]> {
    return this.#arrayCall(fn, iterable, opts, false, 'map') as Promise<Awaited<R>[]>;
  }

  /**
   * fn(...args) for every args list; the results in input order.
   * @param fn the task function
   * @param iterable the argument lists
   * @param opts `chunkSize` and `signal`; see {@link MapOptions}
   */
  starmap<A extends unknown[], R>(fn: PoolFunction<A, R>, iterable: Iterable<A>, opts: MapOptions = {}): Promise<Awaited<R>[]> {
    return this.#arrayCall(fn as PoolFunction, iterable, opts, true, 'starmap') as Promise<Awaited<R>[]>;
  }

  /**
   * fn(...args) in a worker.
   * @param fn the task function
   * @param args its arguments (default none; structured-cloned)
   * @param opts `signal`: an AbortSignal that rejects the call (and drops the task if not yet handed out)
   * @returns a promise of what fn returned (awaited in the worker)
   */
  async apply<A extends unknown[], R>(fn: PoolFunction<A, R>, args?: A, opts: { signal?: AbortSignal } = {}): Promise<Awaited<R>> {
    const list: unknown[] = args ?? [];
    if (!Array.isArray(list)) throw typeError('apply(fn, args): args must be an array');
    const [r] = await this.#arrayCall(fn as PoolFunction, [list], { ...opts, chunkSize: 1 }, true, 'apply');
    return r as Awaited<R>;
  }

  /**
   * Lazily over `iterable` (sync or async, and may be infinite): results in input order, as they become available.
   * @param fn the task function
   * @param iterable the items, read as workers have room
   * @param opts `chunkSize` (default 1) and `signal`; see {@link MapOptions}
   */
  imap<T, R>(fn: PoolFunction<[T], R>, iterable: Iterable<T> | AsyncIterable<T>, opts: MapOptions = {}): AsyncIterableIterator<Awaited<R>> {
    return this.#iterCall(fn, iterable, opts, true) as AsyncIterableIterator<Awaited<R>>;
  }

  /**
   * As imap, in completion order.
   * @param fn the task function
   * @param iterable the items, read as workers have room
   * @param opts `chunkSize` (default 1) and `signal`; see {@link MapOptions}
   */
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

  /** Counts since the pool was made, the queue and the workers now, and run/wait time summaries. */
  stats(): PoolStats {
    let queueLength = 0;
    for (const c of this.#calls) queueLength += c.queued;
    let inFlight = 0;
    for (const w of this.#workers) inFlight += w.heldTasks();
    return this.#tally.stats({ processes: this.processes, workers: this.pids.length, queueLength, inFlight, workersStarted: this.#workerCount });
  }

  /** `<Pool state=… processes=N startMethod=…>`. */
  toString(): string {
    return `<Pool state=${this.#state} processes=${this.processes} startMethod=${this.startMethod}>`;
  }

  // ---- calls ----

  #checkRunning(): void {
    if (this.#state === 'broken') throw this.#brokenError!;
    if (this.#state !== 'running') throw coded(new Error('Pool not running (closed or terminated)'), 'ERR_MULTIPROC_CLOSED');
  }

  #arrayCall(fn: PoolFunction, iterable: Iterable<unknown>, opts: MapOptions, star: boolean, what: string): Promise<unknown[]> {
    try {
      this.#checkRunning();
      if (iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
        throw typeError(`${what}(fn, iterable): iterable must be iterable`);
      }
      const items = Array.isArray(iterable) ? iterable : Array.from(iterable);
      const chunkSize = chunkSizeFor(opts, items.length, this.processes);
      opts.signal?.throwIfAborted();
      const ref = this.#functions.ref(fn);
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
    const chunkSize = chunkSizeFor(opts, undefined, this.processes);
    opts.signal?.throwIfAborted();
    const ref = this.#functions.ref(fn);
    const input = isAsync
      ? { async: (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]() }
      : (iterable as Iterable<unknown>)[Symbol.iterator]();
    const call = new IterCall(ref, chunkSize, input, opts.signal, ordered);
    call.onConsume = () => queueMicrotask(() => this.#pump());
    call.onInput = () => this.#pump();
    this.#submit(call);
    return call;
  }

  #submit(call: Call): void {
    // A worker may have died since we last heard (killed while the pool was idle and unwatched, or its death
    // not yet reported by the reactor): find out now, before a chunk is handed to it (WNOHANG, one syscall
    // per worker per call).
    for (const w of [...this.#workers]) {
      if (!w.exited && !w.proc.isAlive()) {
        w.unwatch();
        this.#onExit(w);
      }
    }
    // A worker found dead here may have broken the pool (its last words: the initializer failed), and the
    // break failed the calls it knew of — not this one, not yet added: refuse it as a call made now would be.
    this.#checkRunning();
    call.onFinish = () => this.#callFinished(call);
    this.#calls.add(call);
    const ref = call.fn;
    if (this.#functions.needsImport(ref)) {
      call.ready = false;
      this.#functions.resolve(ref).then(
        () => {
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
    if (!this.#functions.use(call.fn)) return;
    call.registered = true;
    // Workers that do not have this function finish what they hold and leave; fresh ones are forked.
    for (const w of this.#workers) if (!w.retiring && !w.known.has(call.fn.id)) this.#retire(w);
  }

  #callFinished(call: Call): void {
    this.#calls.delete(call);
    this.#tally.failed += call.dropped;
    if (call.registered) this.#functions.release(call.fn);
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
    try {
      const id = (this.#nextChunkId = (this.#nextChunkId + 1) >>> 0);
      w.sendTask(id, call.fn, call.star, items);
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
      this.#tally.failed += items.length;
      call.fail(e);
      return false;
    }
  }

  // ---- worker lifecycle ----

  /** Starts workers until `processes` are active (fork: only when there is work for them). */
  #fill(): void {
    if (this.#state !== 'running' && this.#state !== 'closing') return;
    if (this.#method.runsClosures) {
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
    if (this.#method.runsClosures && (this.#calls.size === 0 || this.#initLoading)) return 0;
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
    const w = Worker.start(
      {
        method: this.#method,
        name: `PoolWorker-${++this.#workerCount}`,
        functions: this.#method.runsClosures ? this.#functions.snapshot() : new Map(),
        initializer: this.#initializer,
        initArgs: this.#initArgs,
        preload: this.#method.runsClosures ? [] : this.#functions.preload(this.#initializer),
      },
      (w) => this.#onFrames(w),
    );
    this.#leftovers.add(w);
    this.#workers.add(w);
  }

  /** The worker gets no more chunks; it exits after the ones it holds. */
  #retire(w: Worker): void {
    if (w.retiring) return;
    w.retiring = true;
    if (!w.recycling) this.#pumpAgain = true; // a replacement may be started
    w.sendStop();
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
          this.#tally.answered(chunk.size, ms, chunk.queuedAt);
          progressed = true;
          this.#emaChunkMs = this.#emaChunkMs === undefined ? ms : this.#emaChunkMs * 0.8 + ms * 0.2;
          if (type === T.Result) {
            const values = rd.payload();
            if (call.done) {
              this.#tally.failed += chunk.size; // results of a cancelled call
            } else {
              this.#tally.completed += chunk.size;
              call.deliver(chunk, values);
            }
          } else {
            const rec = rd.payload()[0] as ErrorRecord;
            this.#tally.failed += chunk.size;
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
      w.kill();
      return;
    }
    if (progressed) this.#pump();
  }

  /** The worker's process ended: read its last words, reject what it still held, replace it. */
  #onExit(w: Worker): void {
    if (w.exited) return;
    w.exited = true;
    const { held, code, signal } = w.wrapUp();
    const tasks = held.reduce((n, c) => n + c.size, 0);
    this.#workers.delete(w);
    this.#leftovers.delete(w);
    if (held.length > 0) {
      this.#tally.deaths++;
      const err = new WorkerDiedError(w.pid, signal ? null : code, signal, tasks);
      for (const c of held) {
        c.call.inFlight--;
        c.call.settled++;
        this.#tally.failed += c.size;
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
    this.#functions.forgetRecent();
    for (const call of [...this.#calls]) call.fail(err);
    this.#calls.clear();
    for (const w of this.#workers) {
      w.retiring = true;
      w.kill();
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
        w.watch(() => this.#onExit(w));
      } else {
        w.chan.disarmRead();
        w.unwatch();
      }
    }
  }
}

markNotSendable(Pool);

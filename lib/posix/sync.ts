// The sync family of the posix layer: process-shared semaphores (sem_overview(7): unnamed sem_init(3) with
// pshared = 1, and named sem_open(3)), robust mutexes (pthread_mutex_lock(3)), condition variables
// (pthread_cond_wait(3)) and barriers (pthread_barrier_wait(3)). The unnamed objects live inside a shared
// Mapping at a byte offset; they work across fork() and in any process that maps the same memory (a memfd or
// shmOpen fd passed to a spawned child), where `attach(m, offset)` picks up an object that another process
// initialised.
//
// Layout: an object occupies SIZEOF[kind] bytes at an offset that is a multiple of ALIGNOF[kind] (8 on
// x86-64 and arm64); a misaligned offset or one that does not fit in the mapping is a RangeError.
//
// Lifetime: each object keeps its Mapping alive. After destroy()/close(), or after the Mapping is closed,
// every call throws an Error with code 'ERR_MULTIPROC_CLOSED'. destroy() acts on the shared object itself:
// call it once, in one process, when no process uses the object any more.
//
// Async waits (Semaphore.waitAsync, Barrier.waitAsync) use threads of the addon, not libuv's threadpool, so
// any number of them can be pending while fs and crypto work goes on.
import type { Mapping } from './shm.js';
import { native, type RawBarrier, type RawCond, type RawMutex, type RawSemaphore, type SyncLayout } from '../binding/addon.js';
import { invalidType, timeout, waitOptions } from './errors.js';
import { debug } from './debug.js';

export type { SyncLayout } from '../binding/addon.js';

const { semWaitFast, semPostFast, semTryWaitFast, mutexLockFast, mutexUnlockFast, mutexTryLockFast, barrierWaitFast } = native;

/** sizeof(sem_t), sizeof(pthread_mutex_t), sizeof(pthread_cond_t), sizeof(pthread_barrier_t) in bytes. */
export const SIZEOF: Readonly<SyncLayout> = Object.freeze({ ...native.syncSizes });
/** The alignment each object needs: its offset in the mapping must be a multiple of this (8 on 64-bit Linux). */
export const ALIGNOF: Readonly<SyncLayout> = Object.freeze({ ...native.syncAlign });
/** The largest value a semaphore can hold (SEM_VALUE_MAX). */
export const SEM_VALUE_MAX: number = native.syncConstants.SEM_VALUE_MAX;

/** The number of this process's async waits (waitAsync) not yet settled; for tests and leak checks. */
export function pendingAsyncWaits(): number {
  return native.pendingWaits('sync');
}

// ---------------------------------------------------------------------------------------------------------
// helpers

const checkTimeout = timeout;

/** Options of the async waits: a timeout in milliseconds and/or an AbortSignal. */
export interface WaitAsyncOptions {
  /** Milliseconds; the promise resolves `false` when it elapses. Default: no timeout. */
  timeout?: number | null;
  /** Aborting rejects the promise with `signal.reason` and consumes nothing. */
  signal?: AbortSignal;
}

const parseWaitAsync = (t: unknown) => waitOptions(t);

const OWNER_DIED_MESSAGE =
  'A process died while holding a multiproc Mutex; this process has now acquired it and made it consistent ' +
  '(pthread_mutex_consistent). The data the mutex protects may be half-updated: check it.';

function ownerDied(code: number): void {
  if (code !== 2) return;
  debug('Mutex: inherited the lock of a dead owner in %d', process.pid);
  process.emitWarning(OWNER_DIED_MESSAGE, { code: 'MULTIPROC_OWNER_DIED' });
}

// ---------------------------------------------------------------------------------------------------------
// Semaphore

/** Options of {@link Semaphore.open}. */
export interface SemOpenOptions {
  /** O_CREAT: create the semaphore if the name does not exist. */
  create?: boolean;
  /** O_EXCL: with `create`, fail with EEXIST if it exists. */
  exclusive?: boolean;
  /** Permission bits of a created semaphore (default 0o600, then umask). */
  mode?: number;
  /** Initial value of a created semaphore (default 0). */
  value?: number;
  /**
   * A semaphore this call creates is recorded with the resource tracker (when the multiprocessing API,
   * `multiproc`, is loaded), which removes the name if this process dies without unlinking it and no live
   * process has it open (default true). false: the name stays until someone unlinks it.
   */
  track?: boolean;
}

/**
 * Hooks told of every named semaphore created and unlinked: what the resource tracker (lib/mp/shared/tracker.ts)
 * installs, so that the posix layer does not import it.
 * @internal
 */
export const semaphoreTracking: { created?(name: string): void; unlinked?(name: string): void } = {};

/**
 * A POSIX semaphore shared between processes (sem_overview(7)): unnamed in a Mapping ({@link Semaphore.init})
 * or named ({@link Semaphore.open}, a file /dev/shm/sem.NAME). Instances come only from those factories.
 * @see [sem_overview(7)](https://man7.org/linux/man-pages/man7/sem_overview.7.html)
 * @example
 * ```ts
 * import * as posix from 'multiproc/posix';
 *
 * using m = posix.mmap(4096);
 * const items = posix.Semaphore.init(m, 0, 0);      // sem_init(pshared = 1, value 0) at offset 0
 * const pid = posix.fork();
 * if (pid === 0) {
 *   items.post();                                   // sem_post: one item ready
 *   posix.exit(0);
 * }
 * await items.waitAsync({ timeout: 1000 });         // true once taken; no libuv thread held meanwhile
 * posix.waitpid(pid);
 * items.destroy();
 * ```
 */
export class Semaphore {
  readonly #h: RawSemaphore;
  readonly #id: number;

  private constructor(h: RawSemaphore) {
    this.#h = h;
    this.#id = h.handle;
  }

  /**
   * sem_init(3) with pshared = 1: initialises an unnamed semaphore with `value` at `offset` in the shared
   * mapping `m` (SIZEOF.sem bytes, offset a multiple of ALIGNOF.sem).
   * Safety: initialise once; re-initialising a semaphore that some process waits on is undefined behaviour.
   * @param m a shared mapping ({@link mmap})
   * @param offset the byte offset in `m` (a multiple of ALIGNOF.sem, with SIZEOF.sem bytes inside `m`)
   * @param value the initial count (0 ..= SEM_VALUE_MAX)
   * @throws RangeError for a misaligned offset, one that does not fit, or a value out of range
   * @see [sem_init(3)](https://man7.org/linux/man-pages/man3/sem_init.3.html)
   */
  static init(m: Mapping, offset: number, value: number): Semaphore {
    const h = native.semInit(m, offset, value);
    debug('Semaphore.init(offset %d, value %d) in %d', offset, value, process.pid);
    return new Semaphore(h);
  }

  /**
   * A semaphore that another process initialised with {@link Semaphore.init} at `offset` of the same memory.
   * @param m a mapping of the same memory (inherited, or of the same memfd/shmOpen fd)
   * @param offset where it was initialised
   */
  static attach(m: Mapping, offset: number): Semaphore {
    return new Semaphore(native.semAttach(m, offset));
  }

  /**
   * sem_open(3): opens (or with `create` makes) the named semaphore `name` ('/name'); mode 0o600 by default.
   * Throws ENOENT / EEXIST with `code` and `syscall: 'sem_open'`. {@link close} it when done; the name stays
   * until {@link Semaphore.unlink}.
   * @param name '/' followed by a name without '/' (a file /dev/shm/sem.NAME)
   * @param opts O_CREAT, O_EXCL, mode, initial value and tracking; see {@link SemOpenOptions}
   * @see [sem_open(3)](https://man7.org/linux/man-pages/man3/sem_open.3.html)
   */
  static open(name: string, opts: SemOpenOptions = {}): Semaphore {
    const c = native.syncConstants;
    const mode = opts.mode ?? 0o600;
    const value = opts.value ?? 0;
    let h: RawSemaphore;
    let created = false;
    if (opts.create && !opts.exclusive && semaphoreTracking.created && opts.track !== false) {
      // Did this call create it? Only then is it ours to track: try exclusively first.
      try {
        h = native.semOpen(name, c.O_CREAT | c.O_EXCL, mode, value);
        created = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        h = native.semOpen(name, c.O_CREAT, mode, value);
      }
    } else {
      h = native.semOpen(name, (opts.create ? c.O_CREAT : 0) | (opts.exclusive ? c.O_EXCL : 0), mode, value);
      created = !!opts.create && !!opts.exclusive;
    }
    if (created && opts.track !== false) semaphoreTracking.created?.(name);
    debug('Semaphore.open(%s, %o) in %d', name, opts, process.pid);
    return new Semaphore(h);
  }

  /**
   * sem_unlink(3): removes the name; processes that have it open keep using it until they close it.
   * @param name the name given to {@link Semaphore.open}
   * @throws Error ENOENT when there is no such semaphore
   * @see [sem_unlink(3)](https://man7.org/linux/man-pages/man3/sem_unlink.3.html)
   */
  static unlink(name: string): void {
    native.semUnlink(name);
    semaphoreTracking.unlinked?.(name);
    debug('Semaphore.unlink(%s) in %d', name, process.pid);
  }

  /** The name of a named semaphore ('/name'), undefined for an unnamed one. */
  get name(): string | undefined {
    return this.#h.name;
  }

  /** True after destroy()/close() or once the mapping that holds it is closed. */
  get closed(): boolean {
    return this.#h.closed;
  }

  /**
   * sem_wait(3): decrements, blocking this thread while the value is 0. Signals do not interrupt it (EINTR is retried).
   * @see [sem_wait(3)](https://man7.org/linux/man-pages/man3/sem_wait.3.html)
   */
  wait(): void {
    semWaitFast(this.#id);
  }

  /**
   * sem_trywait(3): decrements if the value is above 0; false (EAGAIN) otherwise. Never blocks.
   * @see [sem_wait(3)](https://man7.org/linux/man-pages/man3/sem_wait.3.html)
   */
  tryWait(): boolean {
    return semTryWaitFast(this.#id);
  }

  /**
   * sem_clockwait(3) on CLOCK_MONOTONIC: like {@link wait}, but returns false once `ms` milliseconds have
   * passed without the value becoming positive. Infinity waits for ever.
   * @param ms milliseconds (0 just tries; Infinity or null: no limit)
   * @returns true once decremented, false on timeout
   * @see [sem_wait(3)](https://man7.org/linux/man-pages/man3/sem_wait.3.html)
   */
  timedWait(ms: number): boolean {
    return this.#h.timedWait(checkTimeout('timeout', ms));
  }

  /**
   * Waits without blocking the thread: resolves true once decremented, false when the timeout elapses. The
   * wait runs on a thread of the addon (not libuv's threadpool) in sem_clockwait(3). Aborting `signal`
   * rejects with `signal.reason` and consumes nothing: the count is as if the wait had never started.
   * Destroying/closing the semaphore or closing its mapping meanwhile rejects with ERR_MULTIPROC_CLOSED.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   * @returns a promise: true once decremented, false on timeout
   */
  waitAsync(t?: number | WaitAsyncOptions): Promise<boolean> {
    let timeout: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeout, signal } = parseWaitAsync(t));
    } catch (e) {
      return Promise.reject(e);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const h = this.#h;
    return new Promise<boolean>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const id = h.waitAsync(timeout, (err, r) => {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else if (r === 2) reject(signal!.reason);
        else resolve(r === 1);
      });
      if (id <= 0) {
        resolve(id === 0);
        return;
      }
      if (signal) {
        onAbort = () => {
          // true: the native side will call back with 2 once nothing is held; false: not ours any more.
          if (!native.cancelWait(id)) reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /**
   * sem_post(3): increments and wakes one waiter. EOVERFLOW at SEM_VALUE_MAX.
   * @see [sem_post(3)](https://man7.org/linux/man-pages/man3/sem_post.3.html)
   */
  post(): void {
    semPostFast(this.#id);
  }

  /**
   * sem_getvalue(3): the current value (0 when processes are waiting; it may change at once).
   * @see [sem_getvalue(3)](https://man7.org/linux/man-pages/man3/sem_getvalue.3.html)
   */
  value(): number {
    return this.#h.value();
  }

  /**
   * sem_destroy(3) of an unnamed semaphore (this process's pending waitAsync calls on it reject with
   * ERR_MULTIPROC_CLOSED first). Safety: destroying a semaphore other processes still wait on or use is
   * undefined behaviour — do it once, when every process is done with it. Idempotent on this object.
   * @see [sem_destroy(3)](https://man7.org/linux/man-pages/man3/sem_destroy.3.html)
   */
  destroy(): void {
    this.#h.destroy();
  }

  /**
   * sem_close(3) of a named semaphore; the name stays until {@link Semaphore.unlink}. Idempotent.
   * @see [sem_close(3)](https://man7.org/linux/man-pages/man3/sem_close.3.html)
   */
  close(): void {
    this.#h.close();
  }

  /** Closes a named semaphore (`using sem = Semaphore.open(...)`); nothing for an unnamed one. */
  [Symbol.dispose](): void {
    if (this.#h.name !== undefined) this.#h.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutex

/** The native handle of a Mutex (for Cond.wait); set by Mutex's static block. */
let mutexHandle: (mx: Mutex) => RawMutex;

/**
 * A process-shared, robust, error-checking pthread mutex (pthread_mutex_lock(3), pthread_mutexattr_setrobust(3)).
 * If the process holding it dies, the next acquisition succeeds, makes it consistent, sets
 * {@link ownerDied} and emits a process warning with code 'MULTIPROC_OWNER_DIED'. There is no async form: a
 * pthread mutex belongs to the thread that locked it (an await could resume the "owner" anywhere).
 * @see [pthread_mutex_lock(3)](https://man7.org/linux/man-pages/man3/pthread_mutex_lock.3p.html), [pthread_mutexattr_setrobust(3)](https://man7.org/linux/man-pages/man3/pthread_mutexattr_setrobust.3.html)
 * @example
 * ```ts
 * using m = posix.mmap(4096);
 * const mx = posix.Mutex.init(m, 0);
 * const counter = new Int32Array(m.buffer, 64, 1);
 * mx.lock();
 * try { counter[0]++; } finally { mx.unlock(); }
 * ```
 */
export class Mutex {
  readonly #h: RawMutex;
  readonly #id: number;

  private constructor(h: RawMutex) {
    this.#h = h;
    this.#id = h.handle;
  }

  /**
   * pthread_mutex_init(3) at `offset` of the shared mapping `m` (SIZEOF.mutex bytes, offset a multiple of
   * ALIGNOF.mutex) with PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST and PTHREAD_MUTEX_ERRORCHECK.
   * Safety: initialise once; re-initialising a mutex in use is undefined behaviour.
   * @param m a shared mapping ({@link mmap})
   * @param offset the byte offset in `m` (a multiple of ALIGNOF.mutex, with SIZEOF.mutex bytes inside `m`)
   * @see [pthread_mutex_init(3)](https://man7.org/linux/man-pages/man3/pthread_mutex_init.3p.html)
   */
  static init(m: Mapping, offset: number): Mutex {
    const h = native.mutexInit(m, offset);
    debug('Mutex.init(offset %d) in %d', offset, process.pid);
    return new Mutex(h);
  }

  /**
   * A mutex that another process initialised with {@link Mutex.init} at `offset` of the same memory.
   * @param m a mapping of the same memory (inherited, or of the same memfd/shmOpen fd)
   * @param offset where it was initialised
   */
  static attach(m: Mapping, offset: number): Mutex {
    return new Mutex(native.mutexAttach(m, offset));
  }

  static {
    mutexHandle = (mx) => mx.#h;
  }

  /**
   * True when the last acquisition by this object inherited the lock of a process that died holding it
   * (EOWNERDEAD, made consistent); false again after the next acquisition.
   */
  get ownerDied(): boolean {
    return this.#h.ownerDied;
  }

  /** True after destroy() or once the mapping that holds it is closed. */
  get closed(): boolean {
    return this.#h.closed;
  }

  /**
   * pthread_mutex_lock(3): blocks this thread until acquired. Locking it again from this thread is EDEADLK.
   * Returns true when this acquisition inherited the lock of a dead owner (as `ownerDied` then says).
   */
  lock(): boolean {
    if (mutexLockFast(this.#id) !== 2) return false;
    ownerDied(2);
    return true;
  }

  /** pthread_mutex_trylock(3): true if acquired, false if another holder has it. */
  tryLock(): boolean {
    const r = mutexTryLockFast(this.#id);
    if (r === 2) ownerDied(r);
    return r !== 0;
  }

  /** pthread_mutex_clocklock(3) on CLOCK_MONOTONIC: false when `ms` milliseconds pass without acquiring it. */
  timedLock(ms: number): boolean {
    const r = this.#h.timedLock(checkTimeout('timeout', ms));
    ownerDied(r);
    return r !== 0;
  }

  /** pthread_mutex_unlock(3). Unlocking a mutex this thread does not hold throws EPERM. */
  unlock(): void {
    mutexUnlockFast(this.#id);
  }

  /**
   * pthread_mutex_destroy(3). Safety: only once no process uses it (destroying a locked mutex or one that
   * others wait on is undefined behaviour). Idempotent on this object.
   */
  destroy(): void {
    this.#h.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Cond

/**
 * A process-shared condition variable on CLOCK_MONOTONIC (pthread_cond_wait(3), pthread_condattr_setclock(3)).
 * Use it with a {@link Mutex}: lock, check the predicate in a loop around wait(), unlock.
 * @see [pthread_cond_wait(3)](https://man7.org/linux/man-pages/man3/pthread_cond_wait.3p.html)
 */
export class Cond {
  readonly #h: RawCond;

  private constructor(h: RawCond) {
    this.#h = h;
  }

  /**
   * pthread_cond_init(3) at `offset` of the shared mapping `m` (SIZEOF.cond bytes, offset a multiple of
   * ALIGNOF.cond), PTHREAD_PROCESS_SHARED, clock CLOCK_MONOTONIC. Safety: initialise once.
   * @param m a shared mapping ({@link mmap})
   * @param offset the byte offset in `m`
   */
  static init(m: Mapping, offset: number): Cond {
    const h = native.condInit(m, offset);
    debug('Cond.init(offset %d) in %d', offset, process.pid);
    return new Cond(h);
  }

  /**
   * A condition variable that another process initialised with {@link Cond.init} at `offset` of the same memory.
   * @param m a mapping of the same memory
   * @param offset where it was initialised
   */
  static attach(m: Mapping, offset: number): Cond {
    return new Cond(native.condAttach(m, offset));
  }

  /** True after destroy() or once the mapping that holds it is closed. */
  get closed(): boolean {
    return this.#h.closed;
  }

  /**
   * pthread_cond_clockwait(3): atomically unlocks `mx` (which this thread must hold: EPERM otherwise) and
   * sleeps until signalled or `ms` milliseconds pass; `mx` is locked again on return. Returns false on
   * timeout, true otherwise — wake-ups can be spurious, so re-check the predicate. If re-locking `mx`
   * inherited a dead owner's lock, `mx.ownerDied` is set and a MULTIPROC_OWNER_DIED warning emitted.
   * @param mx the mutex that guards the predicate, locked by this thread
   * @param ms milliseconds (default: no timeout)
   */
  wait(mx: Mutex, ms?: number): boolean {
    if (!(mx instanceof Mutex)) throw invalidType('mutex', 'an instance of Mutex', mx);
    const r = this.#h.wait(mutexHandle(mx), checkTimeout('timeout', ms));
    ownerDied(r);
    return r !== 0;
  }

  /** pthread_cond_signal(3): wakes at least one waiter. */
  signal(): void {
    this.#h.signal();
  }

  /** pthread_cond_broadcast(3): wakes every waiter. */
  broadcast(): void {
    this.#h.broadcast();
  }

  /** pthread_cond_destroy(3). Safety: only once no process waits on it. Idempotent on this object. */
  destroy(): void {
    this.#h.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Barrier

/**
 * A process-shared barrier (pthread_barrier_wait(3)): `count` waits release them all, cycle after cycle.
 * @see [pthread_barrier_wait(3)](https://man7.org/linux/man-pages/man3/pthread_barrier_wait.3p.html)
 */
export class Barrier {
  readonly #h: RawBarrier;
  readonly #id: number;

  private constructor(h: RawBarrier) {
    this.#h = h;
    this.#id = h.handle;
  }

  /**
   * pthread_barrier_init(3) for `count` (>= 1) processes at `offset` of the shared mapping `m`
   * (SIZEOF.barrier bytes, offset a multiple of ALIGNOF.barrier), PTHREAD_PROCESS_SHARED. Safety: initialise once.
   * @param m a shared mapping ({@link mmap})
   * @param offset the byte offset in `m`
   * @param count how many waits open it (>= 1)
   */
  static init(m: Mapping, offset: number, count: number): Barrier {
    const h = native.barrierInit(m, offset, count);
    debug('Barrier.init(offset %d, count %d) in %d', offset, count, process.pid);
    return new Barrier(h);
  }

  /**
   * A barrier that another process initialised with {@link Barrier.init} at `offset` of the same memory.
   * @param m a mapping of the same memory
   * @param offset where it was initialised
   */
  static attach(m: Mapping, offset: number): Barrier {
    return new Barrier(native.barrierAttach(m, offset));
  }

  /** True after destroy() or once the mapping that holds it is closed. */
  get closed(): boolean {
    return this.#h.closed;
  }

  /** pthread_barrier_wait(3): blocks until `count` waits arrived; true in exactly one of them per cycle. */
  wait(): boolean {
    return barrierWaitFast(this.#id);
  }

  /**
   * Like {@link wait} without blocking the thread (a thread of the addon waits). Not cancellable: POSIX
   * barriers have no way to withdraw a waiter, so there is no timeout or AbortSignal, and the mapping stays
   * mapped (even after Mapping.close()) until the cycle completes.
   */
  waitAsync(): Promise<boolean> {
    const h = this.#h;
    return new Promise<boolean>((resolve, reject) => {
      h.waitAsync((err, r) => (err ? reject(err) : resolve(r === 1)));
    });
  }

  /**
   * pthread_barrier_destroy(3); EBUSY while this process has a waitAsync pending on it. Safety: only once no
   * process waits on it. Idempotent on this object.
   */
  destroy(): void {
    this.#h.destroy();
  }
}

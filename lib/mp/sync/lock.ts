// Lock and RLock (Python's multiprocessing.Lock/RLock): a lock word in the shared arena (lib/mp/sync/word.ts).
//
// Blocking calls: `acquire({ timeout, signal })` → Promise<boolean> (false on timeout, like Python's False;
// an aborted signal rejects with signal.reason), `acquireSync(timeout)` → boolean. Timeouts in ms.
// Ownership is per process, so worker threads of one process are one owner (an RLock re-enters from any of
// them; use the objects from the main thread).
import { allocate, myPid } from '../shared/arena.js';
import { TimeoutError } from '../core/errors.js';
import { abortReason, parseWait, type WaitOptions, type Waits } from '../core/wait.js';
import { stateError, timeout as checkTimeout } from '../../posix/errors.js';
import { ATTACH, type Attach, isAttach, LOCK_BYTES, LockCore, PID_MASK, shareSync, SyncObject } from './word.js';

const COUNT = 3; // the recursion count's word (RLock; 0 in a Lock)

function notAcquired(): TimeoutError {
  return new TimeoutError('The lock was not acquired within the timeout');
}

/** Common surface of Lock and RLock. */
export abstract class LockBase extends SyncObject {
  /** @internal */ readonly _core: LockCore;

  constructor(block: Attach | undefined, what: string) {
    super(isAttach(block) ? block[ATTACH] : allocate(LOCK_BYTES), what);
    this._core = new LockCore(this._i32, this._m, this._w);
    this._core.check = () => this._check();
  }

  /** true after an acquisition (by this handle) that took the lock over from a dead owner; reset by the next. */
  get ownerDied(): boolean {
    return this._core.ownerDied;
  }

  /** The pid of the process that holds it, or 0. */
  get owner(): number {
    this._check();
    return this._core.owner();
  }

  /** Blocks until acquired; false if `timeout` ms elapsed first (0: just try). */
  abstract acquireSync(timeout?: number): boolean;
  /** Resolves true once acquired, false on timeout; waits off the JS thread. */
  abstract acquire(t?: number | WaitOptions): Promise<boolean>;
  /** Releases the lock (see the class for who may). */
  abstract release(): void;

  /** @internal Does this process hold it? */
  _isMine(): boolean {
    return this._core.owner() === myPid();
  }

  /** @internal For Condition: releases completely; returns the recursion count for _restoreWaits. */
  _save(): number {
    const n = this._i32[this._w + COUNT]!;
    this._i32[this._w + COUNT] = 0;
    this._core.unlock();
    return n;
  }

  /** @internal For Condition: re-acquires (not abortable) and restores the count _save returned. */
  *_restoreWaits(saved: number): Waits<void> {
    if (!this._core.tryFast()) yield* this._core.acquireWaits(Infinity, false);
    this._i32[this._w + COUNT] = saved;
  }

  /**
   * Runs fn with the lock held; releases on every exit path. A timeout is a TimeoutError.
   * @param fn what to run (awaited when it returns a promise)
   * @param t a timeout in ms, or `{ timeout, signal }` for the acquisition (default: no timeout)
   * @returns what fn returned
   * @throws TimeoutError (code ERR_MULTIPROC_TIMEOUT) when not acquired in time; what fn threw
   */
  async withLock<T>(fn: () => T | Promise<T>, t?: number | WaitOptions): Promise<T> {
    if (!(await this.acquire(t))) throw notAcquired();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * withLock, acquiring with acquireSync.
   * @param fn what to run
   * @param timeout milliseconds for the acquisition (default: no timeout)
   * @returns what fn returned
   * @throws TimeoutError when not acquired in time; what fn threw
   */
  withLockSync<T>(fn: () => T, timeout?: number): T {
    if (!this.acquireSync(timeout)) throw notAcquired();
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /**
   * Acquires (blocking) and returns a disposable that releases, for `using`:
   * `{ using _ = lock.holdSync(); … }` releases on every exit path. A timeout is a TimeoutError
   * (code ERR_MULTIPROC_TIMEOUT).
   * @param timeout milliseconds for the acquisition (default: no timeout)
   */
  holdSync(timeout?: number): Disposable {
    if (!this.acquireSync(timeout)) throw notAcquired();
    return this.#held();
  }

  /**
   * holdSync, acquiring off the JS thread: `{ using _ = await lock.hold(); … }`.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async hold(t?: number | WaitOptions): Promise<Disposable> {
    if (!(await this.acquire(t))) throw notAcquired();
    return this.#held();
  }

  #held(): Disposable {
    let done = false;
    return {
      [Symbol.dispose]: () => {
        if (done) return;
        done = true;
        this.release();
      },
    };
  }
}

/**
 * A non-recursive lock shared between processes (Python's multiprocessing.Lock). Acquiring it again in the
 * process that holds it waits (as in Python) until some code of this process releases it. Any process may
 * release it (as in Python); releasing an unlocked lock is an error.
 *
 * It is a word in the shared arena: an uncontended acquire or release is one compare-and-swap in JS; only a
 * process that must wait sleeps in futex(2) (the Promise forms on a thread of the addon: the JS thread stays
 * free). A process that dies holding it never wedges the others: a waiter notices within 100 ms, takes it,
 * sees `ownerDied` true and a 'MULTIPROC_OWNER_DIED' process warning.
 * @example
 * ```ts
 * import { Lock, Process } from 'multiproc';
 *
 * const lock = new Lock();
 * new Process({ target: () => lock.withLockSync(() => console.log('child has it')) }).start();
 * if (await lock.acquire({ timeout: 100 })) {  // false on timeout; an AbortSignal rejects
 *   try { console.log('parent has it'); } finally { lock.release(); }
 * }
 * { using _ = lock.holdSync(); }               // released at the end of the block
 * ```
 */
export class Lock extends LockBase {
  /** @param attach internal (a spawned child's rebuild): leave it out */
  constructor(attach?: Attach) {
    super(attach, 'Lock');
  }

  /**
   * Blocks until acquired; false if `timeout` ms elapsed first (0: just try).
   * @param timeout milliseconds (default: no timeout)
   */
  acquireSync(timeout?: number): boolean {
    this._check();
    return this._core.acquireSync(checkTimeout('timeout', timeout));
  }

  /**
   * Resolves true once acquired, false on timeout; waits off the JS thread. Aborting rejects (nothing held).
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  acquire(t?: number | WaitOptions): Promise<boolean> {
    try {
      this._check();
      const { timeout, signal } = parseWait(t);
      return this._core.acquire(timeout, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Releases it (any process may); releasing an unlocked Lock is ERR_MULTIPROC_NOT_LOCKED. */
  release(): void {
    this._check();
    if (this._i32[this._w] === 0) throw stateError('ERR_MULTIPROC_NOT_LOCKED', 'Cannot release an unlocked Lock');
    this._core.unlock();
  }
}

/**
 * A recursive lock (Python's multiprocessing.RLock): the owner is a process, which may acquire it again
 * (counted); release by a process that does not hold it is an error (ERR_MULTIPROC_NOT_OWNER).
 */
export class RLock extends LockBase {
  /** @param attach internal (a spawned child's rebuild): leave it out */
  constructor(attach?: Attach) {
    super(attach, 'RLock');
    const i32 = this._i32;
    const w = this._w;
    this._core.onTook = () => void (i32[w + COUNT] = 1);
  }

  /**
   * Blocks until acquired (at once when this process holds it: counted); false after `timeout` ms.
   * @param timeout milliseconds (default: no timeout)
   */
  acquireSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    // Free: take it with one CAS (reading the word first would fetch its cache line shared, then again
    // exclusive for the CAS — measured 222 vs 102 ns per increment across CPUs).
    if (this._core.tryFast()) return true;
    const i32 = this._i32;
    const w = this._w;
    // A plain read is enough to recognise this process's own pid: only this process writes it there.
    if ((i32[w]! & PID_MASK) === myPid()) {
      i32[w + COUNT]!++;
      return true;
    }
    return this._core.acquireSync(ms);
  }

  /**
   * acquireSync, waiting off the JS thread. Aborting rejects (nothing held).
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  acquire(t?: number | WaitOptions): Promise<boolean> {
    try {
      this._check();
      const { timeout, signal } = parseWait(t);
      if (signal?.aborted) throw abortReason(signal);
      if (this._isMine()) {
        this._i32[this._w + COUNT]!++;
        return Promise.resolve(true);
      }
      return this._core.acquire(timeout, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Releases one level; the last one frees it. Only the owning process may (ERR_MULTIPROC_NOT_OWNER). */
  release(): void {
    this._check();
    const i32 = this._i32;
    const w = this._w;
    const c = i32[w]!; // plain read: see acquireSync
    if ((c & PID_MASK) !== myPid()) {
      throw stateError(
        'ERR_MULTIPROC_NOT_OWNER',
        c === 0 ? 'Cannot release an un-acquired RLock' : `Cannot release an RLock held by process ${c & PID_MASK} (this is ${myPid()})`,
      );
    }
    const n = i32[w + COUNT]!;
    if (n > 1) {
      i32[w + COUNT] = n - 1;
      return;
    }
    i32[w + COUNT] = 0;
    this._core.unlock();
  }

  /** The recursion count of the owning process (0 when free). */
  get count(): number {
    this._check();
    return this._core.owner() === 0 ? 0 : this._i32[this._w + COUNT]!;
  }
}

shareSync(Lock, import.meta.url, (at) => new Lock(at));
shareSync(RLock, import.meta.url, (at) => new RLock(at));

// Condition (Python's multiprocessing.Condition): words in the shared arena [sequence, sleepers, -, -] plus
// its Lock or RLock. A notify adds to the sequence; a waiter sleeps while the sequence is the one it saw.
import { allocate } from '../shared/arena.js';
import { abortReason, now, parseWait, runAsync, runSync, type WaitOptions, type Waits } from '../core/wait.js';
import { integer, invalidType, stateError, timeout as checkTimeout } from '../../posix/errors.js';
import { Lock, RLock } from './lock.js';
import { ATTACH, type Attach, futexWake, isAttach, rebuildSync, shareSync, SyncObject, type SyncReduced, WAKE_ALL } from './word.js';

/**
 * A condition variable (Python's multiprocessing.Condition) over a Lock or RLock (default: a new RLock).
 * wait() must be called holding the lock; it releases it while sleeping and re-acquires it before returning.
 * A wait may end without a notify (a spurious wake-up, rare): use waitFor with a predicate.
 * @example
 * ```ts
 * const cond = new Condition();
 * const ready = new Value('i', 0);
 * // consumer:
 * await cond.withLock(() => cond.waitFor(() => ready.value === 1, 1000));
 * // producer (another process):
 * cond.withLockSync(() => { ready.value = 1; cond.notifyAll(); });
 * ```
 */
export class Condition extends SyncObject {
  readonly #lock: Lock | RLock;
  readonly #ownsLock: boolean;

  /**
   * @param lock the lock to use (default: a new RLock, closed with the Condition)
   * @param attachedLock internal (a spawned child's rebuilt lock): leave it out
   */
  constructor(lock?: Lock | RLock | Attach, attachedLock?: Lock | RLock) {
    if (isAttach(lock)) {
      super(lock[ATTACH], 'Condition');
      this.#lock = attachedLock!;
      this.#ownsLock = true;
      return;
    }
    if (lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)) throw invalidType('lock', 'a Lock or an RLock', lock);
    super(allocate(16), 'Condition');
    this.#ownsLock = lock === undefined;
    this.#lock = lock ?? new RLock();
  }

  /** @internal */
  get _lock(): Lock | RLock {
    return this.#lock;
  }

  /**
   * The lock's acquireSync.
   * @param timeout milliseconds (default: no timeout)
   */
  acquireSync(timeout?: number): boolean {
    return this.#lock.acquireSync(timeout);
  }
  /**
   * The lock's acquire.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  acquire(t?: number | WaitOptions): Promise<boolean> {
    return this.#lock.acquire(t);
  }
  /** The lock's release. */
  release(): void {
    this.#lock.release();
  }
  /**
   * The lock's withLock: runs fn holding the lock.
   * @param fn what to run (awaited when it returns a promise)
   */
  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#lock.withLock(fn);
  }
  /**
   * The lock's withLockSync: runs fn holding the lock.
   * @param fn what to run
   */
  withLockSync<T>(fn: () => T): T {
    return this.#lock.withLockSync(fn);
  }

  #checkOwned(what: string): void {
    this._check();
    if (!this.#lock._isMine()) throw stateError('ERR_MULTIPROC_NOT_OWNER', `Condition.${what}() needs the lock, which this process does not hold`);
  }

  /** Releases the lock, sleeps until the sequence moves (a notify) or `ms` elapsed, re-acquires the lock. */
  *#waits(ms: number): Waits<boolean> {
    const i32 = this._i32;
    const w = this._w;
    const seq = Atomics.load(i32, w);
    const saved = this.#lock._save();
    try {
      return yield* this._sleepUntil(w, seq, w + 1, () => Atomics.load(i32, w) !== seq, ms);
    } finally {
      yield* this.#lock._restoreWaits(saved);
    }
  }

  /**
   * Releases the lock, waits for a notify (or `timeout` ms), re-acquires. false on timeout.
   * @param timeout milliseconds (default: no timeout)
   * @throws Error ERR_MULTIPROC_NOT_OWNER when this process does not hold the lock
   */
  waitSync(timeout?: number): boolean {
    const ms = checkTimeout('timeout', timeout);
    this.#checkOwned('wait');
    return runSync(this.#waits(ms));
  }

  /**
   * waitSync, off the JS thread; aborting rejects with signal.reason once the lock is re-acquired.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async wait(t?: number | WaitOptions): Promise<boolean> {
    const { timeout, signal } = parseWait(t);
    this.#checkOwned('wait');
    if (signal?.aborted) throw abortReason(signal);
    return runAsync(this.#waits(timeout), signal);
  }

  /** Waits (releasing the lock while it sleeps) until predicate(), called with the lock held, is truthy. */
  *#waitForWaits<T>(predicate: () => T, ms: number): Waits<T> {
    const deadline = now() + ms;
    let result = predicate();
    while (!result) {
      const left = deadline - now();
      if (left <= 0) break;
      this.#checkOwned('wait');
      yield* this.#waits(left);
      result = predicate();
    }
    return result;
  }

  /**
   * Waits until predicate() is truthy (checked with the lock held); returns its last value. Call it holding
   * the lock.
   * @param predicate checked first, then after each wake-up
   * @param timeout milliseconds (default: no timeout); on timeout the predicate's last (falsy) value returns
   */
  waitForSync<T>(predicate: () => T, timeout?: number): T {
    return runSync(this.#waitForWaits(predicate, checkTimeout('timeout', timeout)));
  }

  /**
   * waitForSync, waiting off the JS thread.
   * @param predicate checked first, then after each wake-up
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async waitFor<T>(predicate: () => T, t?: number | WaitOptions): Promise<T> {
    const { timeout, signal } = parseWait(t);
    return runAsync(this.#waitForWaits(predicate, timeout), signal);
  }

  /**
   * Wakes up to n (default 1) waiting processes. Needs the lock.
   * @param n how many waiters to wake (default 1)
   * @throws Error ERR_MULTIPROC_NOT_OWNER when this process does not hold the lock
   */
  notify(n = 1): void {
    integer('n', n, 0, Number.MAX_SAFE_INTEGER);
    this.#checkOwned('notify');
    Atomics.add(this._i32, this._w, 1);
    if (n > 0 && Atomics.load(this._i32, this._w + 1) > 0) futexWake(this._m, this._w << 2, Math.min(n, WAKE_ALL));
  }

  /** Wakes every waiting process. Needs the lock. */
  notifyAll(): void {
    this.notify(WAKE_ALL);
  }

  override _onClose(): void {
    if (this.#ownsLock) this.#lock.close();
  }

  /** @internal Its lock travels with it (its fds after the Condition's). */
  override _reduce(): { fds: number[]; data: SyncReduced } {
    const own = super._reduce();
    const lock = this.#lock._reduce();
    return { fds: [...own.fds, ...lock.fds], data: { ...own.data, lock: lock.data } };
  }
}

shareSync(Condition, import.meta.url, (at, fds, data) => new Condition(at, rebuildSync(fds.slice(1), data.lock!) as Lock | RLock));

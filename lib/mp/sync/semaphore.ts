// Semaphore and BoundedSemaphore (Python's multiprocessing.Semaphore/BoundedSemaphore): words in the shared
// arena [count, sleepers, bound (0: unbounded), -].
import { allocate } from '../shared/arena.js';
import { abortReason, parseWait, runAsync, runSync, type WaitOptions, type Waits } from '../core/wait.js';
import { integer, stateError, timeout as checkTimeout } from '../../posix/errors.js';
import { ATTACH, type Attach, futexWake, isAttach, shareSync, SyncObject } from './word.js';

/**
 * A counting semaphore shared between processes (Python's multiprocessing.Semaphore): a count in the shared
 * arena; acquire takes one (waiting while it is 0), release adds.
 * @example
 * ```ts
 * const slots = new Semaphore(2);                 // at most two holders at once
 * await slots.withLock(() => download(url));      // acquire … release on every exit path
 * if (slots.acquireSync(100)) slots.release();    // false after 100 ms
 * ```
 */
export class Semaphore extends SyncObject {
  /**
   * @param value the initial count (0 ..= 2^30 - 1; default 1)
   * @param bounded internal (BoundedSemaphore's: the count may not exceed the initial value)
   */
  constructor(value: number | Attach = 1, bounded = false) {
    if (isAttach(value)) {
      super(value[ATTACH], bounded ? 'BoundedSemaphore' : 'Semaphore');
      return;
    }
    integer('value', value, 0, 0x3fffffff);
    super(allocate(16), bounded ? 'BoundedSemaphore' : 'Semaphore');
    this._i32[this._w] = value;
    this._i32[this._w + 2] = bounded ? value : 0;
  }

  #tryTake(): boolean {
    const i32 = this._i32;
    const w = this._w;
    let c = Atomics.load(i32, w);
    while (c > 0) {
      const seen = Atomics.compareExchange(i32, w, c, c - 1);
      if (seen === c) return true;
      c = seen;
    }
    return false;
  }

  /** Sleeps until a count is taken (true) or `ms` elapsed (false). */
  *#takeWaits(ms: number): Waits<boolean> {
    try {
      return yield* this._sleepUntil(this._w, 0, this._w + 1, () => this.#tryTake(), ms);
    } catch (e) {
      if (!this.closed && Atomics.load(this._i32, this._w) > 0) futexWake(this._m, this._w << 2, 1); // pass on a wake-up this wait may have taken
      throw e;
    }
  }

  /**
   * Takes one from the count, blocking while it is 0; false if `timeout` ms elapsed first (0: just try).
   * @param timeout milliseconds (default: no timeout)
   */
  acquireSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    if (this.#tryTake()) return true;
    return ms > 0 && runSync(this.#takeWaits(ms));
  }

  /**
   * acquireSync, waiting off the JS thread; aborting rejects with signal.reason (nothing taken).
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async acquire(t?: number | WaitOptions): Promise<boolean> {
    this._check();
    const { timeout, signal } = parseWait(t);
    if (signal?.aborted) throw abortReason(signal);
    if (this.#tryTake()) return true;
    return timeout > 0 && runAsync(this.#takeWaits(timeout), signal);
  }

  /**
   * Adds `n` (default 1) to the count and wakes up to `n` waiters. Any process may release.
   * @param n how many (1 ..= 2^30 - 1; default 1)
   * @throws Error ERR_MULTIPROC_OVER_RELEASE when a BoundedSemaphore would go above its initial value
   */
  release(n = 1): void {
    this._check();
    integer('n', n, 1, 0x3fffffff);
    const i32 = this._i32;
    const w = this._w;
    const max = i32[w + 2]!;
    if (max > 0) {
      let c = Atomics.load(i32, w);
      for (;;) {
        if (c + n > max) throw stateError('ERR_MULTIPROC_OVER_RELEASE', `BoundedSemaphore released too many times (its value is ${c}, its bound ${max})`);
        const seen = Atomics.compareExchange(i32, w, c, c + n);
        if (seen === c) break;
        c = seen;
      }
    } else {
      Atomics.add(i32, w, n);
    }
    if (Atomics.load(i32, w + 1) > 0) futexWake(this._m, w << 2, n);
  }

  /** The current count (Python's get_value()). */
  getValue(): number {
    this._check();
    return Atomics.load(this._i32, this._w);
  }

  /**
   * Runs fn holding one count (acquire … release on every exit path), waiting as long as it takes.
   * @param fn what to run (awaited when it returns a promise)
   * @returns what fn returned
   */
  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * withLock, acquiring with acquireSync.
   * @param fn what to run
   * @returns what fn returned
   */
  withLockSync<T>(fn: () => T): T {
    this.acquireSync();
    try {
      return fn();
    } finally {
      this.release();
    }
  }
}

/** A Semaphore whose count may not exceed its initial value: over-release throws ERR_MULTIPROC_OVER_RELEASE. */
export class BoundedSemaphore extends Semaphore {
  /** @param value the initial count, which is also the bound (default 1) */
  constructor(value: number | Attach = 1) {
    super(value, true);
  }
}

shareSync(Semaphore, import.meta.url, (at) => new Semaphore(at));
shareSync(BoundedSemaphore, import.meta.url, (at) => new BoundedSemaphore(at));

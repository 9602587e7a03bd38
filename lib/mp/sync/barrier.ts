// Barrier (Python's multiprocessing.Barrier), on shared words, not pthread_barrier_t:
// [internal lock word ×4][generation, arrived, broken, brokenGeneration, parties, sleepers, -, -].
//
// A Barrier's action runs in the last process to arrive; it reaches forked children (inherited) but not
// spawned ones (a function cannot travel: there the barrier has no action). Aborting (AbortSignal) a pending
// wait breaks the barrier, as a timeout does: an arrival cannot be taken back.
import { allocate } from '../shared/arena.js';
import { BrokenBarrierError } from '../core/errors.js';
import { abortReason, parseWait, runAsync, runSync, type WaitOptions, type Waits } from '../core/wait.js';
import { integer, invalidType, timeout as checkTimeout } from '../../posix/errors.js';
import { ATTACH, type Attach, futexWake, isAttach, LockCore, shareSync, SyncObject, type SyncReduced, WAKE_ALL } from './word.js';

export { BrokenBarrierError };

/** Options of a Barrier. */
export interface BarrierOptions {
  /** Run by the last process to arrive, before the others are released; if it throws, the barrier breaks. */
  action?: () => void;
  /** Default timeout of wait() in ms; a timeout breaks the barrier. */
  timeout?: number;
}

// The words after the internal lock's four (indexes from the block's first word).
const [GEN, ARRIVED, BROKEN, BROKEN_GEN, PARTIES, SLEEPERS] = [4, 5, 6, 7, 8, 9] as const;
/** Bounds of the adaptive spin of waitSync (checks of the generation word before sleeping). */
const [BARRIER_SPIN_MIN, BARRIER_SPIN_MAX] = [8, 8192] as const;

/**
 * A barrier for `parties` processes (Python's threading/multiprocessing Barrier): wait() returns the arrival
 * index (0 … parties-1); a timeout, abort() or a throwing action breaks it, and every waiter (and later
 * caller, until reset()) gets BrokenBarrierError.
 *
 * The action runs in the last process to arrive; it reaches forked children (inherited) but not spawned
 * ones (a function cannot travel). Aborting a pending wait breaks the barrier, as a timeout does.
 * @example
 * ```ts
 * import { Barrier, Process } from 'multiproc';
 *
 * const b = new Barrier(3, { timeout: 5000, action: () => console.log('all here') });
 * for (let i = 0; i < 2; i++) new Process({ target: () => b.waitSync() }).start();
 * const index = await b.wait();   // 0, 1 or 2: the arrival index; BrokenBarrierError after 5 s
 * ```
 */
export class Barrier extends SyncObject {
  readonly #core: LockCore;
  readonly #action: (() => void) | undefined;
  readonly #timeout: number;
  #spin = 512;

  /**
   * @param parties how many processes each cycle waits for (1 ..= 2^30 - 1)
   * @param opts the action and the default timeout; see {@link BarrierOptions}
   */
  constructor(parties: number | Attach, opts: BarrierOptions = {}) {
    if (isAttach(parties)) {
      super(parties[ATTACH], 'Barrier');
    } else {
      integer('parties', parties, 1, 0x3fffffff);
      if (opts.action !== undefined && typeof opts.action !== 'function') throw invalidType('options.action', 'of type function', opts.action);
      super(allocate(48), 'Barrier');
      this._i32[this._w + PARTIES] = parties;
    }
    this.#action = opts.action;
    this.#timeout = checkTimeout('options.timeout', opts.timeout);
    this.#core = new LockCore(this._i32, this._m, this._w);
    this.#core.check = () => this._check();
  }

  /** The number of processes the barrier waits for. */
  get parties(): number {
    this._check();
    return this._i32[this._w + PARTIES]!;
  }

  /** The number of processes waiting in the current cycle. */
  get nWaiting(): number {
    this._check();
    return Atomics.load(this._i32, this._w + BROKEN) ? 0 : Atomics.load(this._i32, this._w + ARRIVED);
  }

  /** Is it broken (until reset())? */
  get broken(): boolean {
    this._check();
    return Atomics.load(this._i32, this._w + BROKEN) !== 0;
  }

  // with the internal lock held
  #breakLocked(): void {
    const i32 = this._i32;
    const w = this._w;
    Atomics.store(i32, w + BROKEN, 1);
    Atomics.store(i32, w + ARRIVED, 0);
    const g = Atomics.load(i32, w + GEN);
    Atomics.store(i32, w + BROKEN_GEN, (g + 1) | 0);
    Atomics.store(i32, w + GEN, (g + 1) | 0);
    futexWake(this._m, (w + GEN) << 2, WAKE_ALL);
  }

  /** Breaks the barrier if the cycle is still `gen` (-1: whatever it is); true if it did. */
  #breakIf(gen: number): boolean {
    this.#core.acquireSync(Infinity);
    const broke = gen === -1 || Atomics.load(this._i32, this._w + GEN) === gen;
    if (broke) this.#breakLocked();
    this.#core.unlock();
    return broke;
  }

  /** Arrives (with the internal lock held, which it releases): the cycle to wait for, or last: true. */
  #arrive(): { gen: number; index: number; last: boolean } {
    const i32 = this._i32;
    const w = this._w;
    // Under the internal lock (every writer of these words holds it): plain reads and writes, except the
    // generation's store, which waiters read without the lock.
    if (i32[w + BROKEN]) {
      this.#core.unlock();
      throw new BrokenBarrierError();
    }
    const gen = i32[w + GEN]!;
    const index = i32[w + ARRIVED]!;
    i32[w + ARRIVED] = index + 1;
    if (index + 1 < i32[w + PARTIES]!) {
      this.#core.unlock();
      return { gen, index, last: false };
    }
    try {
      this.#action?.();
    } catch (e) {
      this.#breakLocked();
      this.#core.unlock();
      throw e;
    }
    i32[w + ARRIVED] = 0;
    Atomics.store(i32, w + GEN, (gen + 1) | 0);
    // Unlock before waking: a woken partner on this CPU may run at once, and must not find the lock taken.
    // (Sleepers of the next cycle woken by this are spurious wake-ups: they see their generation and sleep.)
    this.#core.unlock();
    if (Atomics.load(i32, w + SLEEPERS) > 0) futexWake(this._m, (w + GEN) << 2, WAKE_ALL);
    return { gen, index, last: true };
  }

  /** After the generation moved on: passed, or broken? */
  #outcome(gen: number, index: number): number {
    if (Atomics.load(this._i32, this._w + BROKEN_GEN) === ((gen + 1) | 0)) throw new BrokenBarrierError();
    return index;
  }

  /** Sleeps until cycle `gen` ends; a timeout, an abort or a failed sleep breaks the barrier. */
  *#waits(gen: number, index: number, ms: number): Waits<number> {
    const w = this._w;
    let passed: boolean;
    try {
      passed = yield* this._sleepUntil(w + GEN, gen, w + SLEEPERS, () => Atomics.load(this._i32, w + GEN) !== gen, ms);
    } catch (e) {
      // An abandoned arrival would leave the count wrong for good: break the barrier (if it is still there).
      if (!this.closed) this.#breakIf(gen);
      throw e;
    }
    if (!passed && this.#breakIf(gen)) throw new BrokenBarrierError('The barrier timed out (and is now broken)');
    return this.#outcome(gen, index);
  }

  /**
   * Waits for all parties; returns this process's arrival index (default timeout: the barrier's).
   * @param timeout milliseconds (default, or null: the barrier's `timeout` option)
   * @throws BrokenBarrierError when the barrier is or becomes broken (a timeout breaks it)
   */
  waitSync(timeout?: number): number {
    this._check();
    const ms = timeout == null ? this.#timeout : checkTimeout('timeout', timeout); // None: the barrier's default, as in Python
    this.#core.acquireSync(Infinity);
    const { gen, index, last } = this.#arrive();
    if (last) return index;
    // Spin a little before sleeping: with the partners on other CPUs the cycle usually completes within a
    // microsecond (a futex sleep and wake-up costs several). The budget adapts: halved when spinning did not
    // pay (partners on this CPU cannot run while we spin), doubled when it did.
    const i32 = this._i32;
    const at = this._w + GEN;
    const budget = this.#spin;
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(i32, at) !== gen) {
        if (budget < BARRIER_SPIN_MAX) this.#spin = budget * 2;
        return this.#outcome(gen, index);
      }
    }
    if (budget > BARRIER_SPIN_MIN) this.#spin = budget - (budget >> 3);
    return runSync(this.#waits(gen, index, ms));
  }

  /**
   * waitSync, off the JS thread. Aborting breaks the barrier and rejects with signal.reason.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: the barrier's `timeout` option)
   */
  async wait(t?: number | WaitOptions): Promise<number> {
    this._check();
    const { timeout, signal } = parseWait(t ?? undefined, this.#timeout);
    if (signal?.aborted) throw abortReason(signal);
    if (!this.#core.tryFast()) await this.#core.acquire(Infinity, undefined);
    const { gen, index, last } = this.#arrive();
    if (last) return index;
    return runAsync(this.#waits(gen, index, timeout), signal);
  }

  /** Breaks the barrier: current and later waiters get BrokenBarrierError until reset(). */
  abort(): void {
    this._check();
    this.#breakIf(-1);
  }

  /** Back to the initial state; processes waiting now get BrokenBarrierError. */
  reset(): void {
    this._check();
    this.#core.acquireSync(Infinity);
    if (Atomics.load(this._i32, this._w + ARRIVED) > 0) this.#breakLocked();
    Atomics.store(this._i32, this._w + ARRIVED, 0);
    Atomics.store(this._i32, this._w + BROKEN, 0);
    this.#core.unlock();
  }

  /** @internal The default timeout travels with it (the action cannot). */
  override _reduce(): { fds: number[]; data: SyncReduced } {
    const r = super._reduce();
    if (this.#timeout !== Infinity) r.data.timeout = this.#timeout;
    return r;
  }
}

shareSync(Barrier, import.meta.url, (at, _fds, data) => new Barrier(at, { timeout: data.timeout }));

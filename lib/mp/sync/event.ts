// Event (Python's multiprocessing.Event): words in the shared arena [flag, sleepers, -, -].
import { allocate } from '../shared/arena.js';
import { abortReason, parseWait, runAsync, runSync, type WaitOptions, type Waits } from '../core/wait.js';
import { timeout as checkTimeout } from '../../posix/errors.js';
import { ATTACH, type Attach, futexWake, isAttach, shareSync, SyncObject, WAKE_ALL } from './word.js';

/**
 * An event flag shared between processes (Python's multiprocessing.Event): set() wakes every waiter.
 * @example
 * ```ts
 * const go = new Event();
 * new Process({ target: () => { go.waitSync(); console.log('started'); } }).start();
 * go.set();
 * ```
 */
export class Event extends SyncObject {
  /** @param attach internal (a spawned child's rebuild): leave it out */
  constructor(attach?: Attach) {
    super(isAttach(attach) ? attach[ATTACH] : allocate(16), 'Event');
  }

  /** Is the flag set? */
  isSet(): boolean {
    this._check();
    return Atomics.load(this._i32, this._w) !== 0;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    this._check();
    Atomics.store(this._i32, this._w, 1);
    if (Atomics.load(this._i32, this._w + 1) > 0) futexWake(this._m, this._w << 2, WAKE_ALL);
  }

  /** Clears the flag. */
  clear(): void {
    this._check();
    Atomics.store(this._i32, this._w, 0);
  }

  #waits(ms: number): Waits<boolean> {
    return this._sleepUntil(this._w, 0, this._w + 1, () => Atomics.load(this._i32, this._w) !== 0, ms);
  }

  /**
   * Blocks until set; returns the flag (false on timeout).
   * @param timeout milliseconds (default: no timeout)
   */
  waitSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    return Atomics.load(this._i32, this._w) !== 0 || runSync(this.#waits(ms));
  }

  /**
   * waitSync, off the JS thread; aborting rejects with signal.reason.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async wait(t?: number | WaitOptions): Promise<boolean> {
    this._check();
    const { timeout, signal } = parseWait(t);
    if (signal?.aborted) throw abortReason(signal);
    return Atomics.load(this._i32, this._w) !== 0 || runAsync(this.#waits(timeout), signal);
  }
}

shareSync(Event, import.meta.url, (at) => new Event(at));

// The futex family of the posix layer: futex(2) FUTEX_WAIT / FUTEX_WAKE on a 32-bit word inside a shared
// Mapping (process-shared futexes: no FUTEX_PRIVATE_FLAG), the primitive lib/mp/sync/ builds its locks on.
//
// The word is changed with JS Atomics on an Int32Array over the mapping (atomic across processes: V8 emits
// the same locked instructions for a non-shared ArrayBuffer); a process calls futexWait only to sleep while
// the word holds the value it saw, and futexWake to wake sleepers after changing it. Wake-ups may be spurious:
// always re-check the word.
//
// The offset must be a multiple of 4 inside the mapping (RangeError otherwise); a closed mapping is
// ERR_MULTIPROC_CLOSED. Timeouts are in milliseconds on CLOCK_MONOTONIC.
import { native } from '../binding/addon.js';
import type { Mapping } from './shm.js';
import { invalidType } from './errors.js';

/** What a futex wait ended with. 'woken' includes spurious wake-ups and signals. */
export type FutexWaitResult = 'woken' | 'not-equal' | 'timed-out';
const RESULTS: readonly FutexWaitResult[] = ['woken', 'not-equal', 'timed-out'];

/**
 * futex(2) FUTEX_WAIT: sleeps while the int32 at `offset` of `m` holds `expected`, until a futexWake on it
 * (from any process), `timeout` ms (default: none), or a signal. Blocks this thread.
 * @param m a shared mapping ({@link mmap})
 * @param offset the word's byte offset in `m` (a multiple of 4)
 * @param expected sleep only while the word holds this value
 * @param timeout milliseconds (default: no timeout), on CLOCK_MONOTONIC
 * @returns 'not-equal' at once if the word did not hold `expected`; else 'woken' or 'timed-out'
 * @see [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
 * @example
 * ```ts
 * using m = posix.mmap(4096);
 * const word = new Int32Array(m.buffer, 0, 1);
 * if (posix.fork() === 0) {
 *   Atomics.store(word, 0, 1);
 *   posix.futexWake(m, 0);          // wake the parent
 *   posix.exit(0);
 * }
 * while (Atomics.load(word, 0) === 0) posix.futexWait(m, 0, 0);   // re-check: wake-ups may be spurious
 * ```
 */
export function futexWait(m: Mapping, offset: number, expected: number, timeout?: number): FutexWaitResult {
  return RESULTS[native.futexWait(m, offset, expected, timeout)]!;
}

/** The raw form of futexWait for hot paths: 0 woken, 1 not equal, 2 timed out. */
export const futexWaitRaw: (m: Mapping, offset: number, expected: number, timeout?: number) => 0 | 1 | 2 = native.futexWait;

/** The native futexWake, without a wrapper frame (hot paths). */
export const futexWakeRaw: (m: Mapping, offset: number, count?: number) => number = native.futexWake;

/**
 * futex(2) FUTEX_WAKE: wakes up to `count` (default 1) waiters of the word; returns how many were woken.
 * @param m the mapping of the word
 * @param offset the word's byte offset in `m` (a multiple of 4)
 * @param count the most waiters to wake (default 1; 0x7fffffff: all)
 * @see [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
 */
export function futexWake(m: Mapping, offset: number, count = 1): number {
  return native.futexWake(m, offset, count);
}

/** Options of {@link futexWaitAsync}. */
export interface FutexWaitAsyncOptions {
  /** Milliseconds (default: none). */
  timeout?: number;
  /** Aborting ends the wait with 'cancelled'. */
  signal?: AbortSignal;
}

/**
 * futexWait on a thread of the addon: the JS thread stays free. Resolves to 'woken', 'not-equal',
 * 'timed-out' or, when `signal` aborted it, 'cancelled'. Cancelling wakes every waiter of the word (they
 * see a spurious wake-up and wait again); if this wait had been woken by a futexWake it is passed on as
 * 'cancelled' too, so the caller should pass the wake-up on (futexWake(m, offset, 1)) when it matters.
 * @param m a shared mapping
 * @param offset the word's byte offset in `m` (a multiple of 4)
 * @param expected sleep only while the word holds this value
 * @param opts a timeout and an AbortSignal; see {@link FutexWaitAsyncOptions}
 * @throws TypeError when `opts.signal` is not an AbortSignal (thrown, not a rejection)
 */
export function futexWaitAsync(
  m: Mapping,
  offset: number,
  expected: number,
  opts: FutexWaitAsyncOptions = {},
): Promise<FutexWaitResult | 'cancelled'> {
  const signal = opts.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('opts.signal', 'an instance of AbortSignal', signal);
  if (signal?.aborted) return Promise.resolve('cancelled');
  return new Promise((resolve, reject) => {
    const onAbort = () => native.cancelWait(id);
    const id = native.futexWaitAsync(m, offset, expected, opts.timeout ?? Infinity, (err, r) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(r === 3 ? 'cancelled' : RESULTS[r!]!);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The raw async wait for hot paths: callback(err, result) with 0 woken, 1 not equal, 2 timed out,
 * 3 cancelled; returns an id for futexCancel.
 */
export const futexWaitAsyncRaw: (
  m: Mapping,
  offset: number,
  expected: number,
  timeoutMs: number,
  cb: (err: Error | null, r?: number) => void,
) => number = native.futexWaitAsync;

/**
 * Cancels a futexWaitAsyncRaw wait; true if it was still pending (its callback then gets 3).
 * @param id what futexWaitAsyncRaw returned
 */
export function futexCancel(id: number): boolean {
  return native.cancelWait(id);
}

/** The number of this process's async futex waits not yet settled; for tests and leak checks. */
export function pendingFutexWaits(): number {
  return native.pendingWaits('futex');
}

// The multiprocessing layer's waits: how a blocking method reads its timeout argument, keeps its deadline,
// handles an AbortSignal, and — the main point — how its Promise form and its Sync form are one algorithm.
//
// Arguments (the validators are lib/posix/errors.ts's: timeout(), waitOptions()): a Sync form takes
// `timeout?: number` (ms; undefined, null, Infinity: none); a Promise form takes that or
// `{ timeout, signal }` (WaitOptions). Aborting rejects with `signal.reason` and leaves nothing held.
//
// One algorithm, two forms. A blocking operation is written once, as a generator that yields each time it
// must sleep ("sleep on this futex word while it holds v, at most ms", "wait on this semaphore, at most ms")
// and receives how the sleep ended (WOKEN, NOT_EQUAL, TIMED_OUT):
//
//   *acquireWaits(ms): Waits<boolean> {
//     for (;;) { if (tryTake()) return true; ...; const r = yield futexSleep(m, offset, seen, left); ... }
//   }
//   acquireSync(ms) { return tryTake() || runSync(this.acquireWaits(ms)); }              // futex(2) on this thread
//   acquire(ms, signal) { return tryTake() ? … : runAsync(this.acquireWaits(ms), signal); }  // off the JS thread
//
// runSync sleeps on this thread (posix.futexWaitRaw, Semaphore.timedWait); runAsync sleeps on a thread of the
// addon (futexWaitAsyncRaw, Semaphore.waitAsync) and awaits. An abort, or a sleep that fails, is thrown into
// the generator at its `yield` — so its try/finally and catch blocks clean up (un-count a sleeper, pass on a
// wake-up it may have taken, break a barrier) the same way in both forms. After an abort was delivered, the
// generator's further sleeps (re-acquiring a Condition's lock in a finally) are not abortable; neither is a
// sleep yielded with abortable = false. The uncontended path (a free lock, an item in the queue) stays inline
// in each method, before the generator is made: a generator costs ~20-50 ns, as much as the fast path itself.
import * as posix from '../../posix/index.js';
import { type ParsedWait, typeError, waitOptions } from '../../posix/errors.js';

/** Options of the Promise forms of the multiprocessing layer. */
export interface WaitOptions {
  /** Milliseconds; the wait ends (false, Empty, Full, … as the method says) when it elapses. Default: none. */
  timeout?: number | null;
  /** Aborting rejects with signal.reason (nothing is acquired or taken). */
  signal?: AbortSignal;
}

/** The current time (ms) on the clock deadlines are kept in. */
export const now: () => number = () => performance.now();

const BLOCK = { block: true };

/**
 * A Promise form's argument (`timeout` ms or `{ timeout, signal }`, undefined: `dflt`); with `block`, also
 * `{ block }` (Python's block=False).
 */
export function parseWait(t: unknown, dflt = Infinity, block = false): ParsedWait {
  return waitOptions(t, dflt, block ? BLOCK : {});
}

/**
 * A Sync form's argument (Queue.getSync/putSync take the Promise form's, `{ block }` included) — minus a
 * signal, which is a TypeError: `method` ('getSync') is named in it, with its Promise form ('get').
 */
export function parseSyncWait(t: unknown, method: string): ParsedWait {
  const o = waitOptions(t, Infinity, BLOCK);
  if (o.signal) throw typeError(`${method}: use ${method.replace(/Sync$/, '')}() for an AbortSignal`);
  return o;
}

/** What an aborted signal rejects with: its reason (an AbortError DOMException when none was given). */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

// ---------------------------------------------------------------------------------------------------------
// one algorithm, two forms

/** How a sleep ended: woken (or spuriously: re-check), the word did not hold the value, the time ran out. */
export const WOKEN = 0;
/** See WOKEN. */
export const NOT_EQUAL = 1;
/** See WOKEN. */
export const TIMED_OUT = 2;
/** futexWaitAsyncRaw's result for a cancelled wait (never sent into a generator: the abort is thrown). */
const CANCELLED = 3;

/** One sleep a generator asks for: on a futex word (`m`, byte `offset`, while it holds `value`) or a semaphore. */
export interface Sleep {
  /** The mapping of the futex word (undefined: a semaphore sleep). */
  m: posix.Mapping | undefined;
  /** The word's byte offset in `m`. */
  offset: number;
  /** Sleep while the word holds this. */
  value: number;
  /** The semaphore to wait on (undefined: a futex sleep). */
  sem: posix.Semaphore | undefined;
  /** ms (finite, >= 0; Infinity for none on a futex word) */
  ms: number;
  /** false: an AbortSignal does not end this sleep. */
  abortable: boolean;
}

/** An operation written once: yields its sleeps, receives how each ended, returns the result. */
export type Waits<R> = Generator<Sleep, R, number>;

/** Sleep while the int32 at byte `offset` of `m` holds `value`, at most `ms`. */
export function futexSleep(m: posix.Mapping, offset: number, value: number, ms: number, abortable = true): Sleep {
  return { m, offset, value, sem: undefined, ms, abortable };
}

/** Wait on `sem` at most `ms` (WOKEN: a count was taken; TIMED_OUT: none). */
export function semSleep(sem: posix.Semaphore, ms: number, abortable = true): Sleep {
  return { m: undefined, offset: 0, value: 0, sem, ms, abortable };
}

function sleepSync(s: Sleep): number {
  if (s.sem) return s.sem.timedWait(s.ms) ? WOKEN : TIMED_OUT;
  return posix.futexWaitRaw(s.m!, s.offset, s.value, s.ms);
}

function sleepAsync(s: Sleep, signal: AbortSignal | undefined): Promise<number> {
  if (s.sem) return s.sem.waitAsync({ timeout: s.ms, signal }).then((got) => (got ? WOKEN : TIMED_OUT));
  // An abort that came after the previous sleep ended fires no 'abort' event for this one: report it at once.
  if (signal?.aborted) return Promise.resolve(CANCELLED);
  return new Promise((resolve, reject) => {
    const onAbort = () => posix.futexCancel(id);
    const id = posix.futexWaitAsyncRaw(s.m!, s.offset, s.value, s.ms, (err, r) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(r!);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `g` to its end on this thread (its sleeps block the thread). */
export function runSync<R>(g: Waits<R>): R {
  let step = g.next();
  while (!step.done) {
    let r: number;
    try {
      r = sleepSync(step.value);
    } catch (e) {
      step = g.throw(e);
      continue;
    }
    step = g.next(r);
  }
  return step.value;
}

/** Runs `g` to its end off the JS thread: each sleep is awaited; aborting `signal` is thrown into `g`. */
export async function runAsync<R>(g: Waits<R>, signal?: AbortSignal): Promise<R> {
  let step = g.next();
  while (!step.done) {
    const s = step.value;
    const sig = s.abortable ? signal : undefined;
    let r: number;
    try {
      r = await sleepAsync(s, sig);
    } catch (e) {
      if (sig?.aborted) signal = undefined; // delivered: the clean-up's sleeps are not abortable
      step = g.throw(e);
      continue;
    }
    if (r === CANCELLED) {
      signal = undefined;
      step = g.throw(abortReason(sig!));
      continue;
    }
    step = g.next(r);
  }
  return step.value;
}

// The exact-count test of a lock that two processes share (test/posix/sync.test.ts, with a forked child or
// with its fresh node child test/helpers/sync-child.ts): each process adds 1 to one int32 n times, each time
// under the lock.
import * as posix from '../../lib/posix/index.js';

/** The locks counted under: a robust Mutex, or a Semaphore of value 1. */
export type CountLockKind = 'mutex' | 'sem';

/** A lock as the count takes and gives it. */
export interface CountLock {
  take(): void;
  give(): void;
}

/** The `kind` lock that some process initialised at `offset` of `m`. */
export function lockAt(kind: CountLockKind, m: posix.Mapping, offset: number): CountLock {
  if (kind === 'mutex') {
    const mx = posix.Mutex.attach(m, offset);
    return { take: () => mx.lock(), give: () => mx.unlock() };
  }
  const s = posix.Semaphore.attach(m, offset);
  return { take: () => s.wait(), give: () => s.post() };
}

/** `n` increments of view[at], each under `lock`. */
export function countUnder(lock: CountLock, view: Int32Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) {
    lock.take();
    view[at] = view[at]! + 1; // a plain read-modify-write: only the lock makes the total exact
    lock.give();
  }
}

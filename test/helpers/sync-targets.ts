// Process targets of test/sync.test.ts and test/shared.test.ts: called with the shared objects as args (fork:
// inherited; spawn: rebuilt in the child from their memfd). A target reports failure by throwing (exit 1) or
// by the exit code it passes to process.exit.
import type { Barrier, Condition, Event, Lock, RLock, Semaphore, SharedArray, Value } from '../../lib/index.js';

/** n increments of v, under its lock or not, after all workers met at `start`. */
export function increment(v: Value, start: Barrier, n: number, useLock: boolean): void {
  start.waitSync(30_000);
  if (useLock) {
    const lock = v.getLock();
    for (let i = 0; i < n; i++) {
      lock.acquireSync();
      v.value = v.value + 1;
      lock.release();
    }
  } else {
    for (let i = 0; i < n; i++) v.value = v.value + 1;
  }
}

/** n increments under withLockSync of an explicit lock. */
export function incrementWith(v: Value, lock: Lock, n: number): void {
  for (let i = 0; i < n; i++) lock.withLockSync(() => (v.value = v.value + 1));
}

/** Semaphore cap: counts how many are inside at once (stats: [inside, max, total entries]). */
export function semaphoreWorker(sem: Semaphore, stats: SharedArray, n: number): void {
  const s = stats.view as Int32Array;
  for (let i = 0; i < n; i++) {
    sem.acquireSync();
    const inside = Atomics.add(s, 0, 1) + 1;
    let m = Atomics.load(s, 1);
    while (inside > m) {
      const seen = Atomics.compareExchange(s, 1, m, inside);
      if (seen === m) break;
      m = seen;
    }
    Atomics.add(s, 2, 1);
    const until = performance.now() + 0.05;
    while (performance.now() < until); // stay inside a moment
    Atomics.sub(s, 0, 1);
    sem.release();
  }
}

/**
 * Barrier phases: in each cycle every process writes the cycle into its slot, waits, then checks that every
 * slot holds this cycle or the next (no process ran ahead or lagged a phase). stats: [errors, index sum,
 * serial count (index 0)].
 */
export function barrierPhases(b: Barrier, slots: SharedArray, stats: SharedArray, me: number, cycles: number): void {
  const v = slots.view as Int32Array;
  const s = stats.view as Int32Array;
  const parties = b.parties;
  for (let c = 0; c < cycles; c++) {
    Atomics.store(v, me, c);
    const index = b.waitSync(30_000);
    Atomics.add(s, 1, index);
    if (index === 0) Atomics.add(s, 2, 1);
    for (let j = 0; j < parties; j++) {
      const x = Atomics.load(v, j);
      if (x < c || x > c + 1) Atomics.add(s, 0, 1);
    }
  }
}

/** Producer of a bounded buffer: ring = [head, tail, count, cap slots...]; puts 1..n. */
export function producer(cond: Condition, ring: SharedArray, n: number): void {
  const r = ring.view as Int32Array;
  const cap = ring.length - 3;
  for (let i = 1; i <= n; i++) {
    cond.acquireSync();
    if (!cond.waitForSync(() => r[2]! < cap, 30_000)) throw new Error('producer: no room within 30 s');
    r[3 + (r[1]! % cap)] = i;
    r[1] = r[1]! + 1;
    r[2] = r[2]! + 1;
    cond.notifyAll();
    cond.release();
  }
}

/** Waits on the event after saying it is ready; exit 0 if it was set, 3 on timeout. */
export function eventWaiter(ev: Event, ready: Semaphore): void {
  ready.release();
  if (!ev.waitSync(30_000)) process.exit(3);
}

/** Async form of eventWaiter (the wait runs off the JS thread). */
export async function eventWaiterAsync(ev: Event, ready: Semaphore): Promise<void> {
  ready.release();
  if (!(await ev.wait(30_000))) process.exit(3);
}

/** Acquires the lock, says so, and dies holding it (exit without release, or SIGKILL). */
export function dieHolding(lock: Lock | RLock, held: Semaphore, how: 'exit' | 'kill'): void {
  if (!lock.acquireSync(30_000)) process.exit(4);
  held.release();
  if (how === 'kill') process.kill(process.pid, 'SIGKILL');
  process.exit(0);
}

/** Holds the lock until `go` is set (so the parent can time out, abort, etc.). */
export function holdUntil(lock: Lock | RLock, held: Semaphore, go: Event): void {
  if (!lock.acquireSync(30_000)) process.exit(4);
  held.release();
  go.waitSync(30_000);
  lock.release();
}

/** Tries to release a lock this process does not hold; exit 0 if that threw ERR_MULTIPROC_NOT_OWNER. */
export function releaseNotOwned(lock: RLock): void {
  try {
    lock.release();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MULTIPROC_NOT_OWNER') process.exit(0);
    throw e;
  }
  process.exit(5);
}

/** Writes to shared state: v.value = x, arr[i] = i * 10. */
export function writeShared(v: Value, arr: SharedArray, x: number): void {
  v.value = x;
  const view = arr.view;
  for (let i = 0; i < view.length; i++) view[i] = i * 10;
}

/**
 * n increments under `await lock.acquire()` (the waits run off the JS thread), with some sync ones mixed in
 * (not when this process runs several loops at once on a Lock: a sync acquire of a Lock this process holds
 * waits for ever, as in Python).
 */
export async function incrementAsync(v: Value, lock: Lock | RLock, n: number, mixSync = true): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (mixSync && i % 3 === 0) {
      lock.acquireSync();
    } else if (!(await lock.acquire(30_000))) {
      throw new Error('acquire timed out');
    }
    const x = v.value;
    if (i % 50 === 0) await new Promise((r) => setImmediate(r)); // hold it across a turn of the loop now and then
    v.value = x + 1;
    lock.release();
  }
}

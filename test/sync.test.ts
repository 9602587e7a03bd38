// Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier between real processes, written once and
// run for each start method (as CPython's test_multiprocessing_fork/_spawn): the shared objects reach the
// children as Process args.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  checkSendable,
  Condition,
  Event,
  Lock,
  Pipe,
  Process,
  Queue,
  RLock,
  Semaphore,
  SharedArray,
  type StartMethod,
  Value,
  arenaStats,
} from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { thrown, until } from './helpers/child.js';
import { checkLeaks, closedAfterEach } from './helpers/leaks.js';
import * as targets from './helpers/sync-targets.js';
import { helper } from './helpers/files.js';
import { startTarget } from './helpers/process.js';

/** Threads of this process not in `before` that sleep in futex(2) now (/proc/self/task/<tid>/syscall). */
function futexSleepersSince(before: Set<string>): number {
  const nr = ({ x64: 202, arm64: 98 } as Record<string, number>)[process.arch];
  if (nr === undefined) return Infinity; // the sleepers word alone (syscall numbers of other architectures not listed)
  let n = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    if (before.has(tid)) continue;
    try {
      if (fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').split(' ')[0] === String(nr)) n++;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return n;
}

checkLeaks();

const targetsFile = helper('sync-targets.ts');
type TargetName = keyof typeof targets;

/** Every arena object a test makes is closed at its end (the leak check then sees no mapping left). */
const track = closedAfterEach(() => {
  expect(posix.pendingFutexWaits(), 'async futex waits left pending').toBe(0);
  expect(arenaStats().regions, 'arena regions left').toBe(0);
});

/** Collects the process warnings emitted while `body` runs. */
async function warnings<T>(body: () => Promise<T>): Promise<[T, Error[]]> {
  const seen: Error[] = [];
  const on = (w: Error) => seen.push(w);
  process.on('warning', on);
  try {
    const r = await body();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    return [r, seen];
  } finally {
    process.off('warning', on);
  }
}

for (const method of ['fork', 'spawn', 'forkserver'] as const satisfies readonly StartMethod[]) {
  describe(`sync (${method})`, () => {
    const start = (exp: TargetName, ...args: unknown[]) => startTarget(method, targets, targetsFile, exp, args);
    /** A Lock that a child (`p`) holds until `go` is set. */
    const heldLock = async () => {
      const lock = track(new Lock());
      const held = track(new Semaphore(0));
      const go = track(new Event());
      const p = start('holdUntil', lock, held, go);
      expect(await held.acquire(30_000)).toBe(true);
      return { lock, go, p };
    };
    const joinAll = async (ps: Process[], codes: number | number[] = 0) => {
      for (const [i, p] of ps.entries()) {
        await p.join(60_000);
        if (p.exitCode === null) {
          p.kill();
          await p.join();
        }
        expect(p.exitCode, `process ${i}`).toBe(Array.isArray(codes) ? codes[i] : codes);
        p.close();
      }
    };

    it('8 processes × 100,000 Value increments under getLock() = exactly 800,000', async () => {
      const v = track(new Value('i', 0));
      const b = track(new Barrier(8));
      const ps = Array.from({ length: 8 }, () => start('increment', v, b, 100_000, true));
      await joinAll(ps);
      expect(v.value).toBe(800_000);
      expect(v.getLock().owner).toBe(0);
    });

    it('without the lock the same increments lose updates (the data race), reported', async () => {
      // Each try runs twice as long as the one before: the racers must overlap in time, which a machine whose
      // other core is busy may not give a short run.
      const losses: number[] = [];
      const tries: string[] = [];
      for (let attempt = 0; attempt < 5 && !losses.some((l) => l > 0); attempt++) {
        const each = 100_000 * 2 ** attempt;
        const v = track(new Value('i', 0, { lock: false }));
        const b = track(new Barrier(8));
        const ps = Array.from({ length: 8 }, () => start('increment', v, b, each, false));
        await joinAll(ps);
        losses.push(8 * each - v.value);
        tries.push(`${8 * each - v.value} of ${8 * each}`);
      }
      console.log(`sync (${method}): updates lost without the lock, per try: ${tries.join(', ')}`);
      expect(losses.some((l) => l > 0)).toBe(true);
    });

    it('withLockSync with an explicit Lock: exact, and the lock is free afterwards', async () => {
      const v = track(new Value('i', 0, { lock: false }));
      const lock = track(new Lock());
      const ps = Array.from({ length: 3 }, () => start('incrementWith', v, lock, 20_000));
      await joinAll(ps);
      expect(v.value).toBe(60_000);
      expect(lock.owner).toBe(0);
    });

    it('async acquisitions (waits off the JS thread) by 4 processes, concurrent ones in each: exact', async () => {
      const v = track(new Value('i', 0, { lock: false }));
      const lock = track(new Lock());
      const ps = Array.from({ length: 4 }, () => start('incrementAsync', v, lock, 1500));
      // and two concurrent async loops here, on the same lock
      await Promise.all([targets.incrementAsync(v, lock, 500, false), targets.incrementAsync(v, lock, 500, false)]);
      await joinAll(ps);
      expect(v.value).toBe(4 * 1500 + 1000);
      expect(lock.owner).toBe(0);
    });

    it('Semaphore(3) caps concurrency: never more than 3 inside (shared counter)', async () => {
      const sem = track(new Semaphore(3));
      const stats = track(new SharedArray('i', 3));
      const procs = method === 'spawn' ? 4 : 6; // a spawned child costs a node start-up on a loaded machine
      const ps = Array.from({ length: procs }, () => start('semaphoreWorker', sem, stats, 150));
      await joinAll(ps);
      const [inside, max, total] = stats.toArray();
      console.log(`sync (${method}): at most ${max} processes inside Semaphore(3)`);
      expect(inside).toBe(0);
      expect(total).toBe(procs * 150);
      expect(max).toBeGreaterThanOrEqual(1);
      expect(max).toBeLessThanOrEqual(3);
      expect(sem.getValue()).toBe(3);
    });

    it('Barrier(4): phases in order over 1,000 cycles; indexes 0..3 once per cycle', async () => {
      const b = track(new Barrier(4));
      const slots = track(new SharedArray('i', 4));
      const stats = track(new SharedArray('i', 3));
      const ps = Array.from({ length: 4 }, (_, i) => start('barrierPhases', b, slots, stats, i, 1000));
      await joinAll(ps);
      const [errors, indexSum, serial] = stats.toArray();
      expect(errors).toBe(0);
      expect(indexSum).toBe(1000 * (0 + 1 + 2 + 3));
      expect(serial).toBe(1000);
      expect(b.broken).toBe(false);
      expect(b.nWaiting).toBe(0);
    });

    it('Condition: producer (child, waitSync) / consumer (here, async wait) over a bounded buffer', async () => {
      const cond = track(new Condition());
      const ring = track(new SharedArray('i', 3 + 4));
      const r = ring.view as Int32Array;
      const n = 300;
      const p = start('producer', cond, ring, n);
      const got: number[] = [];
      while (got.length < n) {
        expect(await cond.acquire(30_000)).toBe(true);
        expect(await cond.waitFor(() => r[2]! > 0, 30_000)).toBe(true);
        while (r[2]! > 0) {
          got.push(r[3 + (r[0]! % 4)]!);
          r[0] = r[0]! + 1;
          r[2] = r[2]! - 1;
        }
        cond.notifyAll();
        cond.release();
      }
      await joinAll([p]);
      expect(got).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    });

    it('Event: set() wakes many waiters in several processes (sync and async) and here', async () => {
      const ev = track(new Event());
      const ready = track(new Semaphore(0));
      const ps = [
        ...Array.from({ length: method === 'spawn' ? 2 : 3 }, () => start('eventWaiter', ev, ready)),
        ...Array.from({ length: method === 'spawn' ? 1 : 2 }, () => start('eventWaiterAsync', ev, ready)),
      ];
      for (let i = 0; i < ps.length; i++) expect(await ready.acquire(30_000)).toBe(true);
      const local = Array.from({ length: 4 }, () => ev.wait(30_000));
      expect(ev.isSet()).toBe(false);
      await new Promise((r) => setTimeout(r, 20));
      ev.set();
      expect(await Promise.all(local)).toEqual([true, true, true, true]);
      await joinAll(ps);
      expect(ev.isSet()).toBe(true);
      ev.clear();
      expect(ev.isSet()).toBe(false);
    });

    it('timeouts: a held lock, an empty semaphore, an unset event, a condition and a barrier', async () => {
      const { lock, go, p } = await heldLock();
      expect(lock.acquireSync(0)).toBe(false);
      expect(lock.acquireSync(30)).toBe(false);
      expect(await lock.acquire({ timeout: 30 })).toBe(false);
      expect(await lock.acquire(0)).toBe(false);
      go.set();
      expect(await lock.acquire(30_000)).toBe(true);
      expect(lock.ownerDied).toBe(false);
      lock.release();
      await joinAll([p]);

      const sem = track(new Semaphore(0));
      expect(sem.acquireSync(20)).toBe(false);
      expect(await sem.acquire(20)).toBe(false);
      const ev = track(new Event());
      expect(ev.waitSync(20)).toBe(false);
      expect(await ev.wait({ timeout: 20 })).toBe(false);
      const cond = track(new Condition());
      cond.acquireSync();
      expect(cond.waitSync(20)).toBe(false);
      expect(await cond.wait(20)).toBe(false);
      expect(cond.waitForSync(() => false, 20)).toBe(false);
      cond.release();
      const b = track(new Barrier(2, { timeout: 30 }));
      expect(thrown(() => b.waitSync())).toBeInstanceOf(BrokenBarrierError);
      expect(b.broken).toBe(true);
      await expect(b.wait()).rejects.toBeInstanceOf(BrokenBarrierError); // broken until reset
      b.reset();
      expect(b.broken).toBe(false);
      await expect(b.wait(20)).rejects.toBeInstanceOf(BrokenBarrierError);
    });

    it('AbortSignal: aborting a pending acquire/wait rejects with the reason and takes nothing', async () => {
      const { lock, go, p } = await heldLock();
      const ac = new AbortController();
      const pending = lock.acquire({ signal: ac.signal });
      await new Promise((r) => setTimeout(r, 20));
      expect(posix.pendingFutexWaits()).toBe(1);
      const reason = new Error('stop');
      ac.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await expect(lock.acquire({ signal: ac.signal })).rejects.toBe(reason); // already aborted
      go.set();
      expect(await lock.acquire(30_000)).toBe(true);
      lock.release();
      await joinAll([p]);

      const sem = track(new Semaphore(0));
      const ac2 = new AbortController();
      const s = sem.acquire({ signal: ac2.signal });
      const ev = track(new Event());
      const e = ev.wait({ signal: ac2.signal });
      const cond = track(new Condition());
      await cond.acquire();
      const c = cond.wait({ signal: ac2.signal });
      const settled = Promise.allSettled([s, e, c]); // handlers attached before any of them rejects
      await new Promise((r) => setTimeout(r, 10));
      ac2.abort();
      for (const r of await settled) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'AbortError' });
      }
      expect(cond._lock.owner).toBe(process.pid); // the lock is held again after an aborted wait
      cond.release();
      sem.release();
      expect(sem.getValue()).toBe(1); // the aborted acquire took nothing

      const b = track(new Barrier(2));
      const ac3 = new AbortController();
      const w = b.wait({ signal: ac3.signal });
      await new Promise((r) => setTimeout(r, 10));
      ac3.abort();
      await expect(w).rejects.toMatchObject({ name: 'AbortError' });
      expect(b.broken).toBe(true); // an abandoned arrival breaks the barrier
    });

    for (const how of ['exit', 'kill'] as const) {
      it(`owner death (${how}): the next acquisition succeeds, ownerDied, MULTIPROC_OWNER_DIED warning`, async () => {
        for (const Kind of [Lock, RLock]) {
          const lock = track(new Kind());
          const held = track(new Semaphore(0));
          const p = start('dieHolding', lock, held, how);
          expect(await held.acquire(30_000)).toBe(true);
          await joinAll([p], how === 'kill' ? -9 : 0);
          const [ok, ws] = await warnings(async () => lock.acquireSync(10_000));
          expect(ok).toBe(true);
          expect(lock.ownerDied).toBe(true);
          expect(ws.map((w) => (w as NodeJS.ErrnoException).code)).toEqual(['MULTIPROC_OWNER_DIED']);
          lock.release();
          expect(lock.acquireSync(0)).toBe(true);
          expect(lock.ownerDied).toBe(false);
          lock.release();
        }
      });
    }

    it('owner death while a waiter sleeps (async): the waiter gets the lock, never a hang', async () => {
      const { lock, p } = await heldLock();
      const [ok, ws] = await warnings(async () => {
        const pending = lock.acquire(30_000);
        await new Promise((r) => setTimeout(r, 20));
        p.kill();
        return pending;
      });
      expect(ok).toBe(true);
      expect(lock.ownerDied).toBe(true);
      expect(ws.some((w) => (w as NodeJS.ErrnoException).code === 'MULTIPROC_OWNER_DIED')).toBe(true);
      lock.release();
      await joinAll([p], -9);
    });

    it('RLock: re-entrant in its process; release by another process is ERR_MULTIPROC_NOT_OWNER', async () => {
      const r = track(new RLock());
      expect(r.acquireSync()).toBe(true);
      expect(await r.acquire()).toBe(true);
      expect(r.acquireSync(0)).toBe(true);
      expect(r.count).toBe(3);
      await joinAll([start('releaseNotOwned', r)]);
      r.release();
      r.release();
      expect(r.owner).toBe(process.pid);
      r.release();
      expect(r.owner).toBe(0);
      expect(thrown(() => r.release()).code).toBe('ERR_MULTIPROC_NOT_OWNER');
    });
  });
}

describe('sync (single process)', () => {
  it('Lock: release of an unlocked lock is an error; acquire in the owning process waits (Python)', async () => {
    const l = track(new Lock());
    expect(thrown(() => l.release()).code).toBe('ERR_MULTIPROC_NOT_LOCKED');
    expect(l.acquireSync()).toBe(true);
    expect(l.owner).toBe(process.pid);
    expect(l.acquireSync(10)).toBe(false); // not re-entrant
    const later = l.acquire(5000); // waits off the JS thread until this process releases
    await new Promise((r) => setTimeout(r, 10));
    l.release();
    expect(await later).toBe(true);
    l.release();
  });

  it('withLock / withLockSync release on every exit path, exceptions included', async () => {
    const l = track(new RLock());
    expect(() => l.withLockSync(() => { throw new Error('boom'); })).toThrow('boom');
    expect(l.owner).toBe(0);
    await expect(l.withLock(async () => { throw new Error('async boom'); })).rejects.toThrow('async boom');
    expect(l.owner).toBe(0);
    expect(await l.withLock(() => 7)).toBe(7);
    expect(l.withLockSync(() => l.count)).toBe(1);
  });

  it('using: holdSync()/hold() release when the block is left, by return or by exception', async () => {
    const l = track(new Lock());
    const r = track(new RLock());
    const run = (fail: boolean) => {
      using _held = l.holdSync();
      using _again = r.holdSync();
      using _twice = r.holdSync(); // re-entrant
      expect(l.owner).toBe(process.pid);
      expect(r.count).toBe(2);
      if (fail) throw new Error('inside');
      return 1;
    };
    expect(run(false)).toBe(1);
    expect([l.owner, r.owner]).toEqual([0, 0]);
    expect(() => run(true)).toThrow('inside');
    expect([l.owner, r.owner]).toEqual([0, 0]);
    {
      using _h = await l.hold({ timeout: 1000 });
      expect(l.owner).toBe(process.pid);
      expect(thrown(() => l.holdSync(0)).code).toBe('ERR_MULTIPROC_TIMEOUT');
    }
    expect(l.owner).toBe(0);
  });

  it('sync objects in a Queue: ERR_MULTIPROC_NOT_SENDABLE', () => {
    const q = new Queue();
    try {
      expect(thrown(() => q.putNowait(track(new Lock()))).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
      expect(thrown(() => q.putNowait({ v: track(new Value('i')) })).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
    } finally {
      q.close();
    }
  });

  it('BoundedSemaphore: over-release throws ERR_MULTIPROC_OVER_RELEASE; Semaphore may exceed', () => {
    const b = track(new BoundedSemaphore(2));
    expect(thrown(() => b.release()).code).toBe('ERR_MULTIPROC_OVER_RELEASE');
    expect(b.acquireSync()).toBe(true);
    b.release();
    expect(b.getValue()).toBe(2);
    const s = track(new Semaphore(0));
    s.release(3);
    expect(s.getValue()).toBe(3);
    expect(thrown(() => new Semaphore(-1))).toBeInstanceOf(RangeError);
  });

  it('Condition: wait/notify need the lock; notify(n) wakes at most n async waiters here', async () => {
    const c = track(new Condition(track(new Lock())));
    expect(thrown(() => c.notify()).code).toBe('ERR_MULTIPROC_NOT_OWNER');
    expect(thrown(() => c.waitSync(1)).code).toBe('ERR_MULTIPROC_NOT_OWNER');
    // three waiters of this process: each wait releases the (non-recursive) lock while sleeping
    const tasksBefore = new Set(fs.readdirSync('/proc/self/task'));
    const woken: number[] = [];
    const waiters = [0, 1, 2].map(async (i) => {
      expect(await c.acquire(5000)).toBe(true);
      const ok = await c.wait(2000);
      woken.push(i);
      c.release();
      return ok;
    });
    // notify(n) bounds the waiters asleep in the kernel; one still on its way into futex(2) sees the new
    // sequence and returns (a spurious wake-up, allowed). So the notify waits until all three sleep: the
    // sleepers word counts them, and three threads this test started sit in the futex call.
    await until(() => Atomics.load(c._i32, c._w + 1) === 3 && futexSleepersSince(tasksBefore) >= 3, 'three waiters asleep');
    c.acquireSync();
    c.notify(2);
    c.release();
    await until(() => woken.length >= 2, 'two waiters woken');
    await new Promise((r) => setTimeout(r, 50)); // a third, wrongly woken, would show here
    expect(woken.length).toBe(2);
    c.acquireSync();
    c.notifyAll();
    c.release();
    expect(await Promise.all(waiters)).toEqual([true, true, true]);
  });

  it('Barrier: action runs once per cycle in the last arrival; a throwing action breaks it', async () => {
    let runs = 0;
    const b = track(new Barrier(1, { action: () => void runs++ }));
    expect(b.waitSync()).toBe(0);
    expect(await b.wait()).toBe(0);
    expect(runs).toBe(2);
    const bad = track(new Barrier(1, { action: () => { throw new Error('action failed'); } }));
    expect(() => bad.waitSync()).toThrow('action failed');
    expect(bad.broken).toBe(true);
    expect(thrown(() => bad.waitSync())).toBeInstanceOf(BrokenBarrierError);
    bad.abort();
    bad.reset();
    expect(bad.broken).toBe(false);
    const two = track(new Barrier(2));
    expect(two.parties).toBe(2);
    const first = two.wait();
    await new Promise((r) => setTimeout(r, 10));
    expect(two.nWaiting).toBe(1);
    expect(two.waitSync()).toBe(1);
    expect(await first).toBe(0);
    expect(thrown(() => new Barrier(0))).toBeInstanceOf(RangeError);
  });

  it('use after close: ERR_MULTIPROC_CLOSED from every method; close is idempotent', async () => {
    const objs = [new Lock(), new RLock(), new Semaphore(1), new BoundedSemaphore(1), new Condition(), new Event(), new Barrier(2)];
    for (const o of objs) {
      o.close();
      o.close();
      expect(o.closed).toBe(true);
    }
    const [l, r, s, bs, c, e, b] = objs as [Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier];
    const calls: (() => unknown)[] = [
      () => l.acquireSync(), () => l.release(), () => r.acquireSync(), () => r.release(), () => s.acquireSync(0),
      () => s.release(), () => bs.getValue(), () => c.acquireSync(), () => c.notify(), () => e.set(), () => e.isSet(),
      () => e.waitSync(0), () => b.waitSync(), () => b.abort(), () => b.parties,
    ];
    for (const call of calls) expect(thrown(call).code).toBe('ERR_MULTIPROC_CLOSED');
    await expect(l.acquire()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    await expect(e.wait()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    await expect(b.wait()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
  });

  it('closing an object while this process waits on it: the wait ends with ERR_MULTIPROC_CLOSED and never touches the bytes again', async () => {
    const keep = track(new Event()); // keeps the arena region alive, so the freed bytes get reused at once
    const l = new Lock();
    l.acquireSync();
    const ev = new Event();
    const sem = new Semaphore(0);
    const pending = [l.acquire(), ev.wait(), sem.acquire()].map((p) => p.then(() => 'resolved', (e) => (e as NodeJS.ErrnoException).code));
    await new Promise((r) => setTimeout(r, 20));
    l.close();
    ev.close();
    sem.close();
    const reuse = [track(new Semaphore(7)), track(new Semaphore(7)), track(new Semaphore(7))]; // the same bytes, likely
    posix.futexWake(keep._block.region.mapping, l._block.offset, 10); // wake the waiters (as a wake-up meant for the new objects would)
    posix.futexWake(keep._block.region.mapping, ev._block.offset, 10);
    posix.futexWake(keep._block.region.mapping, sem._block.offset, 10);
    expect(await Promise.all(pending)).toEqual(['ERR_MULTIPROC_CLOSED', 'ERR_MULTIPROC_CLOSED', 'ERR_MULTIPROC_CLOSED']);
    expect(reuse.map((s) => s.getValue())).toEqual([7, 7, 7]); // untouched by the ended waits
    expect(keep.isSet()).toBe(false);
  });

  it('bad arguments: TypeError / RangeError', async () => {
    const l = track(new Lock());
    expect(thrown(() => l.acquireSync(-1))).toBeInstanceOf(RangeError);
    expect(thrown(() => l.acquireSync('1' as never))).toBeInstanceOf(TypeError);
    await expect(l.acquire({ signal: 1 as never })).rejects.toBeInstanceOf(TypeError);
    expect(thrown(() => new Condition({} as never))).toBeInstanceOf(TypeError);
  });

  it('sync objects cannot travel through a Pipe: ERR_MULTIPROC_NOT_SENDABLE', () => {
    const [a, b] = Pipe();
    try {
      for (const o of [track(new Lock()), track(new RLock()), track(new Semaphore()), track(new Event()), track(new Barrier(2)), track(new Condition())]) {
        expect(thrown(() => a.send(o)).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
        expect(thrown(() => checkSendable({ deep: [o] })).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('the futex layer: bad offsets are RangeErrors, a closed mapping is ERR_MULTIPROC_CLOSED', async () => {
    const m = posix.mmap(4096);
    const w = new Int32Array(m.buffer);
    expect(posix.futexWait(m, 0, 1)).toBe('not-equal');
    expect(posix.futexWait(m, 0, 0, 5)).toBe('timed-out');
    expect(posix.futexWake(m, 0, 10)).toBe(0);
    expect(thrown(() => posix.futexWait(m, 2, 0, 1))).toBeInstanceOf(RangeError);
    expect(thrown(() => posix.futexWait(m, 4096, 0, 1))).toBeInstanceOf(RangeError);
    expect(thrown(() => posix.futexWake({} as never, 0))).toBeInstanceOf(TypeError);
    const woken = posix.futexWaitAsync(m, 4, 0, { timeout: 5000 });
    // Its thread may take a while to reach futex(2) on a loaded machine: wake until it is there to be woken.
    let wakes = 0;
    await until(() => (wakes = posix.futexWake(m, 4, 1)) > 0, 'the async wait asleep');
    expect(wakes).toBe(1);
    expect(await woken).toBe('woken');
    Atomics.store(w, 1, 1);
    expect(await posix.futexWaitAsync(m, 4, 0)).toBe('not-equal');
    const ac = new AbortController();
    const cancelled = posix.futexWaitAsync(m, 8, 0, { signal: ac.signal });
    ac.abort();
    expect(await cancelled).toBe('cancelled');
    const closing = posix.futexWaitAsync(m, 12, 0);
    m.close();
    await expect(closing).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    expect(thrown(() => posix.futexWake(m, 0)).code).toBe('ERR_MULTIPROC_CLOSED');
  });

  it('futexCancel on a pending wait: its callback reports 3 (cancelled), whatever the wait itself ended with', async () => {
    // Batches of waits that end at once by themselves (timeout 0, or a word that does not hold `expected`), each
    // cancelled right after the batch started: a wait's thread that is between its cancel check and its report
    // when futexCancel runs must report 3 too (before the fix: its own 0/1/2, about 1 in 100 here, and lib/mp/sync/
    // then waited again with an already aborted signal).
    const m = posix.mmap(4096);
    try {
      const seen = new Map<string, number>();
      for (let round = 0; round < 20; round++) {
        const ids: number[] = [];
        const results = Array.from({ length: 64 }, (_, j) =>
          new Promise<string>((resolve) => {
            ids.push(posix.futexWaitAsyncRaw(m, 0, j & 1, 0, (err, r) => resolve(err ? String((err as NodeJS.ErrnoException).code) : String(r))));
          }),
        );
        const pending = ids.map((id) => posix.futexCancel(id));
        (await Promise.all(results)).forEach((r, j) => {
          const key = pending[j] ? r : `finished:${r}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        });
      }
      expect([...seen.keys()].filter((k) => !k.startsWith('finished:')), JSON.stringify(Object.fromEntries(seen))).toEqual(['3']);
    } finally {
      m.close();
    }
  });

  it('an abort that lands between one futex wait and the next still rejects the acquire (no wait on an aborted signal)', async () => {
    const l = track(new Lock());
    expect(l.acquireSync()).toBe(true);
    const ac = new AbortController();
    const signal = ac.signal;
    // The wait's callback removes its 'abort' listener, then resolves: a microtask queued there runs before the
    // acquire loop continues. It takes the lock again (so the loop must wait once more) and aborts.
    const remove = signal.removeEventListener.bind(signal);
    let armed = true;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      remove(...args);
      if (!armed) return;
      armed = false;
      queueMicrotask(() => {
        expect(l.acquireSync(0)).toBe(true);
        ac.abort();
      });
    }) as typeof signal.removeEventListener;
    const acquiring = l.acquire({ signal, timeout: 2000 }).then((got) => `resolved ${got}`, (e: Error) => e.name);
    l.release(); // ends the pending wait (woken, or not-equal if it had not slept yet)
    expect(await acquiring).toBe('AbortError'); // before the fix: 'resolved false' after the 2 s timeout
    expect(armed).toBe(false);
    l.release();
  });

  it('a worker_thread torn down with async futex waits pending: they end (no crash) and its mappings are unmapped', async () => {
    // The environment cleanup hook of the addon (native/async/waiters.cc) cancels and joins the waits' threads; nothing of the waits
    // may keep the worker's mappings (one of them closed while pinned) alive after it.
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const addon = process.env.MULTIPROC_ADDON_DIR
      ? path.resolve(root, process.env.MULTIPROC_ADDON_DIR, 'multiproc.node')
      : (createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string }).path(root);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const native = require(workerData.addon);
      const m = native.mmap(8192), m2 = native.mmap(4096);
      for (let i = 0; i < 8; i++) native.futexWaitAsync(i % 2 ? m : m2, i * 4, 0, i % 4 ? undefined : 60000, () => {});
      if (workerData.close) native.mappingClose(m); // pinned: unmapped when its waits let go
      parentPort.postMessage(native.pendingWaits('futex'));
      // It exits itself (waits still pending) once the parent has counted the mappings: not before, or its own
      // teardown could unmap the closed one first on a loaded machine (seen in CI).
      if (workerData.exit) parentPort.once('message', () => process.exit(0));`;
    // Shared mappings of this process, but a worker's libuv io_uring rings (Node 22+: libuv >= 1.45), which live
    // and die with the worker's loop and are no concern of the waits.
    const sharedMaps = () => new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => / r..s /.test(l) && !l.includes('io_uring')));
    for (const [close, exit] of [[false, false], [true, false], [true, true]]) {
      const before = sharedMaps();
      const w = new Worker(code, { eval: true, workerData: { addon, close, exit } });
      try {
        const pending = await new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
        expect(pending).toBe(8);
        expect([...sharedMaps()].filter((l) => !before.has(l))).toHaveLength(2);
        if (exit) {
          const exited = new Promise((r) => w.once('exit', r));
          w.postMessage('exit');
          await exited;
        }
      } finally {
        await w.terminate(); // also when an assertion failed: the worker's fds must not outlive the test
      }
      expect([...sharedMaps()].filter((l) => !before.has(l)), `close=${close} exit=${exit}`).toEqual([]);
    }
  });
});

// The sync family: process-shared Semaphore (unnamed and named), robust Mutex, Cond and Barrier, between real
// processes — forked children and fresh `node` children that received the mapping's memfd as fd 3.
import { readdirSync, statSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { forkRun, reap, until } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';
import { type CountLockKind, countUnder, lockAt } from '../helpers/sync-count.js';
import { type HelperRun, runHelper } from '../helpers/files.js';

checkLeaks();

afterAll(() => {
  expect(posix.pendingAsyncWaits(), 'sync async waits still pending').toBe(0);
});


const MiB = 1 << 20;

/** Hands out aligned offsets in a mapping: each object gets its own 64-byte line. */
function allocator(start = 0): (size: number) => number {
  let next = start;
  return (size: number) => {
    const at = next;
    next += Math.ceil(size / 64) * 64;
    return at;
  };
}

/** An unpredictable name for a named semaphore of this test file. */
function semName(tag: string): string {
  return `/multiproc-test-${process.pid}-${tag}-${Math.random().toString(36).slice(2, 10)}`;
}

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** Runs `fn`, returns how long it took (ms) and its result. */
async function timed<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function expectCode(fn: () => unknown, ctor: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, code: string, extra: Record<string, unknown> = {}): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(ctor);
  expect(thrown).toMatchObject({ code, ...extra });
}

/** A memfd of `length` bytes and a mapping of it (the fd is for a spawned child). */
function memfdMapping(length: number): { fd: number; m: posix.Mapping } {
  const fd = posix.memfdCreate('multiproc-sync-test');
  posix.ftruncate(fd, length);
  return { fd, m: posix.mmap(length, { fd }) };
}

/** Runs test/helpers/sync-child.ts `task` in a fresh node with `fd` as its fd 3. */
function spawnSyncChild(task: string, args: object, fd: number): Promise<HelperRun> {
  return runHelper('sync-child.ts', [task, JSON.stringify(args)], [fd], 90_000);
}

describe('layout', () => {
  it('SIZEOF and ALIGNOF are the C sizes and alignments of glibc on this machine', () => {
    expect(posix.SIZEOF).toEqual({ sem: 32, mutex: 40, cond: 48, barrier: 32 });
    expect(posix.ALIGNOF).toEqual({ sem: 8, mutex: 8, cond: 8, barrier: 8 });
    expect(Object.isFrozen(posix.SIZEOF)).toBe(true);
    expect(posix.SEM_VALUE_MAX).toBe(2 ** 31 - 1);
  });
});

describe('exact counts under contention: two processes × 1,000,000 locked increments', () => {
  const N = 1_000_000;

  const NAME = { mutex: 'Mutex', sem: 'Semaphore(1) as the lock' } as const;

  /** The `kind` lock (made here), the ready/go semaphores of the start and the counter, placed in `m`. */
  function place(kind: CountLockKind, m: posix.Mapping) {
    const at = allocator();
    const offsets = { ready: at(32), go: at(32), lock: at(kind === 'mutex' ? posix.SIZEOF.mutex : posix.SIZEOF.sem), counter: at(4) };
    return {
      offsets,
      made: kind === 'mutex' ? posix.Mutex.init(m, offsets.lock) : posix.Semaphore.init(m, offsets.lock, 1),
      ready: posix.Semaphore.init(m, offsets.ready, 0),
      go: posix.Semaphore.init(m, offsets.go, 0),
      lock: lockAt(kind, m, offsets.lock),
      view: new Int32Array(m.buffer),
    };
  }

  /** Both loops are done: the count is exact and a semaphore is back at 1. */
  function expectCounted({ made, view, offsets }: ReturnType<typeof place>): void {
    expect(view[offsets.counter / 4]).toBe(2 * N);
    if (made instanceof posix.Semaphore) expect(made.value()).toBe(1);
    made.destroy();
  }

  for (const kind of ['mutex', 'sem'] as const) {
    it(`${NAME[kind]}, with a forked child`, async () => {
      using m = posix.mmap(4096);
      const p = place(kind, m);
      const pid = await forkRun(() => {
        p.ready.post();
        if (!p.go.timedWait(30_000)) return 2;
        countUnder(p.lock, p.view, p.offsets.counter / 4, N);
        return 0;
      });
      expect(await p.ready.waitAsync(30_000)).toBe(true);
      p.go.post();
      countUnder(p.lock, p.view, p.offsets.counter / 4, N);
      expect(await reap(pid, 60_000)).toEqual({ kind: 'exited', pid, code: 0 });
      expectCounted(p);
    });

    it(`${NAME[kind]}, with a fresh node child that mapped the memfd it received as fd 3`, async () => {
      const { fd, m } = memfdMapping(4096);
      const p = place(kind, m);
      const child = spawnSyncChild('count', { length: 4096, ...p.offsets, kind, n: N }, fd);
      posix.close(fd);
      try {
        expect(await p.ready.waitAsync(60_000)).toBe(true);
        p.go.post();
        countUnder(p.lock, p.view, p.offsets.counter / 4, N);
        const r = await child;
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)).toEqual({ task: 'count', n: N });
        expectCounted(p);
      } finally {
        m.close();
      }
    });
  }
});

describe('Barrier', () => {
  it('4 processes × 10,000 cycles: nobody more than one phase apart, exactly one true per cycle', async () => {
    const P = 4;
    const CYCLES = 10_000;
    const at = allocator();
    const bOff = at(posix.SIZEOF.barrier);
    const phaseOff = at(4 * P);
    const errorsOff = at(4);
    const serialOff = at(4 * CYCLES);
    using m = posix.mmap(serialOff + 4 * CYCLES);
    const b = posix.Barrier.init(m, bOff, P);
    const phase = new Int32Array(m.buffer, phaseOff, P);
    const errors = new Int32Array(m.buffer, errorsOff, 1);
    const serial = new Int32Array(m.buffer, serialOff, CYCLES);
    const run = (me: number): number => {
      for (let k = 0; k < CYCLES; k++) {
        Atomics.store(phase, me, k);
        for (let j = 0; j < P; j++) {
          const p = Atomics.load(phase, j);
          if (p !== k && p !== k - 1) Atomics.add(errors, 0, 1); // before the wait: others are at k-1 or k
        }
        if (b.wait()) Atomics.add(serial, k, 1);
        for (let j = 0; j < P; j++) {
          const p = Atomics.load(phase, j);
          if (p !== k && p !== k + 1) Atomics.add(errors, 0, 1); // after it: at k or already at k+1
        }
      }
      return 0;
    };
    const pids: number[] = [];
    for (let me = 1; me < P; me++) pids.push(await forkRun(() => run(me)));
    run(0);
    for (const pid of pids) expect(await reap(pid, 60_000)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(errors[0]).toBe(0);
    const counts = new Map<number, number>();
    for (const c of serial) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts]).toEqual([[1, CYCLES]]);
    b.destroy();
  });

  it('waitAsync meets a forked child\'s wait: exactly one of the two is true', async () => {
    using m = posix.mmap(4096);
    const b = posix.Barrier.init(m, 0, 2);
    const results = new Int32Array(m.buffer, 64, 2);
    const pid = await forkRun(() => {
      results[1] = b.wait() ? 1 : 0;
      return 0;
    });
    const mine = await b.waitAsync();
    results[0] = mine ? 1 : 0;
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(results[0]! + results[1]!).toBe(1);
    // and a second cycle with the roles of the forms swapped
    const pid2 = await forkRun(async () => ((await b.waitAsync()) ? 1 : 0));
    const sync = b.wait();
    const st = await reap(pid2);
    expect(st.kind).toBe('exited');
    expect((st as { code: number }).code + (sync ? 1 : 0)).toBe(1);
    b.destroy();
  });

  it('destroy() while this process has a waitAsync pending is EBUSY; the wait still completes', async () => {
    using m = posix.mmap(4096);
    const b = posix.Barrier.init(m, 0, 2);
    const p = b.waitAsync();
    expectCode(() => b.destroy(), Error, 'EBUSY', { syscall: 'pthread_barrier_destroy' });
    b.wait();
    await p;
    b.destroy();
  });
});

describe('robust Mutex: owner death is never a hang', () => {
  /** A child that locks `mx`, posts `locked`, and blocks until killed. */
  async function holder(mx: posix.Mutex, locked: posix.Semaphore, never: posix.Semaphore): Promise<number> {
    const pid = await forkRun(() => {
      mx.lock();
      locked.post();
      never.wait();
      return 1;
    });
    expect(await locked.waitAsync(10_000)).toBe(true);
    return pid;
  }

  /**
   * A Mutex in `m` (`at` places more objects after it); hold() forks a holder of it, holderDied() one that is
   * then SIGKILLed and reaped (its status).
   */
  function robustMutex(m: posix.Mapping) {
    const at = allocator();
    const mx = posix.Mutex.init(m, at(posix.SIZEOF.mutex));
    const locked = posix.Semaphore.init(m, at(32), 0);
    const never = posix.Semaphore.init(m, at(32), 0);
    const hold = () => holder(mx, locked, never);
    const holderDied = async () => {
      const pid = await hold();
      posix.kill(pid, 'SIGKILL');
      return reap(pid);
    };
    return { mx, at, hold, holderDied };
  }

  it('the owner is SIGKILLed: lock() returns, ownerDied is true, a MULTIPROC_OWNER_DIED warning is emitted; the next acquisition clears it', async () => {
    using m = posix.mmap(4096);
    const { mx, hold, holderDied } = robustMutex(m);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const pid = await hold();
      expect(mx.tryLock()).toBe(false); // it really is held
      posix.kill(pid, 'SIGKILL');
      expect(await reap(pid)).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
      mx.lock();
      expect(mx.ownerDied).toBe(true);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.map((w) => (w as NodeJS.ErrnoException).code)).toEqual(['MULTIPROC_OWNER_DIED']);
      expect(warnings[0]!.message).toMatch(/died while holding/);
      mx.unlock();
      mx.lock();
      expect(mx.ownerDied).toBe(false);
      mx.unlock();

      // tryLock and timedLock report it the same way
      expect(await holderDied()).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
      expect(mx.tryLock()).toBe(true);
      expect(mx.ownerDied).toBe(true);
      mx.unlock();
      expect(await holderDied()).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
      expect(mx.timedLock(5000)).toBe(true);
      expect(mx.ownerDied).toBe(true);
      mx.unlock();
      await new Promise((r) => setImmediate(r));
      expect(warnings).toHaveLength(3);
    } finally {
      process.off('warning', onWarning);
    }
    mx.destroy();
  });

  it('a process blocked in lock() when the owner is killed acquires it with ownerDied', async () => {
    using m = posix.mmap(4096);
    const { mx, at, hold } = robustMutex(m);
    const waiting = posix.Semaphore.init(m, at(32), 0);
    const owner = await hold();
    const blocked = await forkRun(() => {
      process.removeAllListeners('warning');
      process.on('warning', () => {}); // keep the child's stderr quiet
      waiting.post();
      mx.lock(); // blocks until the owner dies
      const died = mx.ownerDied;
      mx.unlock();
      return died ? 0 : 3;
    });
    expect(await waiting.waitAsync(10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100)); // let it block in the kernel
    posix.kill(owner, 'SIGKILL');
    await reap(owner);
    expect(await reap(blocked, 10_000)).toEqual({ kind: 'exited', pid: blocked, code: 0 });
    mx.lock();
    expect(mx.ownerDied).toBe(false); // the blocked child made it consistent and unlocked it
    mx.unlock();
    mx.destroy();
  });

  it('error checking: relocking is EDEADLK, unlocking a mutex this thread does not hold is EPERM', async () => {
    using m = posix.mmap(4096);
    const mx = posix.Mutex.init(m, 0);
    expectCode(() => mx.unlock(), Error, 'EPERM', { syscall: 'pthread_mutex_unlock', errno: 1 });
    mx.lock();
    expectCode(() => mx.lock(), Error, 'EDEADLK', { syscall: 'pthread_mutex_lock' });
    // a forked child does not own the parent's lock either
    const pid = await forkRun(() => {
      try {
        mx.unlock();
        return 1;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'EPERM' ? 0 : 2;
      }
    });
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    mx.unlock();
    mx.destroy();
  });
});

describe('Cond', () => {
  it('producer/consumer between processes through a bounded buffer (Mutex + two Conds)', async () => {
    const N = 20_000;
    const CAP = 8;
    using m = posix.mmap(4096);
    const at = allocator();
    const mx = posix.Mutex.init(m, at(posix.SIZEOF.mutex));
    const notEmpty = posix.Cond.init(m, at(posix.SIZEOF.cond));
    const notFull = posix.Cond.init(m, at(posix.SIZEOF.cond));
    const state = new Int32Array(m.buffer, at(4 * (3 + CAP)), 3 + CAP); // head, tail, count, buf[CAP]
    const HEAD = 0;
    const TAIL = 1;
    const COUNT = 2;
    const pid = await forkRun(() => {
      for (let v = 0; v < N; v++) {
        mx.lock();
        while (state[COUNT] === CAP) {
          if (!notFull.wait(mx, 10_000)) {
            mx.unlock();
            return 2;
          }
        }
        state[3 + state[TAIL]!] = v;
        state[TAIL] = (state[TAIL]! + 1) % CAP;
        state[COUNT] = state[COUNT]! + 1;
        notEmpty.signal();
        mx.unlock();
      }
      return 0;
    });
    let sum = 0;
    for (let expected = 0; expected < N; expected++) {
      mx.lock();
      while (state[COUNT] === 0) {
        if (!notEmpty.wait(mx, 10_000)) {
          mx.unlock();
          throw new Error(`consumer timed out at ${expected}`);
        }
      }
      const v = state[3 + state[HEAD]!]!;
      state[HEAD] = (state[HEAD]! + 1) % CAP;
      state[COUNT] = state[COUNT]! - 1;
      notFull.signal();
      mx.unlock();
      if (v !== expected) throw new Error(`got ${v}, expected ${expected}`);
      sum += v;
    }
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(sum).toBe((N * (N - 1)) / 2);
    notEmpty.broadcast();
    notEmpty.destroy();
    notFull.destroy();
    mx.destroy();
  });

  it('wait() needs the mutex held (EPERM) and a Mutex argument (TypeError)', () => {
    using m = posix.mmap(4096);
    const mx = posix.Mutex.init(m, 0);
    const c = posix.Cond.init(m, 64);
    expectCode(() => c.wait(mx, 10), Error, 'EPERM');
    expectCode(() => c.wait({} as posix.Mutex), TypeError, 'ERR_INVALID_ARG_TYPE');
  });
});

describe('timeouts return false after at least the timeout, within a generous bound', () => {
  const T = 200;
  const BOUND = T + 2000;

  it('Semaphore.timedWait, Semaphore.waitAsync(ms) and waitAsync({ timeout })', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    for (const run of [() => s.timedWait(T), () => s.waitAsync(T), () => s.waitAsync({ timeout: T })]) {
      const { ms, value } = await timed(run);
      expect(value).toBe(false);
      expect(ms).toBeGreaterThanOrEqual(T);
      expect(ms).toBeLessThan(BOUND);
    }
    expect(s.timedWait(0)).toBe(false);
    expect(await s.waitAsync(0)).toBe(false);
    expect(s.value()).toBe(0);
    s.post();
    expect(s.timedWait(T)).toBe(true);
    s.post();
    expect(await s.waitAsync(0)).toBe(true);
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('Mutex.timedLock while another process holds it, and Cond.wait(mx, ms) (the mutex is held again on return)', async () => {
    using m = posix.mmap(4096);
    const at = allocator();
    const mx = posix.Mutex.init(m, at(posix.SIZEOF.mutex));
    const c = posix.Cond.init(m, at(posix.SIZEOF.cond));
    const locked = posix.Semaphore.init(m, at(32), 0);
    const release = posix.Semaphore.init(m, at(32), 0);
    const pid = await forkRun(() => {
      mx.lock();
      locked.post();
      release.wait();
      mx.unlock();
      return 0;
    });
    expect(await locked.waitAsync(10_000)).toBe(true);
    const a = await timed(() => mx.timedLock(T));
    expect(a.value).toBe(false);
    expect(a.ms).toBeGreaterThanOrEqual(T);
    expect(a.ms).toBeLessThan(BOUND);
    expect(mx.tryLock()).toBe(false);
    release.post();
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });

    mx.lock();
    const b = await timed(() => c.wait(mx, T));
    expect(b.value).toBe(false);
    expect(b.ms).toBeGreaterThanOrEqual(T);
    expect(b.ms).toBeLessThan(BOUND);
    expectCode(() => mx.lock(), Error, 'EDEADLK'); // held again
    mx.unlock();
    expect(mx.timedLock(T)).toBe(true);
    mx.unlock();
  });

  it('bad timeouts are refused', () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    expectCode(() => s.timedWait(-1), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => s.timedWait(NaN), RangeError, 'ERR_OUT_OF_RANGE');
    expectCode(() => s.timedWait('1' as unknown as number), TypeError, 'ERR_INVALID_ARG_TYPE');
    return expect(s.waitAsync({ timeout: -5 })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });
});

describe('Semaphore.waitAsync', () => {
  it('resolves true when another process posts', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    const p = s.waitAsync();
    const pid = await forkRun(async () => {
      await new Promise((r) => setTimeout(r, 100));
      s.post();
      return 0;
    });
    expect(await p).toBe(true);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(s.value()).toBe(0);
  });

  it('abort rejects with the signal\'s reason and consumes nothing', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    const ac = new AbortController();
    const reason = new Error('changed my mind');
    const p = s.waitAsync({ signal: ac.signal, timeout: 60_000 });
    setTimeout(() => ac.abort(reason), 50);
    await expect(p).rejects.toBe(reason);
    expect(s.value()).toBe(0);
    // already aborted: rejects at once
    await expect(s.waitAsync({ signal: ac.signal })).rejects.toBe(reason);
    for (let i = 0; i < 3; i++) s.post();
    expect(s.value()).toBe(3);
    let got = 0;
    while (s.tryWait()) got++;
    expect(got).toBe(3);
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('abort racing with posts: every token is either delivered to a wait that resolved true or still in the semaphore', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    const ROUNDS = 400;
    let posts = 0;
    let acquired = 0;
    let aborted = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const ac = new AbortController();
      const p = s.waitAsync({ signal: ac.signal });
      const mode = i % 4;
      if (mode === 0) {
        s.post(); // post, abort at once: the thread may or may not have taken it
        posts++;
        ac.abort('x');
      } else if (mode === 1) {
        ac.abort('x'); // abort, then post: nothing may be taken
        s.post();
        posts++;
      } else if (mode === 2) {
        s.post();
        posts++;
        await new Promise((r) => setImmediate(r)); // the thread has likely taken it but JS has not seen it
        ac.abort('x');
      } else {
        await new Promise((r) => setTimeout(r, 1)); // the thread is blocked in the kernel
        ac.abort('x');
      }
      try {
        if (await p) acquired++;
      } catch (e) {
        expect(e).toBe('x');
        aborted++;
      }
    }
    let left = 0;
    while (s.tryWait()) left++;
    expect(acquired + left).toBe(posts);
    expect(acquired + aborted).toBe(ROUNDS);
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('100 pending waits leave libuv\'s threadpool free: fs.promises.readFile completes; all resolve once posted; their threads end', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    await fsp.stat(fileURLToPath(import.meta.url)); // Node 22+ start libuv's threadpool on first use: count it in
    const threadsBefore = threadCount();
    const waits = Array.from({ length: 100 }, () => s.waitAsync());
    expect(posix.pendingAsyncWaits()).toBe(100);
    const watchdog = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('readFile starved')), 10_000).unref());
    const text = await Promise.race([fsp.readFile(fileURLToPath(import.meta.url), 'utf8'), watchdog]);
    expect(text).toContain('100 pending waits');
    for (let i = 0; i < 100; i++) s.post();
    expect(await Promise.all(waits)).toEqual(Array(100).fill(true));
    expect(s.value()).toBe(0);
    expect(posix.pendingAsyncWaits()).toBe(0);
    await until(() => threadCount() <= threadsBefore, 'the waiting threads to end');
  });

  it('destroy() and Mapping.close() during a wait reject it with ERR_MULTIPROC_CLOSED', async () => {
    const m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    const p = s.waitAsync();
    s.destroy();
    await expect(p).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    const t = posix.Semaphore.init(m, 64, 0);
    const q = t.waitAsync();
    m.close(); // the waiting thread keeps the bytes mapped until it notices
    expect(m.buffer.byteLength).toBe(0);
    const { ms } = await timed(() => expect(q).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' }));
    expect(ms).toBeLessThan(2000);
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('a forked child gets its own waiting threads, while the parent has a wait pending', async () => {
    using m = posix.mmap(4096);
    const at = allocator();
    const forParent = posix.Semaphore.init(m, at(32), 0);
    const forChild = posix.Semaphore.init(m, at(32), 0);
    const parentWait = forParent.waitAsync(30_000);
    const pid = await forkRun(async () => {
      if (posix.pendingAsyncWaits() !== 0) return 3; // the parent's wait is not the child's
      const mine = forChild.waitAsync(30_000);
      forParent.post();
      if (!(await mine)) return 4;
      return posix.pendingAsyncWaits() === 0 ? 0 : 5;
    });
    expect(await parentWait).toBe(true);
    forChild.post();
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('forking while this process\'s waits are completing: every child starts fresh waits, nothing hangs (50 forks)', async () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 0);
    const stop = new Int32Array(m.buffer, 128, 1);
    const poster = await forkRun(() => {
      while (Atomics.load(stop, 0) === 0) {
        s.post();
        for (let j = 0; j < 20_000; j++); // a little spacing between posts
      }
      return 0;
    });
    let got = 0;
    try {
      for (let i = 0; i < 50; i++) {
        const waits = Array.from({ length: 10 }, () => s.waitAsync(10_000).then((v) => void (v && got++)));
        await new Promise((r) => setImmediate(r)); // the waiting threads are running, some finishing
        const pid = await forkRun(async () => {
          const mine = posix.Semaphore.init(m, 64, 0); // only this child uses it
          const w = mine.waitAsync(5000);
          setTimeout(() => mine.post(), 1);
          return (await w) && posix.pendingAsyncWaits() === 0 ? 0 : 3;
        });
        expect(await reap(pid, 10_000)).toEqual({ kind: 'exited', pid, code: 0 });
        await Promise.all(waits);
      }
    } finally {
      Atomics.store(stop, 0, 1);
      expect(await reap(poster)).toEqual({ kind: 'exited', pid: poster, code: 0 });
    }
    expect(got).toBe(500);
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('a fresh node child waits asynchronously on a semaphore in the memfd it received', async () => {
    const { fd, m } = memfdMapping(4096);
    const at = allocator();
    const args = { length: 4096, ready: at(32), go: at(32), sem: at(32), done: at(32) };
    const ready = posix.Semaphore.init(m, args.ready, 0);
    posix.Semaphore.init(m, args.go, 0);
    const s = posix.Semaphore.init(m, args.sem, 0);
    const done = posix.Semaphore.init(m, args.done, 0);
    const child = spawnSyncChild('sem-async', args, fd);
    posix.close(fd);
    try {
      expect(await ready.waitAsync(60_000)).toBe(true);
      s.post();
      expect(await done.waitAsync(30_000)).toBe(true);
      const r = await child;
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ task: 'sem-async', got: true, pending: 0 });
    } finally {
      m.close();
    }
  });
});

describe('every async wait: one id space, one cancelWait, one pendingWaits', () => {
  type Callback = (err: Error | null, value?: number) => void;
  interface Raw {
    semInit(m: posix.Mapping, offset: number, value: number): { waitAsync(ms: number, cb: Callback): number; value(): number; destroy(): void };
    barrierInit(m: posix.Mapping, offset: number, count: number): { waitAsync(cb: Callback): number; wait(): boolean; destroy(): void };
    futexWaitAsync(m: posix.Mapping, offset: number, expected: number, ms: number, cb: Callback): number;
  }
  const raw = native as unknown as Raw;
  /** A callback and the promise of its (err, value). */
  function settles(): [Promise<[Error | null, number | undefined]>, Callback] {
    let cb!: Callback;
    const p = new Promise<[Error | null, number | undefined]>((resolve) => (cb = (err, value) => resolve([err, value])));
    return [p, cb];
  }

  it('a reactor watch, a futex, a semaphore and a barrier wait: distinct ids, counted by kind, each cancelled its own way', async () => {
    using m = posix.mmap(4096);
    const [r, w] = posix.pipe();
    try {
      const sem = raw.semInit(m, 0, 0);
      const bar = raw.barrierInit(m, 64, 2);
      let readCalled = false;
      const read = native.readAsync(r, new Uint8Array(1), undefined, undefined, () => {
        readCalled = true;
      });
      const [futex, onFutex] = settles();
      const futexId = raw.futexWaitAsync(m, 128, 0, Infinity, onFutex);
      const [semWait, onSem] = settles();
      const semId = sem.waitAsync(Infinity, onSem);
      const [barWait, onBar] = settles();
      const barId = bar.waitAsync(onBar);

      const ids = [read, futexId, semId, barId];
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      expect(new Set(ids).size).toBe(4);
      expect([native.pendingWaits('reactor'), native.pendingWaits('futex'), native.pendingWaits('sync'), native.pendingWaits()]).toEqual([1, 1, 2, 4]);

      expect(native.cancelWait(barId)).toBe(false); // pthread_barrier_wait cannot be cancelled
      expect(native.cancelWait(read)).toBe(true); // a reactor watch: its callback never runs
      expect(native.cancelWait(futexId)).toBe(true); // reports 3
      expect(native.cancelWait(semId)).toBe(true); // reports 2, nothing consumed
      expect(native.pendingWaits('reactor')).toBe(0);
      expect(await futex).toEqual([null, 3]);
      expect(await semWait).toEqual([null, 2]);
      expect(sem.value()).toBe(0);
      for (const id of [read, futexId, semId]) expect(native.cancelWait(id)).toBe(false); // settled: nothing to cancel
      expect(native.pendingWaits()).toBe(1); // the barrier wait

      const serialHere = bar.wait(); // the second party: the async one goes through too
      const [err, serialThere] = await barWait;
      expect(err).toBeNull();
      expect([serialHere ? 1 : 0, serialThere].sort()).toEqual([0, 1]); // exactly one is the serial one
      expect(native.pendingWaits()).toBe(0);
      posix.write(w, new Uint8Array([1])); // what the cancelled read would have taken stays in the pipe
      expect(posix.read(r, new Uint8Array(4))).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(readCalled).toBe(false);
      sem.destroy();
      bar.destroy();
    } finally {
      posix.close(r);
      posix.close(w);
    }
  });

  it('pendingWaits and cancelWait check their arguments', () => {
    const raw2 = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => raw2.pendingWaits!('all')).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    expect(() => raw2.pendingWaits!(1)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => raw2.cancelWait!(0)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    expect(() => raw2.cancelWait!('1')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    expect(raw2.cancelWait!(2 ** 53)).toBe(false);
  });
});

describe('named semaphores', () => {
  it('open (create, exclusive, mode 0600 by default) in one process, open by name and post in another; close vs unlink', async () => {
    const name = semName('a');
    const s = posix.Semaphore.open(name, { create: true, exclusive: true, value: 0 });
    try {
      expect(s.name).toBe(name);
      const st = statSync(`/dev/shm/sem.${name.slice(1)}`);
      expect(st.mode & 0o777).toBe(0o600);
      expectCode(() => posix.Semaphore.open(name, { create: true, exclusive: true }), Error, 'EEXIST', { syscall: 'sem_open', errno: 17 });
      const pid = await forkRun(() => {
        const t = posix.Semaphore.open(name); // by name, not inherited
        t.post();
        t.post();
        t.close();
        return 0;
      });
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
      expect(s.timedWait(5000)).toBe(true);
      expect(await s.waitAsync(5000)).toBe(true);
      expect(s.value()).toBe(0);
      expectCode(() => s.destroy(), Error, 'ERR_INVALID_STATE');
    } finally {
      s.close();
      s.close(); // idempotent
      posix.Semaphore.unlink(name);
    }
    expectCode(() => s.post(), Error, 'ERR_MULTIPROC_CLOSED');
    expectCode(() => posix.Semaphore.open(name), Error, 'ENOENT', { syscall: 'sem_open', errno: 2 });
    expectCode(() => posix.Semaphore.unlink(name), Error, 'ENOENT', { syscall: 'sem_unlink' });
  });

  it('close() ends this handle\'s pending waits (ERR_MULTIPROC_CLOSED); unlink leaves open handles usable; using closes', async () => {
    const name = semName('b');
    {
      using s = posix.Semaphore.open(name, { create: true, mode: 0o640, value: 1 });
      expect(statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777).toBe(0o640 & ~process.umask());
      posix.Semaphore.unlink(name);
      expect(s.tryWait()).toBe(true); // still usable after unlink
      const p = s.waitAsync();
      s.close();
      await expect(p).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    }
    expect(posix.pendingAsyncWaits()).toBe(0);
  });

  it('names are validated', () => {
    for (const bad of ['noslash', '/', '/a/b', `/${'x'.repeat(300)}`]) {
      expectCode(() => posix.Semaphore.open(bad), RangeError, 'ERR_OUT_OF_RANGE');
    }
    expectCode(() => posix.Semaphore.open(42 as unknown as string), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => posix.Semaphore.unlink('bad'), RangeError, 'ERR_OUT_OF_RANGE');
  });
});

describe('errors: never a crash', () => {
  it('misaligned offsets and offsets outside the mapping are RangeErrors', () => {
    using m = posix.mmap(4096);
    const cases: Array<[string, (off: number) => unknown, number]> = [
      ['sem', (o) => posix.Semaphore.init(m, o, 0), posix.SIZEOF.sem],
      ['mutex', (o) => posix.Mutex.init(m, o), posix.SIZEOF.mutex],
      ['cond', (o) => posix.Cond.init(m, o), posix.SIZEOF.cond],
      ['barrier', (o) => posix.Barrier.init(m, o, 2), posix.SIZEOF.barrier],
      ['sem attach', (o) => posix.Semaphore.attach(m, o), posix.SIZEOF.sem],
    ];
    for (const [, make, size] of cases) {
      expectCode(() => make(4), RangeError, 'ERR_OUT_OF_RANGE'); // misaligned
      expectCode(() => make(1), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => make(4096 - size + 8), RangeError, 'ERR_OUT_OF_RANGE'); // does not fit
      expectCode(() => make(4096), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => make(-8), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => make(1.5), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => make(2 ** 60), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => make('0' as unknown as number), TypeError, 'ERR_INVALID_ARG_TYPE');
      expect(() => make(4096 - size - ((4096 - size) % 8))).not.toThrow(); // the last place that fits
    }
    expect(() => posix.Semaphore.init(m, 0, -1)).toThrow(RangeError);
    expect(() => posix.Semaphore.init(m, 0, 2 ** 31)).toThrow(RangeError);
    expect(() => posix.Barrier.init(m, 0, 0)).toThrow(RangeError);
    expectCode(() => posix.Semaphore.init({} as posix.Mapping, 0, 0), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectCode(() => posix.Mutex.init(null as unknown as posix.Mapping, 0), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('a read-only (private) mapping cannot hold a process-shared object', () => {
    const { fd, m } = memfdMapping(4096);
    const ro = posix.mmap(4096, { fd, readOnly: true });
    posix.close(fd);
    try {
      expectCode(() => posix.Semaphore.init(ro, 0, 0), Error, 'ERR_INVALID_ARG_VALUE');
    } finally {
      ro.close();
      m.close();
    }
  });

  it('use after destroy() is ERR_MULTIPROC_CLOSED for every method', () => {
    using m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 1);
    const mx = posix.Mutex.init(m, 64);
    const c = posix.Cond.init(m, 128);
    const b = posix.Barrier.init(m, 192, 1);
    s.destroy();
    s.destroy(); // idempotent
    mx.destroy();
    c.destroy();
    b.destroy();
    expect([s.closed, mx.closed, c.closed, b.closed]).toEqual([true, true, true, true]);
    const calls: Array<() => unknown> = [
      () => s.wait(),
      () => s.tryWait(),
      () => s.timedWait(1),
      () => s.post(),
      () => s.value(),
      () => mx.lock(),
      () => mx.tryLock(),
      () => mx.timedLock(1),
      () => mx.unlock(),
      () => c.signal(),
      () => c.broadcast(),
      () => b.wait(),
    ];
    for (const call of calls) expectCode(call, Error, 'ERR_MULTIPROC_CLOSED');
    expectCode(() => s.close(), Error, 'ERR_INVALID_STATE'); // close() is for named semaphores
    return Promise.all([
      expect(s.waitAsync()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' }),
      expect(b.waitAsync()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' }),
    ]);
  });

  it('use after Mapping.close() is ERR_MULTIPROC_CLOSED, never a touch of unmapped memory', async () => {
    const m = posix.mmap(4096);
    const s = posix.Semaphore.init(m, 0, 1);
    const mx = posix.Mutex.init(m, 64);
    const c = posix.Cond.init(m, 128);
    const b = posix.Barrier.init(m, 192, 1);
    m.close();
    for (const call of [() => s.wait(), () => s.post(), () => s.value(), () => mx.lock(), () => mx.unlock(), () => c.signal(), () => c.wait(mx, 1), () => b.wait(), () => s.destroy(), () => mx.destroy()]) {
      expectCode(call, Error, 'ERR_MULTIPROC_CLOSED');
    }
    expect([s.closed, mx.closed, c.closed, b.closed]).toEqual([true, true, true, true]);
    await expect(s.waitAsync()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    expectCode(() => posix.Semaphore.init(m, 0, 0), Error, 'ERR_MULTIPROC_CLOSED');
  });

  it('the fast functions (semPostFast(handle) & co.) check their handle', async () => {
    const { native } = await import('../../lib/binding/addon.js');
    const raw = native as unknown as Record<string, (...a: unknown[]) => unknown> & {
      mutexInit(m: posix.Mapping, offset: number): { handle: number };
      semInit(m: posix.Mapping, offset: number, value: number): { handle: number };
    };
    using m = posix.mmap(4096);
    const sem = raw.semInit(m, 0, 0);
    const mx = raw.mutexInit(m, 64);
    raw.semPostFast!(sem.handle);
    expect(raw.semTryWaitFast!(sem.handle)).toBe(true);
    expect(raw.semTryWaitFast!(sem.handle)).toBe(false);
    for (const name of ['semWaitFast', 'semPostFast', 'semTryWaitFast', 'mutexLockFast', 'mutexUnlockFast', 'mutexTryLockFast', 'barrierWaitFast']) {
      const f = raw[name]!;
      expectCode(() => f(), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => f('1'), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => f({}), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectCode(() => f(-1), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => f(0.5), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => f(NaN), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => f(2 ** 60), RangeError, 'ERR_OUT_OF_RANGE');
      expectCode(() => f(2 ** 40 + 12345), Error, 'ERR_MULTIPROC_CLOSED'); // no live object has it
    }
    expectCode(() => raw.semPostFast!(mx.handle), TypeError, 'ERR_INVALID_ARG_TYPE'); // a mutex's handle
    expectCode(() => raw.mutexLockFast!(sem.handle), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  it('native objects cannot be constructed from JavaScript', async () => {
    const { native } = await import('../../lib/binding/addon.js');
    const ctor = (native as unknown as { Semaphore: new (...a: unknown[]) => unknown }).Semaphore;
    expectCode(() => new ctor(), TypeError, 'ERR_ILLEGAL_CONSTRUCTOR');
    expectCode(() => new ctor({}), TypeError, 'ERR_ILLEGAL_CONSTRUCTOR');
  });
});

describe('found by the fuzzer: never a crash', () => {
  it('prototype methods and getters check their receiver: a wrong one is a TypeError, not a read of the wrong object', () => {
    const m = posix.mmap(4096);
    try {
      const mx = posix.Mutex.init(m, 64);
      const classes = native as unknown as Record<string, { prototype: Record<string, unknown> }>;
      for (const cls of ['Semaphore', 'Mutex', 'Cond', 'Barrier']) {
        const proto = classes[cls]!.prototype;
        for (const key of Object.getOwnPropertyNames(proto)) {
          if (key === 'constructor') continue;
          const d = Object.getOwnPropertyDescriptor(proto, key)!;
          const fn = (d.get ?? d.value) as (...a: unknown[]) => unknown;
          for (const receiver of [mx, {}, undefined, 1, Object.create(proto)]) {
            expect(() => fn.call(receiver), `${cls}.${key}`).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
          }
          if (!d.get) expect(() => Reflect.construct(fn, []), `new ${cls}.${key}`).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
        }
      }
      mx.destroy();
    } finally {
      m.close();
    }
  });

  it('a mutex held while its mapping is closed: the views detach at once, the unmap waits for the unlock', () => {
    const a = posix.mmap(4096);
    const b = posix.mmap(4096);
    const ma = posix.Mutex.init(a, 0);
    const mb = posix.Mutex.init(b, 0);
    ma.lock();
    a.close(); // glibc's robust list still points into a: it must stay mapped until ma is unlocked
    expect(a.buffer.byteLength).toBe(0);
    mb.lock(); // walks the robust list: a crash here if a had been unmapped
    mb.unlock();
    ma.unlock(); // the held mutex can still be released; now a is unmapped
    expect(() => ma.lock()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_CLOSED' }));
    mb.destroy();
    b.close();
  });

  it('a barrier on memory that holds none is a coded error (glibc would divide by its zero count)', () => {
    const m = posix.mmap(4096);
    try {
      const b = posix.Barrier.attach(m, 0);
      expect(() => b.wait()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_INITIALISED' }));
      expect(() => b.destroy()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_INITIALISED' }));
    } finally {
      m.close();
    }
  });
});

// One algorithm, two forms (lib/mp/core/wait.ts): a generator of sleeps run by runSync (futex(2) on this
// thread) and by runAsync (on a thread of the addon), on real futex words and semaphores in a shared mapping.
import { describe, expect, it } from 'vitest';
import { Condition, Lock } from '../lib/index.js';
import { futexSleep, NOT_EQUAL, parseSyncWait, runAsync, runSync, semSleep, TIMED_OUT, type Waits, WOKEN } from '../lib/mp/core/wait.js';
import * as posix from '../lib/posix/index.js';
import { forkRun, reap, thrown } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

/** Sleeps on word 0 while it holds `value`, up to `n` times; returns what each sleep ended with. */
function* sleeps(m: posix.Mapping, value: number, ms: number, n: number, log: string[]): Waits<number[]> {
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(yield futexSleep(m, 0, value, ms));
    return out;
  } catch (e) {
    log.push(`caught ${(e as Error).message}`);
    throw e;
  } finally {
    log.push('finally');
  }
}

describe('runSync / runAsync', () => {
  it('both forms run the same generator and send it how each sleep ended', async () => {
    const m = posix.mmap(4096);
    try {
      const log: string[] = [];
      // the word holds 0: sleeping while it holds 1 ends at once (NOT_EQUAL); while it holds 0, by the timeout
      expect(runSync(sleeps(m, 1, 1000, 2, log))).toEqual([NOT_EQUAL, NOT_EQUAL]);
      expect(runSync(sleeps(m, 0, 5, 1, log))).toEqual([TIMED_OUT]);
      expect(await runAsync(sleeps(m, 1, 1000, 2, log))).toEqual([NOT_EQUAL, NOT_EQUAL]);
      expect(await runAsync(sleeps(m, 0, 5, 1, log))).toEqual([TIMED_OUT]);
      expect(log).toEqual(['finally', 'finally', 'finally', 'finally']);
      // woken by another process
      const i32 = new Int32Array(m.buffer, 0, 1);
      const pid = await forkRun(() => {
        posix.futexWait(m, 4, 0, 10_000); // until the parent is about to sleep
        Atomics.store(i32, 0, 7);
        posix.futexWake(m, 0, 1);
      });
      const waiting = runAsync(sleeps(m, 0, 30_000, 1, log));
      Atomics.store(new Int32Array(m.buffer, 4, 1), 0, 1);
      posix.futexWake(m, 4, 1);
      expect((await waiting)[0]).toBeOneOf([WOKEN, NOT_EQUAL]);
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
    } finally {
      m.close();
    }
  });

  it('a sleep that fails is thrown into the generator at its yield, in both forms (its finally runs)', async () => {
    const m = posix.mmap(4096);
    m.close(); // a closed mapping: every futex call on it is ERR_MULTIPROC_CLOSED
    const log: string[] = [];
    expect(thrown(() => runSync(sleeps(m, 0, 1000, 1, log))).code).toBe('ERR_MULTIPROC_CLOSED');
    await expect(runAsync(sleeps(m, 0, 1000, 1, log))).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    expect(log).toHaveLength(4);
    expect(log[0]).toMatch(/^caught .*closed/i);
    expect(log.slice(1)).toEqual(['finally', log[0], 'finally']);
  });

  it('an abort is thrown into the generator; its later sleeps, and those yielded not abortable, ignore the signal', async () => {
    const m = posix.mmap(4096);
    const sem = posix.Semaphore.init(m, 64, 0);
    try {
      const ac = new AbortController();
      const reason = new Error('stop');
      const after: number[] = [];
      const g = (function* (): Waits<string> {
        try {
          yield semSleep(sem, 30_000);
          return 'not aborted';
        } catch (e) {
          // the clean-up sleeps: not abortable any more (the signal stays aborted)
          after.push(yield futexSleep(m, 0, 0, 5));
          after.push(yield semSleep(sem, 5));
          throw e;
        }
      })();
      const p = runAsync(g, ac.signal);
      await new Promise((r) => setTimeout(r, 10));
      ac.abort(reason);
      await expect(p).rejects.toBe(reason);
      expect(after).toEqual([TIMED_OUT, TIMED_OUT]);

      // abortable = false from the start: an already aborted signal does not end it
      const g2 = (function* (): Waits<number> {
        return yield futexSleep(m, 0, 0, 5, false);
      })();
      expect(await runAsync(g2, AbortSignal.abort())).toBe(TIMED_OUT);
    } finally {
      sem.destroy();
      m.close();
    }
  });

  it("Condition.wait aborted while its lock is held elsewhere: re-acquiring the lock is not aborted", async () => {
    const lock = new Lock();
    const cond = new Condition(lock);
    try {
      await cond.acquire();
      const ac = new AbortController();
      const reason = new Error('stop');
      const waiting = cond.wait({ signal: ac.signal });
      expect(lock.owner).toBe(0); // wait() released it
      expect(lock.acquireSync(0)).toBe(true); // someone (here: this process again) holds it now
      ac.abort(reason);
      let settled = false;
      void waiting.catch(() => (settled = true));
      await new Promise((r) => setTimeout(r, 150)); // more than one owner-check slice
      expect(settled).toBe(false); // still waiting for the lock, not rejected
      lock.release();
      await expect(waiting).rejects.toBe(reason);
      expect(lock.owner).toBe(process.pid); // held again, as wait() promises
      cond.release();
    } finally {
      cond.close();
      lock.close();
    }
  });

  it('parseSyncWait: a Sync form refuses a signal (TypeError), takes a number or { timeout, block }', () => {
    const e = thrown(() => parseSyncWait({ signal: new AbortController().signal }, 'getSync'));
    expect(e).toBeInstanceOf(TypeError);
    expect(e).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: 'getSync: use get() for an AbortSignal' });
    expect(parseSyncWait(5, 'getSync')).toEqual({ timeout: 5, signal: undefined, block: true });
    expect(parseSyncWait({ block: false }, 'getSync')).toMatchObject({ timeout: Infinity, block: false });
    expect(thrown(() => parseSyncWait(-1, 'getSync')).code).toBe('ERR_OUT_OF_RANGE');
  });
});

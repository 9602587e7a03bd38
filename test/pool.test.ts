// Pool, written once and run for both start methods (as CPython's test_multiprocessing_fork/_spawn).
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Pool, type PoolFunction, type StartMethod, WorkerDiedError } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { childExecArgv } from '../lib/mp/process/process.js';
import { until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';
import * as tasks from './helpers/pool-tasks.js';
import { helper, tmpDir } from './helpers/files.js';

checkLeaks();

const tasksFile = helper('pool-tasks.ts');
const { file: tmpFile } = tmpDir('pool');

type TaskName = keyof typeof tasks;

async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/**
 * Gone, or a zombie whose every thread is gone. A spawned node has threads: SIGKILLed, its main thread can show as a
 * zombie while the others still exit, and until they have, waitpid(WNOHANG) does not report it.
 */
function waitable(pid: number): boolean {
  const info = posix.processInfo(pid);
  if (info === null) return true; // already reaped (a retiring worker is watched)
  if (info.state !== 'zombie') return false;
  try {
    return readdirSync(`/proc/${pid}/task`).length <= 1;
  } catch {
    return true;
  }
}

function alive(pid: number): boolean {
  return posix.processInfo(pid) !== null;
}

for (const method of ['fork', 'spawn', 'forkserver'] as const satisfies readonly StartMethod[]) {
  describe(`Pool (${method})`, () => {
    /** fork: the function itself; spawn: its export name in the Pool's module. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const fn = (name: TaskName): PoolFunction<any[], any> => (method === 'fork' ? tasks[name] : name) as never;
    const make = (opts: ConstructorParameters<typeof Pool>[0] = {}) => new Pool({ processes: 2, startMethod: method, module: tasksFile, ...opts });

    it('map keeps input order (tasks finish out of order); starmap; apply; an empty input', async () => {
      await using pool = make();
      const xs = Array.from({ length: 40 }, (_, i) => i);
      expect(await pool.map(fn('delayedEcho'), xs, { chunkSize: 1 })).toEqual(xs);
      expect(await pool.map(fn('square'), new Set([1, 2, 3]))).toEqual([1, 4, 9]);
      expect(await pool.starmap(fn('add'), [[1, 2], [3, 4], [5, 6]])).toEqual([3, 7, 11]);
      expect(await pool.apply(fn('add'), [20, 22])).toBe(42);
      expect(await pool.map(fn('square'), [])).toEqual([]);
      const strings = await pool.map(fn('where'), ['a', { b: [1n] }, null]);
      expect(strings.map((r: [unknown]) => r[0])).toEqual(['a', { b: [1n] }, null]);
    });

    it('large arguments and results (several MB each way: partial writes, frames larger than a read)', async () => {
      await using pool = make();
      const big = 'x'.repeat(6_000_000);
      const bytes = new Uint8Array(3_000_000).fill(7);
      const sizes = await pool.map(fn('size'), [big, bytes, big, 'small', bytes], { chunkSize: 1 });
      expect(sizes).toEqual([6_000_000, 3_000_000, 6_000_000, 5, 3_000_000]);
      const outs = await pool.map(fn('bigString'), [5_000_000, 10, 4_000_000], { chunkSize: 1 });
      expect(outs.map((o: string) => o.length)).toEqual([5_000_000, 10, 4_000_000]);
      expect(outs[0].startsWith('yyy')).toBe(true);
      // many MB-sized frames appended while earlier writes are still pending
      function* megs() {
        for (let i = 0; i < 60; i++) yield String.fromCharCode(97 + (i % 26)).repeat(1_000_000 + i);
      }
      let total = 0;
      for await (const n of pool.imapUnordered(fn('size'), megs())) total += n as number;
      expect(total).toBe(60 * 1_000_000 + (59 * 60) / 2);
      expect(await pool.map(fn('square'), [1, 2])).toEqual([1, 4]);
    });

    it('a task that throws rejects the call with its class, message, properties and the remote stack', async () => {
      await using pool = make();
      const e = await rejection(pool.map(fn('failOn3'), [1, 2, 3, 4, 5], { chunkSize: 1 }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe('bad item 3');
      expect(e.code).toBe('E_BAD_ITEM');
      expect(e.detail).toEqual({ item: 3 });
      expect(e.workerPid).toBeGreaterThan(0);
      expect(String(e.remoteStack)).toMatch(/failOn3/);
      expect(String(e.remoteStack)).toContain('pool-tasks');
      expect(e.stack).toContain(`<Pool worker ${e.workerPid}>`);
      expect(await rejection(pool.apply(fn('throwString')))).toBe('a plain string');
      const notSendable = await rejection(pool.apply(fn('returnFunction')));
      expect(notSendable.code).toBe('ERR_MULTIPROC_NOT_CLONEABLE');
      // the pool goes on
      expect(await pool.map(fn('square'), [2, 3])).toEqual([4, 9]);
      expect(pool.stats().failed).toBeGreaterThanOrEqual(1);
    });

    it('chunking: chunkSize items per message, run by one worker in a row; Python’s default chunk size', async () => {
      await using pool = make();
      const xs = Array.from({ length: 40 }, (_, i) => i);
      let before = pool.stats().chunks;
      const rows = await pool.map(fn('where'), xs, { chunkSize: 5 });
      expect(pool.stats().chunks - before).toBe(8);
      for (let c = 0; c < 8; c++) {
        const group = rows.slice(c * 5, c * 5 + 5) as [number, number, number][];
        expect(new Set(group.map((r) => r[1])).size, `chunk ${c} ran in one worker`).toBe(1);
        expect(group.map((r) => r[2] - group[0]![2])).toEqual([0, 1, 2, 3, 4]);
      }
      before = pool.stats().chunks;
      await pool.map(fn('square'), Array.from({ length: 41 }, (_, i) => i)); // ceil(41 / (4 × 2)) = 6 → 7 chunks
      expect(pool.stats().chunks - before).toBe(7);
      before = pool.stats().chunks;
      await pool.starmap(fn('add'), Array.from({ length: 10 }, (_, i) => [i, i]), { chunkSize: 3 });
      expect(pool.stats().chunks - before).toBe(4);
      before = pool.stats().chunks;
      const got: number[] = [];
      for await (const v of pool.imap(fn('square'), [1, 2, 3, 4])) got.push(v as number);
      expect(got).toEqual([1, 4, 9, 16]);
      expect(pool.stats().chunks - before).toBe(4); // imap: 1 by default, as Python
      expect((await rejection(pool.map(fn('square'), [1], { chunkSize: 0 }))).code).toBe('ERR_OUT_OF_RANGE');
    });

    it('imapUnordered yields every result exactly once; imap over an infinite input stays lazy', async () => {
      await using pool = make();
      const xs = Array.from({ length: 60 }, (_, i) => i);
      const got: number[] = [];
      for await (const v of pool.imapUnordered(fn('delayedEcho'), xs, { chunkSize: 2 })) got.push(v as number);
      expect(got.length).toBe(60);
      expect([...got].sort((a, b) => a - b)).toEqual(xs);

      let pulled = 0;
      let closed = false;
      function* naturals() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        } finally {
          closed = true;
        }
      }
      const first: number[] = [];
      for await (const v of pool.imap(fn('square'), naturals())) {
        first.push(v as number);
        if (first.length === 25) break;
      }
      expect(first).toEqual(Array.from({ length: 25 }, (_, i) => i * i));
      expect(closed).toBe(true);
      expect(pulled).toBeLessThan(5000); // read ahead a bounded amount, never the whole input

      // an async input (a stream, lines of a file…), also infinite
      let asyncPulled = 0;
      let asyncClosed = false;
      async function* ticks() {
        try {
          for (let i = 0; ; i++) {
            asyncPulled++;
            if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
            yield i;
          }
        } finally {
          asyncClosed = true;
        }
      }
      const fromAsync: number[] = [];
      for await (const v of pool.imap(fn('square'), ticks(), { chunkSize: 3 })) {
        fromAsync.push(v as number);
        if (fromAsync.length === 30) break;
      }
      expect(fromAsync).toEqual(Array.from({ length: 30 }, (_, i) => i * i));
      await until(() => asyncClosed, 'the async input to be closed (its return() runs after a pending next())');
      expect(asyncPulled).toBeLessThan(5000);
      async function* few() {
        for (const x of [5, 1, 4]) yield x;
      }
      const unordered: number[] = [];
      for await (const v of pool.imapUnordered(fn('delayedEcho'), few())) unordered.push(v as number);
      expect(unordered.sort()).toEqual([1, 4, 5]);
      async function* failing() {
        yield 1;
        throw new Error('input broke');
      }
      const broke = await rejection((async () => {
        for await (const _ of pool.imap(fn('square'), failing())) void _;
      })());
      expect(broke.message).toBe('input broke');
      expect(await pool.map(fn('square'), [7])).toEqual([49]);
    });

    it('maxTasksPerChild recycles workers: pids change, each ran at most that many chunks', async () => {
      await using pool = make({ maxTasksPerChild: 2 });
      const rows = (await pool.map(fn('where'), Array.from({ length: 10 }, (_, i) => i), { chunkSize: 1 })) as [number, number, number][];
      const perPid = new Map<number, number>();
      for (const [, pid] of rows) perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
      expect(perPid.size).toBeGreaterThanOrEqual(5);
      for (const n of perPid.values()) expect(n).toBeLessThanOrEqual(2);
      await until(() => [...perPid.keys()].every((pid) => !pool.pids.includes(pid)) || pool.pids.length <= 2, 'old workers to leave');
    });

    it('a worker SIGKILLed mid-task rejects only its tasks with WorkerDiedError; the pool replaces it and goes on', async () => {
      await using pool = make();
      await pool.map(fn('square'), [1, 2]); // both workers up
      const file = tmpFile();
      const doomed = pool.apply(fn('reportAndHang'), [file]);
      const survivor = pool.apply(fn('sleepMs'), [300]);
      await until(() => {
        try {
          return readFileSync(file, 'utf8').length > 0;
        } catch {
          return false;
        }
      }, 'the task to start', 15_000);
      const pid = Number(readFileSync(file, 'utf8'));
      expect(pool.pids).toContain(pid);
      posix.kill(pid, 'SIGKILL');
      const e = await rejection(doomed);
      expect(e).toBeInstanceOf(WorkerDiedError);
      expect(e.signal).toBe('SIGKILL');
      expect(e.exitCode).toBeNull();
      expect(e.pid).toBe(pid);
      expect(e.message).toMatch(new RegExp(`${pid} was killed by SIGKILL`));
      expect(await survivor).toBe(300);
      expect(await pool.map(fn('square'), [1, 2, 3, 4])).toEqual([1, 4, 9, 16]);
      expect(pool.pids).not.toContain(pid);
      expect(alive(pid)).toBe(false); // reaped, not a zombie
      expect(pool.stats().workerDeaths).toBe(1);
      // a worker that dies while the pool is idle is replaced before it is given anything
      const idle = pool.pids[0]!;
      posix.kill(idle, 'SIGKILL');
      await until(() => waitable(idle), 'the idle worker to be a zombie with no thread left');
      expect(await pool.map(fn('square'), [1, 2, 3, 4, 5, 6], { chunkSize: 1 })).toEqual([1, 4, 9, 16, 25, 36]);
      expect(pool.pids).not.toContain(idle);
      expect(alive(idle)).toBe(false);
      expect(pool.stats().workerDeaths).toBe(1); // it held nothing
    });

    it('a task calling process.exit(), or a crash, rejects with WorkerDiedError naming the exit code or signal; the pool goes on', async () => {
      await using pool = make();
      const e = await rejection(pool.apply(fn('exitWith'), [7]));
      expect(e).toBeInstanceOf(WorkerDiedError);
      expect(e.exitCode).toBe(7);
      expect(e.signal).toBeNull();
      expect(e.code).toBe('ERR_MULTIPROC_WORKER_DIED');
      // in a map: the chunk's call rejects, the next call works
      const e2 = await rejection(pool.map(fn('exitWith'), [3, 3, 3], { chunkSize: 3 }));
      expect(e2).toBeInstanceOf(WorkerDiedError);
      expect(await pool.map(fn('square'), [5, 6])).toEqual([25, 36]);
      // a crash (the worker raises SIGSEGV against itself)
      const e3 = await rejection(pool.apply(fn('killSelf'), ['SIGSEGV']));
      expect(e3).toBeInstanceOf(WorkerDiedError);
      expect(e3.signal).toBe('SIGSEGV');
      expect(await pool.apply(fn('add'), [1, 1])).toBe(2);
    });

    it('terminate() while busy rejects the pending calls, kills and reaps every worker', async () => {
      const pool = make();
      const files = [tmpFile(), tmpFile()];
      const busy = rejection(pool.map(fn('reportAndHang'), [...files, ...files], { chunkSize: 1 }));
      const started = () =>
        files.every((f) => {
          try {
            return readFileSync(f, 'utf8').length > 0;
          } catch {
            return false;
          }
        });
      await until(started, 'both workers to be inside a task', 15_000);
      const pids = pool.pids;
      expect(pids.length).toBe(2);
      expect(pool.stats().inFlight).toBe(4);
      await pool.terminate();
      const e = await busy;
      expect(e.code).toBe('ERR_MULTIPROC_POOL_TERMINATED');
      for (const pid of pids) expect(alive(pid)).toBe(false);
      expect(pool.pids).toEqual([]);
      expect((await rejection(pool.map(fn('square'), [1]))).code).toBe('ERR_MULTIPROC_CLOSED');
      await pool.join(); // joins at once after terminate
    });

    it('an AbortSignal cancels the chunks not yet handed out (map and imap); the pool goes on', async () => {
      await using pool = make();
      const ac = new AbortController();
      const p = pool.map(fn('sleepMs'), new Array(200).fill(20), { chunkSize: 1, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('stop now')), 100);
      const e = await rejection(p);
      expect(e.message).toBe('stop now');
      await until(() => pool.stats().inFlight === 0, 'the chunks already handed out to come back');
      const s = pool.stats();
      expect(s.completed).toBeLessThan(200);
      expect(s.completed + s.failed).toBe(200); // the rest dropped (or discarded when they came back)
      expect(s.queueLength).toBe(0);

      const ac2 = new AbortController();
      const seen: number[] = [];
      const it2 = pool.imap(fn('sleepMs'), new Array(200).fill(5), { signal: ac2.signal });
      const e2 = await rejection(
        (async () => {
          for await (const v of it2) {
            seen.push(v as number);
            if (seen.length === 3) ac2.abort(new Error('enough'));
          }
        })(),
      );
      expect(e2.message).toBe('enough');
      expect(seen.length).toBeLessThan(200);
      expect((await rejection(pool.map(fn('square'), [1], { signal: AbortSignal.abort(new Error('early')) }))).message).toBe('early');
      expect(await pool.map(fn('square'), [3])).toEqual([9]);
    });

    it('initializer runs with initArgs in every worker before its tasks; a failing one breaks the pool, never a hang', async () => {
      await using pool = make({ initializer: method === 'fork' ? tasks.init : 'init', initArgs: [{ token: 42 }] });
      const rows = (await pool.map(fn('getInit'), Array.from({ length: 8 }, (_, i) => i), { chunkSize: 1 })) as [unknown, number][];
      for (const [v] of rows) expect(v).toEqual({ token: 42 });
      const bad = make({ initializer: { module: tasksFile, export: 'initFails' } });
      try {
        const e = await rejection(bad.map(fn('square'), [1, 2, 3]));
        expect(e.code).toBe('ERR_MULTIPROC_POOL_BROKEN');
        expect(String((e.cause as Error)?.message)).toBe('initializer refuses');
        expect((await rejection(bad.map(fn('square'), [1]))).code).toBe('ERR_MULTIPROC_POOL_BROKEN');
      } finally {
        await bad.terminate();
      }
    });

    it('a call made after a worker died of its failing initializer, its death not yet seen, is refused (pool broken), not left pending', async () => {
      const bad = make({ initializer: { module: tasksFile, export: 'initFails' }, processes: 1 });
      try {
        if (method !== 'fork') {
          // the worker exists at once (fork forks at the first call): let it die before the pool hears of it
          const [pid] = bad.pids;
          await until(() => { const st = posix.processInfo(pid!)?.state; return st === undefined || st === 'zombie'; }, 'the worker to die', 20_000);
        }
        const outcome = await Promise.race([
          rejection(bad.map(fn('square'), [1, 2, 3])),
          new Promise<'pending'>((r) => setTimeout(() => r('pending'), 15_000).unref()),
        ]);
        expect(outcome).not.toBe('pending');
        expect((outcome as Error & { code?: string }).code).toBe('ERR_MULTIPROC_POOL_BROKEN');
      } finally {
        await bad.terminate();
      }
    });

    it('close() lets pending work finish, then workers exit; join(); use after close; asyncDispose', async () => {
      const pool = make();
      expect((await rejection(pool.join())).code).toBe('ERR_MULTIPROC_POOL_RUNNING');
      const pending = pool.map(fn('sleepMs'), [50, 50, 50]);
      pool.close();
      expect((await rejection(pool.map(fn('square'), [1]))).code).toBe('ERR_MULTIPROC_CLOSED');
      expect(() => pool.imap(fn('square'), [1])).toThrow(/not running/);
      await pool.join();
      expect(await pending).toEqual([50, 50, 50]);
      expect(pool.pids).toEqual([]);

      const disposable = make();
      await disposable.map(fn('square'), [1, 2]);
      const pids = disposable.pids;
      await disposable[Symbol.asyncDispose]();
      for (const pid of pids) expect(alive(pid)).toBe(false);
    });

    it('stats(): completed, failed, queue length, run and wait time summaries', async () => {
      await using pool = make();
      await pool.map(fn('sleepMs'), [10, 10, 10, 10], { chunkSize: 1 });
      await rejection(pool.map(fn('failOn3'), [3], { chunkSize: 1 }));
      const s = pool.stats();
      expect(s.completed).toBe(4);
      expect(s.failed).toBe(1);
      expect(s.queueLength).toBe(0);
      expect(s.inFlight).toBe(0);
      expect(s.processes).toBe(2);
      expect(s.runTime.count).toBe(5);
      expect(s.runTime.max).toBeGreaterThanOrEqual(9);
      expect(s.runTime.min).toBeLessThanOrEqual(s.runTime.p50);
      expect(s.waitTime.count).toBe(5);
      expect(s.waitTime.min).toBeGreaterThanOrEqual(0);
    });

    it('bad arguments are TypeError / RangeError', async () => {
      expect(() => new Pool({ processes: 0, startMethod: method })).toThrow(RangeError);
      expect(() => new Pool({ processes: 1.5, startMethod: method })).toThrow(RangeError);
      expect(() => new Pool({ maxTasksPerChild: 0, startMethod: method })).toThrow(RangeError);
      expect(() => new Pool({ startMethod: 'thread' as never })).toThrow(TypeError);
      await using pool = make({ processes: 1 });
      expect(await rejection(pool.map(fn('square'), 5 as never))).toBeInstanceOf(TypeError);
      expect(await rejection(pool.map(42 as never, [1]))).toBeInstanceOf(TypeError);
      const e = await rejection(pool.map(fn('where'), [() => 1]));
      expect(e.code).toBe('ERR_MULTIPROC_NOT_CLONEABLE');
      if (method === 'spawn') {
        expect(await rejection(pool.map((x: number) => x, [1]))).toBeInstanceOf(TypeError);
        const missing = await rejection(pool.map('noSuchExport', [1]));
        expect(missing.message).toMatch(/no exported function "noSuchExport"/);
      }
      expect(await pool.map(fn('square'), [4])).toEqual([16]);
    });
  });
}

describe('Pool: closures (fork) and lifetime', () => {
  it('fn may be any closure; it sees the parent’s state at the fork of the workers that run it', async () => {
    const pool = new Pool({ processes: 2, startMethod: 'fork' });
    try {
      let base = 10;
      const secret = { word: 'captured' };
      const addBase = (x: number) => `${secret.word}:${x + base}`;
      expect(await pool.map(addBase, [1, 2])).toEqual(['captured:11', 'captured:12']);
      const first = pool.pids;
      base = 100; // the workers that know addBase were forked when base was 10
      expect(await pool.map(addBase, [1])).toEqual(['captured:11']);
      expect(pool.pids).toEqual(first);
      const addBase2 = (x: number) => x + base; // new function: fresh workers, forked now
      expect(await pool.map(addBase2, [1, 2])).toEqual([101, 102]);
      await until(() => first.every((pid) => !pool.pids.includes(pid)), 'the old workers to leave');
      for (const pid of first) await until(() => !alive(pid), `old worker ${pid} to be reaped`);
      // every new function object means fresh workers…
      const now = pool.pids;
      const mulAdd = (a: number, b: number) => a * b + base;
      expect(await pool.starmap(mulAdd, [[2, 3]])).toEqual([106]);
      expect(pool.pids).not.toEqual(now);
      // …which know the recently used ones too: alternating between them forks nothing
      await until(() => pool.pids.length === 2, 'the retired workers to leave');
      const settled = pool.pids;
      expect(await pool.map(addBase2, [5])).toEqual([105]);
      expect(await pool.starmap(mulAdd, [[1, 1]])).toEqual([101]);
      expect(await pool.map(addBase2, [6])).toEqual([106]);
      expect(pool.pids).toEqual(settled);
      // functions of module specs work under fork too
      expect(await pool.map({ module: tasksFile, export: 'square' }, [3])).toEqual([9]);
    } finally {
      await pool.terminate();
    }
  });

  it.each(['fork', 'spawn'])('a Pool dropped without close() is collected and its %s workers killed and reaped', (method) => {
    const script = helper('pool-dropped.ts');
    const r = spawnSync(process.execPath, [...childExecArgv(), '--expose-gc', script, method], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { pids: number[]; alive: number[] };
    expect(out.pids.length).toBe(2);
    expect(out.alive).toEqual([]);
  });

  it('workers are forked where the parent’s queued microtasks cannot run in them (a pool used from a timer)', async () => {
    const pool = new Pool({ processes: 2, startMethod: 'fork' });
    const file = tmpFile();
    try {
      const result = await new Promise<number[]>((resolve, reject) => {
        setTimeout(() => {
          // queued before the call that forks: it must run here only, never in a worker
          void Promise.resolve().then(() => appendFileSync(file, `${process.pid}\n`));
          pool.map(tasks.square, [1, 2, 3], { chunkSize: 1 }).then(resolve, reject);
        }, 1);
      });
      expect(result).toEqual([1, 4, 9]);
      expect(readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      await pool.terminate();
    }
  });

  it('a forked worker never runs the finalizers of the parent’s Pools (their fds are not its fds)', () => {
    const script = helper('pool-child-gc.ts');
    const r = spawnSync(process.execPath, [...childExecArgv(), script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { open: number; expected: number; after: number[] };
    expect(out.open).toBe(out.expected);
    expect(out.after).toEqual([9, 16]);
  });

  it('two pools side by side: terminating one leaves the other working', async () => {
    const a = new Pool({ processes: 2, startMethod: 'fork' });
    const b = new Pool({ processes: 2, startMethod: 'fork' });
    try {
      const busyA = rejection(a.map(tasks.sleepMs, [60_000, 60_000], { chunkSize: 1 }));
      const workB = b.map(tasks.delayedEcho, Array.from({ length: 50 }, (_, i) => i), { chunkSize: 1 });
      await until(() => a.pids.length === 2 && b.pids.length === 2, 'both pools to have workers');
      expect(a.pids.some((p) => b.pids.includes(p))).toBe(false);
      await a.terminate();
      expect((await busyA).code).toBe('ERR_MULTIPROC_POOL_TERMINATED');
      expect(await workB).toEqual(Array.from({ length: 50 }, (_, i) => i));
    } finally {
      await a.terminate();
      await b.terminate();
    }
  });

  it.each(['fork', 'spawn'])('an idle %s pool does not keep the program alive; its workers leave with it', (method) => {
    const script = helper('pool-idle-exit.ts');
    const r = spawnSync(process.execPath, [...childExecArgv(), script, method], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { result: number[]; pids: number[] };
    expect(out.result).toEqual([1, 4, 9]);
    expect(out.pids.length).toBe(2);
    for (const pid of out.pids) expect(alive(pid)).toBe(false);
  });
});

// Queue, SimpleQueue, JoinableQueue: one process and many, both start methods, process death, bad input.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Empty, Full, JoinableQueue, Pipe, Process, Queue, SimpleQueue, type StartMethod } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { forkRun, reap, thrown } from './helpers/child.js';
import { checkLeaks, closedAfterEach } from './helpers/leaks.js';
import * as targets from './helpers/queue-targets.js';
import { helper } from './helpers/files.js';
import { startTarget } from './helpers/process.js';

checkLeaks();

const targetsFile = helper('queue-targets.ts');

const track = closedAfterEach();

describe('Queue in one process', () => {
  it('is FIFO and round-trips every kind of value', async () => {
    const q = track(new Queue<unknown>());
    const values: unknown[] = [
      0,
      -1.5,
      Number.NaN,
      'short',
      'ünïcødé 😀',
      'x'.repeat(10_000),
      // lone surrogates (no UTF-8 form) and a leading byte-order mark arrive unchanged (issue 14)
      '\ud800',
      'a\udc00b'.repeat(100),
      '\ufeffBOM',
      true,
      false,
      null,
      undefined,
      123n ** 5n,
      new Uint8Array([1, 2, 3]),
      { id: 7, name: 'seven', tags: ['a', 'b'] },
      new Map([[1, new Date(0)]]),
      [1, [2, [3]]],
      // what JSON alone would get wrong (these go through structured clone):
      { negZero: -0, nan: Number.NaN, undef: undefined, date: new Date(5) },
      // eslint-disable-next-line no-sparse-arrays
      [1, , 3],
      Object.assign(Object.create(null) as object, { nullProto: true }),
    ];
    for (const v of values) await q.put(v);
    expect(q.qsize()).toBe(values.length);
    expect(q.empty()).toBe(false);
    const got: unknown[] = [];
    for (let i = 0; i < values.length; i++) got.push(i % 2 ? q.getSync() : await q.get());
    expect(got).toEqual(values);
    const special = got[values.length - 3] as { negZero: number; undef: unknown };
    expect(Object.is(special.negZero, -0)).toBe(true);
    expect('undef' in special).toBe(true);
    expect(1 in (got[values.length - 2] as unknown[])).toBe(false);
    expect(q.empty()).toBe(true);
    expect(q.qsize()).toBe(0);
  });

  it('what JSON would lose arrives: one object referenced twice stays one object; an array keeps its named properties', () => {
    // issue 14, property counter-example [shared, shared]: plain data took the JSON path, which made two copies
    const q = track(new Queue<unknown>());
    const shared = { s: 'shared' };
    q.putSync([shared, shared]);
    q.putSync({ a: shared, b: { c: shared } });
    const [x, y] = q.getSync() as [object, object];
    expect(x).toEqual(shared);
    expect(x).toBe(y);
    const o = q.getSync() as { a: object; b: { c: object } };
    expect(o.a).toBe(o.b.c);
    // property counter-example: an array's named property (JSON drops it; structured clone keeps it)
    q.putSync(Object.assign([1, 2], { extra: 'x' }));
    expect(Object.keys(q.getSync() as object)).toEqual(['0', '1', 'extra']);
  });

  it('byte arrays taken out are copies, not views of the ring', () => {
    const q = track(new Queue<Uint8Array>());
    q.putSync(new Uint8Array([1, 1, 1]));
    q.putSync(new Uint8Array([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]));
    const a = q.getSync();
    const b = q.getSync();
    q.putSync(new Uint8Array([9, 9, 9]));
    expect([...a]).toEqual([1, 1, 1]);
    expect(b.every((x) => x === 2)).toBe(true);
  });

  it('wraps around a small ring many times without corrupting records', () => {
    const q = track(new Queue<unknown>(0, { bufferBytes: 4096 }));
    for (let i = 0; i < 5000; i++) {
      const v = i % 3 === 0 ? i : i % 3 === 1 ? `s${i}`.padEnd((i % 40) + 3, '*') : { i, pad: 'p'.repeat(i % 97) };
      q.putSync(v);
      if (i % 7 === 0) q.putSync(i);
      expect(q.getSync()).toEqual(v);
      if (i % 7 === 0) expect(q.getSync()).toBe(i);
    }
    expect(q.empty()).toBe(true);
  });

  it('items larger than a quarter of the ring travel through the side channel, in order', async () => {
    const q = track(new Queue<unknown>(0, { bufferBytes: 4096 }));
    const big = new Uint8Array(3 * 2 ** 20).map((_, i) => i * 7);
    const before = (Queue as unknown as { _largeReceived: number })._largeReceived;
    q.putSync(1);
    q.putSync(big);
    q.putSync({ huge: 'y'.repeat(50_000) });
    q.putSync(2);
    expect(q.getSync()).toBe(1);
    const got = (await q.get()) as Uint8Array;
    expect(got.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(got, big)).toBe(0);
    expect(q.getSync()).toEqual({ huge: 'y'.repeat(50_000) });
    expect(q.getSync()).toBe(2);
    expect((Queue as unknown as { _largeReceived: number })._largeReceived - before).toBe(2);
  });

  // Issue 14: a top-level string whose record went through the side channel came out as its first 13
  // characters (the length of the side-channel reference), non-ASCII ones ending in U+FFFD.
  it('top-level strings of 256 KiB and more come out whole (Queue, SimpleQueue, JoinableQueue; here and in a child)', async () => {
    const strings = [
      'a'.repeat(262_144),
      'é'.repeat(200_000), // 400,000 UTF-8 bytes
      `${'x'.repeat(262_139)}`, // the largest record that stays in a 1 MiB ring (5 + 262,139 = a quarter)
      `${'y'.repeat(262_140)}`, // the smallest that does not
      '😀'.repeat(300_000) + 'end',
    ];
    for (const q of [track(new Queue<string>()), track(new SimpleQueue<string>()), track(new JoinableQueue<string>())]) {
      for (const s of strings) {
        q.putSync(s);
        const got = q.getSync();
        expect(got.length).toBe(s.length);
        expect(got === s).toBe(true);
        await q.put(s);
        expect((await q.get()) === s).toBe(true);
      }
    }
    // across processes: the child takes each string and puts back its length and whether it was intact
    const q = track(new Queue<string>());
    const back = track(new Queue<[number, boolean]>());
    const pid = await forkRun(() => {
      for (const s of strings) {
        const got = q.getSync();
        back.putSync([got.length, got === s]);
      }
      return 0;
    });
    for (const s of strings) q.putSync(s);
    for (const s of strings) expect(back.getSync({ timeout: 30_000 })).toEqual([s.length, true]);
    expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
  });

  it('maxsize: full(), putNowait → Full, put timeout → Full; getNowait / get timeout → Empty', async () => {
    const q = track(new Queue<number>(2));
    expect(q.maxsize).toBe(2);
    q.putNowait(1);
    await q.put(2);
    expect(q.full()).toBe(true);
    expect(() => q.putNowait(3)).toThrow(Full);
    const t0 = performance.now();
    await expect(q.put(3, { timeout: 50 })).rejects.toBeInstanceOf(Full);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(() => q.putSync(3, 20)).toThrow(Full);
    expect(q.getNowait()).toBe(1);
    expect(q.getSync()).toBe(2);
    expect(() => q.getNowait()).toThrow(Empty);
    const t1 = performance.now();
    await expect(q.get(60)).rejects.toMatchObject({ name: 'Empty', code: 'ERR_MULTIPROC_EMPTY' });
    expect(performance.now() - t1).toBeGreaterThanOrEqual(55);
    expect(() => q.getSync({ timeout: 10 })).toThrow(Empty);
  });

  it('a waiting put resumes when space frees; a waiting get resumes when an item arrives (same process)', async () => {
    const q = track(new Queue<string>(1));
    q.putSync('first');
    const putting = q.put('second');
    setTimeout(() => void q.get(), 30);
    await putting;
    expect(q.getSync()).toBe('second');
    const getting = q.get();
    setTimeout(() => q.putSync('late'), 30);
    expect(await getting).toBe('late');
  });

  it('get and put honour an AbortSignal', async () => {
    const q = track(new Queue<number>(1));
    const ac = new AbortController();
    const g = q.get({ signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(g).rejects.toMatchObject({ name: 'AbortError' });
    q.putSync(1);
    const ac2 = new AbortController();
    ac2.abort();
    await expect(q.put(2, { signal: ac2.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(q.qsize()).toBe(1);
  });

  it('refuses shared objects inside items, and Queues inside Pipes', () => {
    const q = track(new Queue<unknown>());
    const other = track(new Queue());
    expect(thrown(() => q.putSync({ nested: [other] })).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
    const [a, b] = Pipe();
    try {
      expect(thrown(() => a.send(q)).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
    } finally {
      a.close();
      b.close();
    }
    expect(thrown(() => q.putSync(() => 1)).code).toBe('ERR_MULTIPROC_NOT_CLONEABLE');
    expect(q.empty()).toBe(true);
  });

  it('bad arguments are TypeError/RangeError; use after close is ERR_MULTIPROC_CLOSED; close is idempotent', async () => {
    expect(() => new Queue('3' as unknown as number)).toThrow(TypeError);
    expect(() => new Queue(0, { bufferBytes: 5000 })).toThrow(RangeError);
    expect(() => new Queue(0, { bufferBytes: 2 ** 31 })).toThrow(RangeError);
    const q = new Queue<number>();
    expect(() => q.getSync(-1)).toThrow(RangeError);
    expect(() => q.getSync({ timeout: 'x' as unknown as number })).toThrow(TypeError);
    q.close();
    q.close();
    expect(q.closed).toBe(true);
    expect(thrown(() => q.putSync(1)).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(thrown(() => q.qsize()).code).toBe('ERR_MULTIPROC_CLOSED');
    await expect(q.get()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
  });

  it('SimpleQueue and JoinableQueue (taskDone, join, too many taskDone)', async () => {
    const s = track(new SimpleQueue<number>());
    s.putSync(5);
    expect(s.getSync()).toBe(5);
    const j = track(new JoinableQueue<number>());
    expect(j.joinSync(0)).toBe(true);
    j.putSync(1);
    await j.put(2);
    expect(j.unfinishedTasks).toBe(2);
    expect(j.joinSync(20)).toBe(false);
    j.getSync();
    j.taskDone();
    const joined = j.join();
    j.getSync();
    setTimeout(() => j.taskDone(), 20);
    expect(await joined).toBe(true);
    expect(thrown(() => j.taskDone()).code).toBe('ERR_MULTIPROC_TASK_DONE');
  });

  it('JoinableQueue: a put that fails (Full, timeout, abort, not cloneable) leaves no unfinished task behind', async () => {
    const j = track(new JoinableQueue<unknown>(1));
    j.putSync(1);
    expect(() => j.putNowait(2)).toThrow(Full);
    expect(() => j.putSync(2, 10)).toThrow(Full);
    await expect(j.put(2, 10)).rejects.toBeInstanceOf(Full);
    await expect(j.put(2, { signal: AbortSignal.timeout(10) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(thrown(() => j.putSync(() => 1)).code).toBe('ERR_MULTIPROC_NOT_CLONEABLE');
    expect(j.unfinishedTasks).toBe(1);
    const joined = j.join(30_000);
    j.getSync();
    j.taskDone();
    expect(await joined).toBe(true);
    expect(j.unfinishedTasks).toBe(0);
  });

  it('the Sync forms refuse a signal; a get or put waiting when its queue is closed here ends with ERR_MULTIPROC_CLOSED', async () => {
    const q = new Queue<number>(1);
    const signal = new AbortController().signal;
    expect(thrown(() => q.getSync({ signal } as never))).toMatchObject({ name: 'TypeError', message: 'getSync: use get() for an AbortSignal' });
    expect(thrown(() => q.putSync(1, { signal } as never))).toMatchObject({ name: 'TypeError', message: 'putSync: use put() for an AbortSignal' });
    const getting = q.get();
    await new Promise((r) => setTimeout(r, 20));
    q.close();
    await expect(getting).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    const r = new Queue<number>(1);
    r.putSync(1);
    const putting = r.put(2);
    await new Promise((res) => setTimeout(res, 20));
    r.close();
    await expect(putting).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
  });
});

for (const method of ['fork', 'spawn', 'forkserver'] as const satisfies readonly StartMethod[]) {
  describe(`Queue between processes (${method})`, () => {
    const start = (exp: keyof typeof targets, args: unknown[]) => startTarget(method, targets, targetsFile, exp, args);

    it('4 producers × 4 consumers × 100,000 items: none lost or duplicated, each producer in order', async () => {
      const P = 4;
      const C = 4;
      const N = 100_000;
      const q = track(new Queue<number | null>(1000));
      const results = track(new Queue<targets.Tally>());
      const consumers = Array.from({ length: C }, () => start('consume', [q, results, P]));
      const producers = Array.from({ length: P }, (_, p) => start('produce', [q, p, N, 0]));
      for (const p of producers) {
        await p.join(60_000);
        expect(p.exitCode).toBe(0);
        p.close();
      }
      // Every item is in: one end marker per consumer.
      for (let i = 0; i < C; i++) await q.put(null);
      const tallies: targets.Tally[] = [];
      for (let i = 0; i < C; i++) tallies.push(await results.get({ timeout: 120_000 }));
      for (const p of consumers) {
        await p.join(60_000);
        expect(p.exitCode).toBe(0);
        p.close();
      }
      const total = tallies.reduce((a, t) => a + t.count, 0);
      expect(total).toBe(P * N);
      let sum = 0;
      let sumSq = 0;
      for (let p = 0; p < P; p++)
        for (let k = 0; k < N; k++) {
          const v = p * 1e6 + k;
          sum += v;
          sumSq = (sumSq + ((v % 1_000_000_007) * (v % 1_000_000_007)) % 1_000_000_007) % 1_000_000_007;
        }
      expect(tallies.reduce((a, t) => a + t.sum, 0)).toBe(sum);
      expect(tallies.reduce((a, t) => (a + t.sumSq) % 1_000_000_007, 0)).toBe(sumSq);
      expect(tallies.reduce((a, t) => a + t.outOfOrder, 0)).toBe(0);
      expect(q.empty()).toBe(true);
    });

    it('every kind of value crosses to the child and back, large items included', async () => {
      const q = track(new Queue<unknown>(0, { bufferBytes: 8192 }));
      const back = track(new Queue<unknown>(0, { bufferBytes: 8192 }));
      const values = [1.25, 'two', 3n, null, undefined, true, new Uint8Array(100_000).fill(4), { five: [5] }, new Map([[6, 'six']])];
      const p = start('echoTypes', [q, back, values.length]);
      for (const v of values) await q.put(v);
      const got: unknown[] = [];
      for (let i = 0; i < values.length; i++) got.push(await back.get({ timeout: 30_000 }));
      await p.join();
      p.close();
      expect(p.exitCode).toBe(0);
      expect(got).toEqual(values);
    });

    it('a Connection passed in Process args works in the child', async () => {
      const [mine, theirs] = Pipe();
      const p = start('echoConnection', [theirs]);
      mine.send({ hello: [1, 2] });
      expect(await mine.recv(30_000)).toEqual({ hello: [1, 2] });
      mine.send(null);
      expect(await mine.recv(30_000)).toBe('bye');
      await p.join(30_000);
      expect(p.exitCode).toBe(0);
      p.close();
      mine.close();
      theirs.close();
    });

    it('JoinableQueue: join() returns once workers in other processes marked every item done', async () => {
      const q = track(new JoinableQueue<number>());
      const out = track(new Queue<number>());
      const workers = [start('doTasks', [q, out]), start('doTasks', [q, out])];
      for (let i = 1; i <= 200; i++) await q.put(i);
      expect(await q.join({ timeout: 30_000 })).toBe(true);
      let sum = 0;
      for (let i = 0; i < 200; i++) sum += out.getSync();
      expect(sum).toBe(200 * 201);
      await q.put(-1);
      await q.put(-1);
      for (const w of workers) {
        await w.join();
        expect(w.exitCode).toBe(0);
        w.close();
      }
      expect(q.unfinishedTasks).toBe(0);
    });
  });
}

describe('Queue and process death', () => {
  it('a consumer SIGKILLed while waiting in get() does not wedge the queue', async () => {
    const q = track(new Queue<number>());
    const pid = await forkRun(() => {
      q.getSync();
      return 3;
    });
    // The child is inside getSync (announced itself as a waiter) when killed.
    await new Promise((r) => setTimeout(r, 100));
    posix.kill(pid, 'SIGKILL');
    const st = await reap(pid);
    expect(st).toMatchObject({ kind: 'signaled' });
    q.putSync(42);
    expect(await q.get({ timeout: 5000 })).toBe(42);
  });

  for (const which of ['r', 'w'] as const) {
    it(`a ${which === 'r' ? 'consumer' : 'producer'} killed holding the queue's lock: the next one recovers it, recounts, warns`, async () => {
      const q = track(new Queue<number>());
      q.putSync(1);
      q.putSync(2);
      const [rd, wr] = posix.pipe();
      const pid = await forkRun(async () => {
        (q as unknown as { _holdLock(w: string): void })._holdLock(which);
        posix.writeAll(wr, 'x');
        await new Promise(() => {}); // until killed
      });
      posix.close(wr);
      const b = new Uint8Array(1);
      expect(posix.read(rd, b)).toBe(1);
      posix.close(rd);
      posix.kill(pid, 'SIGKILL');
      await reap(pid);
      const warnings: (Error & { code?: string })[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        if (which === 'w') q.putSync(3);
        expect(q.getSync({ timeout: 5000 })).toBe(1);
        if (which === 'r') q.putSync(3);
        expect(q.getSync({ timeout: 5000 })).toBe(2);
        expect(q.getSync({ timeout: 5000 })).toBe(3);
        expect(q.qsize()).toBe(0);
        await new Promise((r) => setImmediate(r));
        expect(warnings.some((w) => w.code === 'MULTIPROC_OWNER_DIED' && /Queue/.test(w.message))).toBe(true);
      } finally {
        process.off('warning', onWarning);
      }
    });
  }

  it('consumers SIGKILLed at random points of get(): the rest drain the queue, at most one item lost per kill', async () => {
    const N = 60_000;
    const KILLS = 6;
    const q = track(new Queue<number>(0, { bufferBytes: 65536 }));
    const m = posix.mmap(N);
    try {
      const seenByVictims = new Uint8Array(m.buffer, 0, N);
      const seenHere = new Uint8Array(N);
      let next = 0;
      let kills = 0;
      while (kills < KILLS) {
        const victim = await forkRun(() => targets.takeForever(q, seenByVictims));
        // keep it busy: items flow while we wait a random moment, then kill it mid-stream
        const until = performance.now() + 5 + Math.random() * 20;
        while (performance.now() < until && next < N) q.putSync(next++);
        posix.kill(victim, 'SIGKILL');
        await reap(victim);
        kills++;
      }
      // No consumer is left: put the rest while taking items out here whenever the ring is full.
      while (next < N) {
        try {
          q.putNowait(next);
          next++;
        } catch (e) {
          if (!(e instanceof Full)) throw e;
          const v = q.getSync({ timeout: 5000 });
          seenHere[v] = seenHere[v]! + 1;
        }
      }
      for (;;) {
        let v: number;
        try {
          v = q.getSync({ timeout: 200 });
        } catch (e) {
          if (e instanceof Empty) break;
          throw e;
        }
        seenHere[v] = seenHere[v]! + 1;
      }
      let dup = 0;
      let missing = 0;
      for (let i = 0; i < next; i++) {
        const c = seenByVictims[i]! + seenHere[i]!;
        if (c > 1) dup++;
        if (c === 0) missing++;
      }
      expect(dup).toBe(0);
      expect(missing).toBeLessThanOrEqual(KILLS);
      expect(q.empty()).toBe(true);
      expect(q.qsize()).toBe(0);
    } finally {
      m.close();
    }
  });
});

// Value, RawValue, SharedArray, RawArray (the arena) and SharedMemory (named, with the tracker), between real
// processes.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  arenaStats,
  Lock,
  Pipe,
  Process,
  RawArray,
  RawValue,
  reapSharedMemory,
  SharedArray,
  SharedMemory,
  type StartMethod,
  Value,
} from '../lib/index.js';
import { native } from '../lib/binding/addon.js';
import { unregister } from '../lib/mp/shared/tracker.js';
import * as posix from '../lib/posix/index.js';
import { reap, runInChild, thrown } from './helpers/child.js';
import { checkLeaks, closedAfterEach } from './helpers/leaks.js';
import * as targets from './helpers/sync-targets.js';
import { startTarget } from './helpers/process.js';
import { helper } from './helpers/files.js';

checkLeaks();

const track = closedAfterEach(() => expect(arenaStats().regions, 'arena regions left').toBe(0));

const targetsFile = helper('sync-targets.ts');
const fdCount = () => readdirSync('/proc/self/fd').length;
const memfdMaps = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('memfd:multiproc-arena')).length;

describe('Value / RawValue', () => {
  it('type codes (Python\'s and readable names); 64-bit integers are bigint', () => {
    const cases: [string, number | bigint, number | bigint][] = [
      ['b', -5, -5], ['int8', 127, 127], ['B', 255, 255], ['uint8', 0, 0], ['h', -300, -300], ['H', 65535, 65535],
      ['i', -(2 ** 31), -(2 ** 31)], ['int32', 2 ** 31 - 1, 2 ** 31 - 1], ['I', 2 ** 32 - 1, 2 ** 32 - 1], ['uint32', 7, 7],
      ['q', -(2n ** 63n), -(2n ** 63n)], ['int64', 2n ** 62n, 2n ** 62n], ['l', 5n, 5n], ['Q', 2n ** 64n - 1n, 2n ** 64n - 1n],
      ['L', 7, 7n], ['uint64', 9n, 9n], ['f', 1.5, 1.5], ['float32', 0.1, Math.fround(0.1)], ['d', Math.PI, Math.PI], ['float64', -0.25, -0.25],
    ];
    for (const [code, init, expected] of cases) {
      const v = track(new Value(code as never, init as never));
      expect(v.value, code).toBe(expected);
      const r = track(new RawValue(code as never));
      expect(r.value, code).toBe(typeof expected === 'bigint' ? 0n : 0);
    }
    const big = track(new Value<bigint>('q', 1n));
    big.value = 2n ** 40n;
    expect(big.value).toBe(2n ** 40n);
    big.value = 3 as never; // an integer number is accepted for a 64-bit type
    expect(big.value).toBe(3n);
  });

  it('bad type codes and values: TypeError', () => {
    expect(thrown(() => new Value('x' as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => new Value('c' as never)).message).toMatch(/Unknown type code "c"/);
    expect(thrown(() => new Value('i', 'one' as never))).toBeInstanceOf(TypeError);
    expect(thrown(() => new Value('i', 0, { lock: 'yes' as never }))).toBeInstanceOf(TypeError);
  });

  // Before: v.value = 'x' stored 0, 2**33 wrapped for 'i', Value('i', 1.7) became 1, all silently.
  it('nothing is stored silently wrong: a non-number is a TypeError, a value that does not fit a RangeError', () => {
    const err = (f: () => unknown) => {
      const e = thrown(f);
      return [e?.constructor.name, e?.code];
    };
    const T = ['TypeError', 'ERR_INVALID_ARG_TYPE'];
    const R = ['RangeError', 'ERR_OUT_OF_RANGE'];
    const v = track(new Value<number>('i', 5));
    expect(err(() => (v.value = 'x' as never))).toEqual(T);
    expect(err(() => (v.value = 2 ** 33))).toEqual(R);
    expect(err(() => (v.value = 2 ** 31))).toEqual(R);
    expect(err(() => (v.value = 1.7))).toEqual(R);
    expect(err(() => (v.value = NaN))).toEqual(R);
    expect(err(() => (v.value = 1n as never))).toEqual(T);
    expect(err(() => (v.value = null as never))).toEqual(T);
    expect(v.value).toBe(5); // unchanged by every refused store
    v.value = -(2 ** 31);
    expect(v.value).toBe(-(2 ** 31));
    expect(thrown(() => (v.value = 2 ** 33)).message).toBe('The value of "value" is out of range. It must be an integer >= -2147483648 && <= 2147483647. Received 8589934592');
    expect(err(() => new Value('i', 1.7))).toEqual(R);
    expect(err(() => new RawValue('B', 256))).toEqual(R);
    expect(err(() => new RawValue('b', -129))).toEqual(R);
    expect(err(() => new RawValue('H', -1))).toEqual(R);
    expect(err(() => new RawValue('I', 2 ** 32))).toEqual(R);
    // 64-bit: a bigint, or a safe integer number
    expect(err(() => new Value('q', 1.5 as never))).toEqual(R);
    expect(err(() => new Value('q', 2n ** 63n as never))).toEqual(R);
    expect(err(() => new Value('Q', -1n as never))).toEqual(R);
    expect(err(() => new Value('Q', 2 ** 53 as never))).toEqual(R);
    expect(err(() => new Value('q', '1' as never))).toEqual(T);
    const q = track(new RawValue<bigint>('Q', 2n ** 64n - 1n));
    expect(err(() => (q.value = 2n ** 64n))).toEqual(R);
    expect(q.value).toBe(2n ** 64n - 1n);
    // floats take any number, and only numbers
    const d = track(new Value<number>('d', 0));
    d.value = NaN;
    expect(d.value).toBeNaN();
    d.value = -Infinity;
    expect(d.value).toBe(-Infinity);
    expect(err(() => (d.value = '1' as never))).toEqual(T);
    expect(err(() => (d.value = 1n as never))).toEqual(T);
    const f = track(new RawValue<number>('f', 1e300));
    expect(f.value).toBe(Infinity);
  });

  it('getLock(): an RLock by default, the lock given, none with lock: false', () => {
    const v = track(new Value('i', 1));
    expect(v.getLock().constructor.name).toBe('RLock');
    const l = track(new Lock());
    const w = track(new Value('d', 0, { lock: l }));
    expect(w.getLock()).toBe(l);
    w.close();
    expect(l.closed).toBe(false); // a lock that was given is not the Value's to close
    const raw = track(new Value('i', 0, { lock: false }));
    expect(thrown(() => raw.getLock()).code).toBe('ERR_MULTIPROC_NO_LOCK');
    expect('getLock' in track(new RawValue('i'))).toBe(false);
  });

  it('use after close: ERR_MULTIPROC_CLOSED; the lock a Value made is closed with it', () => {
    const v = new Value<number>('i', 3);
    const lock = v.getLock();
    v.close();
    v.close();
    expect(thrown(() => v.value).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(thrown(() => (v.value = 1)).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(thrown(() => v.getLock()).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(lock.closed).toBe(true);
    const a = new SharedArray('d', 3);
    a.close();
    expect(thrown(() => a.view).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(thrown(() => a.get(0)).code).toBe('ERR_MULTIPROC_CLOSED');
  });

  it('cannot travel through a Pipe (ERR_MULTIPROC_NOT_SENDABLE)', () => {
    const [a, b] = Pipe();
    try {
      for (const o of [track(new Value('i')), track(new RawValue('i')), track(new SharedArray('i', 2)), track(new RawArray('i', 2))]) {
        expect(thrown(() => a.send([o])).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
      }
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('SharedArray / RawArray', () => {
  it('view, length, get/set, iteration; from values or a size', () => {
    const a = track(new SharedArray<number>('i', [1, 2, 3]));
    expect(a.length).toBe(3);
    expect(a.view).toBeInstanceOf(Int32Array);
    expect([...a]).toEqual([1, 2, 3]);
    a.set(1, 20);
    a.view[2] = 30;
    expect(a.get(1)).toBe(20);
    expect(a.toArray()).toEqual([1, 20, 30]);
    expect(thrown(() => a.get(3))).toBeInstanceOf(RangeError);
    expect(thrown(() => a.set(-1, 0))).toBeInstanceOf(RangeError);
    const z = track(new RawArray('float64', 1000));
    expect(z.view.length).toBe(1000);
    expect(z.view.every((x) => x === 0)).toBe(true);
    const q = track(new SharedArray<bigint>('Q', [1n, 2n ** 63n]));
    expect(q.get(1)).toBe(2n ** 63n);
    expect(thrown(() => new SharedArray('i', -1))).toBeInstanceOf(RangeError);
  });

  it('set, fill and the initial values are checked like Value (before: wrapped or truncated silently)', () => {
    const code = (f: () => unknown) => thrown(f)?.code;
    const a = track(new SharedArray<number>('B', [1, 2, 3]));
    expect(code(() => a.set(0, 256))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => a.set(0, 1.5))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => a.set(0, 'x' as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => a.set(1.5, 0))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => a.set('0' as never, 0))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => a.fill(-1))).toBe('ERR_OUT_OF_RANGE');
    expect(code(() => a.fill(1, 0, 4))).toBe('ERR_OUT_OF_RANGE');
    expect(a.toArray()).toEqual([1, 2, 3]);
    expect(a.fill(7, 1).toArray()).toEqual([1, 7, 7]);
    expect(code(() => new RawArray('i', [1, 2 ** 31]))).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => new RawArray('i', [1, 2 ** 31])).message).toMatch(/"sizeOrValues\[1\]"/);
    expect(code(() => new SharedArray('h', [1, '2' as never]))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => new RawArray('Q', [1n, -1n]))).toBe('ERR_OUT_OF_RANGE');
    const d = track(new RawArray<number>('d', 2));
    d.fill(NaN);
    expect(Number.isNaN(d.get(1))).toBe(true);
    expect(code(() => d.set(0, 1n as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(code(() => track(new RawArray('i', 0)).get(0))).toBe('ERR_OUT_OF_RANGE');
  });

  // Before: new SharedArray('d', 2**40) ran memfd + fallocate for 8 TiB and set off the OOM killer. The
  // addon's own check (memoryLimit) must exist before anything that large is even tried here.
  it('a size larger than the machine can back fails at once, before any memory is committed', () => {
    const limit = (native as unknown as { memoryLimit?: () => { limit: number } }).memoryLimit;
    expect(typeof limit, 'the addon checks sizes against the machine').toBe('function');
    const m = limit!().limit;
    expect(m).toBeGreaterThan(2 ** 26);
    const before = arenaStats();
    for (const f of [() => new SharedArray('d', 2 ** 40), () => new RawArray('B', m + 1), () => new SharedMemory({ create: true, size: 2 ** 45 })]) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(RangeError);
      expect(e.code).toBe('ERR_OUT_OF_RANGE');
      expect(e.message).toContain(String(m)); // the limit
      expect(e.message).toMatch(/\d{9,} bytes/); // the request
    }
    expect(thrown(() => new SharedArray('d', 2 ** 40)).message).toMatch(/a SharedArray of 1099511627776 float64 needs 8796093022208 bytes/);
    expect(arenaStats()).toEqual(before);
    // Within the limit it still works (a 16 MiB + 1 array goes through the check).
    const ok = new RawArray('B', 16 * 2 ** 20 + 1);
    expect(ok.length).toBe(16 * 2 ** 20 + 1);
    ok.close();
  });

  it('a large array gets a region of its own; its bytes go when it is closed', () => {
    const before = arenaStats();
    const big = new RawArray('d', 100_000);
    expect(big.view.length).toBe(100_000);
    expect(arenaStats().regions).toBe(before.regions + 1);
    big.close();
    expect(arenaStats().regions).toBe(before.regions);
  });
});

describe('the arena', () => {
  it('5,000 Values share a few mappings and fds; closing them all releases the regions', () => {
    const fds0 = fdCount();
    const maps0 = memfdMaps();
    const vs = Array.from({ length: 5000 }, (_, i) => new Value('d', i, { lock: false }));
    const s = arenaStats();
    expect(s.liveObjects).toBe(5000);
    expect(s.regions).toBeLessThanOrEqual(2); // 5,000 × 16 bytes: two 64 KiB regions
    expect(fdCount() - fds0).toBe(s.regions);
    expect(memfdMaps() - maps0).toBe(s.regions);
    expect(vs[4321]!.value).toBe(4321);
    for (const v of vs) v.close();
    expect(arenaStats().regions).toBe(0);
    expect(fdCount()).toBe(fds0);
    expect(memfdMaps()).toBe(maps0);
  });

  it('freed bytes are reused (and zeroed)', () => {
    const keep = track(new Value('i', 1, { lock: false }));
    const a = new Value('i', 7, { lock: false });
    const offset = a._block.offset;
    a.close();
    const b = track(new Value('i', undefined, { lock: false }));
    expect(b._block.offset).toBe(offset);
    expect(b.value).toBe(0);
    expect(keep.value).toBe(1);
  });

  it('a forked child sees and changes the parent\'s values, and allocates in regions of its own', async () => {
    const v = track(new Value('i', 1));
    const arr = track(new SharedArray('i', 4));
    const { value } = await runInChild(() => {
      const seen = v.value;
      targets.writeShared(v, arr, 42);
      const mine = new Value('i', 5, { lock: false });
      const separate = mine._block.region !== v._block.region;
      return { seen, separate, regions: arenaStats().regions };
    });
    expect(value).toEqual({ seen: 1, separate: true, regions: 1 });
    expect(v.value).toBe(42);
    expect(arr.toArray()).toEqual([0, 10, 20, 30]);
  });
});

for (const method of ['fork', 'spawn', 'forkserver'] as const satisfies readonly StartMethod[]) {
  describe(`shared state as Process args (${method})`, () => {
    const start = (exp: keyof typeof targets, ...args: unknown[]) => startTarget(method, targets, targetsFile, exp, args);

    it('a child writes a Value and a SharedArray it got as args', async () => {
      const v = track(new Value('i', 0));
      const arr = track(new SharedArray('i', 3));
      const p = start('writeShared', v, arr, 99);
      await p.join(30_000);
      expect(p.exitCode).toBe(0);
      p.close();
      expect(v.value).toBe(99);
      expect(arr.toArray()).toEqual([0, 10, 20]);
    });
  });
}

describe('SharedMemory', () => {
  it('create, attach by name from another process, close vs unlink', async () => {
    const shm = new SharedMemory({ create: true, size: 1000 });
    try {
      expect(shm.size).toBe(1000);
      expect(shm.buf.length).toBe(1000);
      expect(shm.name).toMatch(/^\/mp-/);
      shm.buf.set([1, 2, 3]);
      const { value } = await runInChild(() => {
        const other = new SharedMemory({ name: shm.name });
        const seen = [...other.buf.subarray(0, 3)];
        other.buf[999] = 7;
        const size = other.size;
        other.close();
        return { seen, size };
      });
      expect(value).toEqual({ seen: [1, 2, 3], size: 1000 });
      expect(shm.buf[999]).toBe(7);
      const again = new SharedMemory({ name: shm.name.slice(1) }); // without the '/'
      expect(again.buf[0]).toBe(1);
      again.close();
      again.close();
      expect(thrown(() => again.buf).code).toBe('ERR_MULTIPROC_CLOSED');
      shm.unlink();
      expect(thrown(() => shm.unlink()).code).toBe('ENOENT');
      expect(thrown(() => new SharedMemory({ name: shm.name })).code).toBe('ENOENT');
      expect(shm.buf[0]).toBe(1); // this handle still maps it
    } finally {
      shm.close();
    }
  });

  it('an unrelated process (a fresh node) attaches by name', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const shm = new SharedMemory({ create: true, size: 100 });
    try {
      shm.buf.set([7, 8, 9]);
      const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/shm-attach.ts'), shm.name], {
        encoding: 'utf8',
        cwd: root,
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim())).toEqual({ size: 100, head: [7, 8, 9] });
      expect(shm.buf[99]).toBe(0x5a);
    } finally {
      shm.close();
      shm.unlink();
    }
  });

  it('bad options; an existing name cannot be created again (EEXIST)', () => {
    expect(thrown(() => new SharedMemory({ create: true }))).toBeInstanceOf(TypeError); // size is required
    expect(thrown(() => new SharedMemory({}))).toBeInstanceOf(TypeError);
    const a = new SharedMemory({ create: true, size: 10 });
    try {
      expect(thrown(() => new SharedMemory({ name: a.name, create: true, size: 10 })).code).toBe('EEXIST');
    } finally {
      a.close();
      a.unlink();
    }
  });

  it('the tracker unlinks what a crashed creator left, never what a live process still maps (gh-82300)', async () => {
    // Two creators crash (SIGKILL) without unlinking; this process keeps one of the objects mapped. Both stay
    // alive until it is mapped here (a creation runs the tracker, which would reap a dead creator's object).
    // Each creator takes its object off the resource tracker's list (the segment header still marks it as
    // tracked): the tracker checks every 100 ms from its own process and would otherwise race this test's
    // reapSharedMemory() for the orphan, so that only this call can have removed it.
    const [r, w] = posix.pipe();
    const [hold, holdW] = posix.pipe();
    const pids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const pid = posix.forkAndRun(() => {
        const s = new SharedMemory({ create: true, size: 64 });
        unregister('shared_memory', s.name);
        s.buf[0] = 40 + i;
        posix.writeAll(w, `${s.name}\n`);
        posix.read(hold, Buffer.alloc(1)); // blocks until killed
      });
      pids.push(pid);
    }
    posix.close(w);
    posix.close(hold);
    let text = '';
    const buf = Buffer.alloc(256);
    while (text.split('\n').length < 3) {
      const n = await posix.readAsync(r, buf);
      if (n === 0) break;
      text += buf.subarray(0, n).toString();
    }
    posix.close(r);
    const [usedName, orphanName] = text.trim().split('\n') as [string, string];
    const used = new SharedMemory({ name: usedName });
    for (const pid of pids) posix.kill(pid, 'SIGKILL');
    const statuses = await Promise.all(pids.map((p) => reap(p)));
    posix.close(holdW);
    try {
      expect(statuses.map((st) => st.kind)).toEqual(['signaled', 'signaled']);
      const seen: Error[] = [];
      const on = (e: Error) => seen.push(e);
      process.on('warning', on);
      let removed: string[];
      try {
        removed = reapSharedMemory();
        await new Promise((res) => setImmediate(res));
      } finally {
        process.off('warning', on);
      }
      expect(removed).toContain(orphanName);
      expect(removed).not.toContain(usedName);
      expect(seen.some((e) => (e as NodeJS.ErrnoException).code === 'MULTIPROC_SHM_REAPED' && e.message.includes(orphanName))).toBe(true);
      expect(thrown(() => new SharedMemory({ name: orphanName })).code).toBe('ENOENT');
      expect([40, 41]).toContain(used.buf[0]); // still there for the process that maps it
      used.close();
      // nobody maps it now: reaped (the tracker no longer knows it, so by this call alone)
      expect(reapSharedMemory()).toContain(usedName);
      expect(existsSync(`/dev/shm${usedName}`)).toBe(false);
    } finally {
      used.close();
      for (const name of [usedName, orphanName]) {
        try {
          posix.shmUnlink(name);
        } catch {
          /* reaped */
        }
      }
    }
  });

  it('a live creator\'s object is never reaped; track: false opts out', () => {
    const a = new SharedMemory({ create: true, size: 8 });
    const b = new SharedMemory({ create: true, size: 8, track: false });
    try {
      expect(reapSharedMemory()).not.toContain(a.name);
    } finally {
      a.close();
      a.unlink();
      b.close();
      b.unlink();
    }
  });

  it('cannot travel through a Pipe', () => {
    const [x, y] = Pipe();
    const s = new SharedMemory({ create: true, size: 8 });
    try {
      expect(thrown(() => x.send(s)).code).toBe('ERR_MULTIPROC_NOT_SENDABLE');
    } finally {
      x.close();
      y.close();
      s.close();
      s.unlink();
    }
  });
});

describe('the arena and the garbage collector', () => {
  it('objects the program forgot to close give their bytes back when collected; empty regions go', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(root, 'test/helpers/arena-gc.ts')], {
      encoding: 'utf8',
      cwd: root,
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const [first, second] = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(first.whileAlive).toBe(2 + 3000 * 4); // kept Value + its RLock; per round a Value, its RLock, an array, a Lock
    expect(first.afterGcLive).toBe(2);
    expect(first.afterGcRegions).toBe(1);
    expect(first.kept).toBe(5);
    expect(second.end).toEqual({ regions: 0, attached: 0, liveObjects: 0, bytes: 0 });
  });
});

// Every public function, method and constructor that takes a timeout, a size or a count, fed the same five
// hostile values: -1, NaN, a string, Infinity and 2^53. One table; each row states the documented outcome
// (lib/posix/errors.ts): a timeout accepts Infinity and 2^53 (no timeout) and refuses -1/NaN (RangeError
// ERR_OUT_OF_RANGE) and a string (TypeError ERR_INVALID_ARG_TYPE); a size or count refuses all five but the
// string with a RangeError. Rows where the API documents something else say so (poll's C-style -1, Python's
// maxsize <= 0).
//
// Every accepted value must return promptly: each row sets up a state in which the call does not have to wait
// (a message already sent, a free lock, a set event, an exited child), so a value that is accepted by mistake
// is a failed assertion, never a hang. "Accepted" means "not refused by argument validation": a call that then
// fails for another reason (a Condition not held) has taken the argument.
//
// The last test reads the public API's declarations (TypeScript's compiler API over lib/index.ts and
// lib/posix/index.ts) and fails if an exported function or method has a timeout/size/count parameter that
// is not in the table.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Connection,
  Event,
  JoinableQueue,
  Lock,
  Manager,
  Pipe,
  Pool,
  Process,
  Queue,
  RawArray,
  RLock,
  Semaphore,
  SharedArray,
  SharedMemory,
} from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { forkRun, reap } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const VALUES: [label: string, value: unknown][] = [
  ['-1', -1],
  ['NaN', NaN],
  ["'x'", 'x'],
  ['Infinity', Infinity],
  ['2**53', 2 ** 53],
];
type Label = '-1' | 'NaN' | "'x'" | 'Infinity' | '2**53';
const OK = 'accepted';
const T = 'TypeError ERR_INVALID_ARG_TYPE';
const R = 'RangeError ERR_OUT_OF_RANGE';
const TIMEOUT: Record<Label, string> = { '-1': R, NaN: R, "'x'": T, Infinity: OK, '2**53': OK };
const SIZE: Record<Label, string> = { '-1': R, NaN: R, "'x'": T, Infinity: R, '2**53': R };

interface Row {
  /** Class.method(param) or function(param); a property of an options argument as param.prop */
  api: string;
  kind: 'timeout' | 'size';
  /** Outcomes that differ from the kind's, as the API documents them. */
  except?: Partial<Record<Label, string>>;
  /** Calls the API with `v` in the parameter's place, in a state where an accepted value returns at once. */
  run(v: unknown): unknown;
}

const VALIDATION_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE']);

async function outcome(row: Row, v: unknown): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = row.run(v);
    if (r instanceof Promise) {
      await Promise.race([
        r,
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('hung: still waiting after 10 s')), 10_000))),
      ]);
    }
    return OK;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if ((err instanceof TypeError || err instanceof RangeError) && VALIDATION_CODES.has(err.code ?? '')) {
      return `${err.constructor.name} ${err.code}`;
    }
    if (err?.message?.startsWith('hung')) return 'hung';
    return OK; // refused later, for another reason: the argument itself was taken
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
// fixtures

/** A connected pair with one message (send) and one sendBytes message waiting on `b`. */
async function withPipe(f: (b: Connection, a: Connection) => unknown): Promise<unknown> {
  const [a, b] = Pipe();
  try {
    a.sendBytes(Buffer.from('bytes'));
    return await f(b, a);
  } finally {
    a.close();
    b.close();
  }
}

async function using<T extends { close(): unknown }>(make: () => T, f: (x: T) => unknown): Promise<unknown> {
  const x = make();
  try {
    return await f(x);
  } finally {
    await x.close();
  }
}

/** A lock-like object's acquisition that must be released again when it succeeded. */
async function acquired<T extends { release(): void }>(x: T, r: boolean | Promise<boolean>): Promise<void> {
  if (await r) x.release();
}

let exited: Process;
let manager: Manager;
const shmNames: string[] = [];
const uniq = (p: string) => `/multiproc-val-${process.pid}-${p}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  exited = new Process({ target: () => {} });
  exited.start();
  exited.joinSync();
  manager = await Manager.start({ startMethod: 'fork' });
});

afterAll(async () => {
  exited.close();
  await manager.shutdown();
  for (const n of shmNames) {
    try {
      posix.shmUnlink(n);
    } catch {
      /* never created */
    }
  }
});

const m4k = () => posix.mmap(4096);

/** A fresh message queue (2 × 16 bytes), closed and unlinked after `f`. */
function withMq<T>(f: (q: posix.MessageQueue) => T): T {
  const name = uniq('mq');
  const q = posix.mqOpen(name, { create: true, exclusive: true, maxMessages: 2, messageSize: 16 });
  try {
    return f(q);
  } finally {
    q.close();
    posix.mqUnlink(name);
  }
}

/** Runs `f` in a forked child and reports what it threw (or OK), so that the call cannot change this process. */
async function inChild(f: () => unknown): Promise<unknown> {
  const shared = posix.mmap(4096);
  try {
    const pid = await forkRun(async () => {
      const out = Buffer.from(await outcome({ api: '', kind: 'size', run: f }, undefined));
      new Uint8Array(shared.buffer).set(out);
      new Int32Array(shared.buffer, 4000, 1)[0] = out.length;
    });
    await reap(pid);
    const len = new Int32Array(shared.buffer, 4000, 1)[0]!;
    const text = Buffer.from(shared.buffer, 0, len).toString();
    if (text !== OK) throw Object.assign(new (text.startsWith('TypeError') ? TypeError : RangeError)(text), { code: text.split(' ')[1] });
    return undefined;
  } finally {
    shared.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// the table

const rows: Row[] = [
  // ---- Connection, Pipe ----
  { api: 'Connection.recv(t)', kind: 'timeout', run: (v) => withPipe((b, a) => (a.send(1), b.recvBytes().then(() => b.recv(v as number)))) },
  { api: 'Connection.recv(t.timeout)', kind: 'timeout', run: (v) => withPipe((b, a) => (a.send(1), b.recvBytes().then(() => b.recv({ timeout: v as number })))) },
  { api: 'Connection.recvBytes(t)', kind: 'timeout', run: (v) => withPipe((b) => b.recvBytes(v as number)) },
  { api: 'Connection.recvSync(timeout)', kind: 'timeout', run: (v) => withPipe((b, a) => (a.send(1), b.recvBytesSync(), b.recvSync(v as number))) },
  { api: 'Connection.recvBytesSync(timeout)', kind: 'timeout', run: (v) => withPipe((b) => b.recvBytesSync(v as number)) },
  { api: 'Connection.poll(t)', kind: 'timeout', run: (v) => withPipe((b) => b.poll(v as number)) },
  { api: 'Connection.pollSync(timeout)', kind: 'timeout', run: (v) => withPipe((b) => b.pollSync(v as number)) },
  { api: 'Connection.sendBytes(offset)', kind: 'size', run: (v) => withPipe((_b, a) => a.sendBytes(Buffer.alloc(4), v as number)) },
  { api: 'Connection.sendBytes(size)', kind: 'size', run: (v) => withPipe((_b, a) => a.sendBytes(Buffer.alloc(4), 0, v as number)) },
  {
    api: 'Connection.constructor(opts.maxMessageBytes)',
    kind: 'size',
    run: (v) => {
      const [r, w] = posix.pipe();
      posix.close(w);
      try {
        new Connection(r, { maxMessageBytes: v as number }).close();
      } catch (e) {
        posix.close(r);
        throw e;
      }
    },
  },
  { api: 'Pipe(opts.maxMessageBytes)', kind: 'size', run: (v) => Pipe(true, { maxMessageBytes: v as number }).forEach((c) => c.close()) },

  // ---- Process ----
  { api: 'Process.join(t)', kind: 'timeout', run: (v) => exited.join(v as number) },
  { api: 'Process.join(t.timeout)', kind: 'timeout', run: (v) => exited.join({ timeout: v as number }) },
  { api: 'Process.joinSync(timeout)', kind: 'timeout', run: (v) => exited.joinSync(v as number) },

  // ---- Queue, JoinableQueue ----
  { api: 'Queue.constructor(maxsize)', kind: 'size', except: { '-1': OK /* Python: <= 0 is unbounded */ }, run: (v) => new Queue(v as number).close() },
  { api: 'Queue.constructor(opts.bufferBytes)', kind: 'size', run: (v) => new Queue(0, { bufferBytes: v as number }).close() },
  { api: 'JoinableQueue.constructor(maxsize)', kind: 'size', except: { '-1': OK }, run: (v) => new JoinableQueue(v as number).close() },
  { api: 'Queue.put(opts)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => q.put(1, v as number)) },
  { api: 'Queue.put(opts.timeout)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => q.put(1, { timeout: v as number })) },
  { api: 'Queue.putSync(opts)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => q.putSync(1, v as number)) },
  { api: 'Queue.get(opts)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => (q.putSync(1), q.get(v as number))) },
  { api: 'Queue.get(opts.timeout)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => (q.putSync(1), q.get({ timeout: v as number }))) },
  { api: 'Queue.getSync(opts)', kind: 'timeout', run: (v) => using(() => new Queue(), (q) => (q.putSync(1), q.getSync(v as number))) },
  { api: 'JoinableQueue.join(opts)', kind: 'timeout', run: (v) => using(() => new JoinableQueue(), (q) => q.join(v as number)) },
  { api: 'JoinableQueue.joinSync(timeout)', kind: 'timeout', run: (v) => using(() => new JoinableQueue(), (q) => q.joinSync(v as number)) },

  // ---- Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier ----
  ...(['Lock', 'RLock'] as const).flatMap((name): Row[] => {
    const make = () => (name === 'Lock' ? new Lock() : new RLock());
    return [
      { api: `${name}.acquire(t)`, kind: 'timeout', run: (v) => using(make, (l) => acquired(l, l.acquire(v as number))) },
      { api: `${name}.acquire(t.timeout)`, kind: 'timeout', run: (v) => using(make, (l) => acquired(l, l.acquire({ timeout: v as number }))) },
      { api: `${name}.acquireSync(timeout)`, kind: 'timeout', run: (v) => using(make, (l) => acquired(l, l.acquireSync(v as number))) },
      { api: `${name}.hold(t)`, kind: 'timeout', run: (v) => using(make, async (l) => (await l.hold(v as number))[Symbol.dispose]()) },
      { api: `${name}.holdSync(timeout)`, kind: 'timeout', run: (v) => using(make, (l) => l.holdSync(v as number)[Symbol.dispose]()) },
      { api: `${name}.withLock(t)`, kind: 'timeout', run: (v) => using(make, (l) => l.withLock(() => 1, v as number)) },
      { api: `${name}.withLockSync(timeout)`, kind: 'timeout', run: (v) => using(make, (l) => l.withLockSync(() => 1, v as number)) },
    ];
  }),
  { api: 'Semaphore.constructor(value)', kind: 'size', run: (v) => new Semaphore(v as number).close() },
  { api: 'BoundedSemaphore.constructor(value)', kind: 'size', run: (v) => new BoundedSemaphore(v as number).close() },
  { api: 'Semaphore.acquire(t)', kind: 'timeout', run: (v) => using(() => new Semaphore(1), (s) => s.acquire(v as number)) },
  { api: 'Semaphore.acquireSync(timeout)', kind: 'timeout', run: (v) => using(() => new Semaphore(1), (s) => s.acquireSync(v as number)) },
  { api: 'Semaphore.release(n)', kind: 'size', run: (v) => using(() => new Semaphore(0), (s) => s.release(v as number)) },
  { api: 'Condition.acquire(t)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => acquired(c, c.acquire(v as number))) },
  { api: 'Condition.acquireSync(timeout)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => acquired(c, c.acquireSync(v as number))) },
  // Not holding the lock: an accepted timeout gets ERR_MULTIPROC_NOT_OWNER at once (the check comes after).
  { api: 'Condition.wait(t)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => c.wait(v as number)) },
  { api: 'Condition.waitSync(timeout)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => c.waitSync(v as number)) },
  { api: 'Condition.waitFor(t)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => c.waitFor(() => true, v as number)) },
  { api: 'Condition.waitForSync(timeout)', kind: 'timeout', run: (v) => using(() => new Condition(), (c) => c.waitForSync(() => true, v as number)) },
  { api: 'Condition.notify(n)', kind: 'size', run: (v) => using(() => new Condition(), (c) => c.withLockSync(() => c.notify(v as number))) },
  { api: 'Event.wait(t)', kind: 'timeout', run: (v) => using(() => new Event(), (e) => (e.set(), e.wait(v as number))) },
  { api: 'Event.waitSync(timeout)', kind: 'timeout', run: (v) => using(() => new Event(), (e) => (e.set(), e.waitSync(v as number))) },
  { api: 'Barrier.constructor(parties)', kind: 'size', run: (v) => new Barrier(v as number).close() },
  { api: 'Barrier.constructor(opts.timeout)', kind: 'timeout', run: (v) => new Barrier(1, { timeout: v as number }).close() },
  { api: 'Barrier.wait(t)', kind: 'timeout', run: (v) => using(() => new Barrier(1), (b) => b.wait(v as number)) },
  { api: 'Barrier.waitSync(timeout)', kind: 'timeout', run: (v) => using(() => new Barrier(1), (b) => b.waitSync(v as number)) },

  // ---- SharedArray, RawArray, SharedMemory ----
  { api: 'SharedArray.constructor(sizeOrValues)', kind: 'size', run: (v) => new SharedArray('d', v as number).close() },
  { api: 'RawArray.constructor(sizeOrValues)', kind: 'size', run: (v) => new RawArray('i', v as number).close() },
  { api: 'SharedArray.get(i)', kind: 'size', run: (v) => using(() => new RawArray('i', 4), (a) => a.get(v as number)) },
  { api: 'SharedArray.set(i)', kind: 'size', run: (v) => using(() => new RawArray('i', 4), (a) => a.set(v as number, 1)) },
  { api: 'SharedArray.fill(start)', kind: 'size', run: (v) => using(() => new RawArray('i', 4), (a) => a.fill(1, v as number)) },
  { api: 'SharedArray.fill(end)', kind: 'size', run: (v) => using(() => new RawArray('i', 4), (a) => a.fill(1, 0, v as number)) },
  { api: 'SharedMemory.constructor(opts.size)', kind: 'size', run: (v) => new SharedMemory({ create: true, size: v as number }).close() },

  // ---- Pool (nothing is forked: every value here is refused before a worker is needed) ----
  { api: 'Pool.constructor(opts.processes)', kind: 'size', run: (v) => new Pool({ processes: v as number }).terminate() },
  { api: 'Pool.constructor(opts.maxTasksPerChild)', kind: 'size', run: (v) => new Pool({ processes: 1, maxTasksPerChild: v as number }).terminate() },
  ...(['map', 'imap', 'imapUnordered', 'starmap'] as const).map(
    (m): Row => ({
      api: `Pool.${m}(opts.chunkSize)`,
      kind: 'size',
      run: async (v) => {
        const pool = new Pool({ processes: 1 });
        try {
          const r = (pool[m] as (f: unknown, it: unknown[], o: object) => unknown)((x: number) => x, [[1]], { chunkSize: v });
          if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') for await (const _ of r as AsyncIterable<unknown>);
          else await r;
        } finally {
          await pool.terminate();
        }
      },
    }),
  ),

  // ---- Manager and its proxies (one server for the file) ----
  { api: 'Manager.start(opts.maxMessageBytes)', kind: 'size', run: async (v) => (await Manager.start({ startMethod: 'fork', maxMessageBytes: v as number })).shutdown() },
  { api: 'Manager.start(opts.startTimeout)', kind: 'timeout', run: async (v) => (await Manager.start({ startMethod: 'fork', startTimeout: v as number })).shutdown() },
  { api: 'Manager.connect(opts.maxMessageBytes)', kind: 'size', run: async (v) => (await Manager.connect(manager.address, manager.authkey, { maxMessageBytes: v as number })).shutdown() },
  // Python's maxsize: 0 or less is unbounded (the server checks it)
  { api: 'Manager.Queue(maxsize)', kind: 'size', except: { '-1': OK }, run: async (v) => manager.Queue(v as number) },
  { api: 'QueueProxy.put(t)', kind: 'timeout', run: async (v) => (await manager.Queue()).put(1, v as number) },
  { api: 'QueueProxy.putSync(t)', kind: 'timeout', run: async (v) => (await manager.Queue()).putSync(1, v as number) },
  { api: 'QueueProxy.get(t)', kind: 'timeout', run: async (v) => { const q = await manager.Queue(); await q.put(1); return q.get(v as number); } },
  { api: 'QueueProxy.get(t.timeout)', kind: 'timeout', run: async (v) => { const q = await manager.Queue(); await q.put(1); return q.get({ timeout: v as number }); } },
  { api: 'QueueProxy.getSync(t)', kind: 'timeout', run: async (v) => { const q = await manager.Queue(); await q.put(1); return q.getSync(v as number); } },
  { api: 'LockProxy.acquire(t)', kind: 'timeout', run: async (v) => { const l = await manager.Lock(); if (await l.acquire(v as number)) await l.release(); } },
  { api: 'LockProxy.acquireSync(t)', kind: 'timeout', run: async (v) => { const l = await manager.Lock(); if (l.acquireSync(v as number)) await l.release(); } },

  // ---- posix: fds ----
  {
    api: 'poll(timeoutMs)',
    kind: 'timeout',
    except: { '-1': OK /* as in C: -1 waits for ever */ },
    run: (v) => {
      const [r, w] = posix.pipe();
      try {
        posix.write(w, 'x');
        return posix.poll(r, { readable: true }, v as number);
      } finally {
        posix.close(r);
        posix.close(w);
      }
    },
  },
  ...(['read', 'write', 'writeAll', 'readAsync', 'writeAsync'] as const).flatMap((name) =>
    (['offset', 'length'] as const).map(
      (param): Row => ({
        api: `${name}(${param})`,
        kind: 'size',
        run: async (v) => {
          const [r, w] = posix.pipe();
          try {
            posix.write(w, 'abcd');
            const buf = Buffer.alloc(4);
            const fd = name.startsWith('read') ? r : w;
            const args = param === 'offset' ? [v] : [0, v];
            return await (posix[name] as (...a: unknown[]) => unknown)(fd, buf, ...args);
          } finally {
            posix.close(r);
            posix.close(w);
          }
        },
      }),
    ),
  ),
  { api: 'setPipeSize(size)', kind: 'size', run: (v) => { const [r, w] = posix.pipe(); try { posix.setPipeSize(w, v as number); } finally { posix.close(r); posix.close(w); } } },
  ...(['recvFds', 'recvFdsAsync'] as const).flatMap((name) =>
    (['maxFds', 'maxBytes'] as const).map(
      (param): Row => ({
        api: `${name}(${param})`,
        kind: 'size',
        run: async (v) => {
          const [a, b] = posix.socketpair('stream');
          try {
            posix.write(a, 'x');
            const got = await (posix[name] as (...x: unknown[]) => Promise<posix.ReceivedFds> | posix.ReceivedFds)(b, ...(param === 'maxFds' ? [v] : [16, v]));
            for (const fd of got.fds) posix.close(fd);
          } finally {
            posix.close(a);
            posix.close(b);
          }
        },
      }),
    ),
  ),
  ...(['pingPongBench'] as const).map(
    (name): Row => ({
      api: `${name}(iterations)`,
      kind: 'size',
      except: { '-1': R },
      run: (v) => { const [r, w] = posix.pipe(); try { return posix.pingPongBench(r, w, v as number, true); } finally { posix.close(r); posix.close(w); } },
    }),
  ),

  // ---- posix: shared memory ----
  { api: 'mmap(length)', kind: 'size', run: (v) => posix.mmap(v as number).close() },
  {
    api: 'mmap(opts.offset)',
    kind: 'size',
    run: (v) => {
      const fd = posix.memfdCreate('val');
      try {
        posix.ftruncate(fd, 8192);
        posix.mmap(4096, { fd, offset: v as number }).close();
      } finally {
        posix.close(fd);
      }
    },
  },
  { api: 'ftruncate(size)', kind: 'size', run: (v) => { const fd = posix.memfdCreate('val'); try { posix.ftruncate(fd, v as number); } finally { posix.close(fd); } } },
  { api: 'fallocate(offset)', kind: 'size', run: (v) => { const fd = posix.memfdCreate('val'); try { posix.fallocate(fd, v as number, 1); } finally { posix.close(fd); } } },
  { api: 'fallocate(length)', kind: 'size', run: (v) => { const fd = posix.memfdCreate('val'); try { posix.fallocate(fd, 0, v as number); } finally { posix.close(fd); } } },
  { api: 'Mapping.msync(offset)', kind: 'size', run: (v) => using(m4k, (m) => m.msync(v as number)) },
  { api: 'Mapping.msync(length)', kind: 'size', run: (v) => using(m4k, (m) => m.msync(0, v as number)) },
  {
    api: 'shmOpen(opts.size)',
    kind: 'size',
    run: (v) => {
      const name = uniq('shm');
      shmNames.push(name);
      posix.close(posix.shmOpen(name, { create: true, exclusive: true, size: v as number }));
    },
  },

  // ---- posix: process-shared sync objects, futex, message queues ----
  { api: 'Semaphore.init(value)', kind: 'size', run: (v) => using(m4k, (m) => posix.Semaphore.init(m, 0, v as number).destroy()) },
  {
    api: 'Semaphore.open(opts.value)',
    kind: 'size',
    run: (v) => {
      const name = uniq('sem');
      const s = posix.Semaphore.open(name, { create: true, exclusive: true, value: v as number });
      s.close();
      posix.Semaphore.unlink(name);
    },
  },
  { api: 'Semaphore.timedWait(ms)', kind: 'timeout', run: (v) => using(m4k, (m) => posix.Semaphore.init(m, 0, 1).timedWait(v as number)) },
  { api: 'Semaphore.waitAsync(t)', kind: 'timeout', run: (v) => using(m4k, (m) => posix.Semaphore.init(m, 0, 1).waitAsync(v as number)) },
  { api: 'Semaphore.waitAsync(t.timeout)', kind: 'timeout', run: (v) => using(m4k, (m) => posix.Semaphore.init(m, 0, 1).waitAsync({ timeout: v as number })) },
  { api: 'Mutex.timedLock(ms)', kind: 'timeout', run: (v) => using(m4k, (m) => { const mx = posix.Mutex.init(m, 0); if (mx.timedLock(v as number)) mx.unlock(); }) },
  {
    // Waits for a signal, which a forked child sends every 10 ms while it runs.
    api: 'Cond.wait(ms)',
    kind: 'timeout',
    run: (v) =>
      using(m4k, async (m) => {
        const mx = posix.Mutex.init(m, 0);
        const cond = posix.Cond.init(m, 128);
        const stop = new Int32Array(m.buffer, 1024, 1);
        const pid = await forkRun(() => {
          for (let i = 0; i < 1000 && Atomics.load(stop, 0) === 0; i++) {
            mx.lock();
            cond.signal();
            mx.unlock();
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          }
        });
        try {
          mx.lock();
          try {
            cond.wait(mx, v as number);
          } finally {
            mx.unlock();
          }
        } finally {
          Atomics.store(stop, 0, 1);
          await reap(pid);
        }
      }),
  },
  ...(['Semaphore', 'Mutex', 'Cond', 'Barrier'] as const).flatMap((name): Row[] => {
    const init = (m: posix.Mapping, off: number) =>
      name === 'Semaphore' ? posix.Semaphore.init(m, off, 0) : name === 'Barrier' ? posix.Barrier.init(m, off, 1) : posix[name].init(m, off);
    return [
      { api: `${name}.init(offset)`, kind: 'size', run: (v) => using(m4k, (m) => init(m, v as number).destroy()) },
      { api: `${name}.attach(offset)`, kind: 'size', run: (v) => using(m4k, (m) => (init(m, 0), posix[name].attach(m, v as number).destroy())) },
    ];
  }),
  { api: 'Barrier.init(count)', kind: 'size', run: (v) => using(m4k, (m) => posix.Barrier.init(m, 0, v as number).destroy()) },
  { api: 'futexWait(timeout)', kind: 'timeout', run: (v) => using(m4k, (m) => posix.futexWait(m, 0, 1 /* not the value: returns at once */, v as number)) },
  { api: 'futexWaitAsync(opts.timeout)', kind: 'timeout', run: (v) => using(m4k, (m) => posix.futexWaitAsync(m, 0, 1, { timeout: v as number })) },
  { api: 'futexWait(offset)', kind: 'size', run: (v) => using(m4k, (m) => posix.futexWait(m, v as number, 1, 0)) },
  { api: 'futexWaitAsync(offset)', kind: 'size', run: (v) => using(m4k, (m) => posix.futexWaitAsync(m, v as number, 1, { timeout: 0 })) },
  { api: 'futexWake(offset)', kind: 'size', run: (v) => using(m4k, (m) => posix.futexWake(m, v as number)) },
  { api: 'futexWake(count)', kind: 'size', run: (v) => using(m4k, (m) => posix.futexWake(m, 0, v as number)) },
  ...(['maxMessages', 'messageSize'] as const).map(
    (param): Row => ({
      api: `mqOpen(opts.${param})`,
      kind: 'size',
      run: (v) => {
        const name = uniq('mq');
        posix.mqOpen(name, { create: true, exclusive: true, [param]: v }).close();
        posix.mqUnlink(name);
      },
    }),
  ),
  { api: 'MessageQueue.timedSend(ms)', kind: 'timeout', run: (v) => withMq((q) => q.timedSend('x', v as number)) },
  { api: 'MessageQueue.timedReceive(ms)', kind: 'timeout', run: (v) => withMq((q) => (q.send('x'), q.timedReceive(v as number))) },
  { api: 'mqPingPongBench(iterations)', kind: 'size', run: (v) => withMq((q) => posix.mqPingPongBench(q, q, v as number, true)) },

  // ---- posix: signals ----
  // In a child: SIGUSR1 is recorded, blocked and already pending, so sigsuspend (which unblocks it) returns at once.
  {
    api: 'sigsuspend(timeout)',
    kind: 'timeout',
    run: (v) =>
      inChild(() => {
        posix.sigaction('SIGUSR1', 'record');
        posix.sigprocmask('block', ['SIGUSR1']);
        posix.kill(posix.getpid(), 'SIGUSR1');
        posix.sigsuspend([], v as number);
      }),
  },

  // ---- posix: process ----
  // Run in a child: an accepted limit would change this process's own.
  ...(['soft', 'hard'] as const).map(
    (param): Row => ({
      api: `setrlimit(limits.${param})`,
      kind: 'size',
      except: { Infinity: OK /* RLIM_INFINITY */ },
      run: (v) =>
        inChild(() => {
          const cur = posix.getrlimit('core');
          posix.setrlimit('core', { ...cur, [param]: v });
        }),
    }),
  ),
];

/** Public APIs with such a parameter that are deliberately not in the table, and why. */
const NOT_IN_TABLE: Record<string, string> = {
  'sigqueue(value)': "a signal's payload (si_value: any int32), not a size or count",
  'setForkQuiesceTimeout(ms)': 'the fork machinery (lead-owned): its own range 1..600000 ms, refuses the rest with RangeError',
  'DictProxy.increment(start)': 'a value to add to, not a size',
  'DictProxy.incrementSync(start)': 'a value to add to, not a size',
  'DictProxy.update(entries.size)': "a Map's own size property, not an option",
  'DictProxy.updateSync(entries.size)': "a Map's own size property, not an option",
  'Manager.dict(init.size)': "a Map's own size property, not an option",
  'checkSendable(seen.size)': "a Set's own size property (an internal recursion argument)",
  'ListProxy.get(i)': "a Python list index (negative counts from the end), checked by the server like Python's list",
  'ListProxy.getSync(i)': 'as get(i)',
  'ListProxy.set(i)': 'as get(i)',
  'ListProxy.setSync(i)': 'as get(i)',
  'ListProxy.pop(i)': 'as get(i)',
  'ListProxy.popSync(i)': 'as get(i)',
};
/** Proxies are rebuilt from the ProxyData a Manager made (a message limit it already checked). */
const FROM_PROXY_DATA = /^(\w+Proxy\.constructor|rebuildProxy)\(data\.maxMessageBytes\)$/;

describe('every timeout, size and count parameter of the public API', () => {
  for (const row of rows) {
    it(row.api, async () => {
      const expected = { ...(row.kind === 'timeout' ? TIMEOUT : SIZE), ...row.except };
      const got: Record<string, string> = {};
      for (const [label, v] of VALUES) got[label] = await outcome(row, v);
      expect(got).toEqual(expected);
    });
  }
});

describe('the messages are Node\'s', () => {
  it('"The value of "timeout" is out of range. It must be ... Received ..."', async () => {
    const [a, b] = Pipe();
    try {
      await expect(b.recv(-1)).rejects.toThrow('The value of "timeout" is out of range. It must be >= 0 (milliseconds) or Infinity. Received -1');
      expect(() => b.recvSync('x' as never)).toThrow('The "timeout" argument must be of type number. Received type string (\'x\')');
      await expect(b.recv({ timeout: NaN })).rejects.toThrow('The value of "options.timeout" is out of range. It must be >= 0 (milliseconds) or Infinity. Received NaN');
      expect(() => new SharedArray('d', 2 ** 53)).toThrow('The value of "size" is out of range. It must be an integer >= 0. Received 9007199254740992');
    } finally {
      a.close();
      b.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// completeness: the public declarations

const here = path.dirname(fileURLToPath(import.meta.url));
const PARAM = /^(t|ms|n|timeout|timeoutMs|size|length|offset|count|value|parties|maxsize|iterations|maxFds|maxBytes|start|end|i|sizeOrValues)$/;
const PROP = /^(timeout|startTimeout|size|maxMessageBytes|bufferBytes|processes|maxTasksPerChild|chunkSize|value|maxMessages|messageSize|offset|soft|hard)$/;

/** "Class.method(param)" / "fn(param.prop)" for every exported callable whose parameter is a number (or options with one). */
function publicParams(): Set<string> {
  const entries = [path.join(here, '../lib/index.ts'), path.join(here, '../lib/posix/index.ts')];
  const program = ts.createProgram(entries, { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const out = new Set<string>();
  const hasNumber = (type: ts.Type): boolean => (type.isUnion() ? type.types.some(hasNumber) : (type.flags & ts.TypeFlags.NumberLike) !== 0);
  const visitSignature = (owner: string, sig: ts.Signature, decl: ts.Node): void => {
    for (const p of sig.getParameters()) {
      const type = checker.getTypeOfSymbolAtLocation(p, decl);
      const name = p.getName();
      if (PARAM.test(name) && hasNumber(type)) out.add(`${owner}(${name})`);
      const members = type.isUnion() ? type.types : [type];
      for (const m of members) {
        if (!(m.flags & ts.TypeFlags.Object) || m.getCallSignatures().length > 0 || checker.isArrayType(m)) continue;
        if ((m.getSymbol()?.flags ?? 0) & ts.SymbolFlags.Class) continue; // an object of a class, not options
        for (const prop of m.getProperties()) {
          if (!PROP.test(prop.getName())) continue;
          if (hasNumber(checker.getTypeOfSymbolAtLocation(prop, decl))) out.add(`${owner}(${name}.${prop.getName()})`);
        }
      }
    }
  };
  const internal = (s: ts.Symbol) => s.getName().startsWith('_') || s.getName().startsWith('#') || ts.getJSDocTags(s.valueDeclaration ?? ({} as ts.Node)).some?.((t) => t.tagName.text === 'internal');
  for (const file of entries) {
    const mod = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (let sym of checker.getExportsOfModule(mod)) {
      if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      const decl = sym.valueDeclaration;
      if (!decl || decl.getSourceFile().fileName.includes('/bench/')) continue;
      const name = sym.getName();
      if (sym.flags & ts.SymbolFlags.Function) {
        for (const sig of checker.getTypeOfSymbolAtLocation(sym, decl).getCallSignatures()) visitSignature(name, sig, decl);
      } else if (sym.flags & ts.SymbolFlags.Class) {
        const ctorType = checker.getTypeOfSymbolAtLocation(sym, decl);
        for (const sig of ctorType.getConstructSignatures()) visitSignature(`${name}.constructor`, sig, decl);
        for (const s of checker.getPropertiesOfType(ctorType)) {
          if (s.flags & ts.SymbolFlags.Method && !internal(s)) {
            for (const sig of checker.getTypeOfSymbolAtLocation(s, decl).getCallSignatures()) visitSignature(`${name}.${s.getName()}`, sig, decl);
          }
        }
        const instance = checker.getDeclaredTypeOfSymbol(sym);
        for (const s of checker.getPropertiesOfType(instance)) {
          if (!(s.flags & ts.SymbolFlags.Method) || internal(s)) continue;
          for (const sig of checker.getTypeOfSymbolAtLocation(s, decl).getCallSignatures()) visitSignature(`${name}.${s.getName()}`, sig, decl);
        }
      }
    }
  }
  return out;
}

describe('the table is complete', () => {
  it('every exported function or method with a timeout/size/count parameter has a row (or a stated reason)', () => {
    const inTable = new Set([...rows.map((r) => r.api), ...Object.keys(NOT_IN_TABLE)]);
    // A row for a base class's method covers the subclasses that inherit it.
    const covered = (key: string): boolean => {
      if (FROM_PROXY_DATA.test(key) || inTable.has(key)) return true;
      // { timeout } of an options argument goes through the same parser as the bare timeout of that argument
      key = key.replace(/\((t|opts)\.timeout\)$/, '($1)').replace(/^MessageQueue\.open\(/, 'mqOpen(');
      if (inTable.has(key)) return true;
      const m = /^(\w+)\.(.+)$/.exec(key);
      if (!m) return false;
      const alias: Record<string, string[]> = {
        SimpleQueue: ['Queue'],
        JoinableQueue: ['Queue'],
        BoundedSemaphore: ['Semaphore'],
        RawArray: ['SharedArray'],
        SharedArray: ['RawArray'],
        RawValue: ['Value'],
        RLock: ['Lock'],
        Condition: ['Lock'],
        DictProxy: ['BaseProxy'],
      };
      return (alias[m[1]!] ?? []).some((base) => inTable.has(`${base}.${m[2]}`));
    };
    const missing = [...publicParams()].filter((k) => !covered(k)).sort();
    expect(missing, 'public parameters without a row in test/validation.test.ts').toEqual([]);
  }, 60_000);
});


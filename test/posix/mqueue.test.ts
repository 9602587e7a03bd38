// The mqueue family: POSIX message queues between real processes (forked children and fresh `node` children,
// by name and by inherited descriptor), priorities, timed and async forms (no threadpool), attributes, the
// kernel's limits named in the errors, use after close, and argument checks.
//
// /dev/mqueue is where the queues of this IPC namespace show up as files (mq_overview(7)). mq_open works
// without it, but the leak check (and the mode test) read it: if it is not mounted we mount it (root only).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { forkRun, gate, reap, thrown } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';
import { readThroughThreadpool, runHelper } from '../helpers/files.js';

const MQ_DIR = '/dev/mqueue';

function mqueueMounted(): boolean {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === MQ_DIR && / - mqueue /.test(l));
  } catch {
    return false;
  }
}

/** Mounts the mqueue filesystem on /dev/mqueue if it is not; returns why it is unavailable, if it is. */
function ensureMqueueMounted(): string | undefined {
  if (mqueueMounted()) return undefined;
  try {
    fs.mkdirSync(MQ_DIR, { recursive: true });
  } catch (e) {
    return `cannot create ${MQ_DIR}: ${(e as Error).message}`;
  }
  const r = spawnSync('mount', ['-t', 'mqueue', 'none', MQ_DIR], { encoding: 'utf8' });
  if (r.status !== 0 || !mqueueMounted()) {
    return `mount -t mqueue none ${MQ_DIR} failed (needs root / CAP_SYS_ADMIN): ${r.error?.message ?? r.stderr.trim()}`;
  }
  console.log(`mqueue.test: ${MQ_DIR} was not mounted; mounted it (mount -t mqueue none ${MQ_DIR}) and left it mounted`);
  return undefined;
}

// Before checkLeaks(), so that its snapshot of /dev/mqueue sees the mounted directory.
const mqueueUnavailable = ensureMqueueMounted();
if (mqueueUnavailable) console.log(`mqueue.test: ${mqueueUnavailable}; the /dev/mqueue checks are skipped`);

checkLeaks();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (m: posix.MqMessage | null) => (m === null ? null : Buffer.from(m.data).toString());
let seq = 0;
const uniqueName = () => `/multiproc-test-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** Creates queues, runs `body`, then closes and unlinks them whatever happens. */
async function withQueues<T>(
  specs: posix.MqOpenOptions[],
  body: (...queues: posix.MessageQueue[]) => T | Promise<T>,
): Promise<T> {
  const queues: posix.MessageQueue[] = [];
  try {
    for (const spec of specs) queues.push(posix.mqOpen(uniqueName(), { create: true, exclusive: true, ...spec }));
    return await body(...queues);
  } finally {
    dropQueues(queues);
  }
}

/** Closes and unlinks every queue. */
function dropQueues(queues: posix.MessageQueue[]): void {
  for (const q of queues) {
    q.close();
    posix.mqUnlink(q.name!);
  }
}

/** Creates up to `times` queues of `spec` until mq_open refuses, then drops them: how many it made, and the refusal. */
function openUntilRefused(times: number, spec: posix.MqOpenOptions): { opened: number; err: NodeJS.ErrnoException | undefined } {
  const queues: posix.MessageQueue[] = [];
  try {
    for (let i = 0; i < times; i++) queues.push(posix.mqOpen(uniqueName(), { create: true, ...spec }));
    return { opened: queues.length, err: undefined };
  } catch (e) {
    return { opened: queues.length, err: e as NodeJS.ErrnoException };
  } finally {
    dropQueues(queues);
  }
}


/** Whether this process may exceed the /proc/sys/fs/mqueue limits (CAP_SYS_RESOURCE). */
function hasSysResource(): boolean {
  const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
  return ((capEff >> 24n) & 1n) === 1n;
}

const MESSAGES: [string, number][] = [
  ['first low', 1],
  ['urgent', 9],
  ['normal', 5],
  ['second low', 1],
  ['background', 0],
];
const BY_PRIORITY = [
  ['urgent', 9],
  ['normal', 5],
  ['first low', 1],
  ['second low', 1],
  ['background', 0],
];

describe('send / receive', () => {
  it('higher priority first, FIFO within a priority; strings and bytes', async () => {
    await withQueues([{ maxMessages: 10, messageSize: 64 }], (q) => {
      for (const [t, p] of MESSAGES) q.send(t, p);
      expect(q.getattr().currentMessages).toBe(5);
      expect(Array.from({ length: 5 }, () => q.receive()).map((m) => [text(m), m.priority])).toEqual(BY_PRIORITY);
      q.send(new Uint8Array([0, 1, 2, 255]), posix.MQ_PRIO_MAX - 1);
      const buf = new Uint8Array(64);
      const m = q.receive(buf);
      expect(m).toEqual({ data: new Uint8Array([0, 1, 2, 255]), priority: 32767 });
      expect(m.data.buffer).toBe(buf.buffer); // a view of the caller's buffer
      q.send(''); // an empty message is a message
      expect(q.receive().data.length).toBe(0);
    });
  });

  it('between a parent and a forked child, both ways, with priorities', async () => {
    await withQueues([{ maxMessages: 10, messageSize: 128 }, { maxMessages: 10, messageSize: 128 }], async (req, rep) => {
      for (const [t, p] of MESSAGES) req.send(t, p); // queued before the child looks: order is by priority
      const pid = await forkRun(() => {
        const got = Array.from({ length: 5 }, () => req.receive()).map((m) => [text(m), m.priority]);
        rep.send(JSON.stringify(got), 1);
        const ping = req.receive(); // blocks until the parent sends
        rep.send(`pong to ${text(ping)}`, 3);
        rep.send('low', 0);
        rep.send('high', 9);
      });
      expect(JSON.parse(text(await rep.receiveAsync())!)).toEqual(BY_PRIORITY);
      req.send('ping');
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
      expect([rep.receive(), rep.receive(), rep.receive()].map((m) => [text(m), m.priority])).toEqual([
        ['high', 9],
        ['pong to ping', 3],
        ['low', 0],
      ]);
    });
  });

  for (const how of ['name', 'fd'] as const) {
    it(`between a parent and a fresh node child that opened the queues by ${how === 'name' ? 'name' : 'inherited descriptor (stdio 3, 4)'}`, async () => {
      await withQueues([{ maxMessages: 10, messageSize: 256 }, { maxMessages: 10, messageSize: 256 }], async (req, rep) => {
        for (const [t, p] of MESSAGES) req.send(t, p);
        const args = how === 'name' ? ['name', req.name!, rep.name!, '6'] : ['fd', '6'];
        const done = runHelper('mqueue-peer.ts', args, how === 'fd' ? [req.fd, rep.fd] : []);
        await req.sendAsync('sent while it runs', 0); // priority 0: after 'background' whenever it arrives
        expect(await done).toMatchObject({ code: 0, signal: null });
        // the child's four replies, by priority
        const replies = [rep.receive(), rep.receive(), rep.receive(), rep.receive()];
        expect(replies.map((m) => m.priority)).toEqual([9, 5, 1, 0]);
        expect([text(replies[0]!), text(replies[1]!), text(replies[3]!)]).toEqual(['high', 'mid', 'low']);
        const got = JSON.parse(text(replies[2]!)!) as [string, number][];
        expect(got).toEqual([...BY_PRIORITY, ['sent while it runs', 0]]);
      });
    });
  }
});

describe('timed forms', () => {
  it('timedReceive on an empty queue returns null after at least the timeout', async () => {
    await withQueues([{ maxMessages: 2, messageSize: 16 }], (q) => {
      for (const ms of [0, 50, 200]) {
        const t0 = performance.now();
        expect(q.timedReceive(ms)).toBeNull();
        const elapsed = performance.now() - t0;
        expect(elapsed).toBeGreaterThanOrEqual(ms);
        expect(elapsed).toBeLessThan(ms + 2000); // generous: a shared 2-core machine
      }
    });
  });

  it('timedSend on a full queue returns false after at least the timeout; true when there is room', async () => {
    await withQueues([{ maxMessages: 2, messageSize: 16 }], (q) => {
      expect(q.timedSend('a', 100)).toBe(true);
      expect(q.timedSend('b', 0, 4)).toBe(true);
      const t0 = performance.now();
      expect(q.timedSend('c', 150)).toBe(false);
      const elapsed = performance.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(2150);
      expect(q.getattr().currentMessages).toBe(2);
      expect(text(q.timedReceive(10))).toBe('b');
    });
  });

  it('timedReceive returns a message a forked child sends during the wait, well before the timeout', async () => {
    await withQueues([{ maxMessages: 2, messageSize: 16 }], async (q) => {
      const pid = await forkRun(async () => {
        await sleep(100);
        q.send('in time', 7);
      });
      const t0 = performance.now();
      const m = q.timedReceive(20_000);
      const elapsed = performance.now() - t0;
      expect(m && [text(m), m.priority]).toEqual(['in time', 7]);
      expect(elapsed).toBeLessThan(10_000);
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    });
  });
});

describe('async forms (reactor, no threadpool)', () => {
  it('receiveAsync resolves when a forked child sends; sendAsync on a full queue resolves once it drains', async () => {
    await withQueues([{ maxMessages: 1, messageSize: 32 }, { maxMessages: 1, messageSize: 32 }], async (a, b) => {
      const go = gate(); // the child drains `a` only once the parent has seen its sendAsync pending
      const pid = await forkRun(async () => {
        await sleep(50);
        b.send('hello async', 4);
        go.wait();
        const got = a.receive(); // drains the full queue: the parent's pending sendAsync completes
        const second = a.receive();
        b.send(`${text(got)} + ${text(second)}`);
      });
      go.forked();
      let pending: Promise<void>;
      try {
        const m = await b.receiveAsync();
        expect([text(m), m.priority]).toEqual(['hello async', 4]);
        a.send('fills it');
        let settled = false;
        pending = a.sendAsync('waits for room').finally(() => (settled = true));
        await sleep(50);
        expect(settled).toBe(false);
      } finally {
        go.open();
      }
      await pending;
      expect(text(await b.receiveAsync())).toBe('fills it + waits for room');
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    });
  });

  it('100 pending receiveAsync leave the threadpool free (readFile completes); 100 messages, each received once', async () => {
    await withQueues([{ maxMessages: 10, messageSize: 16 }], async (q) => {
      const watches = native.pendingWaits('reactor');
      const receives = Array.from({ length: 100 }, () => q.receiveAsync());
      expect(native.pendingWaits('reactor')).toBe(watches + 100);
      const file = await readThroughThreadpool(import.meta.url);
      expect(file).toContain('100 pending receiveAsync');
      const pid = await forkRun(() => {
        for (let i = 0; i < 100; i++) q.send(`#${i}`); // blocks while the queue is full: the parent drains it
      });
      const got = (await Promise.all(receives)).map((m) => text(m));
      expect(new Set(got).size).toBe(100);
      expect(got.sort()).toEqual(Array.from({ length: 100 }, (_, i) => `#${i}`).sort());
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
      expect(native.pendingWaits('reactor')).toBe(watches);
    });
  });

  it('aborting receiveAsync rejects with the reason and consumes nothing; sendAsync too', async () => {
    await withQueues([{ maxMessages: 1, messageSize: 16 }], async (q) => {
      const ac = new AbortController();
      const pending = q.receiveAsync(undefined, { signal: ac.signal });
      ac.abort(new Error('changed my mind'));
      await expect(pending).rejects.toThrow('changed my mind');
      q.send('still here');
      expect(text(q.receive())).toBe('still here');
      await expect(q.receiveAsync(undefined, { signal: ac.signal })).rejects.toThrow('changed my mind'); // already aborted
      q.send('full');
      const ac2 = new AbortController();
      const send = q.sendAsync('never sent', 0, { signal: ac2.signal });
      ac2.abort(new Error('no room'));
      await expect(send).rejects.toThrow('no room');
      expect(q.getattr().currentMessages).toBe(1);
      expect(text(q.receive())).toBe('full');
    });
  });

  it('async forms work on a non-blocking queue and with a caller buffer', async () => {
    await withQueues([{ maxMessages: 2, messageSize: 16, nonBlocking: true }], async (q) => {
      const buf = new Uint8Array(16);
      const pending = q.receiveAsync(buf);
      setTimeout(() => q.send('later', 2), 20);
      const m = await pending;
      expect([text(m), m.priority, m.data.buffer === buf.buffer]).toEqual(['later', 2, true]);
    });
  });
});

describe('attributes and non-blocking mode', () => {
  it('getattr reports the attributes; a non-blocking queue gives EAGAIN when empty or full', async () => {
    await withQueues([{ maxMessages: 3, messageSize: 100 }], (q) => {
      expect(q.getattr()).toEqual({ maxMessages: 3, messageSize: 100, currentMessages: 0, nonBlocking: false });
      expect([q.maxMessages, q.messageSize]).toEqual([3, 100]);
      q.setNonBlocking(true);
      expect(q.getattr().nonBlocking).toBe(true);
      expect(thrown(() => q.receive())).toMatchObject({ code: 'EAGAIN', syscall: 'mq_receive', message: expect.stringContaining('the queue is empty and non-blocking') });
      q.send('1');
      q.send('2');
      q.send('3');
      expect(q.getattr().currentMessages).toBe(3);
      expect(thrown(() => q.send('4'))).toMatchObject({ code: 'EAGAIN', syscall: 'mq_send', message: expect.stringContaining('full (maxMessages 3)') });
      // the timed forms do not wait on a non-blocking descriptor either (the kernel's rule)
      expect(thrown(() => q.timedSend('4', 1000))).toMatchObject({ code: 'EAGAIN', syscall: 'mq_timedsend' });
      q.setNonBlocking(false);
      expect(q.getattr().nonBlocking).toBe(false);
    });
  });

  it('defaults: a queue created without attributes gets msg_default × msgsize_default; mode 0600; close-on-exec', async (ctx) => {
    const L = posix.mqLimits();
    await withQueues([{}, { mode: 0o640, messageSize: 32 }], (q, q2) => {
      expect(q.getattr()).toMatchObject({ maxMessages: L.msgDefault, messageSize: L.msgsizeDefault });
      expect(q2.getattr()).toMatchObject({ maxMessages: L.msgDefault, messageSize: 32 });
      expect(posix.fdFlags(q.fd).cloexec).toBe(true);
      if (mqueueUnavailable) {
        console.log(`skipped the mode check: ${mqueueUnavailable}`);
        ctx.skip();
      }
      expect(fs.statSync(path.join(MQ_DIR, q.name!.slice(1))).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(MQ_DIR, q2.name!.slice(1))).mode & 0o777).toBe(0o640 & ~process.umask());
    });
  });

  it('opening an existing queue, exclusive, access modes, unlink', async () => {
    await withQueues([{ maxMessages: 2, messageSize: 8 }], (q) => {
      const name = q.name!;
      const again = posix.mqOpen(name); // the same queue through another descriptor
      again.send('shared');
      expect(text(q.receive())).toBe('shared');
      again.close();
      expect(thrown(() => posix.mqOpen(name, { create: true, exclusive: true }))).toMatchObject({
        code: 'EEXIST',
        syscall: 'mq_open',
        message: expect.stringContaining(`a queue named '${name}' exists already`),
      });
      const reader = posix.mqOpen(name, { access: 'read' });
      expect(thrown(() => reader.send('x'))).toMatchObject({ code: 'EBADF', message: expect.stringContaining('not opened for writing') });
      reader.close();
      const writer = posix.MessageQueue.open(name, { access: 'write' });
      expect(thrown(() => writer.receive())).toMatchObject({ code: 'EBADF', message: expect.stringContaining('not opened for reading') });
      writer.close();
    });
    const gone = uniqueName();
    expect(thrown(() => posix.mqOpen(gone))).toMatchObject({
      code: 'ENOENT',
      message: expect.stringContaining(`there is no queue named '${gone}' (pass create: true to create it)`),
    });
    expect(thrown(() => posix.mqUnlink(gone))).toMatchObject({ code: 'ENOENT', syscall: 'mq_unlink' });
  });
});

describe("the kernel's limits, named in the errors", () => {
  const L = posix.mqLimits();
  const privileged = hasSysResource();

  it(`maxMessages above msg_max (${L.msgMax}) and messageSize above msgsize_max (${L.msgsizeMax}) are EINVAL naming the limit`, (ctx) => {
    if (privileged) {
      console.log('skipped: this process has CAP_SYS_RESOURCE, which lifts msg_max and msgsize_max');
      ctx.skip();
    }
    const name = uniqueName();
    const tooMany = thrown(() => posix.mqOpen(name, { create: true, maxMessages: L.msgMax! + 1, messageSize: 16 }));
    expect(tooMany).toMatchObject({ code: 'EINVAL', syscall: 'mq_open' });
    expect(tooMany.message).toBe(
      `mq_open EINVAL: Invalid argument; maxMessages ${L.msgMax! + 1} exceeds the system limit /proc/sys/fs/mqueue/msg_max = ${L.msgMax}`,
    );
    const tooBig = thrown(() => posix.mqOpen(name, { create: true, maxMessages: 1, messageSize: L.msgsizeMax! + 1 }));
    expect(tooBig.message).toContain(`messageSize ${L.msgsizeMax! + 1} exceeds the system limit /proc/sys/fs/mqueue/msgsize_max = ${L.msgsizeMax}`);
    expect(tooBig.stack).toContain('msgsize_max'); // the stack shows the same message
  });

  it('a message longer than messageSize is EMSGSIZE naming it; so is a receive buffer shorter than it', async () => {
    await withQueues([{ maxMessages: 1, messageSize: 64 }], async (q) => {
      expect(thrown(() => q.send(new Uint8Array(65)))).toMatchObject({
        code: 'EMSGSIZE',
        syscall: 'mq_send',
        message: "mq_send EMSGSIZE: Message too long; the message is 65 bytes but the queue's messageSize is 64",
      });
      expect(thrown(() => q.timedSend('x'.repeat(100), 10))).toMatchObject({ code: 'EMSGSIZE', message: expect.stringContaining("messageSize is 64") });
      await expect(q.sendAsync('x'.repeat(100))).rejects.toMatchObject({ code: 'EMSGSIZE', message: expect.stringContaining("messageSize is 64") });
      q.send('fits');
      expect(thrown(() => q.receive(new Uint8Array(10)))).toMatchObject({
        code: 'EMSGSIZE',
        syscall: 'mq_receive',
        message: expect.stringContaining("the buffer holds 10 bytes but the queue's messageSize is 64"),
      });
      await expect(q.receiveAsync(new Uint8Array(10))).rejects.toMatchObject({ code: 'EMSGSIZE' });
      expect(text(q.receive())).toBe('fits'); // nothing was lost
    });
  });

  it(`too many queues: ENOSPC naming queues_max (${L.queuesMax})`, (ctx) => {
    if (privileged) {
      console.log('skipped: this process has CAP_SYS_RESOURCE, which lifts queues_max');
      ctx.skip();
    }
    const { opened, err } = openUntilRefused(L.queuesMax! + 1, { maxMessages: 1, messageSize: 1 });
    expect(opened).toBeLessThanOrEqual(L.queuesMax!);
    expect(err).toMatchObject({ code: 'ENOSPC', syscall: 'mq_open' });
    expect(err!.message).toContain(`reached the system limit /proc/sys/fs/mqueue/queues_max = ${L.queuesMax}`);
  });

  it(`this user's queues over RLIMIT_MSGQUEUE (${L.rlimitMsgqueue} bytes): EMFILE naming it`, (ctx) => {
    if (privileged || L.rlimitMsgqueue === undefined || L.rlimitMsgqueue === Infinity) {
      console.log('skipped: RLIMIT_MSGQUEUE is unlimited or lifted here');
      ctx.skip();
    }
    const perQueue = L.msgMax! * L.msgsizeMax!;
    const { err } = openUntilRefused(Math.ceil(L.rlimitMsgqueue! / perQueue) + 2, { maxMessages: L.msgMax!, messageSize: L.msgsizeMax! });
    expect(err).toMatchObject({ code: 'EMFILE', syscall: 'mq_open' });
    expect(err!.message).toContain(`over RLIMIT_MSGQUEUE = ${L.rlimitMsgqueue} bytes`);
  });
});

describe('lifetime', () => {
  it('close() is idempotent; every use after it is ERR_MULTIPROC_CLOSED; pending async operations reject', async () => {
    const q = posix.mqOpen(uniqueName(), { create: true, maxMessages: 1, messageSize: 8 });
    try {
      const pendingReceive = q.receiveAsync();
      q.close();
      q.close();
      expect(q.closed).toBe(true);
      const closed = { code: 'ERR_MULTIPROC_CLOSED', message: 'The message queue is closed' };
      await expect(pendingReceive).rejects.toMatchObject(closed);
      expect(thrown(() => q.fd)).toMatchObject(closed);
      expect(thrown(() => q.send('x'))).toMatchObject(closed);
      expect(thrown(() => q.timedSend('x', 1))).toMatchObject(closed);
      expect(thrown(() => q.receive())).toMatchObject(closed);
      expect(thrown(() => q.timedReceive(1))).toMatchObject(closed);
      expect(thrown(() => q.getattr())).toMatchObject(closed);
      expect(thrown(() => q.setNonBlocking())).toMatchObject(closed);
      await expect(q.sendAsync('x')).rejects.toMatchObject(closed);
      await expect(q.receiveAsync()).rejects.toMatchObject(closed);
    } finally {
      posix.MessageQueue.unlink(q.name!);
    }
  });

  it('Symbol.dispose closes; closing does not unlink (the queue and its messages stay)', () => {
    const name = uniqueName();
    {
      const q = posix.mqOpen(name, { create: true, maxMessages: 2, messageSize: 8 });
      q.send('kept');
      q[Symbol.dispose]();
      expect(q.closed).toBe(true);
    }
    const again = posix.mqOpen(name);
    expect(text(again.receive())).toBe('kept');
    again.close();
    posix.mqUnlink(name);
    expect(thrown(() => posix.mqOpen(name))).toMatchObject({ code: 'ENOENT' });
  });

  it('fromFd adopts a descriptor; EBADF for an fd that is not a queue', () => {
    const q = posix.mqOpen(uniqueName(), { create: true, maxMessages: 2, messageSize: 8 });
    try {
      const adopted = posix.MessageQueue.fromFd(posix.dup(q.fd));
      adopted.send('via dup');
      expect(adopted.name).toBeUndefined();
      expect(text(q.receive())).toBe('via dup');
      adopted.close();
      const [r, w] = posix.pipe();
      expect(thrown(() => posix.MessageQueue.fromFd(r))).toMatchObject({ code: 'EBADF', syscall: 'mq_getattr' });
      posix.close(r);
      posix.close(w);
    } finally {
      q.close();
      posix.mqUnlink(q.name!);
    }
  });
});

describe('mqPingPongBench (the native side of the mqueue benchmark)', () => {
  it('runs a 1-byte ping-pong with a forked child', async () => {
    await withQueues([{ maxMessages: 1, messageSize: 8 }, { maxMessages: 1, messageSize: 8 }], async (a, b) => {
      const pid = await forkRun(() => {
        posix.mqPingPongBench(a, b, 500, false);
      });
      expect(posix.mqPingPongBench(b, a, 500, true)).toBeGreaterThan(0);
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
      expect(a.getattr().currentMessages + b.getattr().currentMessages).toBe(0);
    });
  });
});

describe('argument errors (checked in the native layer too; never a crash)', () => {
  it('names, options, data, priorities, timeouts', async () => {
    const typeErr = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
    const rangeErr = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };
    for (const bad of ['noslash', '/', '/a/b', '', `/${'x'.repeat(256)}`]) {
      expect(thrown(() => posix.mqOpen(bad, { create: true }))).toMatchObject(rangeErr);
    }
    expect(thrown(() => posix.mqOpen(42 as unknown as string))).toMatchObject(typeErr);
    expect(thrown(() => posix.mqOpen('/a\0b'))).toMatchObject(typeErr);
    expect(thrown(() => posix.mqUnlink('nope'))).toMatchObject(rangeErr);
    expect(thrown(() => posix.mqOpen('/x', null as unknown as posix.MqOpenOptions))).toMatchObject(typeErr);
    expect(thrown(() => posix.mqOpen('/x', { create: 'yes' as unknown as boolean }))).toMatchObject(typeErr);
    expect(thrown(() => posix.mqOpen('/x', { create: true, maxMessages: 0, messageSize: 8 }))).toMatchObject(rangeErr);
    expect(thrown(() => posix.mqOpen('/x', { create: true, maxMessages: 1.5, messageSize: 8 }))).toMatchObject(rangeErr);
    expect(thrown(() => posix.mqOpen('/x', { create: true, mode: 0o1777 }))).toMatchObject(rangeErr);
    expect(thrown(() => posix.mqOpen('/x', { access: 'all' as 'read' }))).toMatchObject(typeErr);
    await withQueues([{ maxMessages: 1, messageSize: 8 }], async (q) => {
      expect(thrown(() => q.send(42 as unknown as string))).toMatchObject(typeErr);
      expect(thrown(() => q.send('x', -1))).toMatchObject(rangeErr);
      expect(thrown(() => q.send('x', posix.MQ_PRIO_MAX))).toMatchObject(rangeErr);
      expect(thrown(() => q.send('x', 1.5))).toMatchObject(rangeErr);
      expect(thrown(() => q.timedSend('x', -1))).toMatchObject(rangeErr);
      expect(thrown(() => q.timedReceive(Number.NaN))).toMatchObject(rangeErr);
      expect(thrown(() => q.timedReceive('10' as unknown as number))).toMatchObject(typeErr);
      expect(thrown(() => q.receive(new Uint16Array(8) as unknown as Uint8Array))).toMatchObject(typeErr);
      await expect(q.sendAsync('x', 40_000)).rejects.toMatchObject(rangeErr);
      await expect(q.sendAsync(null as unknown as string)).rejects.toMatchObject(typeErr);
      expect(native.pendingWaits('reactor')).toBe(0);
    });
    // the raw binding checks its own arguments: no crash whatever comes
    const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(thrown(() => raw.mqOpen!())).toMatchObject({ name: 'TypeError', code: 'ERR_MISSING_ARGS' });
    expect(thrown(() => raw.mqOpen!('/x', 0x7fffffff, 0o600))).toMatchObject(rangeErr);
    expect(thrown(() => raw.mqOpen!('/x', 0, 0o600, 10))).toMatchObject({ ...typeErr, message: expect.stringContaining('together') });
    expect(thrown(() => raw.mqSend!(-1, new Uint8Array(1), 0))).toMatchObject(rangeErr);
    expect(thrown(() => raw.mqSend!(999_999, new Uint8Array(1), 0))).toMatchObject({ code: 'EBADF', syscall: 'mq_send' });
    expect(thrown(() => raw.mqReceiveAsync!(999_999, new Uint8Array(1), 'no function'))).toMatchObject(typeErr);
    expect(thrown(() => raw.mqGetattr!({}))).toMatchObject(typeErr);
    await withQueues([{ maxMessages: 1, messageSize: 8 }], (q) => {
      const buf = new Uint8Array(8);
      expect(thrown(() => raw.mqReceive!(q.fd, buf, new Int32Array(1)))).toMatchObject({ ...typeErr, message: expect.stringContaining('"priorityOut"') });
      expect(thrown(() => raw.mqReceive!(q.fd, buf, new Uint32Array(0)))).toMatchObject(typeErr);
      expect(thrown(() => raw.mqTimedReceive!(q.fd, buf, 0, 'x'))).toMatchObject(typeErr);
      raw.mqSend!(q.fd, new Uint8Array([7]), 3);
      expect(raw.mqReceive!(q.fd, buf)).toBe(1); // priorityOut is optional
    });
    expect(thrown(() => raw.cancelWait!(0))).toMatchObject(rangeErr);
    expect(raw.cancelWait!(123_456)).toBe(false);
    expect(thrown(() => raw.mqPingPongBench!(999_999, 999_999, 1, true))).toMatchObject({ code: 'EBADF', syscall: 'mq_getattr' });
  });
});

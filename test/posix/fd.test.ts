// The fd family: pipes and socketpairs between real processes (forked children and fresh `node` children that
// inherited the fds), async I/O on readiness (no threadpool), EOF and EPIPE across process death, FIFOs,
// non-blocking mode, pipe capacity, dup2, fd passing with SCM_RIGHTS, and argument checks.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { forkPiped, forkRun, gate, readAll, reap, thrown, until } from '../helpers/child.js';
import { helper, readThroughThreadpool, runHelper } from '../helpers/files.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Fills a pipe through its (temporarily non-blocking) write end; returns the bytes it took. */
function fill(w: number): number {
  posix.setNonBlocking(w, true);
  const chunk = Buffer.alloc(4096, 1);
  let total = 0;
  try {
    for (;;) total += posix.write(w, chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('EAGAIN');
  } finally {
    posix.setNonBlocking(w, false);
  }
  return total;
}

function closeAll(...fds: number[]): void {
  for (const fd of fds) posix.close(fd);
}

/** posix.pipe() (with `opts`) whose two fds are closed at the end of the scope that holds it (`using`). */
function scopedPipe(opts?: Parameters<typeof posix.pipe>[0]): { r: number; w: number } & Disposable {
  const [r, w] = posix.pipe(opts);
  return { r, w, [Symbol.dispose]: () => closeAll(r, w) };
}

describe('pipe round trips', () => {
  it('parent ↔ forked child', async () => {
    const [toChildR, toChildW] = posix.pipe();
    const [fromChildR, fromChildW] = posix.pipe();
    const pid = await forkRun(() => {
      closeAll(toChildW, fromChildR);
      const buf = Buffer.alloc(1024);
      for (;;) {
        const n = posix.read(toChildR, buf);
        if (n === 0) break;
        posix.writeAll(fromChildW, buf.subarray(0, n).toString().toUpperCase());
      }
      closeAll(toChildR, fromChildW);
    });
    closeAll(toChildR, fromChildW);
    posix.writeAll(toChildW, 'hello ');
    posix.writeAll(toChildW, 'forked world');
    posix.close(toChildW);
    const [out, status] = await Promise.all([readAll(fromChildR), reap(pid)]).finally(() => posix.close(fromChildR));
    expect(out.toString()).toBe('HELLO FORKED WORLD');
    expect(status).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('parent ↔ a fresh node child that inherited the fds (stdio 3 and 4)', async () => {
    const [aR, aW] = posix.pipe();
    const [bR, bW] = posix.pipe();
    const done = runHelper('fd-peer.ts', ['echo'], [aR, bW]);
    closeAll(aR, bW); // the child has its own copies now; ours would hide EOF
    posix.writeAll(aW, 'hello fresh node');
    posix.close(aW);
    const out = await readAll(bR).finally(() => posix.close(bR));
    expect(out.toString()).toBe('HELLO FRESH NODE');
    expect(await done).toMatchObject({ code: 0, signal: null });
  });

  it('pipe2 flags: O_NONBLOCK and O_DIRECT (packet mode: one write, one read)', () => {
    using pipe = scopedPipe({ nonBlocking: true, direct: true });
    const { r, w } = pipe;
    expect(posix.fdFlags(r)).toMatchObject({ nonBlocking: true, cloexec: true });
    posix.write(w, 'abc');
    posix.write(w, 'defgh');
    const buf = Buffer.alloc(100);
    expect(buf.subarray(0, posix.read(r, buf)).toString()).toBe('abc');
    expect(buf.subarray(0, posix.read(r, buf)).toString()).toBe('defgh');
  });
});

describe('read / write', () => {
  it('offset and length select a range; an empty buffer moves nothing; a detached buffer is an error', () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    expect(posix.write(w, Buffer.from('0123456789'), 2, 3)).toBe(3);
    expect(posix.write(w, Buffer.from('abcdef'), 4)).toBe(2);
    expect(posix.write(w, new Uint8Array(0))).toBe(0);
    const buf = Buffer.alloc(10, '.');
    expect(posix.read(r, buf, 1, 4)).toBe(4);
    expect(buf.toString()).toBe('.234e.....');
    expect(posix.read(r, buf, 9)).toBe(1);
    expect(buf.toString()).toBe('.234e....f');
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(thrown(() => posix.write(w, detached))).toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(thrown(() => posix.read(r, detached))).toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(posix.write(w, 'a string is UTF-8: é')).toBe(21);
    expect(buf.subarray(0, posix.read(r, buf)).toString()).toBe('a string i');
  });
});

describe('readAsync / writeAsync (reactor, no threadpool)', () => {
  it('readAsync resolves when a forked child writes', async () => {
    const [r, w] = posix.pipe();
    const pid = await forkRun(async () => {
      posix.close(r);
      await sleep(50);
      posix.write(w, 'late data');
      posix.close(w);
    });
    posix.close(w);
    const buf = Buffer.alloc(64);
    const n = await posix.readAsync(r, buf);
    expect(buf.subarray(0, n).toString()).toBe('late data');
    expect(await posix.readAsync(r, buf)).toBe(0); // EOF once the child is gone
    posix.close(r);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('a writer blocked on a full pipe resolves once the reader (a forked child) drains it', async () => {
    const [r, w] = posix.pipe();
    const go = gate();
    const [resR, resW] = posix.pipe();
    // The reader is forked before the async write exists: a child forked while a watch is pending would hold
    // the reactor's duplicate of `w` (until its own first reactor use) and never see EOF.
    const pid = await forkRun(() => {
      closeAll(w, resR);
      go.wait(); // until the parent's writer is blocked
      let total = 0;
      const buf = Buffer.alloc(65536);
      for (let n; (n = posix.read(r, buf)) > 0; ) total += n;
      posix.write(resW, String(total));
      closeAll(r, resW);
    });
    posix.close(resW);
    go.forked();
    const filled = fill(w);
    expect(filled).toBe(posix.getPipeSize(w));
    let settled = false;
    const pending = posix.writeAsync(w, Buffer.alloc(1000, 2)).finally(() => (settled = true));
    await sleep(100);
    expect(settled).toBe(false); // still waiting: the pipe is full and nobody reads
    go.open();
    expect(await pending).toBe(1000);
    posix.close(w);
    const [out, status] = await Promise.all([readAll(resR), reap(pid)]).finally(() => closeAll(r, resR));
    expect(status).toEqual({ kind: 'exited', pid, code: 0 });
    expect(Number(out.toString())).toBe(filled + 1000);
  });

  it('100 pending readAsync do not hold the threadpool: fs.promises.readFile still completes', async () => {
    const pipes = Array.from({ length: 100 }, () => posix.pipe());
    try {
      const bufs = pipes.map(() => Buffer.alloc(8));
      const reads = pipes.map(([r], i) => posix.readAsync(r, bufs[i]!));
      expect(native.pendingWaits('reactor')).toBeGreaterThanOrEqual(100);
      const text = await readThroughThreadpool(import.meta.url);
      expect(text).toContain('100 pending readAsync');
      pipes.forEach(([, w], i) => posix.write(w, `#${i}`));
      const counts = await Promise.all(reads);
      expect(counts.every((n, i) => n === `#${i}`.length)).toBe(true);
      expect(bufs[42]!.subarray(0, 3).toString()).toBe('#42');
    } finally {
      for (const [r, w] of pipes) closeAll(r, w);
    }
  });
});

describe('EOF and EPIPE across process death', () => {
  it('read returns 0 (EOF) when the writer process is SIGKILLed', async () => {
    const [r, w] = posix.pipe();
    const [holdR, holdW] = posix.pipe();
    const pid = posix.fork();
    if (pid === 0) {
      posix.close(r);
      posix.close(holdW);
      posix.write(w, 'last words');
      posix.poll(holdR, { readable: true }, -1); // holds `w` open until killed
      posix.exit(0);
    }
    closeAll(w, holdR);
    const buf = Buffer.alloc(64);
    expect(buf.subarray(0, await posix.readAsync(r, buf)).toString()).toBe('last words');
    let settled = false;
    const eof = posix.readAsync(r, buf).finally(() => (settled = true));
    await sleep(50);
    expect(settled).toBe(false); // the writer is alive: no EOF yet
    posix.kill(pid, 'SIGKILL');
    expect(await eof).toBe(0);
    expect(posix.read(r, buf)).toBe(0); // the sync read agrees
    expect(await reap(pid)).toEqual({ kind: 'signaled', pid, signal: 'SIGKILL', coreDumped: false });
    closeAll(r, holdW);
  });

  it("a forked child writing to a pipe whose reader is gone gets EPIPE and is not killed by SIGPIPE", async () => {
    const [r, w] = posix.pipe();
    posix.close(r); // no reader anywhere: the child is forked after this
    const [resR, resW] = posix.pipe();
    const pid = await forkRun(() => {
      posix.close(resR);
      // Node ignores SIGPIPE; the forked child inherits that disposition.
      const sigIgn = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
      const ignored = ((sigIgn >> BigInt(posix.signals.SIGPIPE! - 1)) & 1n) === 1n;
      let err: NodeJS.ErrnoException | undefined;
      try {
        posix.write(w, 'into the void');
      } catch (e) {
        err = e as NodeJS.ErrnoException;
      }
      posix.writeAll(resW, JSON.stringify({ ignored, code: err?.code, syscall: err?.syscall, message: err?.message }));
      posix.close(resW);
      return err?.code === 'EPIPE' ? 0 : 1;
    });
    closeAll(w, resW);
    const [out, status] = await Promise.all([readAll(resR), reap(pid)]).finally(() => posix.close(resR));
    expect(status).toEqual({ kind: 'exited', pid, code: 0 }); // not { kind: 'signaled', signal: 'SIGPIPE' }
    expect(JSON.parse(out.toString())).toEqual({
      ignored: true,
      code: 'EPIPE',
      syscall: 'write',
      message: 'write EPIPE: Broken pipe',
    });
  });

  it('the parent gets EPIPE (sync and async) after the reading child was SIGKILLed', async () => {
    const [r, w] = posix.pipe();
    const pid = posix.fork();
    if (pid === 0) {
      posix.close(w);
      posix.poll(r, { readable: true }, -1); // nothing will be written: blocks until killed
      posix.exit(0);
    }
    posix.close(r);
    posix.kill(pid, 'SIGKILL');
    expect(await reap(pid)).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
    expect(thrown(() => posix.write(w, 'x'))).toMatchObject({ code: 'EPIPE', syscall: 'write' });
    await expect(posix.writeAsync(w, 'x')).rejects.toMatchObject({ code: 'EPIPE', syscall: 'write' });
    posix.close(w);
  });
});

describe('mkfifo', () => {
  it('creates a FIFO with mode 0600 that a forked child writes into', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multiproc-fifo-'));
    try {
      const fifo = path.join(dir, 'fifo');
      posix.mkfifo(fifo);
      const st = fs.statSync(fifo);
      expect(st.isFIFO()).toBe(true);
      expect(st.mode & 0o777).toBe(0o600);
      expect(thrown(() => posix.mkfifo(fifo))).toMatchObject({ code: 'EEXIST', syscall: 'mkfifo' });
      // Open the read end without blocking first, so the child's open for writing finds a reader.
      const r = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        const pid = await forkRun(() => {
          const w = fs.openSync(fifo, 'w');
          posix.writeAll(w, 'through the fifo');
          fs.closeSync(w);
        });
        expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
        const buf = Buffer.alloc(64);
        expect(buf.subarray(0, posix.read(r, buf)).toString()).toBe('through the fifo');
        expect(posix.read(r, buf)).toBe(0); // the writer closed: EOF
      } finally {
        fs.closeSync(r);
      }
      posix.mkfifo(path.join(dir, 'fifo2'), 0o640);
      expect(fs.statSync(path.join(dir, 'fifo2')).mode & 0o777).toBe(0o640 & ~process.umask());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('open', () => {
  it('creates, truncates, appends and refuses as open(2) does; close-on-exec; read-only by default', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multiproc-open-'));
    try {
      const file = path.join(dir, 'f');
      const w = posix.open(file, { access: 'write', create: true, exclusive: true, mode: 0o640 });
      expect(fs.statSync(file).mode & 0o777).toBe(0o640 & ~process.umask());
      expect(posix.fdFlags(w)).toEqual({ nonBlocking: false, cloexec: true, accessMode: fs.constants.O_WRONLY });
      posix.writeAll(w, 'first');
      posix.close(w);
      expect(thrown(() => posix.open(file, { create: true, exclusive: true }))).toMatchObject({ code: 'EEXIST', syscall: 'open' });
      const a = posix.open(file, { access: 'write', append: true });
      posix.writeAll(a, '+second');
      posix.close(a);
      expect(fs.readFileSync(file, 'utf8')).toBe('first+second');
      const r = posix.open(file);
      expect(posix.fdFlags(r).accessMode).toBe(fs.constants.O_RDONLY);
      expect(thrown(() => posix.write(r, 'x'))).toMatchObject({ code: 'EBADF', syscall: 'write' });
      const buf = Buffer.alloc(64);
      expect(buf.subarray(0, posix.read(r, buf)).toString()).toBe('first+second');
      posix.close(r);
      const rw = posix.open(file, { access: 'readwrite', truncate: true });
      expect(posix.fdFlags(rw).accessMode).toBe(fs.constants.O_RDWR);
      expect(fs.statSync(file).size).toBe(0);
      posix.close(rw);
      expect(thrown(() => posix.open(path.join(dir, 'missing')))).toMatchObject({ code: 'ENOENT', syscall: 'open' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nonBlocking opens a FIFO without waiting for a writer; bad options are TypeErrors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'multiproc-open-'));
    try {
      const fifo = path.join(dir, 'fifo');
      posix.mkfifo(fifo);
      // fifo(7): a non-blocking open for writing fails with ENXIO while no process has the FIFO open for reading
      expect(thrown(() => posix.open(fifo, { access: 'write', nonBlocking: true }))).toMatchObject({ code: 'ENXIO', syscall: 'open' });
      const r = posix.open(fifo, { nonBlocking: true }); // blocking, this would wait for a writer for ever
      try {
        expect(posix.fdFlags(r).nonBlocking).toBe(true);
        expect(posix.read(r, Buffer.alloc(1))).toBe(0); // no writer: end of file, at once
      } finally {
        posix.close(r);
      }
      expect(thrown(() => posix.open(fifo, { access: 'append' as 'read' }))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
      expect(thrown(() => posix.open(fifo, null as unknown as {}))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the raw async forms (readAsyncRaw, writeAsyncRaw, pollAsyncRaw, cancelWait)', () => {
  it('readAsyncRaw calls back once data comes, or at once (id 0) when it is there', async () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    const buf = Buffer.alloc(16);
    const got = new Promise<[Error | null, number]>((resolve) => {
      const id = posix.readAsyncRaw(r, buf, 0, 16, (err, n) => resolve([err, n]));
      expect(id).toBeGreaterThan(0); // pending: the pipe is empty
    });
    posix.write(w, 'raw');
    expect(await got).toEqual([null, 3]);
    expect(buf.subarray(0, 3).toString()).toBe('raw');
    posix.write(w, 'now');
    let inline: [Error | null, number] | undefined;
    expect(posix.readAsyncRaw(r, buf, 4, 8, (err, n) => (inline = [err, n]))).toBe(0);
    expect(inline).toEqual([null, 3]);
    expect(buf.subarray(4, 7).toString()).toBe('now');
  });

  it('cancelWait drops a pending wait: its callback never runs; a second cancel is false', async () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    const before = native.pendingWaits('reactor');
    let called = 0;
    const id = posix.readAsyncRaw(r, Buffer.alloc(4), undefined, undefined, () => called++);
    const poll = posix.pollAsyncRaw(r, false, () => called++);
    expect(native.pendingWaits('reactor')).toBe(before + 2);
    expect(posix.cancelWait(id)).toBe(true);
    expect(posix.cancelWait(poll)).toBe(true);
    expect(posix.cancelWait(id)).toBe(false);
    expect(native.pendingWaits('reactor')).toBe(before);
    posix.write(w, 'late');
    await sleep(50);
    expect(called).toBe(0);
    expect(posix.read(r, Buffer.alloc(8))).toBe(4); // the data is still there: nothing read it
  });

  it('pollAsyncRaw reports readiness with the poll bits and reads nothing; writeAsyncRaw waits for room', async () => {
    using pipe = scopedPipe({ nonBlocking: true });
    const { r, w } = pipe;
    const C = native.fdConstants;
    const readable = new Promise<number>((resolve) => posix.pollAsyncRaw(r, false, (_err, events) => resolve(events)));
    posix.write(w, 'x');
    expect((await readable) & C.POLLIN).toBe(C.POLLIN);
    const writable = await new Promise<number>((resolve) => posix.pollAsyncRaw(w, true, (_err, events) => resolve(events)));
    expect(writable & C.POLLOUT).toBe(C.POLLOUT);
    expect(posix.read(r, Buffer.alloc(4))).toBe(1); // pollAsyncRaw left the byte in the pipe
    const filled = fill(w);
    let wrote: number | undefined;
    const id = posix.writeAsyncRaw(w, Buffer.alloc(100, 1), undefined, undefined, (err, n) => {
      expect(err).toBeNull();
      wrote = n;
    });
    expect(id).toBeGreaterThan(0); // the pipe is full: it waits
    await sleep(20);
    expect(wrote).toBeUndefined();
    const drain = Buffer.alloc(65536);
    let drained = 0;
    while (drained < filled) drained += posix.read(r, drain);
    await until(() => wrote !== undefined, 'the raw write to call back');
    expect(wrote).toBe(100);
  });
});

describe('non-blocking mode', () => {
  it('reading an empty pipe is an EAGAIN error; the flag can be toggled', () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    expect(posix.fdFlags(r).nonBlocking).toBe(false);
    posix.setNonBlocking(r);
    expect(posix.fdFlags(r).nonBlocking).toBe(true);
    const err = thrown(() => posix.read(r, Buffer.alloc(4)));
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'EAGAIN', syscall: 'read', errno: 11 });
    posix.write(w, 'ok');
    expect(posix.read(r, Buffer.alloc(4))).toBe(2);
    posix.setNonBlocking(r, false);
    expect(posix.fdFlags(r).nonBlocking).toBe(false);
    expect(posix.poll(r, { readable: true }, 0)).toEqual({ readable: false, writable: false, hup: false, error: false });
  });

  it('writing to a full non-blocking pipe is EAGAIN; a non-blocking socket receive too', () => {
    const [r, w] = posix.pipe({ nonBlocking: true });
    const [a, b] = posix.socketpair('stream', { nonBlocking: true });
    try {
      const chunk = Buffer.alloc(65536);
      while (posix.write(w, chunk) > 0) {
        /* until full */
      }
    } catch (e) {
      expect(e).toMatchObject({ code: 'EAGAIN', syscall: 'write' });
    }
    try {
      expect(thrown(() => posix.recvFds(b))).toMatchObject({ code: 'EAGAIN', syscall: 'recvmsg' });
    } finally {
      closeAll(r, w, a, b);
    }
  });
});

describe('pipe capacity (F_SETPIPE_SZ / F_GETPIPE_SZ)', () => {
  it('the default, a larger and a rounded-up capacity, each exactly what the pipe holds', () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    expect(posix.getPipeSize(w)).toBe(65536);
    const page = posix.pageSize;
    expect(posix.setPipeSize(w, 3 * page)).toBe(4 * page); // rounded up to a power-of-two number of pages
    expect(posix.getPipeSize(r)).toBe(4 * page); // one pipe: both ends agree
    expect(fill(w)).toBe(4 * page);
    const drain = Buffer.alloc(65536);
    while (posix.poll(r, { readable: true }, 0).readable) posix.read(r, drain);
    expect(posix.setPipeSize(w, 1 << 20)).toBe(1 << 20);
    expect(fill(w)).toBe(1 << 20);
  });

  it('above /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE is EPERM; on a non-pipe EBADF', (ctx) => {
    const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]}`);
    if ((capEff >> 24n) & 1n) {
      console.log('skipped: this process has CAP_SYS_RESOURCE, which may exceed pipe-max-size');
      ctx.skip();
    }
    const max = Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));
    const [r, w] = posix.pipe();
    const [a, b] = posix.socketpair();
    try {
      expect(thrown(() => posix.setPipeSize(w, max * 2))).toMatchObject({ code: 'EPERM', syscall: 'fcntl' });
      expect(thrown(() => posix.getPipeSize(a))).toMatchObject({ code: 'EBADF', syscall: 'fcntl' });
    } finally {
      closeAll(r, w, a, b);
    }
  });
});

describe('unixConnect', () => {
  // A listener whose event loop stands still (a blocking read of its stdin) until the test writes a byte: nothing is
  // accepted before, so with a backlog of 1 a third connect blocks. Then it accepts and keeps running until stdin ends.
  const LISTENER = `
    const net = require('node:net'), fs = require('node:fs');
    net.createServer((c) => c.resume().on('error', () => {})).listen({ path: process.argv[1], backlog: 1 }, () => {
      process.stdout.write('listening\\n');
      fs.readSync(0, Buffer.alloc(1));
      process.stdin.resume().on('end', () => process.exit(0));
    });`;

  function lines(stream: NodeJS.ReadableStream): () => Promise<string> {
    const queue: string[] = [];
    const waiting: ((l: string) => void)[] = [];
    readline.createInterface({ input: stream }).on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
    return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r)));
  }

  it('a connect blocked on a full backlog and interrupted by a signal without SA_RESTART still connects', async (ctx) => {
    const connectNr = ({ x64: 42, arm64: 203 } as Record<string, number>)[process.arch];
    if (connectNr === undefined) {
      console.log(`skipped: the connect(2) syscall number on ${process.arch} is not in this test`);
      ctx.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-uconn-'));
    const sock = path.join(dir, 's');
    const listener = spawn(process.execPath, ['-e', LISTENER, sock], { stdio: ['pipe', 'pipe', 'inherit'] });
    let client: ReturnType<typeof spawn> | undefined;
    const closed = (c: ReturnType<typeof spawn>) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('close', r)));
    try {
      expect(await lines(listener.stdout!)()).toBe('listening');
      client = spawn(process.execPath, ['--inspect-port=0', '--import', 'tsx', helper('unix-connect-peer.ts'), sock], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      client.stderr!.resume(); // "Debugger listening on ws://127.0.0.1:<port>/..."
      const fromClient = lines(client.stdout!);
      expect(await fromClient()).toBe('blocking');
      // Until the client sleeps inside connect(2): /proc/<pid>/syscall starts with the number of the blocked call.
      const watchdog = Date.now() + 30_000;
      while (fs.readFileSync(`/proc/${client.pid}/syscall`, 'utf8').split(' ')[0] !== String(connectNr)) {
        if (Date.now() > watchdog) throw new Error('watchdog: the client never blocked in connect(2)');
        await sleep(5);
      }
      process.kill(client.pid!, 'SIGUSR1'); // connect fails with EINTR, the socket left unconnected
      listener.stdin!.write('x'); // now the listener accepts
      // Before the fix: the interrupted connect returned the unconnected fd ({ outcome: 'write ENOTCONN' }).
      expect(JSON.parse(await fromClient())).toEqual({ outcome: 'connected', signalled: true });
    } finally {
      client?.kill('SIGKILL');
      listener.stdin!.end();
      if (client) await closed(client);
      await closed(listener);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('socketpair', () => {
  it("'seqpacket' keeps message boundaries between parent and forked child", async () => {
    const [a, b] = posix.socketpair('seqpacket');
    const pid = await forkRun(() => {
      posix.close(a);
      const buf = Buffer.alloc(1024);
      const lengths: number[] = [];
      for (let i = 0; i < 3; i++) lengths.push(posix.read(b, buf));
      posix.write(b, JSON.stringify(lengths));
      // a short buffer takes the head of the next message and the kernel drops its tail
      const head = Buffer.alloc(4);
      posix.write(b, head.subarray(0, posix.read(b, head)));
      posix.write(b, buf.subarray(0, posix.read(b, buf))); // the following message is intact
      posix.close(b);
    });
    posix.close(b);
    posix.write(a, 'one');
    posix.write(a, 'two-two');
    posix.write(a, 'three-three-three');
    const buf = Buffer.alloc(1024);
    expect(JSON.parse(buf.subarray(0, await posix.readAsync(a, buf)).toString())).toEqual([3, 7, 17]);
    posix.write(a, '0123456789');
    posix.write(a, 'next');
    expect(buf.subarray(0, await posix.readAsync(a, buf)).toString()).toBe('0123');
    expect(buf.subarray(0, await posix.readAsync(a, buf)).toString()).toBe('next');
    expect(await posix.readAsync(a, buf)).toBe(0); // the child closed: end of stream
    posix.close(a);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it("'stream' merges writes (the contrast), 'dgram' keeps them; both ends are close-on-exec", () => {
    const [s1, s2] = posix.socketpair();
    const [d1, d2] = posix.socketpair('dgram');
    try {
      expect(posix.fdFlags(s1).cloexec && posix.fdFlags(s2).cloexec).toBe(true);
      posix.write(s1, 'ab');
      posix.write(s1, 'cd');
      const buf = Buffer.alloc(16);
      expect(buf.subarray(0, posix.read(s2, buf)).toString()).toBe('abcd');
      posix.write(d1, 'ab');
      posix.write(d1, 'cd');
      expect(buf.subarray(0, posix.read(d2, buf)).toString()).toBe('ab');
      expect(buf.subarray(0, posix.read(d2, buf)).toString()).toBe('cd');
      expect(() => posix.socketpair('raw' as posix.SocketType)).toThrow(TypeError);
    } finally {
      closeAll(s1, s2, d1, d2);
    }
  });
});

describe('SCM_RIGHTS: passing fds over a Unix socket', () => {
  /** A memfd of one page holding `text` (NUL-terminated), and a mapping of it. */
  function memfdWith(text: string): { fd: number; map: posix.Mapping } {
    const fd = posix.memfdCreate('multiproc-scm-test');
    posix.ftruncate(fd, posix.pageSize);
    const map = posix.mmap(posix.pageSize, { fd });
    new Uint8Array(map.buffer).set(Buffer.from(`${text}\0`));
    return { fd, map };
  }
  function cString(map: posix.Mapping, offset: number): string {
    const bytes = new Uint8Array(map.buffer, offset);
    return Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString();
  }

  it('a pipe end and a memfd to a forked child, which uses them and sends a pipe end back', async () => {
    const [s0, s1] = posix.socketpair();
    // Forked before the fds exist: it can only get them through the socket.
    const pid = await forkRun(() => {
      posix.close(s0);
      const { fds, data } = posix.recvFds(s1);
      if (Buffer.from(data).toString() !== 'take these' || fds.length !== 2) throw new Error(`got ${fds.length} fds`);
      const [pipeW, memfd] = fds as [number, number];
      if (!fds.every((fd) => posix.fdFlags(fd).cloexec)) throw new Error('received fds must be close-on-exec');
      posix.writeAll(pipeW, 'from the forked child');
      posix.close(pipeW);
      const map = posix.mmap(posix.pageSize, { fd: memfd });
      const seen = cString(map, 0);
      new Uint8Array(map.buffer).set(Buffer.from(`child saw: ${seen}\0`), 64);
      map.close();
      posix.close(memfd);
      const [r, w] = posix.pipe();
      posix.sendFds(s1, [r], 'back');
      posix.close(r);
      posix.writeAll(w, 'through the pipe the child made');
      closeAll(w, s1);
    });
    posix.close(s1);
    const [pr, pw] = posix.pipe();
    const mem = memfdWith('memfd text');
    try {
      expect(posix.sendFds(s0, [pw, mem.fd], 'take these')).toBe(10);
      posix.close(pw);
      expect((await readAll(pr)).toString()).toBe('from the forked child');
      const back = await posix.recvFdsAsync(s0);
      expect(Buffer.from(back.data).toString()).toBe('back');
      expect(back.fds).toHaveLength(1);
      expect((await readAll(back.fds[0]!)).toString()).toBe('through the pipe the child made');
      posix.close(back.fds[0]!);
      expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
      expect(cString(mem.map, 64)).toBe('child saw: memfd text');
    } finally {
      mem.map.close();
      closeAll(pr, mem.fd, s0);
    }
  });

  it('the same to a fresh node child that inherited the socket as fd 3', async () => {
    const [s0, s1] = posix.socketpair();
    const done = runHelper('fd-peer.ts', ['scm'], [s1]);
    posix.close(s1);
    const [pr, pw] = posix.pipe();
    const mem = memfdWith('memfd text for node');
    try {
      posix.sendFds(s0, [pw, mem.fd], 'take these');
      posix.close(pw);
      expect((await readAll(pr)).toString()).toBe('from the node child');
      const back = await posix.recvFdsAsync(s0);
      expect(Buffer.from(back.data).toString()).toBe('back');
      expect((await readAll(back.fds[0]!)).toString()).toBe('through the pipe the node child made');
      posix.close(back.fds[0]!);
      const result = await done;
      expect(result).toMatchObject({ code: 0, signal: null });
      expect(JSON.parse(result.stdout)).toEqual({ data: 'take these', count: 2, cloexec: [true, true], memfdText: 'memfd text for node' });
      expect(cString(mem.map, 64)).toBe('reply from the node child');
    } finally {
      mem.map.close();
      closeAll(pr, mem.fd, s0);
    }
  });

  it('without data one zero byte carries the fds; over seqpacket too', () => {
    for (const type of ['stream', 'seqpacket'] as const) {
      const [a, b] = posix.socketpair(type);
      const [r, w] = posix.pipe();
      try {
        expect(posix.sendFds(a, [w])).toBe(1);
        const got = posix.recvFds(b);
        expect([...got.data]).toEqual([0]);
        expect(got.fds).toHaveLength(1);
        posix.write(got.fds[0]!, 'x');
        expect(posix.read(r, Buffer.alloc(4))).toBe(1);
        posix.close(got.fds[0]!);
        // no fds at all: a plain message
        expect(posix.sendFds(a, [], 'plain')).toBe(5);
        expect(posix.recvFds(b)).toEqual({ fds: [], data: new Uint8Array(Buffer.from('plain')) });
      } finally {
        closeAll(a, b, r, w);
      }
    }
  });

  it('more fds than maxFds (MSG_CTRUNC) is an error that closes what arrived', () => {
    const [a, b] = posix.socketpair();
    const [r, w] = posix.pipe();
    try {
      const before = fdCount();
      for (const [sent, maxFds] of [
        [3, 1],
        [2, 1], // fits in the 8-byte-aligned control buffer of one fd: still refused
        [5, 4],
      ] as const) {
        posix.sendFds(a, Array.from({ length: sent }, (_, i) => (i % 2 ? r : w)), 'x');
        const err = thrown(() => posix.recvFds(b, maxFds));
        expect(err.code).toBe('ERR_MULTIPROC_TRUNCATED');
        expect(err.message).toMatch(new RegExp(`more file descriptors than maxFds \\(${maxFds}\\).*were closed`));
        expect(fdCount()).toBe(before);
      }
    } finally {
      closeAll(a, b, r, w);
    }
  });

  it('a seqpacket message longer than maxBytes (MSG_TRUNC) is an error that closes the fds', async () => {
    const [a, b] = posix.socketpair('seqpacket');
    const [r, w] = posix.pipe();
    try {
      const before = fdCount();
      posix.sendFds(a, [r, w], 'a message longer than eight bytes');
      expect(thrown(() => posix.recvFds(b, 16, 8))).toMatchObject({ code: 'ERR_MULTIPROC_TRUNCATED', message: expect.stringContaining('MSG_TRUNC') });
      posix.sendFds(a, [r], 'again, longer than eight bytes');
      await expect(posix.recvFdsAsync(b, 16, 8)).rejects.toMatchObject({ code: 'ERR_MULTIPROC_TRUNCATED' });
      expect(fdCount()).toBe(before);
    } finally {
      closeAll(a, b, r, w);
    }
  });

  it('end of stream: no fds and empty data; recvFdsAsync can be aborted', async () => {
    const [a, b] = posix.socketpair();
    const ac = new AbortController();
    const watches = native.pendingWaits('reactor');
    const pending = posix.recvFdsAsync(a, 16, 4096, { signal: ac.signal });
    expect(native.pendingWaits('reactor')).toBe(watches + 1);
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(native.pendingWaits('reactor')).toBe(watches);
    posix.close(b);
    expect(posix.recvFds(a)).toEqual({ fds: [], data: new Uint8Array(0) });
    expect(await posix.recvFdsAsync(a)).toEqual({ fds: [], data: new Uint8Array(0) });
    posix.close(a);
  });

  it('errors: EBADF for a bad fd in the list, ENOTSOCK on a pipe, EPIPE when the peer is gone', () => {
    const [a, b] = posix.socketpair();
    const [r, w] = posix.pipe();
    try {
      expect(thrown(() => posix.sendFds(a, [999_999], 'x'))).toMatchObject({ code: 'EBADF', syscall: 'sendmsg' });
      expect(thrown(() => posix.sendFds(w, [r], 'x'))).toMatchObject({ code: 'ENOTSOCK', syscall: 'sendmsg' });
      expect(thrown(() => posix.recvFds(r))).toMatchObject({ code: 'ENOTSOCK', syscall: 'recvmsg' });
      posix.close(b);
      expect(thrown(() => posix.sendFds(a, [r], 'x'))).toMatchObject({ code: 'EPIPE', syscall: 'sendmsg' });
    } finally {
      closeAll(a, r, w);
    }
  });
});

describe('dup / dup2', () => {
  it('dup2 makes `to` a copy of `from` without O_CLOEXEC; dup keeps O_CLOEXEC', () => {
    const [r1, w1] = posix.pipe();
    const [r2, w2] = posix.pipe();
    try {
      posix.dup2(w1, w2); // w2 now writes into the first pipe; the second pipe's write end is closed
      expect(posix.fdFlags(w2).cloexec).toBe(false);
      posix.write(w2, 'via dup2');
      const buf = Buffer.alloc(32);
      expect(buf.subarray(0, posix.read(r1, buf)).toString()).toBe('via dup2');
      expect(posix.read(r2, buf)).toBe(0); // its only writer was replaced: EOF
      const d = posix.dup(r1);
      expect(posix.fdFlags(d).cloexec).toBe(true);
      posix.close(d);
    } finally {
      closeAll(r1, w1, r2, w2);
    }
  });

  it('dup2 onto fd 1 in a forked child redirects what it writes to stdout', async () => {
    const { pid, out, status } = await forkPiped((fd) => posix.write(fd, 'to stdout, into the pipe'), { onto: 1 });
    expect(out.toString()).toBe('to stdout, into the pipe');
    expect(status).toEqual({ kind: 'exited', pid, code: 0 });
  });
});

describe('pingPongBench (the native side of lib/tools/bench/pipe.ts)', () => {
  it('runs a 1-byte ping-pong with a forked child; EOF from the other side is an error', async () => {
    const [aR, aW] = posix.pipe();
    const [bR, bW] = posix.pipe();
    const pid = await forkRun(() => {
      closeAll(aW, bR);
      posix.pingPongBench(aR, bW, 1000, false);
      closeAll(aR, bW);
    });
    closeAll(aR, bW);
    expect(posix.pingPongBench(bR, aW, 1000, true)).toBeGreaterThan(0);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    // the child is gone: the initiator's first write finds no reader, the responder's first read finds EOF
    expect(thrown(() => posix.pingPongBench(bR, aW, 1, true))).toMatchObject({ code: 'EPIPE', syscall: 'write' });
    expect(thrown(() => posix.pingPongBench(bR, aW, 1, false))).toMatchObject({
      code: 'ERR_MULTIPROC_EOF',
      message: 'pingPongBench: the other side closed its end',
    });
    closeAll(bR, aW);
  });
});

describe('argument errors (checked in the native layer too; never a crash)', () => {
  it('types and ranges', async () => {
    using pipe = scopedPipe();
    const { r, w } = pipe;
    const buf = Buffer.alloc(10);
    const typeErr = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
    const rangeErr = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };
    expect(thrown(() => posix.read('3' as unknown as number, buf))).toMatchObject(typeErr);
    expect(thrown(() => posix.read(-1, buf))).toMatchObject(rangeErr);
    expect(thrown(() => posix.read(1.5, buf))).toMatchObject(rangeErr);
    expect(thrown(() => posix.read(r, 'buf' as unknown as Uint8Array))).toMatchObject(typeErr);
    expect(thrown(() => posix.read(r, new Uint16Array(4) as unknown as Uint8Array))).toMatchObject(typeErr);
    expect(thrown(() => posix.read(r, buf, 5, 6))).toMatchObject(rangeErr);
    expect(thrown(() => posix.read(r, buf, 11))).toMatchObject(rangeErr);
    expect(thrown(() => posix.write(w, 42 as unknown as Uint8Array))).toMatchObject(typeErr);
    expect(thrown(() => posix.sendFds(w, 'x' as unknown as number[]))).toMatchObject(typeErr);
    expect(thrown(() => posix.sendFds(w, ['1'] as unknown as number[]))).toMatchObject({ ...typeErr, message: expect.stringContaining('"fds[0]"') });
    expect(thrown(() => posix.sendFds(w, [r, -1]))).toMatchObject({ ...rangeErr, message: expect.stringContaining('"fds[1]"') });
    expect(thrown(() => posix.sendFds(w, new Array(posix.SCM_MAX_FD + 1).fill(r)))).toMatchObject(rangeErr);
    expect(thrown(() => posix.sendFds(w, [r], 42 as unknown as Uint8Array))).toMatchObject(typeErr);
    expect(thrown(() => posix.recvFds(r, 0))).toMatchObject(rangeErr);
    expect(thrown(() => posix.recvFds(r, posix.SCM_MAX_FD + 1))).toMatchObject(rangeErr);
    expect(thrown(() => posix.recvFds(r, 16, 0))).toMatchObject(rangeErr);
    expect(thrown(() => posix.pingPongBench(r, w, -1, true))).toMatchObject(rangeErr);
    expect(thrown(() => posix.pingPongBench(r, w, 1, 'yes' as unknown as boolean))).toMatchObject(typeErr);
    expect(thrown(() => posix.setPipeSize(w, 0))).toMatchObject(rangeErr);
    expect(thrown(() => posix.mkfifo(42 as unknown as string))).toMatchObject(typeErr);
    expect(thrown(() => posix.mkfifo('/tmp/a\0b'))).toMatchObject(typeErr);
    // async forms reject with the same errors
    await expect(posix.readAsync(r, 'x' as unknown as Uint8Array)).rejects.toMatchObject(typeErr);
    await expect(posix.recvFdsAsync(r, 0)).rejects.toMatchObject(rangeErr);
    // the raw binding checks its own arguments: no crash whatever comes
    const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(thrown(() => raw.sendFds!())).toMatchObject({ name: 'TypeError', code: 'ERR_MISSING_ARGS' });
    expect(thrown(() => raw.recvFdsAsync!(r, 1, 1, 'not a function'))).toMatchObject(typeErr);
    expect(thrown(() => raw.pingPongBench!(r, w, 1))).toMatchObject({ code: 'ERR_MISSING_ARGS' });
    expect(thrown(() => raw.cancelWait!(0))).toMatchObject(rangeErr);
    expect(raw.cancelWait!(12345)).toBe(false);
  });

  it('errno errors carry code, errno, syscall and the message', () => {
    const notOpen = 999_999; // never a stale number: closing a reused fd could close the runner's
    expect(thrown(() => posix.close(notOpen))).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close', message: 'close EBADF: Bad file descriptor' });
    using pipe = scopedPipe();
    const { r, w } = pipe;
    expect(thrown(() => posix.read(w, Buffer.alloc(1)))).toMatchObject({ code: 'EBADF', syscall: 'read' });
    expect(thrown(() => posix.dup2(notOpen, 5000))).toMatchObject({ code: 'EBADF', syscall: 'dup2' });
  });
});

describe('found by the fuzzer', () => {
  it('sendFds reads the fd list once: an array that grows while it is read cannot overflow', () => {
    const [a, b] = posix.socketpair();
    try {
      let grow = 0;
      const list: number[] = [];
      Object.defineProperty(list, 0, {
        get() {
          if (grow++ < 1000) list.push(b); // grows while being read
          return b;
        },
        configurable: true,
        enumerable: true,
      });
      list.length = 1;
      expect(() => posix.sendFds(a, list)).not.toThrow();
      const got = posix.recvFds(b, 16);
      expect(got.fds.length).toBe(1);
      for (const fd of got.fds) posix.close(fd);
    } finally {
      posix.close(a);
      posix.close(b);
    }
  });
});

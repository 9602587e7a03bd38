// Pipe and Connection between real processes: forked children and a fresh node that received an fd.
import { describe, expect, it } from 'vitest';
import { Connection, EOFError, Pipe, TimeoutError } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { childExecArgv } from '../lib/mp/process/process.js';
import { forkRun, gate, reap } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';
import { helper } from './helpers/files.js';

checkLeaks();


const samples: unknown[] = [
  42,
  -0.5,
  'short',
  'ünïcødé ✓'.repeat(100),
  // lone surrogates have no UTF-8 form: they must not turn into U+FFFD (issue 14; sent as a structured clone)
  '\ud800',
  'a\udc00b'.repeat(100),
  '\ufeffstarts with a byte-order mark',
  true,
  false,
  null,
  undefined,
  123456789012345678901234567890n,
  new Map<unknown, unknown>([['k', 1], [2, { deep: [1, 2] }]]),
  new Set([1, 'two']),
  new Date(1_700_000_000_000),
  new Float64Array([1.5, -2.25]),
  new Uint8Array([1, 2, 3]),
  { nested: { list: [1, 'a', null], when: new Date(0) } },
  [1, [2, [3]]],
];

describe('Pipe between processes', () => {
  it('a forked child echoes every kind of value back through a duplex Pipe', async () => {
    const [mine, theirs] = Pipe();
    const pid = await forkRun(async () => {
      mine.close();
      for (;;) {
        let v: unknown;
        try {
          v = await theirs.recv();
        } catch (e) {
          if (e instanceof EOFError) return 0;
          throw e;
        }
        theirs.send(v);
      }
    });
    theirs.close();
    for (const v of samples) {
      mine.send(v);
      expect(await mine.recv()).toEqual(v);
    }
    const err = new RangeError('remote');
    mine.send(err);
    const back = (await mine.recv()) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe('remote');
    mine.close();
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('a fresh node that received one end as fd 3 (posix.spawn) answers, then sees EOF', async () => {
    const [mine, theirs] = Pipe();
    const pid = posix.spawn(process.execPath, [process.execPath, ...childExecArgv(), helper('conn-peer.ts')], {
      fds: { 3: theirs.fileno() },
    });
    theirs.close();
    mine.send({ hello: 'world', when: new Date(5) });
    expect(await mine.recv(30_000)).toEqual({ echo: { hello: 'world', when: new Date(5) }, pid });
    mine.send(7n);
    expect(await mine.recv(30_000)).toEqual({ echo: 7n, pid });
    mine.close();
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('a 64 MiB message crosses a 64 KiB pipe whole (partial reads and writes), in both directions', async () => {
    const [r, w] = Pipe(false);
    const [r2, w2] = Pipe(false);
    const pid = await forkRun(async () => {
      r.close();
      w2.close();
      const big = new Uint8Array(64 * 2 ** 20);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
      w.sendBytes(big); // blocks until the parent has read it all
      const back = await r2.recvBytes();
      return back.length === big.length && back[4096 * 7] === 7 ? 0 : 3;
    });
    w.close();
    r2.close();
    const got = await r.recvBytes();
    expect(got.length).toBe(64 * 2 ** 20);
    expect(got[4096 * 200]).toBe(200);
    w2.sendBytes(got);
    expect(await reap(pid, 60_000)).toEqual({ kind: 'exited', pid, code: 0 });
    r.close();
    w2.close();
  });

  it('recvSync, recvBytesSync and pollSync block the thread; poll resolves when a message arrives', async () => {
    const [a, b] = Pipe();
    const go = gate(); // the child sends once the parent has seen nothing to read yet
    const pid = await forkRun(async () => {
      a.close();
      go.wait();
      await new Promise((res) => setTimeout(res, 50));
      b.send('late');
      b.sendBytes(new Uint8Array([9, 8]));
      b.close();
    });
    b.close();
    go.forked();
    try {
      expect(a.pollSync(0)).toBe(false);
    } finally {
      go.open();
    }
    expect(await a.poll(10_000)).toBe(true);
    expect(a.recvSync()).toBe('late');
    expect([...a.recvBytesSync()]).toEqual([9, 8]);
    expect(() => a.recvSync()).toThrow(EOFError);
    a.close();
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });
});

describe('buffered reads', () => {
  it('several small messages arrive in one read; a forked child never gets what its parent had already read', async () => {
    const [a, b] = Pipe();
    const [replyR, replyW] = Pipe(false);
    try {
      a.send(1);
      a.send('two');
      a.send({ three: 3 });
      expect(b.recvSync()).toBe(1); // one read(2) brought all three into b's buffer
      expect(b.pollSync(0)).toBe(true); // buffered messages count as readable
      const pid = await forkRun(() => {
        const got = b.recvSync(5000); // not 'two' (the parent's), but what is sent after the fork
        replyW.send(got === 4 ? 'child ok' : `child got ${JSON.stringify(got)}`);
        return 0;
      });
      expect(await b.recv()).toBe('two'); // from the buffer: the parent reads nothing more from the fd
      expect(b.recvSync()).toEqual({ three: 3 });
      a.send(4);
      expect(replyR.recvSync(5000)).toBe('child ok');
      expect((await reap(pid)).kind).toBe('exited');
    } finally {
      for (const c of [a, b, replyR, replyW]) c.close();
    }
  });
});

describe('errors, not hangs or crashes', () => {
  it('timeouts: recv → TimeoutError after at least the timeout, poll → false; the stream stays in sync', async () => {
    const [a, b] = Pipe();
    const t0 = Date.now();
    await expect(a.recv(100)).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(() => a.recvSync(50)).toThrow(TimeoutError);
    expect(await a.poll(20)).toBe(false);
    b.send('after the timeouts');
    expect(await a.recv(1000)).toBe('after the timeouts');
    const ac = new AbortController();
    const pending = a.recv({ signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    a.close();
    b.close();
  });

  it('a closed peer is EOFError; a peer that dies mid-message is a truncated-frame error', async () => {
    const [a, b] = Pipe();
    b.close();
    await expect(a.recv()).rejects.toBeInstanceOf(EOFError);
    a.close();
    const [r, w] = posix.pipe();
    posix.write(w, Buffer.from([0, 100, 0, 0, 0, 1, 2])); // a header announcing 100 bytes, then 2
    posix.close(w);
    const c = new Connection(r);
    await expect(c.recv()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_EOF', message: expect.stringMatching(/truncated/) });
    c.close();
  });

  it('garbage in the stream is a malformed-frame error; an oversized frame is refused before any allocation', async () => {
    const [r, w] = posix.pipe();
    posix.write(w, 'garbage written by someone else');
    const c = new Connection(r);
    await expect(c.recv()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_BAD_FRAME' });
    await expect(c.recv()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_BAD_FRAME' }); // stays broken, no hang
    c.close();
    posix.close(w);
    const [small, big] = Pipe(true, { maxMessageBytes: 1024 });
    expect(() => big.send('x'.repeat(2048))).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_MESSAGE_TOO_LARGE' }));
    const [r2, w2] = posix.pipe();
    posix.write(w2, Buffer.from([1, 0xff, 0xff, 0xff, 0x7f])); // announces 2 GiB
    const c2 = new Connection(r2, { maxMessageBytes: 1024 });
    await expect(c2.recv()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_MESSAGE_TOO_LARGE' });
    c2.close();
    posix.close(w2);
    small.close();
    big.close();
  });

  it('shared objects are refused (they travel by inheritance); closed connections and wrong directions are errors', async () => {
    const [a, b] = Pipe();
    const m = posix.mmap(4096);
    expect(() => a.send(m)).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_SENDABLE' }));
    expect(() => a.send({ inside: [posix.Mutex.init(m, 0)] })).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_SENDABLE' }));
    expect(() => a.send(() => 1)).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_CLONEABLE' }));
    expect(() => a.send(b)).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_SENDABLE' }));
    m.close();
    const waiting = a.recv();
    a.close();
    a.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_MULTIPROC_CLOSED' });
    expect(() => a.send(1)).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_CLOSED' }));
    b.close();
    const [reader, writer] = Pipe(false);
    expect(() => reader.send(1)).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_WRITABLE' }));
    expect(() => writer.recvSync()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_READABLE' }));
    reader.close();
    writer.close();
  });
});

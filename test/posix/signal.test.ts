// The signal family (native/signal.cc, lib/posix/signal.ts). Everything that changes a disposition or a mask
// runs in a forked child (one thread: its mask is the process's), never in the vitest worker.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { reap, runInChild, thrown, until } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

const SIG = native.signals;

describe('argument checks (native, called directly)', () => {
  it('rejects bad signals, dispositions, flags, masks and timeouts with coded errors, and SIGKILL with EINVAL', () => {
    expect(thrown(() => native.sigaction(0, 0))).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigaction(SIG.SIGRTMAX! + 1, 0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigaction('SIGUSR1' as unknown as number, 0))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.sigaction(SIG.SIGUSR1!, 4))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigaction(SIG.SIGUSR1!, 0, 0x4))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' }); // SA_SIGINFO is the family's own
    expect(thrown(() => native.sigaction(SIG.SIGUSR1!, 0, 0, [0]))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigaction(SIG.SIGKILL!, 2))).toMatchObject({ code: 'EINVAL', syscall: 'sigaction' });
    expect(thrown(() => native.sigprocmask(3, []))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigprocmask(0, ['x' as unknown as number]))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.sigprocmask(0, new Array(200).fill(1)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigsuspend([], -1))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigsuspend([], NaN))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigqueue(0, SIG.SIGUSR1!, 0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sigqueue(process.pid, SIG.SIGUSR1!, 2 ** 31))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.signalRecords(-1))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.signalCount(0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });

  it('the typed layer names what it expected', () => {
    expect(thrown(() => posix.sigaction('SIGUSR1', 'catch' as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/'default', 'ignore', 'record', 'original'/) });
    expect(thrown(() => posix.sigprocmask('add' as never, ['SIGUSR1']))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => posix.sigprocmask('block', ['SIGNOPE']))).toMatchObject({ code: 'ERR_UNKNOWN_SIGNAL' });
    expect(posix.decodeSignalMask('0000000000000200')).toEqual(['SIGUSR1']);
    expect(posix.decodeSignalMask('0000000000004002')).toEqual(['SIGINT', 'SIGTERM']);
    expect(posix.decodeSignalMask('0000000200000000')).toEqual(['SIGRTMIN']);
    expect(posix.signalMasks(4194304)).toBeNull();
  });
});

describe('in a forked child', () => {
  it('record: the handler runs once per delivery, with the sender, si_code and a sigqueue value', async () => {
    const { value } = await runInChild(() => {
      const prev = posix.sigaction('SIGUSR1', 'record');
      posix.kill(posix.getpid(), 'SIGUSR1'); // to itself, unblocked: delivered before kill returns
      posix.sigqueue(posix.getpid(), 'SIGUSR1', -7);
      return { prev, count: posix.signalCount('SIGUSR1'), records: posix.signalRecords(0), caught: posix.signalMasks()!.caught };
    });
    expect(value.prev.disposition).toBe('default');
    expect(value.count).toBe(2);
    expect(value.records.map((r) => [r.signal, r.code, r.value])).toEqual([
      ['SIGUSR1', 'user', 0],
      ['SIGUSR1', 'queue', -7],
    ]);
    expect(value.records[0]!.pid).toBe(value.records[1]!.pid);
    expect(value.records[0]!.seq + 1).toBe(value.records[1]!.seq);
    expect(value.caught).toContain('SIGUSR1');
  });

  it('ignore, resetHand (one-shot) and original (back to what it was, Node\'s own handler included)', async () => {
    const { value } = await runInChild(() => {
      const a = posix.sigaction('SIGUSR2', 'record', { resetHand: true, restart: true });
      const b = posix.sigaction('SIGUSR2', 'record', { resetHand: true, restart: true }); // reads back what a set
      posix.kill(posix.getpid(), 'SIGUSR2'); // runs the handler once, then SIG_DFL
      const afterOne = posix.sigaction('SIGUSR2', 'ignore');
      posix.kill(posix.getpid(), 'SIGUSR2'); // ignored: nothing
      const ignoredCount = posix.signalCount('SIGUSR2');
      const term = posix.sigaction('SIGTERM', 'record'); // Node's SignalExit handler is there
      const back = posix.sigaction('SIGTERM', 'original');
      const now = posix.sigaction('SIGTERM', 'original'); // nothing changed since: reads the original
      return { a, b, afterOne, ignoredCount, term, back, now, ignored: posix.signalMasks()!.ignored };
    });
    expect(value.a.disposition).toBe('default');
    expect(value.b).toEqual({ disposition: 'record', flags: { resetHand: true, restart: true } });
    expect(value.afterOne.disposition).toBe('default');
    expect(value.ignoredCount).toBe(1);
    expect(value.ignored).toContain('SIGUSR2');
    expect(value.term.disposition).toBe('other');
    expect(value.back.disposition).toBe('record');
    expect(value.now.disposition).toBe('other');
  });

  it('blocked: pending (sigpending, ShdPnd), then delivered inside sigprocmask(unblock): standard once, real-time each, in order', async () => {
    const { value } = await runInChild(() => {
      posix.sigaction('SIGUSR1', 'record');
      posix.sigaction('SIGRTMIN+1', 'record');
      const before = posix.sigprocmask('block', ['SIGUSR1', 'SIGRTMIN+1']);
      for (let i = 0; i < 3; i++) posix.kill(posix.getpid(), 'SIGUSR1');
      for (let i = 1; i <= 3; i++) posix.sigqueue(posix.getpid(), 'SIGRTMIN+1', i * 100);
      const pending = posix.sigpending();
      const masks = posix.signalMasks()!;
      const countBefore = posix.signalCount('SIGUSR1') + posix.signalCount('SIGRTMIN+1');
      const seq = posix.signalSeq();
      const blocked = posix.sigprocmask('unblock', ['SIGUSR1', 'SIGRTMIN+1']);
      const records = posix.signalRecords(seq);
      return { before, pending, masks, countBefore, blocked, records, after: posix.sigpending() };
    });
    expect(value.before).toEqual([]);
    expect(value.pending).toEqual(['SIGUSR1', 'SIGRTMIN+1']);
    expect(value.masks.blocked).toEqual(['SIGUSR1', 'SIGRTMIN+1']);
    expect([...value.masks.pendingProcess, ...value.masks.pendingThread].sort()).toEqual(['SIGRTMIN+1', 'SIGUSR1']);
    expect(value.countBefore).toBe(0);
    expect(value.blocked).toEqual(['SIGUSR1', 'SIGRTMIN+1']);
    expect(value.records.filter((r) => r.signal === 'SIGUSR1')).toHaveLength(1);
    expect(value.records.filter((r) => r.signal === 'SIGRTMIN+1').map((r) => r.value)).toEqual([100, 200, 300]);
    expect(value.after).toEqual([]);
  });

  it('sigsuspend: false after its timeout; true when a handler ran (a signal from another process)', async () => {
    const [r, w] = posix.pipe();
    const child = posix.forkAndRun(() => {
      posix.close(r);
      posix.sigaction('SIGUSR1', 'record');
      const old = posix.sigprocmask('block', ['SIGUSR1']);
      const t = Date.now();
      const timedOut = posix.sigsuspend(old, 30);
      const waited = Date.now() - t;
      posix.write(w, 'ready');
      const woke = posix.sigsuspend(old, 10_000); // SIGUSR1 unblocked only in here
      const rec = posix.signalRecords(0)[0];
      posix.write(w, JSON.stringify({ timedOut, waited, woke, from: rec?.pid, still: posix.sigprocmask('block') }));
      posix.exit(0);
    });
    posix.close(w);
    const buf = Buffer.alloc(4096);
    expect(Buffer.from(buf.subarray(0, posix.read(r, buf))).toString()).toBe('ready');
    await until(() => posix.processInfo(child)?.state === 'sleeping', 'the child asleep in sigsuspend');
    posix.kill(child, 'SIGUSR1');
    const n = posix.read(r, buf);
    posix.close(r);
    expect(await reap(child)).toMatchObject({ kind: 'exited', code: 0 });
    const res = JSON.parse(buf.subarray(0, n).toString());
    expect(res.timedOut).toBe(false);
    expect(res.waited).toBeGreaterThanOrEqual(25);
    expect(res.woke).toBe(true);
    expect(res.from).toBe(process.pid);
    expect(res.still).toEqual(['SIGUSR1']); // the mask is back after sigsuspend
  });

  it('a parent\'s signalMasks() of its child shows what the child blocked and caught', async () => {
    const [r, w] = posix.pipe();
    const child = posix.forkAndRun(() => {
      posix.close(r);
      posix.sigaction('SIGWINCH', 'record');
      posix.sigaction('SIGURG', 'ignore');
      posix.sigprocmask('block', ['SIGHUP']);
      posix.write(w, 'x');
      posix.sigsuspend(['SIGHUP'], 10_000);
      posix.exit(0);
    });
    posix.close(w);
    posix.read(r, Buffer.alloc(1));
    posix.close(r);
    const m = posix.signalMasks(child)!;
    posix.kill(child, 'SIGWINCH');
    expect(await reap(child)).toMatchObject({ kind: 'exited', code: 0 });
    expect(m.caught).toContain('SIGWINCH');
    expect(m.ignored).toContain('SIGURG');
    expect(m.blocked).toContain('SIGHUP');
  });
});

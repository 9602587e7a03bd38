// The process family: waitpid's decoded statuses, waitpidAsync, kill, ids, sessions, subreaper, parent-death
// signal, affinity, resource limits.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as posix from '../../lib/posix/index.js';
import { forkRun, readLine, reap, runInChild, until } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

/** A child that blocks in a synchronous poll() until killed or until `release` is written to. */
function blockedChild(): { pid: number; release: () => void } {
  const [r, w] = posix.pipe();
  const pid = posix.fork();
  if (pid === 0) {
    posix.close(w);
    posix.setrlimit('core', { soft: 0, hard: posix.getrlimit('core').hard }); // no core files from this test
    posix.poll(r, { readable: true }, -1);
    posix.exit(0);
  }
  posix.close(r);
  return {
    pid,
    release: () => {
      try {
        posix.write(w, 'go');
      } catch {
        /* EPIPE: the child is gone already */
      }
      posix.close(w);
    },
  };
}


describe('waitpid decodes every status', () => {
  it('exit codes 0..255', async () => {
    const pids = new Map<number, number>();
    for (let code = 0; code <= 255; code++) {
      const pid = posix.fork();
      if (pid === 0) posix.exit(code);
      pids.set(pid, code);
    }
    for (const [pid, code] of pids) expect(posix.waitpid(pid)).toEqual({ kind: 'exited', pid, code });
  });

  // Signals whose default action does not end a process, and the two Node ignores (SIGPIPE → EPIPE errors).
  const NOT_FATAL = new Set(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGPIPE', 'SIGXFSZ']);
  const fatal = [...new Set(Object.values(posix.signals))]
    .map((n) => posix.signalName(n))
    .filter((name) => !NOT_FATAL.has(name));

  it(`every fatal signal, by name (${fatal.length} signals, real-time ones included)`, async () => {
    expect(fatal).toContain('SIGKILL');
    expect(fatal).toContain('SIGRTMAX');
    for (const name of fatal) {
      const child = blockedChild();
      posix.kill(child.pid, name);
      const status = await reap(child.pid, 10_000);
      child.release();
      expect(status).toEqual({ kind: 'signaled', pid: child.pid, signal: name, coreDumped: false });
    }
  });

  it('a core dump is reported where RLIMIT_CORE and core_pattern allow one', async (ctx) => {
    const pattern = (await fsp.readFile('/proc/sys/kernel/core_pattern', 'utf8')).trim();
    if (pattern.startsWith('|') || posix.getrlimit('core').hard === 0) {
      console.log(`skipped: core dumps are piped to a program (${pattern}) or forbidden by the hard limit`);
      ctx.skip();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'multiproc-core-'));
    try {
      const pid = posix.fork();
      if (pid === 0) {
        process.chdir(dir); // a core file named "core" lands here, not in the checkout
        posix.setrlimit('core', { soft: posix.getrlimit('core').hard, hard: posix.getrlimit('core').hard });
        posix.kill(posix.getpid(), 'SIGQUIT');
        posix.exit(99); // not reached
      }
      expect(await reap(pid)).toEqual({ kind: 'signaled', pid, signal: 'SIGQUIT', coreDumped: true });
      expect(readdirSync(dir).length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stopped (untraced) and continued (continued), then signaled', async () => {
    const child = blockedChild();
    const { pid } = child;
    expect(posix.waitpid(pid, { noHang: true, untraced: true })).toEqual({ kind: 'running', pid });
    posix.kill(pid, 'SIGSTOP');
    expect(posix.waitpid(pid, { untraced: true })).toEqual({ kind: 'stopped', pid, signal: 'SIGSTOP' });
    expect(posix.processInfo(pid)?.state).toBe('stopped');
    posix.kill(pid, 'SIGCONT');
    expect(posix.waitpid(pid, { continued: true })).toEqual({ kind: 'continued', pid });
    posix.kill(pid, 'SIGKILL');
    expect(posix.waitpid(pid)).toEqual({ kind: 'signaled', pid, signal: 'SIGKILL', coreDumped: false });
    child.release();
  });

  it('noHang on a running child, then its exit', async () => {
    const child = blockedChild();
    expect(posix.waitpid(child.pid, { noHang: true })).toEqual({ kind: 'running', pid: child.pid });
    child.release();
    expect(posix.waitpid(child.pid)).toEqual({ kind: 'exited', pid: child.pid, code: 0 });
  });

  it('waitpid(-1) reaps any child', async () => {
    const pid = posix.fork();
    if (pid === 0) posix.exit(3);
    expect(posix.waitpid(-1)).toEqual({ kind: 'exited', pid, code: 3 });
  });

  it('ECHILD for a process that is not our child, with code, errno, syscall and message', () => {
    let err: NodeJS.ErrnoException | undefined;
    try {
      posix.waitpid(1);
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'ECHILD', errno: 10, syscall: 'waitpid', message: 'waitpid ECHILD: No child processes' });
  });

  it('arguments are checked', () => {
    expect(() => posix.waitpid('1' as unknown as number)).toThrow(TypeError);
    expect(() => posix.waitpid(1.5)).toThrow(RangeError);
    expect(() => posix.waitpid(2 ** 40)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

describe('waitpidAsync', () => {
  it('resolves with the decoded status once the child ends, and reaps it', async () => {
    const pid = await forkRun(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return 17;
    });
    expect(await posix.waitpidAsync(pid)).toEqual({ kind: 'exited', pid, code: 17 });
    expect(posix.processInfo(pid)).toBeNull();
  });

  it('resolves for a child that is already a zombie', async () => {
    const pid = posix.fork();
    if (pid === 0) posix.exit(4);
    await until(() => posix.processInfo(pid)?.state === 'zombie', 'the zombie');
    expect(await posix.waitpidAsync(pid)).toEqual({ kind: 'exited', pid, code: 4 });
  });

  it('rejects with ECHILD for a process that is not our child', async () => {
    await expect(posix.waitpidAsync(1)).rejects.toMatchObject({ code: 'ECHILD', syscall: 'waitpid' });
    await expect(posix.waitpidAsync(0)).rejects.toThrow(RangeError);
  });

  it('an AbortSignal rejects with its reason and leaves the child to be reaped later', async () => {
    const child = blockedChild();
    const ac = new AbortController();
    const p = posix.waitpidAsync(child.pid, { signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await expect(p).rejects.toThrow('stop waiting');
    await expect(posix.waitpidAsync(child.pid, { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
    child.release();
    expect(await posix.waitpidAsync(child.pid)).toEqual({ kind: 'exited', pid: child.pid, code: 0 });
  });

  it('100 pending waits hold no libuv threadpool thread: fs work still completes', async () => {
    const children = Array.from({ length: 100 }, () => blockedChild());
    const waits = children.map((c) => posix.waitpidAsync(c.pid));
    // With the threadpool (4 threads) exhausted, these would never complete.
    const file = fileURLToPath(import.meta.url);
    const reads = await Promise.all(Array.from({ length: 8 }, () => fsp.readFile(file, 'utf8')));
    expect(reads.every((t) => t.includes('threadpool'))).toBe(true);
    for (const c of children) c.release();
    const statuses = await Promise.all(waits);
    expect(statuses.every((s) => s.kind === 'exited' && s.code === 0)).toBe(true);
  });
});

describe('spawn (posix_spawn)', () => {
  it('runs a program with argv, env and mapped fds; no shell; default signal dispositions', async () => {
    const [r, w] = posix.pipe();
    const pid = posix.spawn('/bin/sh', ['sh', '-c', 'echo "$0 $GREETING $$" >&3; grep -E "^SigIgn" /proc/self/status >&3; exit 7', 'argv0-is-kept'], {
      env: { GREETING: 'hello', PATH: '/usr/bin:/bin' },
      fds: { 3: w },
    });
    posix.close(w);
    const buf = Buffer.alloc(4096);
    let text = '';
    for (let n; (n = await posix.readAsync(r, buf)) > 0; ) text += buf.toString('utf8', 0, n);
    posix.close(r);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 7 });
    const [first, sigIgn] = text.trim().split('\n');
    expect(first).toBe(`argv0-is-kept hello ${pid}`);
    const ignored = BigInt(`0x${sigIgn!.split(/\s+/)[1]}`);
    const bit = (sig: string) => 1n << BigInt(posix.signals[sig]! - 1);
    expect(ignored & bit('SIGPIPE')).toBe(0n); // Node ignores SIGPIPE; the new program must not inherit that
    expect(ignored & bit('SIGXFSZ')).toBe(0n);
  });

  it('fds may be given as [childFd, parentFd] pairs as well', async () => {
    const [r, w] = posix.pipe();
    const [r2, w2] = posix.pipe();
    const pid = posix.spawn('/bin/sh', ['sh', '-c', 'echo three >&3; echo five >&5'], { fds: [[3, w], [5, w2]] });
    posix.close(w);
    posix.close(w2);
    const read = async (fd: number): Promise<string> => {
      const buf = Buffer.alloc(64);
      let text = '';
      for (let n; (n = await posix.readAsync(fd, buf)) > 0; ) text += buf.toString('utf8', 0, n);
      posix.close(fd);
      return text;
    };
    expect(await Promise.all([read(r), read(r2)])).toEqual(['three\n', 'five\n']);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(() => posix.spawn('/bin/true', ['true'], { fds: [[3, 987654]] })).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('fds 0-2 are inherited unless mapped (Node marks them close-on-exec); a parent fd that is not open is EBADF', async () => {
    const pid = posix.spawn('/bin/sh', ['sh', '-c', 'test -e /proc/$$/fd/0 && test -e /proc/$$/fd/1 && test -e /proc/$$/fd/2']);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(() => posix.spawn('/bin/true', ['true'], { fds: { 3: 987654 } })).toThrow(expect.objectContaining({ code: 'EBADF' }));
    expect(() => posix.spawn('/bin/true', ['true'], { fds: { [2 ** 20]: 1 } })).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('a new process group; errors for a missing program and bad arguments', async () => {
    const pid = posix.spawn('/bin/sleep', ['sleep', '5'], { newGroup: true });
    expect(posix.getpgid(pid)).toBe(pid);
    posix.kill(-pid, 'SIGTERM');
    expect(await reap(pid)).toMatchObject({ kind: 'signaled', signal: 'SIGTERM' });
    expect(() => posix.spawn('/nonexistent/program', ['x'])).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'posix_spawn' }));
    expect(() => posix.spawn('/bin/true', [])).toThrow(RangeError);
    expect(() => posix.spawn('/bin/true', ['true', 1 as unknown as string])).toThrow(TypeError);
  });
});

describe('kill and signal names', () => {
  it('accepts names, short names and numbers; rejects unknown ones', async () => {
    expect(posix.signalNumber('SIGTERM')).toBe(15);
    expect(posix.signalNumber('term')).toBe(15);
    expect(posix.signalNumber(9)).toBe(9);
    expect(posix.signalName(posix.signals.SIGRTMIN!)).toBe('SIGRTMIN');
    expect(posix.signalName(posix.signals.SIGRTMIN! + 2)).toBe('SIGRTMIN+2');
    expect(() => posix.signalNumber('SIGNOPE')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    expect(() => posix.signalNumber(0)).toThrow(RangeError);
    expect(() => posix.signalNumber(65)).toThrow(RangeError);
    const child = blockedChild();
    posix.kill(child.pid, 0); // exists
    posix.kill(child.pid, posix.signals.SIGUSR1!); // the child's SIGUSR1 is back to its default: it ends it
    expect(await reap(child.pid)).toMatchObject({ kind: 'signaled', signal: 'SIGUSR1' });
    child.release();
    expect(() => posix.kill(child.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'kill' }));
  });
});

describe('ids, sessions and groups', () => {
  it('getpid/getppid/gettid', async () => {
    expect(posix.getpid()).toBe(process.pid);
    expect(posix.gettid()).toBe(process.pid); // the main thread
    expect(posix.getppid()).toBe(process.ppid);
    const { value } = await runInChild(() => ({ pid: posix.getpid(), ppid: posix.getppid() }));
    expect(value.ppid).toBe(process.pid);
    expect(value.pid).not.toBe(process.pid);
  });

  it('setsid makes a child the leader of a new session and group; setpgid/getpgid', async () => {
    const { value } = await runInChild(() => {
      const before = posix.getsid();
      const sid = posix.setsid();
      return { before, sid, pid: posix.getpid(), pgid: posix.getpgid(), getsid: posix.getsid() };
    });
    expect(value.sid).toBe(value.pid);
    expect(value.pgid).toBe(value.pid);
    expect(value.getsid).toBe(value.pid);
    expect(value.before).not.toBe(value.pid);

    const { value: g } = await runInChild(() => {
      posix.setpgid(0, 0);
      return { pid: posix.getpid(), pgid: posix.getpgid(0) };
    });
    expect(g.pgid).toBe(g.pid);
  });
});

describe('subreaper and orphans', () => {
  afterAll(() => posix.setSubreaper(false));

  it('an orphaned grandchild is adopted by the subreaper and reaped by it', async () => {
    expect(posix.isSubreaper()).toBe(false);
    posix.setSubreaper(true);
    expect(posix.isSubreaper()).toBe(true);
    const [r, w] = posix.pipe(); // middle → test: the grandchild's pid
    const [hold, holdW] = posix.pipe(); // the grandchild blocks on it until the test lets it go
    const middle = posix.fork();
    if (middle === 0) {
      const grandchild = posix.fork();
      if (grandchild === 0) {
        posix.close(holdW);
        posix.poll(hold, { readable: true }, -1);
        posix.exit(0);
      }
      posix.writeAll(w, String(grandchild).padStart(10));
      posix.exit(0); // the grandchild is now an orphan
    }
    posix.close(w);
    posix.close(hold);
    const buf = Buffer.alloc(10);
    let got = 0;
    while (got < 10) got += await posix.readAsync(r, buf, got);
    posix.close(r);
    const grandchild = Number(buf.toString().trim());
    expect(await reap(middle)).toEqual({ kind: 'exited', pid: middle, code: 0 });
    await until(() => posix.processInfo(grandchild)?.ppid === process.pid, 'the adoption');
    expect(posix.children()).toContain(grandchild);
    posix.write(holdW, 'x');
    posix.close(holdW);
    expect(await reap(grandchild)).toEqual({ kind: 'exited', pid: grandchild, code: 0 });
  });

  it('a parent-death signal ends a child whose parent died (checked against a parent already gone)', async () => {
    posix.setSubreaper(true);
    const [report, reportW] = posix.pipe(); // grandchild → test: "armed <pid>"
    const [hold, holdW] = posix.pipe(); // never written: the middle and the grandchild block on it
    const middle = posix.fork();
    if (middle === 0) {
      posix.close(report);
      posix.close(holdW);
      const me = posix.getpid();
      const grandchild = posix.fork();
      if (grandchild === 0) {
        posix.setParentDeathSignal('SIGKILL');
        if (posix.getppid() !== me) posix.exit(42); // the parent died before prctl: no signal would come
        posix.writeAll(reportW, `armed ${posix.getpid()}\n`);
        posix.poll(hold, { readable: true }, -1);
        posix.exit(0);
      }
      posix.close(reportW);
      posix.poll(hold, { readable: true }, -1);
      posix.exit(0);
    }
    posix.close(reportW);
    posix.close(hold);
    const line = await readLine(report);
    posix.close(report);
    const grandchild = Number(line.split(' ')[1]);
    expect(line).toMatch(/^armed \d+$/);
    expect(posix.getParentDeathSignal()).toBeNull(); // ours is not set
    posix.kill(middle, 'SIGKILL');
    expect(await reap(middle)).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
    expect(await reap(grandchild)).toEqual({ kind: 'signaled', pid: grandchild, signal: 'SIGKILL', coreDumped: false });
    posix.close(holdW);
  });
});

describe('affinity and limits', () => {
  it('pins a child to one CPU and reads it back', async () => {
    const cpus = posix.getAffinity(0);
    expect(cpus.length).toBeGreaterThan(0);
    const { value } = await runInChild(() => {
      posix.setAffinity(0, [cpus[cpus.length - 1]!]);
      return { set: posix.getAffinity(0), on: posix.getcpu() };
    });
    expect(value.set).toEqual([cpus[cpus.length - 1]]);
    expect(value.on).toBe(cpus[cpus.length - 1]);
    expect(() => posix.setAffinity(0, [])).toThrow(RangeError);
    expect(() => posix.setAffinity(0, [-1])).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('cpus[0]') }));
  });

  it('getrlimit/setrlimit, with Infinity for RLIM_INFINITY', async () => {
    const { value } = await runInChild(() => {
      const before = posix.getrlimit('nofile');
      posix.setrlimit('nofile', { soft: 64, hard: before.hard });
      const after = posix.getrlimit('nofile');
      let emfile = '';
      const fds: number[] = [];
      try {
        for (let i = 0; i < 100; i++) fds.push(...posix.pipe());
      } catch (e) {
        emfile = (e as NodeJS.ErrnoException).code ?? '';
      }
      for (const fd of fds) posix.close(fd);
      return { before, after, emfile, stack: posix.getrlimit('stack') };
    });
    expect(value.after).toEqual({ soft: 64, hard: value.before.hard });
    expect(value.emfile).toBe('EMFILE');
    expect(typeof value.stack.hard).toBe('number');
    expect(() => posix.setrlimit('nofile', { soft: -1, hard: 10 })).toThrow(RangeError);
    expect(() => posix.getrlimit('bogus' as posix.Resource)).toThrow(TypeError);
  });
});

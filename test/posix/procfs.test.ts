// /proc readers against what the real `ps` shows: a zombie is Z until reaped, then gone.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as posix from '../../lib/posix/index.js';
import { reap, until } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

function psStat(pid: number): string {
  // The real ps, without a sanitizer runtime preloaded into node (npm run test:asan) leaking into it.
  const { LD_PRELOAD: _preload, ...env } = process.env;
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8', env }).trim();
  } catch {
    return ''; // ps exits 1 when the pid does not exist
  }
}


describe('processInfo', () => {
  it('a child that exited and was not waited for is a zombie (Z in ps) until waitpid reaps it', async () => {
    const pid = posix.fork();
    if (pid === 0) posix.exit(0);
    await until(() => posix.processInfo(pid)?.state === 'zombie', 'the zombie');
    const info = posix.processInfo(pid)!;
    expect(info).toMatchObject({ pid, ppid: process.pid, state: 'zombie', stateCode: 'Z' });
    expect(psStat(pid)).toMatch(/^Z/);
    expect(posix.children()).toContain(pid);
    expect(posix.waitpid(pid)).toEqual({ kind: 'exited', pid, code: 0 });
    expect(posix.processInfo(pid)).toBeNull();
    expect(psStat(pid)).toBe('');
    expect(posix.children()).not.toContain(pid);
  });

  it('a stopped child is T / stopped; a sleeping one S / sleeping', async () => {
    const [r, w] = posix.pipe();
    const pid = posix.fork();
    if (pid === 0) {
      posix.poll(r, { readable: true }, -1);
      posix.exit(0);
    }
    posix.close(r);
    await until(() => posix.processInfo(pid)?.state === 'sleeping', 'the child to sleep in poll');
    expect(psStat(pid)).toMatch(/^S/);
    posix.kill(pid, 'SIGSTOP');
    await until(() => posix.processInfo(pid)?.state === 'stopped', 'the stop');
    expect(psStat(pid)).toMatch(/^T/);
    posix.kill(pid, 'SIGCONT');
    posix.write(w, 'x');
    posix.close(w);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });

  it('describes this process, and returns null for a pid that does not exist', () => {
    const me = posix.processInfo(process.pid)!;
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
    expect(['running', 'sleeping']).toContain(me.state);
    expect(me.threads).toBeGreaterThan(1); // Node is multi-threaded
    expect(me.startTime).toBeGreaterThan(0);
    expect(posix.processInfo(4194304)).toBeNull(); // PID_MAX_LIMIT itself is never a pid
    expect(() => posix.processInfo(0)).toThrow(RangeError);
  });

  it('parses names with spaces and parentheses', () => {
    const line = '42 (a (weird) name) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 3 0 12345 0 0';
    expect(posix.parseStat(line)).toMatchObject({ pid: 42, name: 'a (weird) name', state: 'sleeping', ppid: 1, threads: 3, startTime: 12345 });
  });

  it('processTree lists a process and its descendants with depths', async () => {
    const [r, w] = posix.pipe();
    const pid = posix.fork();
    if (pid === 0) {
      const g = posix.fork();
      if (g === 0) {
        posix.poll(r, { readable: true }, -1);
        posix.exit(0);
      }
      posix.poll(r, { readable: true }, -1);
      posix.waitpid(g);
      posix.exit(0);
    }
    posix.close(r);
    await until(() => posix.processTree(pid).length === 2, 'the grandchild');
    const tree = posix.processTree(process.pid);
    const row = tree.find((t) => t.pid === pid)!;
    expect(row.depth).toBe(1);
    expect(tree.find((t) => t.ppid === pid)!.depth).toBe(2);
    posix.write(w, 'x');
    posix.close(w);
    expect(await reap(pid)).toEqual({ kind: 'exited', pid, code: 0 });
  });
});

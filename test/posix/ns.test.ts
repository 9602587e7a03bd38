// The namespace family (native/ns.cc, lib/posix/ns.ts). Everything that unshares, sets a hostname or mounts
// runs in a forked child (one thread), in namespaces of its own: the host's hostname and mounts are checked
// to be unchanged afterwards. Where the kernel refuses (no CAP_SYS_ADMIN), the tests check the refusal is an
// EPERM error from the syscall, and say so.
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { runInChild, thrown } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

const C = native.nsConstants;
const procMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - proc /.test(l));

/** unshare(kinds) in a forked child: null when permitted, else the error code (and the test says why it stops there). */
async function permitted(kinds: posix.Namespace[]): Promise<string | null> {
  const { value } = await runInChild(() => {
    try {
      posix.unshare(kinds);
      return null;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'ERROR';
    }
  });
  if (value !== null) console.log(`ns.test: unshare(${kinds.join(', ')}) is not permitted here (${value}); only the refusal is checked`);
  return value;
}

describe('argument checks (native, called directly)', () => {
  it('rejects unknown flags, bad fds, long or NUL-containing strings, empty targets with coded errors', () => {
    expect(thrown(() => native.unshare(-1))).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.unshare(0x100))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' }); // CLONE_VM: not a namespace
    expect(thrown(() => native.unshare('pid' as unknown as number))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.setns(-1, 0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.setns(0, 0x100))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sethostname('x'.repeat(65)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.sethostname('a\0b'))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.sethostname(7 as unknown as string))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.mount(null, '', null, 0, null))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.mount(null, '/nonexistent', null, -1, null))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.mount(null, '/nonexistent', null, 2 ** 31, null))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.mount(5 as unknown as string, '/x', null, 0, null))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => native.mount(null, '/x', null, 0, 'd'.repeat(5000)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.umount2('', 0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => native.umount2('/x', 0x100))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    // setns on an fd that is not a namespace: the kernel's EINVAL, as an errno error
    const [r, w] = posix.pipe();
    try {
      expect(thrown(() => native.setns(r, 0))).toMatchObject({ code: 'EINVAL', syscall: 'setns' });
    } finally {
      posix.close(r);
      posix.close(w);
    }
  });

  it('the typed layer names namespaces and mount flags, and rejects unknown ones', () => {
    expect(thrown(() => posix.unshare(['pids' as posix.Namespace]))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/Unknown namespace: pids/) });
    expect(thrown(() => posix.mount(null, '/x', null, ['recursive' as posix.MountFlag]))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    expect(C.CLONE_NEWPID).toBe(0x20000000);
    expect(C.MS_PRIVATE).toBe(1 << 18);
  });

  it('gethostname, namespaceId and nsPids read this process', () => {
    expect(posix.gethostname()).toBe(os.hostname());
    expect(posix.namespaceId('self', 'uts')).toBeGreaterThan(0);
    expect(posix.namespaceId(process.pid, 'pid')).toBe(posix.namespaceId('self', 'pid'));
    expect(posix.nsPids('self')?.at(-1)).toBe(process.pid);
    expect(posix.nsPids(4194304)).toBeNull();
    expect(posix.namespaceId(4194304, 'uts')).toBeNull();
  });
});

describe('in a forked child', () => {
  it('a UTS namespace: the child\'s own hostname; the host\'s is unchanged', async () => {
    const host = os.hostname();
    const refused = await permitted(['uts']);
    const { value } = await runInChild(() => {
      try {
        posix.unshare(['uts']);
      } catch (e) {
        return { code: (e as NodeJS.ErrnoException).code, syscall: (e as NodeJS.ErrnoException).syscall };
      }
      posix.sethostname('multiproc-test');
      return { name: posix.gethostname(), node: os.hostname(), uts: posix.namespaceId('self', 'uts') };
    });
    if (refused) {
      expect(value).toEqual({ code: refused, syscall: 'unshare' });
      return;
    }
    expect(value).toMatchObject({ name: 'multiproc-test', node: 'multiproc-test' });
    expect((value as { uts: number }).uts).not.toBe(posix.namespaceId('self', 'uts'));
    expect(os.hostname()).toBe(host);
  });

  it('PID and mount namespaces: the first child forked after unshare is PID 1, with its own /proc; the host\'s /proc is untouched', async () => {
    const before = procMounts();
    const refused = await permitted(['pid', 'mount']);
    if (refused) return;
    const { value } = await runInChild(async () => {
      posix.unshare(['pid', 'mount']);
      posix.mount(null, '/', null, ['rec', 'private']);
      const [r, w] = posix.pipe();
      const init = posix.forkAndRun(() => {
        posix.close(r);
        const nspids = posix.nsPids('self');
        posix.mount('proc', '/proc', 'proc', ['nosuid', 'nodev', 'noexec']);
        const kid = posix.forkAndRun(() => posix.exit(0));
        const st = posix.waitpid(kid);
        posix.write(w, JSON.stringify({ pid: posix.getpid(), ppid: posix.getppid(), nspids, procPids: readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number), kid, st, afterMount: posix.nsPids('self') }));
        posix.exit(0);
      });
      posix.close(w);
      const buf = Buffer.alloc(65536);
      const n = posix.read(r, buf);
      posix.close(r);
      const st = posix.waitpid(init);
      return { init, st, report: JSON.parse(buf.subarray(0, n).toString()) };
    });
    expect(value.st).toMatchObject({ kind: 'exited', code: 0 });
    expect(value.report).toMatchObject({ pid: 1, ppid: 0, st: { kind: 'exited', pid: value.report.kid, code: 0 } });
    // the kid's pid is the namespace's next after 1 and any threads PID 1 started (they take pids from the same
    // space: a forked child starts its V8 worker pool on its first background task, timing-dependent)
    expect(value.report.kid).toBeGreaterThan(1);
    expect(value.report.kid).toBeLessThan(100);
    expect(value.report.nspids).toEqual([value.init, 1]); // seen in the host's /proc, before its own was mounted
    expect(value.report.afterMount).toEqual([1]); // its own /proc knows only the inner pid
    expect(value.report.procPids).toEqual([1]);
    expect(procMounts()).toEqual(before);
  });

  it('setns(mount) from a process with other threads joins (its thread unshares the shared filesystem context first; the kernel said EINVAL)', async () => {
    const refused = await permitted(['mount']);
    if (refused) return;
    const { value } = await runInChild(async () => {
      const [r, w] = posix.pipe();
      const [r2, w2] = posix.pipe();
      const holder = posix.forkAndRun(() => {
        posix.unshare(['mount']);
        posix.write(w, 'r');
        posix.read(r2, Buffer.alloc(1)); // held in its namespace until the parent has joined it
        posix.exit(0);
      });
      posix.read(r, Buffer.alloc(1));
      await readFile('/proc/self/status'); // libuv's threadpool: this process has other threads now
      const threads = readdirSync('/proc/self/task').length;
      const target = posix.namespaceId(holder, 'mount');
      const before = posix.namespaceId('self', 'mount');
      const fd = openSync(`/proc/${holder}/ns/mnt`, 'r');
      let error: string | null = null;
      try {
        posix.setns(fd, 'mount');
      } catch (e) {
        error = (e as NodeJS.ErrnoException).code ?? String(e);
      } finally {
        closeSync(fd);
      }
      const after = posix.namespaceId('self', 'mount');
      posix.write(w2, 'x');
      posix.waitpid(holder);
      for (const f of [r, w, r2, w2]) posix.close(f);
      return { threads, error, joined: after === target, moved: after !== before };
    });
    expect(value.threads).toBeGreaterThan(1);
    expect(value).toMatchObject({ error: null, joined: true, moved: true });
  });

  it('mount and umount2 in a private mount namespace: a tmpfs appears there only, then goes', async () => {
    const refused = await permitted(['mount']);
    if (refused) return;
    const dir = os.tmpdir();
    const { value } = await runInChild(() => {
      posix.unshare(['mount']);
      posix.mount(null, '/', null, ['rec', 'private']);
      posix.mount('multiproc-test', dir, 'tmpfs', ['nosuid', 'nodev'], 'size=64k');
      const inside = readFileSync('/proc/self/mountinfo', 'utf8').includes('multiproc-test');
      posix.umount2(dir);
      const after = readFileSync('/proc/self/mountinfo', 'utf8').includes('multiproc-test');
      let again: string | undefined;
      try {
        posix.umount2(dir);
      } catch (e) {
        again = `${(e as NodeJS.ErrnoException).syscall} ${(e as NodeJS.ErrnoException).code}`;
      }
      return { inside, after, again };
    });
    expect(value).toEqual({ inside: true, after: false, again: 'umount2 EINVAL' });
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('multiproc-test');
  });

  it('setns joins another process\'s UTS namespace (what nsenter -u does)', async () => {
    const refused = await permitted(['uts']);
    if (refused) return;
    const [r, w] = posix.pipe();
    const [r2, w2] = posix.pipe();
    const holder = posix.forkAndRun(() => {
      posix.close(r);
      posix.close(w2);
      posix.unshare(['uts']);
      posix.sethostname('multiproc-held');
      posix.write(w, 'x');
      posix.read(r2, Buffer.alloc(1)); // until the parent closes its end
      posix.exit(0);
    });
    posix.close(w);
    posix.close(r2);
    try {
      posix.read(r, Buffer.alloc(1));
      const { value } = await runInChild(async () => {
        const { openSync, closeSync } = await import('node:fs');
        const fd = openSync(`/proc/${holder}/ns/uts`, 'r');
        try {
          posix.setns(fd, 'uts');
        } finally {
          closeSync(fd);
        }
        return posix.gethostname();
      });
      expect(value).toBe('multiproc-held');
    } finally {
      posix.close(r);
      posix.close(w2);
      expect(posix.waitpid(holder)).toMatchObject({ kind: 'exited', code: 0 });
    }
  });
});

// Shared memory: anonymous, memfd and shm_open mappings, across fork and across a fresh node; Atomics across
// processes; detach on close; finalizers; space reserved up front (ENOSPC, never SIGBUS).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statfsSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { forkRun, reap } from '../helpers/child.js';
import { checkLeaks } from '../helpers/leaks.js';

checkLeaks();

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
/** Runs `body` with a tmpfs of `size` mounted on a fresh directory (root only: skipped, saying why, elsewhere). */
function withSmallTmpfs(size: string, ctx: { skip(): void }, body: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'multiproc-tmpfs-'));
  try {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      console.log('skipped: cannot mount a small tmpfs here (needs root / CAP_SYS_ADMIN)');
      ctx.skip();
    }
    try {
      body(dir);
    } finally {
      execFileSync('umount', [dir]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const uniqueName = () => `/multiproc-test-${process.pid}-${Math.random().toString(36).slice(2)}`;

describe('anonymous shared memory across fork', () => {
  it('what a child writes, the parent reads', async () => {
    const m = posix.mmap(4096);
    try {
      const pid = await forkRun(() => {
        new Uint8Array(m.buffer).set(Buffer.from('written by the child'));
        new Float64Array(m.buffer, 2048, 1)[0] = Math.PI;
      });
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
      expect(Buffer.from(m.buffer, 0, 20).toString()).toBe('written by the child');
      expect(new Float64Array(m.buffer, 2048, 1)[0]).toBe(Math.PI);
    } finally {
      m.close();
    }
  });

  it('two processes × 1,000,000 Atomics.add on one counter: exactly 2,000,000 (Int32 and BigInt64)', async () => {
    const m = posix.mmap(4096);
    try {
      const i32 = new Int32Array(m.buffer, 0, 1);
      const i64 = new BigInt64Array(m.buffer, 8, 1);
      const start = new Int32Array(m.buffer, 64, 1); // both begin together so that they really contend
      const work = () => {
        Atomics.add(start, 0, 1);
        while (Atomics.load(start, 0) < 2);
        for (let k = 0; k < 1_000_000; k++) {
          Atomics.add(i32, 0, 1);
          Atomics.add(i64, 0, 1n);
        }
      };
      const pid = await forkRun(work);
      work();
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
      expect(i32[0]).toBe(2_000_000);
      expect(i64[0]).toBe(2_000_000n);
    } finally {
      m.close();
    }
  });
});

describe('Mapping lifetime', () => {
  it('close() detaches every view (length 0, reads undefined) and is idempotent; Symbol.dispose closes', () => {
    const m = posix.mmap(8192);
    const view = new Uint32Array(m.buffer);
    view[5] = 5;
    expect(m.length).toBe(8192);
    m.close();
    expect(m.closed).toBe(true);
    expect(m.length).toBe(0);
    expect(view.length).toBe(0);
    expect(view[5]).toBeUndefined();
    expect(m.buffer.byteLength).toBe(0);
    m.close();
    const d = posix.mmap(4096);
    d[Symbol.dispose]();
    expect(d.closed).toBe(true);
  });

  it('forgotten mappings are unmapped by their finalizer; a closed one is never unmapped twice', () => {
    const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(root, 'test/helpers/shm-gc.ts')], {
      encoding: 'utf8',
      cwd: root,
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout.trim());
    expect(r.whileAlive - r.before).toBeGreaterThanOrEqual(190);
    expect(r.afterGc - r.before).toBeLessThan(20);
    expect(r.intact).toBe(true);
    expect(r.end).toBeLessThanOrEqual(r.before + 5);
  });

  it('arguments are checked: length, offset alignment, a range past the end of the file', () => {
    expect(() => posix.mmap(0)).toThrow(RangeError);
    expect(() => posix.mmap(-1)).toThrow(RangeError);
    expect(() => posix.mmap('4096' as unknown as number)).toThrow(TypeError);
    const fd = posix.memfdCreate('short');
    try {
      posix.ftruncate(fd, 4096);
      expect(() => posix.mmap(8192, { fd })).toThrow(/SIGBUS/);
      expect(() => posix.mmap(4096, { fd, offset: 100 })).toThrow(/page size/);
    } finally {
      posix.close(fd);
    }
  });
});

describe('memfd and shm_open', () => {
  it('a fresh node child maps the memfd it received and its writes are seen here', async () => {
    const fd = posix.memfdCreate('multiproc-test');
    posix.ftruncate(fd, 4096);
    const m = posix.mmap(4096, { fd });
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/shm-child.ts'), '5000'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit', fd],
      });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      const code = await new Promise((res) => child.on('exit', res));
      expect(code).toBe(0);
      expect(out.trim()).toBe('done 4096');
      expect(new Int32Array(m.buffer, 0, 1)[0]).toBe(5000);
      expect(Buffer.from(m.buffer, 64, 5).toString()).toBe('hello');
    } finally {
      m.close();
      posix.close(fd);
    }
  });

  it('shm_open: mode 0600, attach by name from another process, exclusive create, unlink', async () => {
    const name = uniqueName();
    const fd = posix.shmOpen(name, { create: true, exclusive: true, size: 8192 });
    try {
      expect(statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);
      expect(posix.fdSize(fd)).toBe(8192);
      expect(() => posix.shmOpen(name, { create: true, exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST', syscall: 'shm_open' }));
      const m = posix.mmap(8192, { fd });
      const pid = await forkRun(() => {
        const fd2 = posix.shmOpen(name); // by name, not by inheritance
        const m2 = posix.mmap(8192, { fd: fd2 });
        new Uint8Array(m2.buffer)[8191] = 77;
        m2.close();
        posix.close(fd2);
      });
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
      expect(new Uint8Array(m.buffer)[8191]).toBe(77);
      m.close();
    } finally {
      posix.close(fd);
      posix.shmUnlink(name);
    }
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
    expect(() => posix.shmUnlink(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => posix.shmOpen('no-slash')).toThrow(RangeError);
  });

  it('a read-only mapping never crashes on a write: the write stays private to this process', async () => {
    const name = uniqueName();
    const fd = posix.shmOpen(name, { create: true, size: 4096 });
    const ro = posix.shmOpen(name, { readOnly: true });
    try {
      const shared = posix.mmap(4096, { fd });
      const mine = posix.mmap(4096, { fd: ro });
      expect(mine.shared).toBe(false);
      new Uint8Array(shared.buffer)[0] = 1;
      expect(new Uint8Array(mine.buffer)[0]).toBe(1); // reads the shared bytes
      new Uint8Array(mine.buffer)[0] = 99; // copy-on-write: no SIGSEGV
      expect(new Uint8Array(shared.buffer)[0]).toBe(1);
      shared.close();
      mine.close();
    } finally {
      posix.close(fd);
      posix.close(ro);
      posix.shmUnlink(name);
    }
  });
});

describe('space is reserved when a shared object is sized', () => {
  it('a tmpfs too small for the object is an ENOSPC error, not a SIGBUS', (ctx) => {
    withSmallTmpfs('1m', ctx, (dir) => {
      const fd = native.open(path.join(dir, 'big'), 0o102 /* O_RDWR|O_CREAT */, 0o600);
      try {
        posix.ftruncate(fd, 8 << 20); // sparse: ftruncate alone would succeed and SIGBUS later
        let err: NodeJS.ErrnoException | undefined;
        try {
          posix.mmap(8 << 20, { fd });
        } catch (e) {
          err = e as NodeJS.ErrnoException;
        }
        expect(err).toMatchObject({ code: 'ENOSPC', syscall: 'fallocate' });
        expect(err!.message).toMatch(/not enough space/);
        expect(() => posix.fallocate(fd, 0, 8 << 20)).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
      } finally {
        posix.close(fd);
      }
    });
  });
});

// Before: a memfd fallocated (or a shared mapping made) far beyond the machine's memory took pages until the
// kernel's OOM killer went to work on unrelated processes. The addon now refuses such sizes itself, whatever
// the caller (the TypeScript layer is not trusted to have checked).
describe('sizes beyond what the machine can back are refused in the addon', () => {
  const limitOf = () => (native as unknown as { memoryLimit(): { limit: number; ram: number; swap: number; cgroup: number; source: string } }).memoryLimit();

  it('memoryLimit: RAM + swap, capped by the memory cgroup', () => {
    expect(typeof (native as unknown as { memoryLimit?: unknown }).memoryLimit).toBe('function');
    const m = limitOf();
    expect(m.ram).toBe(os.totalmem());
    const swap = Number(/SwapTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    expect(m.swap).toBe(swap);
    expect(m.limit).toBeLessThanOrEqual(m.ram + m.swap);
    if (m.cgroup < 0) expect(m.limit).toBe(m.ram + m.swap);
    else expect(m.limit).toBeLessThanOrEqual(m.cgroup + m.swap);
    expect(m.source).toMatch(/RAM|cgroup/);
  });

  it('ftruncate/fallocate of a memfd, an anonymous mmap: ENOMEM with the request and the limit', () => {
    expect(typeof (native as unknown as { memoryLimit?: unknown }).memoryLimit).toBe('function');
    const { limit } = limitOf();
    const fd = posix.memfdCreate('multiproc-test-huge');
    try {
      for (const [f, syscall] of [
        [() => posix.ftruncate(fd, 2 ** 43), 'ftruncate'],
        [() => posix.fallocate(fd, 0, limit + 4096), 'fallocate'],
        [() => posix.fallocate(fd, 2 ** 42, 2 ** 42), 'fallocate'],
        [() => posix.mmap(2 ** 43), 'mmap'],
      ] as const) {
        let err: NodeJS.ErrnoException & { limit?: number; requested?: number } = {} as never;
        try {
          f();
        } catch (e) {
          err = e as never;
        }
        expect(err).toMatchObject({ code: 'ENOMEM', syscall, limit });
        expect(err.message).toContain(`${syscall} ENOMEM: a shared allocation of ${err.requested} bytes`);
        expect(err.message).toContain(`${limit} bytes`);
      }
      expect(posix.fdSize(fd)).toBe(0); // nothing was done
      posix.ftruncate(fd, 32 << 20); // within the limit: as before
      posix.fallocate(fd, 0, 32 << 20);
      expect(posix.fdSize(fd)).toBe(32 << 20);
    } finally {
      posix.close(fd);
    }
  });

  it('a regular file on disk may be sparse and large (the check is for memory-backed files only)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'multiproc-sparse-'));
    try {
      const fd = native.open(path.join(dir, 'sparse'), 0o102 /* O_RDWR|O_CREAT */, 0o600);
      try {
        if (statfsSync(dir).type === 0x01021994) {
          console.log('skipped: the temporary directory is a tmpfs here');
          return;
        }
        posix.ftruncate(fd, 2 ** 42);
        expect(posix.fdSize(fd)).toBe(2 ** 42);
      } finally {
        posix.close(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sized tmpfs (as /dev/shm): ENOSPC stating the free space', (ctx) => {
    withSmallTmpfs('20m', ctx, (dir) => {
      const fd = native.open(path.join(dir, 'big'), 0o102, 0o600);
      try {
        let err: NodeJS.ErrnoException = {} as never;
        try {
          posix.fallocate(fd, 0, 64 << 20);
        } catch (e) {
          err = e as never;
        }
        expect(err).toMatchObject({ code: 'ENOSPC', syscall: 'fallocate' });
        expect(err.message).toMatch(/64 MiB\) does not fit in the 20 MiB free/);
      } finally {
        posix.close(fd);
      }
    });
  });
});

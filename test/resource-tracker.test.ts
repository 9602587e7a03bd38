// The resource tracker (lib/mp/shared/tracker.ts): named objects a process tree created and left behind are
// removed without waiting for another creation — after their creator died, as soon as no live process uses
// them; what is left when the whole tree is gone, at the end, with Python's warning — and nothing a live
// process still maps is ever removed. The tracker itself ends with its tree and is reaped.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedMemory } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { resourceTracker, stopResourceTracker } from '../lib/mp/shared/tracker.js';
import { forkRun, reap, until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shmFile = (name: string) => `/dev/shm${name}`;
const semFile = (name: string) => `/dev/shm/sem.${name.slice(1)}`;
const semName = (what: string) => `/multiproc-tracker-${process.pid}-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** A forked child that creates a tracked SharedMemory and a named semaphore, reports them, then waits to be killed. */
async function creatorChild(opts: { track?: boolean } = {}): Promise<{ pid: number; shm: string; sem: string; tracker: number }> {
  const box = posix.mmap(4096);
  const sem = semName('sem');
  try {
    const ready = posix.Semaphore.init(box, 0, 0);
    const pid = await forkRun(() => {
      const s = new SharedMemory({ create: true, size: 4096, track: opts.track });
      posix.Semaphore.open(sem, { create: true, value: 1, track: opts.track }).close();
      const info = Buffer.from(JSON.stringify({ shm: s.name, tracker: resourceTracker()?.pid ?? 0 }));
      new Uint8Array(box.buffer, 64).set(info);
      new Int32Array(box.buffer, 60, 1)[0] = info.length;
      ready.post();
      for (;;) posix.poll(posix.pipe()[0], { readable: true }, -1); // wait to be killed
    });
    if (!ready.timedWait(20_000)) throw new Error('the creator child did not report');
    const n = new Int32Array(box.buffer, 60, 1)[0]!;
    const { shm, tracker } = JSON.parse(Buffer.from(box.buffer, 64, n).toString()) as { shm: string; tracker: number };
    return { pid, shm, sem, tracker };
  } finally {
    box.close();
  }
}

async function kill(pid: number): Promise<void> {
  posix.kill(pid, 'SIGKILL');
  await reap(pid);
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) {
    try {
      f();
    } catch {
      /* already gone */
    }
  }
});
function removeLater(shm: string, sem: string): void {
  cleanup.push(() => posix.shmUnlink(shm), () => posix.Semaphore.unlink(sem));
}

describe('resource tracker', () => {
  it('the creator SIGKILLed: its SharedMemory and named semaphore are removed without any other creation', async () => {
    // This process has a tracker already (it created an object): the child's registrations go to it, and it
    // notices the creator's death by itself.
    const mine = new SharedMemory({ create: true, size: 4096 });
    const tracker = resourceTracker()!;
    expect(tracker.spawner).toBe(process.pid);
    const c = await creatorChild();
    removeLater(c.shm, c.sem);
    expect(c.tracker).toBe(tracker.pid); // the tree's one tracker
    expect(existsSync(shmFile(c.shm)) && existsSync(semFile(c.sem))).toBe(true);
    await kill(c.pid);
    await until(() => !existsSync(shmFile(c.shm)) && !existsSync(semFile(c.sem)), 'the tracker to remove what the dead creator left', 10_000);
    expect(existsSync(shmFile(mine.name)), "a live creator's object is not touched").toBe(true);
    mine.close();
    mine.unlink();
  });

  it('a tree whose only member is SIGKILLed: its own tracker cleans up and ends (adopted and reaped by a subreaper)', async () => {
    stopResourceTracker();
    posix.setSubreaper(true); // the orphaned tracker comes to this process, which must reap it
    try {
      const c = await creatorChild();
      removeLater(c.shm, c.sem);
      expect(c.tracker).toBeGreaterThan(0);
      await kill(c.pid);
      await until(() => !existsSync(shmFile(c.shm)) && !existsSync(semFile(c.sem)), 'the names to go', 10_000);
      // end-of-file reached the tracker: it exits; as our adopted child we reap it (no zombie is left)
      const status = await reap(c.tracker, 10_000);
      expect(status).toMatchObject({ kind: 'exited', code: 0 });
    } finally {
      posix.setSubreaper(false);
    }
  });

  it('an object a live process still maps survives its creator; it goes once that process lets go', async () => {
    stopResourceTracker();
    const starter = new SharedMemory({ create: true, size: 64 }); // starts this process's tracker
    starter.close();
    starter.unlink();
    const c = await creatorChild();
    removeLater(c.shm, c.sem);
    const attached = new SharedMemory({ name: c.shm }); // mapped here
    const sem = posix.Semaphore.open(c.sem); // mapped here too
    await kill(c.pid);
    // Ten sweeps of the tracker at least: both still there.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(shmFile(c.shm)), 'a mapped SharedMemory is never removed').toBe(true);
    expect(existsSync(semFile(c.sem)), 'an open named semaphore is never removed').toBe(true);
    attached.buf[0] = 1; // still usable
    sem.post();
    attached.close();
    sem.close();
    await until(() => !existsSync(shmFile(c.shm)) && !existsSync(semFile(c.sem)), 'the names to go once unused', 10_000);
  });

  it('track: false opts out: the names stay after the creator died', async () => {
    const c = await creatorChild({ track: false });
    removeLater(c.shm, c.sem);
    await kill(c.pid);
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(shmFile(c.shm))).toBe(true);
    expect(existsSync(semFile(c.sem))).toBe(true);
  });

  it('a program that exits without unlinking: removed at shutdown, with the warning; its tracker is reaped by it', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/tracker-leaker.ts')], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const { shm, sem } = JSON.parse(run.stdout) as { shm: string; sem: string };
    removeLater(shm, sem);
    // spawnSync returned when stderr closed: the tracker (which shares it) has exited by then.
    expect(run.stderr).toMatch(/resource_tracker: There appear to be 1 leaked shared_memory objects to clean up at shutdown: \/mp-/);
    expect(run.stderr).toMatch(/There appear to be 1 leaked semaphore objects to clean up at shutdown: \/multiproc-leaker-/);
    expect(existsSync(shmFile(shm))).toBe(false);
    expect(existsSync(semFile(sem))).toBe(false);
  });

  it('unlink() unregisters: a deliberately unlinked name is not reported', () => {
    const s = new SharedMemory({ create: true, size: 64 });
    s.close();
    s.unlink();
    const name = semName('u');
    posix.Semaphore.open(name, { create: true }).close();
    posix.Semaphore.unlink(name);
    expect(stopResourceTracker(5000)).toBe(true); // exits at once: nothing left to clean
  });
});

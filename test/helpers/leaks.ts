// Each test file calls checkLeaks(): after all its tests (in its own vitest worker process) no child, fd,
// shared mapping, /dev/shm or /dev/mqueue name that the file created may be left.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { native } from '../../lib/binding/addon.js';
import { children, processInfo } from '../../lib/posix/procfs.js';
import { stopResourceTracker } from '../../lib/mp/shared/tracker.js';
import { stopForkserver } from '../../lib/mp/process/start/forkserver.js';

interface Snapshot {
  fds: Map<string, string>;
  shm: Set<string>;
  mqueue: Set<string>;
  sharedMaps: Set<string>;
}

function listDir(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir));
  } catch {
    return new Set();
  }
}

function snapshot(): Snapshot {
  const fds = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      fds.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the fd of the directory listing itself */
    }
  }
  const sharedMaps = new Set(
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => /\/dev\/shm\/|memfd:|\(deleted\)/.test(l) && / [r-][w-][x-]s /.test(l))
      // the fork addon's one page of child timings (forkStats().child), made on the first fork and kept
      .filter((l) => !l.includes('memfd:multiproc-fork-marks')),
  );
  return { fds, shm: listDir('/dev/shm'), mqueue: listDir('/dev/mqueue'), sharedMaps };
}

// The reactor's own epoll/eventfd are created once per process on first use, and kept.
const LAZY_SINGLETONS = /^anon_inode:\[(eventpoll|eventfd)\]$/;

export function describeChildren(pid: number): string {
  return children(pid)
    .map((c) => {
      const i = processInfo(c);
      return i ? `${c} ${i.stateCode} ${i.name}` : `${c}`;
    })
    .join(', ');
}

// Test names embed the creating pid (multiproc-<what>-<pid>-…). /dev/shm and /dev/mqueue are machine-wide: a
// name that another live process outside this file's process tree is using (a concurrent test run) is not ours.
const OWNER = /multiproc-[a-z]+-(\d+)-/;
// SharedMemory's own names: /mp-<creator pid in base 36>-<random> (lib/mp/shared).
const SHM_OWNER = /^mp-([0-9a-z]+)-/;

function ownerPid(name: string): number | undefined {
  const m = OWNER.exec(name);
  if (m) return Number(m[1]);
  const s = SHM_OWNER.exec(name);
  return s ? parseInt(s[1]!, 36) : undefined;
}

function foreign(name: string): boolean {
  const owner = ownerPid(name);
  if (owner === undefined) return false;
  let pid = owner;
  if (pid === process.pid) return false;
  const info = processInfo(pid);
  if (!info || info.stateCode === 'Z') return false; // its creator is gone: a leak, whoever it was
  for (let hops = 0; pid > 1 && hops < 64; hops++) {
    if (pid === process.pid) return false; // one of ours, still running
    const i = processInfo(pid);
    if (!i) break;
    pid = i.ppid;
  }
  return true;
}

export function checkLeaks(): void {
  let before: Snapshot;
  beforeAll(() => {
    before = snapshot();
  });
  afterAll(() => {
    const names = snapshot();
    // The resource tracker lives as long as the process tree that uses it: end it (it is this process's child
    // when this process started it) before looking for children and fds. The names are looked at before: the
    // tracker would remove leaked tracked objects and hide the leak.
    stopResourceTracker(5000);
    stopForkserver(); // likewise the forkserver, which lives until this process exits
    const after = { ...snapshot(), shm: names.shm, mqueue: names.mqueue };
    expect(describeChildren(process.pid), 'children left behind (zombies or running)').toBe('');
    const newFds = [...after.fds].filter(([fd, link]) => before.fds.get(fd) !== link && !LAZY_SINGLETONS.test(link));
    expect(newFds.map(([fd, link]) => `${fd} -> ${link}`), 'fds left open').toEqual([]);
    expect([...after.shm].filter((n) => !before.shm.has(n) && !foreign(n)), '/dev/shm names left behind').toEqual([]);
    expect([...after.mqueue].filter((n) => !before.mqueue.has(n) && !foreign(n)), '/dev/mqueue names left behind').toEqual([]);
    expect([...after.sharedMaps].filter((m) => !before.sharedMaps.has(m)), 'shared mappings left').toEqual([]);
    expect(native.pendingWaits(), 'async waits still pending (reactor watches, futex and sync waits)').toBe(0);
  });
}

/**
 * Returns track(x): every object a test passes through it is closed when that test ends, passed or failed
 * (so that a failed assertion leaves no queue or lock open for the next test); `check` then runs, e.g. that
 * no arena region or async wait is left.
 */
export function closedAfterEach(check?: () => void): <T extends { close(): void }>(x: T) => T {
  const open: { close(): void }[] = [];
  afterEach(() => {
    for (const x of open.splice(0)) x.close();
    check?.();
  });
  return (x) => {
    open.push(x);
    return x;
  };
}

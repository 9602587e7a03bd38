// The resource tracker (Python's multiprocessing.resource_tracker): a small process per process tree that
// records the named kernel objects the tree creates (SharedMemory objects, named posix semaphores) and removes
// those that are left behind: an object whose creator died without unlinking it, once no live process maps or
// holds it open; and at the end, when every process of the tree is gone, whatever is still registered (with a
// warning, as Python's "leaked shared_memory objects to clean up at shutdown"). It never removes an object a
// live process still uses (it looks in /proc/<pid>/maps and /proc/<pid>/fd of every process first).
//
// How the tree reaches it: the first process that creates a tracked object starts the tracker (a fresh `node`
// running resource-tracker-main, posix_spawn, no shell) with the read end of a pipe as its stdin, and keeps the
// write end. Forked children inherit that fd (and this module's state), so every process of the tree writes
// to the same tracker; spawned programs do not (the fd is close-on-exec): a spawned child that creates objects
// starts a tracker of its own. Each registration is one line, written with one write(2) (< PIPE_BUF: atomic):
//   R <kind> <name> <creator pid> <creator start time>\n      U <kind> <name>\n
// The tracker reads end-of-file when the last write end closes, that is when every process of the tree has
// exited (or been killed): it cleans up what is left and exits.
//
// Lifetime of the tracker process itself: it is a child of the process that started it, which reaps it (at
// exit it closes its write end and waits up to a moment for the tracker, when no other process of the tree
// holds the pipe). If that process dies first, the tracker is re-parented (to init or the nearest subreaper,
// which reaps it as any orphan). It ignores SIGINT and SIGTERM (a Ctrl-C of the terminal reaches the whole
// process group: the tracker must outlive the tree to clean up after it) and leaves on end-of-file only.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { myPid, myStartTime } from './arena.js';
import { childExecArgv } from '../process/process.js';
import * as posix from '../../posix/index.js';
import { debug } from '../../posix/debug.js';

export type TrackedKind = 'shared_memory' | 'semaphore';

interface State {
  fd: number; // write end, -1 when none
  pid: number; // the tracker's pid
  spawner: number; // the process that started it (and must reap it)
}

let state: State = { fd: -1, pid: 0, spawner: 0 };
let exitHook = false;

function mainPath(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), here.endsWith('.ts') ? 'tracker-main.ts' : 'tracker-main.js');
}

function start(): void {
  const [r, w] = posix.pipe();
  let pid: number;
  try {
    pid = posix.spawn(process.execPath, [process.execPath, ...childExecArgv(), mainPath()], { fds: { 0: r } });
  } catch (e) {
    posix.close(w);
    throw e;
  } finally {
    posix.close(r);
  }
  state = { fd: w, pid, spawner: myPid() };
  debug('resource tracker: started, pid %d', pid);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => stopResourceTracker(200));
  }
}

function send(line: string): void {
  const buf = Buffer.from(line);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (state.fd < 0) start();
    try {
      posix.write(state.fd, buf);
      return;
    } catch (e) {
      // The tracker is gone (killed?): EPIPE (Node ignores SIGPIPE). Reap it if it is ours, start another.
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      forget(true);
    }
  }
}

/** Drops this process's handle on the tracker; with `reap`, reaps it when this process started it. */
function forget(reap: boolean): void {
  if (state.fd >= 0) {
    try {
      posix.close(state.fd);
    } catch {
      /* already closed */
    }
  }
  if (reap && state.spawner === myPid() && state.pid > 0) {
    try {
      posix.waitpid(state.pid, { noHang: true });
    } catch {
      /* not our child any more */
    }
  }
  state = { fd: -1, pid: 0, spawner: 0 };
}

/** Records that this process created `name` (with the tracker, started on first use). */
export function register(kind: TrackedKind, name: string): void {
  send(`R ${kind} ${encodeURIComponent(name)} ${myPid()} ${myStartTime()}\n`);
}

/** The object was unlinked by the program: the tracker forgets it. */
export function unregister(kind: TrackedKind, name: string): void {
  if (state.fd < 0) return; // never registered from this tree
  send(`U ${kind} ${encodeURIComponent(name)}\n`);
}

/** The tracker this process writes to (tests, debugging): its pid and the pipe's write end, or null. */
export function resourceTracker(): { pid: number; fd: number; spawner: number } | null {
  return state.fd < 0 ? null : { ...state };
}

/**
 * Closes this process's end of the pipe. When this process started the tracker and no other process holds
 * the pipe, the tracker cleans up what is still registered and exits: this waits up to `waitMs` for that and
 * reaps it. Returns true if the tracker was reaped. Runs at exit; tests call it to end their tracker.
 */
export function stopResourceTracker(waitMs = 2000): boolean {
  if (state.fd < 0) return false;
  const { pid, spawner } = state;
  posix.close(state.fd);
  state = { fd: -1, pid: 0, spawner: 0 };
  if (spawner !== myPid() || pid <= 0) return false;
  let pidfd: number;
  try {
    pidfd = posix.pidfdOpen(pid);
  } catch {
    return false; // already reaped
  }
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      let s: posix.WaitStatus;
      try {
        s = posix.waitpid(pid, { noHang: true });
      } catch {
        return false;
      }
      if (s.kind !== 'running') return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      try {
        posix.poll(pidfd, { readable: true }, left); // readable once the tracker has exited
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINTR') throw e;
      }
    }
  } finally {
    posix.close(pidfd);
  }
}

// A spawned program does not inherit the fd; a forked child does, with this state (it writes to the same
// tracker, but it is not the one to reap it).

posix.semaphoreTracking.created = (name) => register('semaphore', name);
posix.semaphoreTracking.unlinked = (name) => unregister('semaphore', name);

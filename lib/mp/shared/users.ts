// Who is alive, and who uses a /dev/shm object: what the owner-death handling of the locks
// (lib/mp/sync/word.ts), reapSharedMemory (shared-memory.ts) and the resource tracker (tracker-main.ts) decide
// from. Read from /proc: a process we may not inspect (another user's, or a non-dumpable one: EACCES) is not
// seen — the blind spot their docs state.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as posix from '../../posix/index.js';

/**
 * Is process `pid` alive — and, when `start` is not 0, the same process that had that start time (field 22
 * of /proc/<pid>/stat, compared as int32), not a later one that reuses the pid? Zombies count as dead.
 */
export function processAlive(pid: number, start: number): boolean {
  const info = posix.processInfo(pid);
  if (info === null || info.state === 'zombie' || info.state === 'dead') return false;
  return start === 0 || (info.startTime | 0) === (start | 0);
}

/**
 * The files (names under /dev/shm, of `files`) that some live process other than `except` maps or holds open,
 * read from /proc/<pid>/maps and /proc/<pid>/fd. If /proc cannot be listed, all of them (cannot tell).
 */
export function shmUsers(files: ReadonlySet<string>, except = 0): Set<string> {
  const used = new Set<string>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== except);
  } catch {
    return new Set(files);
  }
  const see = (text: string) => {
    const i = text.indexOf('/dev/shm/');
    if (i < 0) return;
    const n = text.slice(i + 9).replace(/ \(deleted\)$/, '');
    if (files.has(n)) used.add(n);
  };
  for (const pid of pids) {
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) see(line);
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          see(readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          /* closed meanwhile */
        }
      }
    } catch {
      /* gone (uses none), or not ours to inspect (the blind spot) */
    }
  }
  return used;
}

// /proc readers (proc(5)): a process's state as `ps` shows it, and its children. Plain file reads, no addon.
import { readdirSync, readFileSync } from 'node:fs';
import { integer } from './errors.js';

/** proc(5) /proc/[pid]/stat field 3, by name. */
export type ProcessState =
  | 'running'
  | 'sleeping'
  | 'disk-sleep'
  | 'stopped'
  | 'tracing-stop'
  | 'zombie'
  | 'dead'
  | 'idle';

const STATES: Record<string, ProcessState> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk-sleep',
  T: 'stopped',
  t: 'tracing-stop',
  Z: 'zombie',
  X: 'dead',
  x: 'dead',
  I: 'idle',
  P: 'idle', // parked (kernel threads)
  W: 'sleeping', // waking / paging (old kernels)
  K: 'sleeping', // wakekill (old kernels)
};

/** What /proc/[pid]/stat says about a process (proc_pid_stat(5)). */
export interface ProcessInfo {
  /** The process id (field 1). */
  pid: number;
  /** The parent's pid (field 4); 0 for PID 1 (and kthreadd). */
  ppid: number;
  /** The state by name ('zombie'). */
  state: ProcessState;
  /** The kernel's one-letter state, as `ps -o stat` starts with ('Z'). */
  stateCode: string;
  /** The command name (comm, at most 15 characters). */
  name: string;
  /** The process group (field 5). */
  pgid: number;
  /** The session (field 6). */
  sid: number;
  /** Start time in clock ticks since boot (with the pid, identifies a process across pid reuse). */
  startTime: number;
  /** Number of threads. */
  threads: number;
}

/**
 * Parses /proc/[pid]/stat (a command name with spaces or ')' in it included).
 * @param text the file's contents
 * @see [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)
 */
export function parseStat(text: string): ProcessInfo {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')'); // the name may itself contain ') '
  const pid = Number(text.slice(0, open).trim());
  const name = text.slice(open + 1, close);
  const f = text.slice(close + 2).trim().split(' ');
  // f[0] is field 3 (state); field n is f[n - 3]
  const stateCode = f[0]!;
  return {
    pid,
    ppid: Number(f[1]),
    state: STATES[stateCode] ?? 'sleeping',
    stateCode,
    name,
    pgid: Number(f[2]),
    sid: Number(f[3]),
    startTime: Number(f[19]),
    threads: Number(f[17]),
  };
}

/**
 * The process's entry in /proc (state, parent, name), or null if there is no such process.
 * @param pid the process (>= 1)
 * @example
 * ```ts
 * posix.kill(pid, 'SIGSTOP');
 * posix.processInfo(pid); // { state: 'stopped', stateCode: 'T', ppid, name, … }
 * ```
 */
export function processInfo(pid: number): ProcessInfo | null {
  integer('pid', pid, 1, 2 ** 31 - 1);
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e;
  }
}

/** Every process in /proc (a snapshot; processes come and go while it is read). */
export function allProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info) out.push(info);
  }
  return out;
}

/**
 * The pids whose parent is `pid` (default: this process), zombies included, ascending.
 * @param pid the parent (default: this process)
 */
export function children(pid: number = process.pid): number[] {
  integer('pid', pid, 0, 2 ** 31 - 1);
  return allProcesses()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** A row of {@link processTree}: a process and its depth in the tree. */
export interface TreeRow extends ProcessInfo {
  /** 0 for the root of the tree, 1 for its children, … */
  depth: number;
}

/**
 * `pid` and all its descendants, depth-first, each with its depth below `pid` (what `ps --forest` draws).
 * @param pid the root of the tree
 * @returns the rows, the root first; empty when there is no such process
 */
export function processTree(pid: number): TreeRow[] {
  integer('pid', pid, 0, 2 ** 31 - 1);
  const all = allProcesses();
  const byParent = new Map<number, ProcessInfo[]>();
  for (const p of all) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const root = all.find((p) => p.pid === pid);
  if (!root) return [];
  const out: TreeRow[] = [];
  const walk = (p: ProcessInfo, depth: number): void => {
    out.push({ ...p, depth });
    for (const c of (byParent.get(p.pid) ?? []).sort((a, b) => a.pid - b.pid)) walk(c, depth + 1);
  };
  walk(root, 0);
  return out;
}

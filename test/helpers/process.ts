// Processes that run an export of one of the targets modules in test/helpers (targets.ts, queue-targets.ts,
// ...), under either start method: the same test then runs for fork and for spawn; the parent programs of
// the tests (daemon-parent.ts, manager-parent.ts) and the subreaper that adopts what they leave.
import { Process, type StartMethod } from '../../lib/index.js';
import { native } from '../../lib/binding/addon.js';
import * as posix from '../../lib/posix/index.js';
import { childExecArgv } from '../../lib/mp/process/process.js';
import { readLine, reap } from './child.js';
import { helper } from './files.js';

/** What a Process may take besides its target and args. */
export interface TargetOptions {
  name?: string;
  daemon?: boolean;
}

/**
 * A Process (not started) that runs export `exp` of the targets module `targets`, loaded from `file`: under
 * fork the function itself, under spawn the export by name (the child imports `file`).
 */
export function targetProcess<M extends object>(
  method: StartMethod,
  targets: M,
  file: string,
  exp: keyof M & string,
  args: unknown[] = [],
  extra: TargetOptions = {},
): Process {
  return method === 'fork'
    ? new Process({ target: targets[exp] as (...a: never[]) => unknown, args, ...extra })
    : new Process({ startMethod: 'spawn', module: file, export: exp, args, ...extra });
}

/** targetProcess, started. */
export function startTarget<M extends object>(method: StartMethod, targets: M, file: string, exp: keyof M & string, args: unknown[] = []): Process {
  const p = targetProcess(method, targets, file, exp, args);
  p.start();
  return p;
}

/**
 * Spawns test/helpers/<script> (a parent program of a test: daemon-parent.ts, manager-parent.ts) in a fresh
 * node whose stdout is a pipe, and reads the first line it prints: its report, as JSON. `newGroup`: in a
 * process group of its own, as a shell starts a job.
 */
export async function spawnReporter<R>(script: string, args: string[], newGroup = false): Promise<{ pid: number; report: R }> {
  const [r, w] = posix.pipe();
  const pid = native.spawn(process.execPath, [process.execPath, ...childExecArgv(), helper(script), ...args], undefined, [[1, w]], newGroup);
  posix.close(w);
  try {
    return { pid, report: JSON.parse(await readLine(r)) as R };
  } finally {
    posix.close(r);
  }
}

/**
 * A subreaper adopts every orphan below it, not only the ones a test is about (tsx's esbuild helper in the
 * parent scripts, for one): end and reap all children that appeared since `before`.
 */
export async function reapAdopted(before: Set<number>): Promise<void> {
  for (const pid of posix.children().filter((c) => !before.has(c))) {
    try {
      if (posix.processInfo(pid)?.state !== 'zombie') posix.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
    await reap(pid, 10_000).catch(() => undefined);
  }
}

/**
 * Runs `body` with this process a child subreaper (an orphan below it comes to it, to be reaped here); then,
 * whatever happened, ends that and reaps every child that appeared meanwhile. `before`: the children there
 * were before.
 */
export async function asSubreaper<T>(body: (before: Set<number>) => Promise<T>): Promise<T> {
  const before = new Set(posix.children());
  posix.setSubreaper(true);
  try {
    return await body(before);
  } finally {
    posix.setSubreaper(false);
    await reapAdopted(before);
  }
}

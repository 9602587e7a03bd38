// The spawn start method (CPython's popen_spawn_posix.py): posix_spawn of a fresh `node` (argv array, no
// shell) running ./spawn-main.ts, which imports { module, export } and calls it with the args. The args go
// as a v8.serialize structured clone in a memfd (the child's fd 3); shared objects among them are reduced to
// fds (lib/mp/core/reduction.ts), passed as the child's fds 4, 5, … For children that need worker threads
// or a clean runtime, and for anything that must not inherit this process's memory and fds.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { packageRoot } from '../../../posix/install.js';
import * as posix from '../../../posix/index.js';
import { reduceArgs } from '../../core/reduction.js';
import { getIdentity, withDevNull } from '../current.js';
import { type ChildHandle, type ChildJob, OwnChild, type StartMethodStrategy } from './strategy.js';

/** What a spawned child's bootstrap receives (fd 3, v8.serialize). */
export interface SpawnPayload {
  name: string;
  daemon: boolean;
  parentPid: number;
  parentName: string;
  module: string;
  export: string;
  args: unknown[];
  /** How many fds follow fd 3 (4, 5, …): the fds of shared objects in args (lib/mp/core/reduction.ts). */
  fdCount: number;
  /** Modules the child imports before its target's (ChildJob.preload). */
  preload: string[];
}

/** A job's payload in a memfd, and the fds of the shared objects in its args (./child-run.ts reads it). */
export interface PreparedPayload {
  /** The memfd holding the v8.serialize'd SpawnPayload (writing it never blocks, whatever its size). */
  memfd: number;
  /** The shared objects' fds, in order: the child's 4, 5, … (still this process's; do not close them). */
  shared: number[];
}

/**
 * The payload of a child that imports its target (spawn, forkserver): its identity, target and args (reduced:
 * lib/mp/core/reduction.ts) in a memfd. The caller closes `memfd`.
 * @throws TypeError ERR_MULTIPROC_NOT_CLONEABLE when the args cannot be structured-cloned.
 */
export function preparePayload(job: ChildJob, method: string): PreparedPayload {
  const { target } = job;
  if (typeof target === 'function') throw new TypeError(`the ${method} start method imports its target: give { module, export }`);
  const reduced = reduceArgs(job.args);
  const payload: SpawnPayload = {
    name: job.name,
    daemon: job.daemon,
    parentPid: process.pid,
    parentName: getIdentity().name,
    module: target.module,
    export: target.export,
    args: reduced.args,
    fdCount: reduced.fds.length,
    preload: job.preload ?? [],
  };
  let bytes: Buffer;
  try {
    bytes = v8.serialize(payload);
  } catch (e) {
    const err = new TypeError(`Process args cannot be sent to a ${method === 'spawn' ? 'spawned' : `${method}`} child: ${(e as Error).message}`, { cause: e });
    (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_NOT_CLONEABLE';
    throw err;
  }
  const memfd = posix.memfdCreate(`multiproc-${method}`);
  try {
    posix.writeAll(memfd, bytes);
  } catch (e) {
    posix.close(memfd);
    throw e;
  }
  return { memfd, shared: reduced.fds };
}

/** posix_spawn a `node` that imports the target; the child exits 0, or 1 when the target throws. */
export const spawn: StartMethodStrategy = Object.freeze({
  name: 'spawn',
  runsClosures: false,
  start(job: ChildJob): ChildHandle {
    const { memfd, shared } = preparePayload(job, 'spawn');
    try {
      const fds: Record<number, number> = { 3: memfd };
      shared.forEach((f, i) => (fds[4 + i] = f));
      return new OwnChild(spawnNode('spawn-main', fds));
    } finally {
      posix.close(memfd);
    }
  },
});

/**
 * posix_spawn of a `node` (this one, with this process's execArgv: childExecArgv) running the program `entry`
 * beside this file, stdin from /dev/null and `fds` as its other fds. Returns its pid.
 */
export function spawnNode(entry: string, fds: Record<number, number>, env?: Record<string, string | undefined>): number {
  return withDevNull((devnull) => posix.spawn(process.execPath, [process.execPath, ...childExecArgv(), sibling(entry)], { env, fds: { ...fds, 0: devnull } }));
}

/** A program beside this file: its .js, or its .ts when running from source. */
export function sibling(name: string): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), `${name}${here.endsWith('.ts') ? '.ts' : '.js'}`);
}

const INSPECTOR = /^--(inspect|inspect-brk|inspect-port|debug|debug-brk|inspect-publish-uid)(=|$)/;

/**
 * The parent's execArgv for a spawned `node`, minus inspector flags and -e/-p code; plus a TypeScript loader
 * when multiproc itself runs from its .ts sources (a test runner may transform them in-process, without one).
 */
export function childExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    const arg = a[i]!;
    if (INSPECTOR.test(arg)) {
      if (!arg.includes('=') && a[i + 1] && /^\d+$|^[\w.-]+:\d+$/.test(a[i + 1]!)) i++;
      continue;
    }
    if (['-e', '--eval', '-p', '--print'].includes(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('--eval=') || arg.startsWith('--print=')) continue;
    out.push(arg);
  }
  if (fileURLToPath(import.meta.url).endsWith('.ts') && !out.some((x) => /tsx|ts-node|--experimental-strip-types/.test(x))) {
    out.push('--import', pathToFileURL(path.join(packageRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href);
  }
  return out;
}

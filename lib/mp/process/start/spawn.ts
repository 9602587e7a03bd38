// The spawn start method (CPython's popen_spawn_posix.py): posix_spawn of a fresh `node` (argv array, no
// shell) running ./spawn-main.ts, which imports { module, export } and calls it with the args. The args go
// as a v8.serialize structured clone in a memfd (the child's fd 3); shared objects among them are reduced to
// fds (lib/mp/core/reduction.ts), passed as the child's fds 4, 5, … For children that need worker threads
// or a clean runtime, and for anything that must not inherit this process's memory and fds.
import { openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { packageRoot } from '../../../posix/install.js';
import * as posix from '../../../posix/index.js';
import { reduceArgs } from '../../core/reduction.js';
import { getIdentity } from '../current.js';
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
}

/** posix_spawn a `node` that imports the target; the child exits 0, or 1 when the target throws. */
export const spawn: StartMethodStrategy = Object.freeze({
  name: 'spawn',
  runsClosures: false,
  start(job: ChildJob): ChildHandle {
    const { target } = job;
    if (typeof target === 'function') throw new TypeError('the spawn start method imports its target: give { module, export }');
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
    };
    let bytes: Buffer;
    try {
      bytes = v8.serialize(payload);
    } catch (e) {
      const err = new TypeError(`Process args cannot be sent to a spawned child: ${(e as Error).message}`, { cause: e });
      (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_NOT_CLONEABLE';
      throw err;
    }
    // The payload travels in a memfd (fd 3 in the child): writing it never blocks, whatever its size.
    const fd = posix.memfdCreate('multiproc-spawn');
    const devnull = openSync('/dev/null', 'r');
    try {
      posix.writeAll(fd, bytes);
      const fds: Record<number, number> = { 0: devnull, 3: fd };
      reduced.fds.forEach((f, i) => (fds[4 + i] = f));
      const argv = [process.execPath, ...childExecArgv(), spawnMainPath()];
      return new OwnChild(posix.spawn(process.execPath, argv, { fds }));
    } finally {
      posix.close(fd);
      posix.close(devnull);
    }
  },
});

/** The bootstrap the spawned node runs: spawn-main.js beside this file, or its .ts when running from source. */
function spawnMainPath(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), here.endsWith('.ts') ? 'spawn-main.ts' : 'spawn-main.js');
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

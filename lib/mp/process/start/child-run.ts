// What a child that imports its target does once it exists, whichever way it came to exist: a spawned `node`
// (./spawn-main.ts) and a child of the forkserver (./forkserver-main.ts) both run a spawn payload (./spawn.ts)
// with the shared objects' fds at 4, 5, … (CPython's spawn._main / _bootstrap).
import { readSync, fstatSync } from 'node:fs';
import v8 from 'node:v8';
import { synchronousStdio } from '../../../posix/child.js';
import * as posix from '../../../posix/index.js';
import { modulesToLoad, rebuildArgs } from '../../core/reduction.js';
import { enterChild, reportFailure } from '../current.js';
import type { SpawnPayload } from './spawn.js';
import { importModule, importTarget, type ModuleLoader, setModuleLoader } from './strategy.js';

/** Reads and decodes the payload in the memfd `fd` (pread: its offset may be shared with another process). */
export function readPayload(fd: number): SpawnPayload {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) off += readSync(fd, buf, off, size - off, off);
  return v8.deserialize(buf) as SpawnPayload;
}

/**
 * Takes the payload's identity, rebuilds its args (shared objects from fds 4, 5, …), imports the target and
 * runs it; exits 0, or 1 when it throws ("Process <name>:" and the stack on stderr), or with what it passes to
 * process.exit(). `guardPid`: the process whose death ends a daemonic child (its real parent: the spawning
 * process, or the forkserver); `load`: how it gets its modules (a forkserver's child finds them loaded).
 */
export async function runChild(payload: SpawnPayload, guardPid: number, load: ModuleLoader = importModule): Promise<never> {
  synchronousStdio();
  enterChild({ name: payload.name, pid: process.pid, daemon: payload.daemon, parent: { pid: payload.parentPid, name: payload.parentName } }, guardPid);
  setModuleLoader(load); // what the target imports later (a Pool worker's task modules) comes the same way
  try {
    for (const m of [...payload.preload, ...modulesToLoad(payload.args)]) await load(m);
    const args = rebuildArgs(payload.args, Array.from({ length: payload.fdCount }, (_, i) => 4 + i));
    const fn = await importTarget(payload, load);
    await fn(...args);
  } catch (e) {
    reportFailure(payload.name, e);
    process.exit(1);
  }
  process.exit(0);
}

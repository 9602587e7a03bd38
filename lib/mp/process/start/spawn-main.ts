// The program a spawned child runs (`node [parent's execArgv] spawn-main.js`; CPython's spawn.spawn_main):
// reads its payload from fd 3 (a memfd the parent filled: name, parent, daemon flag, { module, export },
// args), imports the module, calls the export with the args and exits with 0, 1 (an exception: "Process
// <name>:" and the stack on stderr), or the code the target passed to process.exit().
import { fstatSync, readSync } from 'node:fs';
import v8 from 'node:v8';
import { synchronousStdio } from '../../../posix/child.js';
import * as posix from '../../../posix/index.js';
import { modulesToLoad, rebuildArgs } from '../../core/reduction.js';
import { enterChild, reportFailure } from '../current.js';
import type { SpawnPayload } from './spawn.js';
import { importTarget } from './strategy.js';

function readPayload(): SpawnPayload {
  const size = fstatSync(3).size;
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) off += readSync(3, buf, off, size - off, off); // pread: the offset is shared with the parent
  posix.close(3);
  return v8.deserialize(buf) as SpawnPayload;
}

const payload = readPayload();
synchronousStdio();
enterChild({ name: payload.name, pid: process.pid, daemon: payload.daemon, parent: { pid: payload.parentPid, name: payload.parentName } });
try {
  // Shared objects in args arrive as fds 4, 5, …: load the modules that know how to rebuild them, then rebuild.
  for (const m of modulesToLoad(payload.args)) await import(m);
  const args = rebuildArgs(payload.args, Array.from({ length: payload.fdCount }, (_, i) => 4 + i));
  const fn = await importTarget(payload);
  await fn(...args);
} catch (e) {
  reportFailure(payload.name, e);
  process.exit(1);
}
process.exit(0);

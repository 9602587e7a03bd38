// The program a spawned child runs (`node [parent's execArgv] spawn-main.js`; CPython's spawn.spawn_main):
// reads its payload from fd 3 (a memfd the parent filled: name, parent, daemon flag, { module, export },
// args) and runs it (./child-run.ts): exit 0, 1 (an exception: "Process <name>:" and the stack on stderr),
// or the code the target passed to process.exit().
//
// Node's compile cache (module.enableCompileCache, Node 22.1+) is on before anything else is imported: a
// spawned child compiles multiproc's modules from the cache the first spawned child filled (Node 20 has none).
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { readPayload, runChild } = await import('./child-run.js');
const { close } = await import('../../../posix/index.js');
const payload = readPayload(3);
close(3);
await runChild(payload, payload.parentPid);

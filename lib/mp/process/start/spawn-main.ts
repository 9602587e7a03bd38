// The program a spawned child runs (`node [parent's execArgv] spawn-main.js`; CPython's spawn.spawn_main):
// reads its payload from fd 3 (a memfd the parent filled: name, parent, daemon flag, { module, export },
// args) and runs it (./child-run.ts): exit 0, 1 (an exception: "Process <name>:" and the stack on stderr),
// or the code the target passed to process.exit().
import * as posix from '../../../posix/index.js';
import { readPayload, runChild } from './child-run.js';

const payload = readPayload(3);
posix.close(3);
await runChild(payload, payload.parentPid);

// A parent for the daemon and Ctrl-C tests, run as its own program: starts children with the given start
// method, prints their pids as JSON, then does what argv[3] says:
//   sigkill-wait   wait to be SIGKILLed (the daemon must die with it)
//   exit           exit normally at once (the daemon is terminated, the non-daemon child joined)
//   wait-forever   keep running (the test sends SIGINT to the whole process group)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Process, type StartMethod } from '../../lib/index.js';
import * as targets from './targets.js';

const method = process.argv[2] as StartMethod;
const mode = process.argv[3];
const targetsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'targets.ts');
const make = (exp: 'forever' | 'sleep', args: unknown[], daemon: boolean) =>
  method === 'fork'
    ? new Process({ target: targets[exp] as (...a: never[]) => unknown, args, daemon })
    : new Process({ startMethod: 'spawn', module: targetsFile, export: exp, args, daemon });

const daemon = make('forever', [], true);
daemon.start();
const worker = make(mode === 'wait-forever' ? 'forever' : 'sleep', [300], false);
worker.start();
process.stdout.write(JSON.stringify({ daemon: daemon.pid, worker: worker.pid }) + '\n');
if (mode !== 'exit') setInterval(() => {}, 1000);

// A parent for the Manager lifetime tests, run as its own program: starts a Manager with the start method
// argv[2], prints { server, address } as JSON, then does what argv[3] says:
//   sigkill-wait   wait to be SIGKILLed (the server must die with it and remove its directory)
//   exit           exit normally at once without shutdown() (the server is terminated and cleans up)
import { Manager, type StartMethod } from '../../lib/index.js';

const method = process.argv[2] as StartMethod;
const mode = process.argv[3];
const m = await Manager.start({ startMethod: method });
const d = await m.dict();
await d.set('alive', true);
process.stdout.write(JSON.stringify({ server: m.pid, address: m.address }) + '\n');
if (mode !== 'exit') setInterval(() => {}, 1000);

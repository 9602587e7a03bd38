// A Pool that the program drops without close()/terminate(): once collected (run with --expose-gc), its
// finalizer must kill and reap its workers. argv[2]: the start method. Prints { pids, alive } as JSON.
import { Pool, type StartMethod } from '../../lib/index.js';
import * as posix from '../../lib/posix/index.js';

const method = process.argv[2] as StartMethod;
let pids: number[] = [];

async function useAndDrop(): Promise<void> {
  const pool = new Pool({ processes: 2, startMethod: method });
  const r = await pool.map({ module: new URL('./pool-tasks.ts', import.meta.url), export: 'square' }, [1, 2, 3]);
  if (r.join() !== '1,4,9') throw new Error(`wrong result ${r.join()}`);
  pids = pool.pids;
}

await useAndDrop();
const alive = () => pids.filter((pid) => posix.processInfo(pid) !== null);
for (let i = 0; i < 100 && alive().length > 0; i++) {
  (globalThis as { gc?: () => void }).gc!();
  await new Promise((r) => setTimeout(r, 20));
}
console.log(JSON.stringify({ pids, alive: alive() }));

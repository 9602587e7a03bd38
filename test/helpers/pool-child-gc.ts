// A Pool dropped with live workers is garbage; a worker forked afterwards has a copy of it in its heap. Its
// finalizer must not run in the worker (it would close fd numbers that are the worker's own by then).
// Prints { open, expected, after } as JSON (test/pool.test.ts).
import { Pool } from '../../lib/index.js';
import { fdsSurviveGc, square } from './pool-tasks.js';

await (async () => {
  const dropped = new Pool({ processes: 2, startMethod: 'fork' });
  await dropped.map(square, [1, 2]);
})();
const pool = new Pool({ processes: 1, startMethod: 'fork' });
const open = await pool.apply(fdsSurviveGc, [12]);
const after = await pool.map(square, [3, 4]); // the worker's channel still works
await pool.terminate();
console.log(JSON.stringify({ open, expected: 12, after }));

// process_pool.ts: a pool of worker processes computes a function over a list of inputs.
// Run: npx tsx examples/process_pool.ts
import { Pool, posix } from 'multiproc';

function square(x: number): number {
  return x * x;
}

const pool = new Pool({ processes: 4 }); // with Pool(4) as p:
const results = await pool.map(square, [1, 2, 3, 4, 5]); //   p.map(square, [1, 2, 3, 4, 5])
console.log(results); // [ 1, 4, 9, 16, 25 ]

// Which worker computed which item?
const who = await pool.map((x: number) => ({ x, pid: posix.getpid() }), [1, 2, 3, 4, 5, 6, 7, 8]);
for (const { x, pid } of who) console.log(`item ${x} computed by worker pid ${pid}`);

pool.close(); // no more tasks
await pool.join(); // wait for the workers to exit

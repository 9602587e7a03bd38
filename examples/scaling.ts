// scaling.ts: the same CPU-bound job on 1, 2, … worker processes and on one async loop: speed-up, efficiency,
// Amdahl; then static chunks vs one task at a time for uneven tasks. Run: npx tsx examples/scaling.ts
// (The speed-ups depend on how many CPUs are free right now.)
import { cpuCount, Pool } from 'multiproc';

function work(n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + i) | 0;
  return h;
}
const UNIT = 2_000_000; // rounds of work per unit (about 2 ms); task i costs i units
const tasks = Array.from({ length: 16 }, (_, i) => i + 1);
const task = (i: number) => work(i * UNIT);
const sum = (xs: number[]) => xs.reduce((a, x) => (a + x) | 0, 0);
const timed = async <T>(fn: () => Promise<T> | T): Promise<[number, T]> => {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
};

task(1); // let the JIT warm up
const [t1, expected] = await timed(() => sum(tasks.map(task)));
console.log(`sequential: T1 = ${t1.toFixed(0)} ms`);

for (let k = 1; k <= cpuCount() + 1; k++) {
  const pool = new Pool({ processes: k });
  await pool.map(task, [1], { chunkSize: 1 }); // start the workers first: time the work, not the forks
  const [tk, results] = await timed(() => pool.map(task, tasks, { chunkSize: 1 }));
  const s = t1 / tk;
  console.log(`processes k=${k}: ${tk.toFixed(0)} ms, speed-up ${s.toFixed(2)}×, efficiency ${((s / k) * 100).toFixed(0)} %, same result: ${sum(results) === expected}`);
  pool.close();
  await pool.join();
}
console.log(`Amdahl: with a serial fraction f, k workers give at most 1 / (f + (1 - f) / k); beyond ${cpuCount()} CPUs, nothing more`);

// One async loop: async functions share one thread; CPU work runs one task after another.
const [ta, asyncResults] = await timed(() => Promise.all(tasks.map(async (i) => task(i))));
console.log(`one async loop: ${ta.toFixed(0)} ms, speed-up ${(t1 / ta).toFixed(2)}×, same result: ${sum(asyncResults) === expected}`);

// Load balancing: one block of consecutive tasks per worker (static) vs the next task to whoever is free.
const k = Math.max(2, cpuCount());
const pool = new Pool({ processes: k });
await pool.map(task, [1], { chunkSize: 1 });
for (const chunkSize of [Math.ceil(tasks.length / k), 1]) {
  const [ms] = await timed(() => pool.map(task, tasks, { chunkSize }));
  console.log(`${chunkSize === 1 ? 'dynamic (chunkSize 1)' : `static chunks (chunkSize ${chunkSize})`} on ${k} processes: ${ms.toFixed(0)} ms`);
}
pool.close();
await pool.join();

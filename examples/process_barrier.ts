// process_barrier.ts: a Barrier makes every process finish phase k before any starts phase k+1.
// Run: npx tsx examples/process_barrier.ts
import { Barrier, Process } from 'multiproc';

const barrier = new Barrier(4); // four parties

function worker(id: number): void {
  for (let phase = 1; phase <= 3; phase++) {
    const work = 50 + Math.floor(Math.random() * 200);
    const until = Date.now() + work;
    while (Date.now() < until); // this phase's work: a different length for each process
    console.log(`worker ${id} finished phase ${phase} after ${work} ms, waits at the barrier`);
    barrier.waitSync(); // returns only when all 4 have arrived
  }
}

const workers = [1, 2, 3, 4].map((id) => new Process({ target: worker, args: [id] }));
for (const p of workers) p.start();
for (const p of workers) await p.join();

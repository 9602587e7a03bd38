// process_barrier.ts: a barrier makes every process finish phase k before any starts phase k+1.
// Run: npx tsx examples/process_barrier.ts
import { Process, posix } from 'multiproc';

const PARTIES = 4;
const memory = posix.mmap(4096);
const barrier = posix.Barrier.init(memory, 0, PARTIES); // pthread_barrier_init(…, count = 4), process-shared

function worker(id: number): void {
  for (let phase = 1; phase <= 3; phase++) {
    const work = 50 + Math.floor(Math.random() * 200);
    const until = Date.now() + work;
    while (Date.now() < until); // this phase's work: a different length for each process
    console.log(`worker ${id} finished phase ${phase} after ${work} ms, waits at the barrier`);
    barrier.wait(); // returns only when all 4 have arrived
  }
}

const workers = [1, 2, 3, 4].map((id) => new Process({ target: worker, args: [id] }));
for (const p of workers) p.start();
for (const p of workers) await p.join();
barrier.destroy();
memory.close();

// process_semaphore.ts: a semaphore lets at most N processes use a resource at the same time.
// Run: npx tsx examples/process_semaphore.ts
import { Process, posix } from 'multiproc';

const SLOTS = 2;
const memory = posix.mmap(4096);
const sem = posix.Semaphore.init(memory, 0, SLOTS); // sem_init(sem, pshared = 1, 2)
const inside = new Int32Array(memory.buffer, 64, 1); // how many are inside now (for the printout)

function worker(id: number): void {
  sem.wait(); // sem_wait: blocks while 2 processes are inside
  const now = Atomics.add(inside, 0, 1) + 1;
  console.log(`worker ${id} (pid ${posix.getpid()}) enters; inside now: ${now}`);
  const until = Date.now() + 200;
  while (Date.now() < until); // use the resource for a while
  Atomics.sub(inside, 0, 1);
  console.log(`worker ${id} leaves`);
  sem.post(); // sem_post: lets the next one in
}

const workers = [1, 2, 3, 4, 5].map((id) => new Process({ target: worker, args: [id] }));
for (const p of workers) p.start();
for (const p of workers) await p.join();
sem.destroy();
memory.close();

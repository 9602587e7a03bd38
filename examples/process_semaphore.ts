// process_semaphore.ts: a Semaphore lets at most N processes use a resource at the same time.
// Run: npx tsx examples/process_semaphore.ts
import { Process, Semaphore, Value, posix } from 'multiproc';

const sem = new Semaphore(2); // two slots
const inside = new Value('i', 0); // how many are inside now (for the printout)

function worker(id: number): void {
  sem.acquireSync(); // blocks while 2 processes are inside
  const now = inside.getLock().withLockSync(() => (inside.value += 1));
  console.log(`worker ${id} (pid ${posix.getpid()}) enters; inside now: ${now}`);
  const until = Date.now() + 200;
  while (Date.now() < until); // use the resource for a while
  inside.getLock().withLockSync(() => (inside.value -= 1));
  console.log(`worker ${id} leaves`);
  sem.release(); // lets the next one in
}

const workers = [1, 2, 3, 4, 5].map((id) => new Process({ target: worker, args: [id] }));
for (const p of workers) p.start();
for (const p of workers) await p.join();

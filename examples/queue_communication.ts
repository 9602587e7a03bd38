// queue_communication.ts: a producer process puts a message into a Queue, a consumer process gets it.
// Run: npx tsx examples/queue_communication.ts
import { Process, Queue } from 'multiproc';

const queue = new Queue<string>(); // lives in shared memory: created before the fork, shared by both

async function producer(q: Queue<string>): Promise<void> {
  await q.put('Hello from producer');
}

async function consumer(q: Queue<string>): Promise<void> {
  const message = await q.get(); // waits until something is there
  console.log(`Consumer received: ${message}`);
}

const p1 = new Process({ target: producer, args: [queue] });
const p2 = new Process({ target: consumer, args: [queue] });
p1.start();
p2.start();
await p1.join();
await p2.join();
queue.close();

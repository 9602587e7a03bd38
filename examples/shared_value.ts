// shared_value.ts: processes increment one shared Value, with and without its lock.
// Run: npx tsx examples/shared_value.ts
//
// A Value lives in shared memory: a forked child sees the same integer, not a copy. Its lock
// (getLock()) makes "read, add 1, write" one step that no other process can cut into.
import { Barrier, Process, Value } from 'multiproc';

async function runProcesses(count: number, target: () => void): Promise<void> {
  const ps = Array.from({ length: count }, () => new Process({ target }));
  for (const p of ps) p.start();
  for (const p of ps) await p.join();
}

// The course text's program: 5 processes, each adds 1 under the lock.
const sharedValue = new Value('i', 0); // 'i': a C int (int32)
await runProcesses(5, () => {
  sharedValue.getLock().withLockSync(() => {
    // with shared_value.get_lock():
    sharedValue.value += 1; //    shared_value.value += 1
  });
});
console.log(`Shared value: ${sharedValue.value}`); // 5

// 4 processes × 1 000 000 increments WITHOUT the lock: the reads and writes of different processes
// interleave, and increments are lost. A barrier starts them at the same moment.
const counter = new Value('i', 0);
const start = new Barrier(4);
await runProcesses(4, () => {
  start.waitSync();
  for (let i = 0; i < 1_000_000; i++) counter.value += 1;
});
console.log(`Without the lock: ${counter.value} of 4000000 (${4_000_000 - counter.value} updates lost)`);

// The same with the lock: exact.
counter.value = 0;
await runProcesses(4, () => {
  const lock = counter.getLock();
  for (let i = 0; i < 100_000; i++) {
    lock.acquireSync();
    counter.value += 1;
    lock.release();
  }
});
console.log(`With the lock:    ${counter.value} of 400000`);

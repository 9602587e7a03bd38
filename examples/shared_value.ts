// shared_value.ts: processes increment one counter in shared memory, with and without a lock.
// Run: npx tsx examples/shared_value.ts
//
// The counter is an Int32 in an anonymous shared mapping (mmap MAP_SHARED): a forked child sees the same
// memory, not a copy. The lock is a process-shared pthread mutex placed in the same mapping.
import { Process, posix } from 'multiproc';

const memory = posix.mmap(4096);
const lock = posix.Mutex.init(memory, 0); // bytes 0..63: the lock
const counter = new Int32Array(memory.buffer, 64, 1); // bytes 64..67: the shared value

async function runProcesses(count: number, target: () => void): Promise<void> {
  const ps = Array.from({ length: count }, () => new Process({ target }));
  for (const p of ps) p.start();
  for (const p of ps) await p.join();
}

// 5 processes, each adds 1 under the lock.
await runProcesses(5, () => {
  lock.lock(); // with shared_value.get_lock():
  counter[0] = counter[0]! + 1; //    shared_value.value += 1
  lock.unlock();
});
console.log(`Shared value: ${counter[0]}`); // 5

// 4 processes × 1 000 000 increments WITHOUT the lock: read, add, write of different processes interleave.
// A barrier starts them at the same moment, so that they really run at the same time.
const start = posix.Barrier.init(memory, 128, 4);
counter[0] = 0;
await runProcesses(4, () => {
  start.wait();
  for (let i = 0; i < 1_000_000; i++) counter[0] = counter[0]! + 1;
});
console.log(`Without the lock: ${counter[0]} of 4000000 (${4_000_000 - counter[0]!} updates lost)`);
start.destroy();

// The same with the lock: exact.
counter[0] = 0;
await runProcesses(4, () => {
  for (let i = 0; i < 100_000; i++) {
    lock.lock();
    counter[0] = counter[0]! + 1;
    lock.unlock();
  }
});
console.log(`With the lock:    ${counter[0]} of 400000`);

lock.destroy();
memory.close();

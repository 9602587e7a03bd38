// process_lock.ts: a lock shared by processes keeps their output lines whole.
// Run: npx tsx examples/process_lock.ts
//
// Each process writes a line in three pieces. With the lock held around the line, no other process can
// write in between, so lines never interleave.
import { Process, posix } from 'multiproc';

const memory = posix.mmap(64);
const lock = posix.Mutex.init(memory, 0); // a process-shared (and robust) pthread mutex

function printWithLock(message: string): void {
  for (let i = 1; i <= 3; i++) {
    lock.lock(); // with lock:
    posix.write(1, `[pid ${posix.getpid()}] `); //   print(message), in three write() calls
    posix.write(1, `${message}, `);
    posix.write(1, `line ${i}\n`);
    lock.unlock();
  }
}

const processes = ['Message 1', 'Message 2', 'Message 3'].map((msg) => new Process({ target: printWithLock, args: [msg] }));
for (const p of processes) p.start();
for (const p of processes) await p.join();
lock.destroy();
memory.close();

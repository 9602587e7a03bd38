// process_lock.ts: a Lock shared by processes keeps their output lines whole.
// Run: npx tsx examples/process_lock.ts
//
// Each process writes a line in three pieces. With the lock held around the line, no other process can
// write in between, so lines never interleave.
import { Lock, Process, posix } from 'multiproc';

const lock = new Lock();

function printWithLock(message: string): void {
  for (let i = 1; i <= 3; i++) {
    lock.withLockSync(() => {
      // with lock: print(message), in three write() calls
      posix.write(1, `[pid ${posix.getpid()}] `);
      posix.write(1, `${message}, `);
      posix.write(1, `line ${i}\n`);
    });
  }
}

const processes = ['Message 1', 'Message 2', 'Message 3'].map((msg) => new Process({ target: printWithLock, args: [msg] }));
for (const p of processes) p.start();
for (const p of processes) await p.join();

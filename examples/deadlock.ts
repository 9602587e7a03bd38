// deadlock.ts: two processes take two locks in opposite order and wait for each other forever.
// Run: npx tsx examples/deadlock.ts
//
// Process A locks R1 then R2; process B locks R2 then R1. A barrier makes sure both hold their first lock
// before asking for the second: each now waits for the lock the other holds (a cycle). We wait one second,
// see that neither finished, kill one to break the cycle, and then show the fix: one lock order for all.
import { Process, posix } from 'multiproc';

const memory = posix.mmap(4096);
const R1 = posix.Mutex.init(memory, 0);
const R2 = posix.Mutex.init(memory, 64);
const bothHoldOne = posix.Barrier.init(memory, 128, 2);

function takeBoth(name: string, first: posix.Mutex, second: posix.Mutex, firstName: string, secondName: string): void {
  first.lock();
  console.log(`${name} holds ${firstName}, wants ${secondName}`);
  bothHoldOne.wait();
  second.lock(); // blocks: the other process holds it and waits for ours
  // Only reached once the other process is gone: a robust mutex passes to a waiter when its owner dies
  // (Node also prints a MULTIPROC_OWNER_DIED warning: the data it protected may be half-updated).
  console.log(`${name} got both${second.ownerDied ? ` (the owner of ${secondName} died holding it)` : ''}`);
  second.unlock();
  first.unlock();
}

const a = new Process({ target: takeBoth, args: ['Process A', R1, R2, 'R1', 'R2'] });
const b = new Process({ target: takeBoth, args: ['Process B', R2, R1, 'R2', 'R1'] });
a.start();
b.start();
await a.join(1000); // join with a timeout just returns
await b.join(1000);
console.log(`after 1 s: A alive = ${a.isAlive()}, B alive = ${b.isAlive()}  → deadlock`);
// Recovery: break the cycle by killing one process of it. B's lock R2 passes to A, which finishes.
b.kill();
await b.join();
await a.join();
console.log(`B exit code ${b.exitCode} (killed), A exit code ${a.exitCode}`);

// The fix: one global order. Everyone takes R1 before R2, so nobody can hold R2 while waiting for R1.
const F1 = posix.Mutex.init(memory, 256);
const F2 = posix.Mutex.init(memory, 320);
const ordered = (name: string) => () => {
  for (let i = 0; i < 1000; i++) {
    F1.lock();
    F2.lock();
    F2.unlock();
    F1.unlock();
  }
  console.log(`${name} finished 1000 rounds of R1 → R2`);
};
const fa = new Process({ target: ordered('Process A') });
const fb = new Process({ target: ordered('Process B') });
fa.start();
fb.start();
await fa.join();
await fb.join();
for (const m of [R1, R2, F1, F2]) m.destroy();
bothHoldOne.destroy();
memory.close();

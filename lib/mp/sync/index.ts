// Synchronisation primitives of the multiprocessing API (Python's multiprocessing.synchronize, Node's
// conventions), one module per concept:
//   word.ts       the shared words: the lock word, owner death, sleeping on a word, reaching spawned children
//   lock.ts       Lock, RLock
//   semaphore.ts  Semaphore, BoundedSemaphore
//   condition.ts  Condition
//   event.ts      Event
//   barrier.ts    Barrier (BrokenBarrierError: lib/mp/core/errors.ts)
// Each waiting method has a Promise form and a Sync form generated from one algorithm (lib/mp/core/wait.ts).
export { Barrier, type BarrierOptions, BrokenBarrierError } from './barrier.js';
export { Condition } from './condition.js';
export { Event } from './event.js';
export { Lock, LockBase, RLock } from './lock.js';
export { BoundedSemaphore, Semaphore } from './semaphore.js';
export { OWNER_CHECK_MS, rebuildSync, reduceSync, SyncObject, type SyncReduced } from './word.js';
export type { WaitOptions } from '../core/wait.js';

// Shared state of the multiprocessing API (Python's multiprocessing.sharedctypes and shared_memory), one module
// per concept:
//   value.ts          Value, RawValue         one element in the shared arena
//   array.ts          SharedArray, RawArray   elements in the shared arena
//   typed.ts          what those two share: type codes, checked stores, the optional lock, spawn
//   shared-memory.ts  SharedMemory, reapSharedMemory   named POSIX shared memory
//   arena.ts          the arena their bytes (and the sync objects') come from
//   tracker.ts, tracker-main.ts   the resource tracker; users.ts: who is alive, who maps a /dev/shm object
export { arenaStats } from './arena.js';
export { RawArray, SharedArray } from './array.js';
export { reapSharedMemory, SharedMemory, type SharedMemoryOptions } from './shared-memory.js';
export type { TypeCode } from './typed.js';
export { RawValue, Value } from './value.js';

/**
 * multiproc: real POSIX multiprocessing for Node.js — Python's `multiprocessing` API with Node's conventions
 * (`Process`, `Pipe`, `Queue`, `Value`, `SharedArray`, `SharedMemory`, `Lock` … `Barrier`, `Pool`, `Manager`),
 * over real processes and kernel objects.
 *
 * ```ts
 * import { Process, Queue } from 'multiproc';      // the multiprocessing API
 * import { posix } from 'multiproc';               // the C API (also: import * as posix from 'multiproc/posix')
 * ```
 * @module multiproc
 */
/** The C API, typed: fork, waitpid, pipe, mmap, semaphores… (the same module as 'multiproc/posix'). */
export * as posix from './posix/index.js';
export { Process, type ProcessOptions, type StartMethod } from './mp/process/process.js';
export { checkSendable, markNotSendable } from './mp/core/sendable.js';
export { Empty, Full, JoinableQueue, Queue, type QueueOptions, SimpleQueue } from './mp/queue.js';
export { registerShareable } from './mp/core/reduction.js';
export { Connection, type ConnectionOptions, DEFAULT_MAX_MESSAGE_BYTES, EOFError, Pipe, TimeoutError } from './mp/connection.js';
export {
  activeChildren,
  type Context,
  cpuCount,
  currentProcess,
  getAllStartMethods,
  getContext,
  getStartMethod,
  parentProcess,
  processCpuCount,
  setStartMethod,
} from './mp/process/context.js';
export { setForkserverPreload, stopForkserver } from './mp/process/start/index.js';
export {
  BaseProxy,
  type ConnectOptions,
  DEFAULT_MANAGER_MESSAGE_BYTES,
  DictProxy,
  ListProxy,
  LockProxy,
  Manager,
  type ManagerOptions,
  type ManagerStats,
  NamespaceProxy,
  type ProxyData,
  type ProxyKind,
  QueueProxy,
  rebuildProxy,
  ValueProxy,
} from './mp/manager/index.js';
export { BoundedSemaphore, Barrier, type BarrierOptions, BrokenBarrierError, Condition, Event, Lock, RLock, Semaphore, type WaitOptions } from './mp/sync/index.js';
export { RawArray, RawValue, reapSharedMemory, SharedArray, SharedMemory, type SharedMemoryOptions, type TypeCode, Value } from './mp/shared/index.js';
export { arenaStats } from './mp/shared/arena.js';
export { type MapOptions, Pool, type PoolFunction, type PoolOptions, type PoolStats, type TimeSummary, WorkerDiedError } from './mp/pool/pool.js';

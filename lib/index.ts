// multiproc: real POSIX multiprocessing for Node.js.
//   import { Process, currentProcess } from 'multiproc'     the multiprocessing API (Python's, Node's conventions)
//   import { posix } from 'multiproc'                       the C API (also: import * as posix from 'multiproc/posix')
export * as posix from './posix/index.js';
export { Process, type ProcessOptions, type StartMethod } from './process.js';
export { checkSendable, markNotSendable } from './sendable.js';
export { Connection, type ConnectionOptions, DEFAULT_MAX_MESSAGE_BYTES, EOFError, Pipe, TimeoutError } from './connection.js';
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
} from './context.js';
export { type MapOptions, Pool, type PoolFunction, type PoolOptions, type PoolStats, type TimeSummary, WorkerDiedError } from './pool.js';

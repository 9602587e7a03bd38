// multiproc: real POSIX multiprocessing for Node.js.
//   import { posix } from 'multiproc'      the C API (also: import * as posix from 'multiproc/posix')
export * as posix from './posix/index.js';

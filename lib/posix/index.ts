// multiproc/posix: the C API, typed. Blocking calls block, as in C; each has an …Async form where one makes
// sense. Names mirror the man pages.
export * from './process.js';
export * from './fd.js';
export * from './shm.js';
export * from './sync.js';
export * from './mqueue.js';
export * from './procfs.js';
export * from './futex.js';
export * from './ns.js';
export * from './signal.js';

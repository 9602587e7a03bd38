/**
 * multiproc/posix: the C API, typed. Blocking calls block, as in C; each has an …Async form where one makes
 * sense. Names mirror the man pages, and each function links its own. Every public name is listed here, by
 * family (one module each, after native/*.cc); lib/posix/errors.ts (the argument checks), child.ts (the
 * forked child's repair) and install.ts are internal.
 *
 * Errors: a failed system call throws an Error with `code` ('ECHILD'), `errno`, `syscall` ('waitpid') and
 * the message `waitpid ECHILD: No child processes`; a wrong argument is a TypeError (ERR_INVALID_ARG_TYPE) or
 * a RangeError (ERR_OUT_OF_RANGE), checked again in C++ so that nothing passed can crash the process; use
 * after close is ERR_MULTIPROC_CLOSED. EINTR is retried where the call is restartable.
 *
 * ```ts
 * import * as posix from 'multiproc/posix';   // or: import { posix } from 'multiproc'
 * ```
 * @module posix
 */

// fork(2) made safe for Node, _exit(2), at-fork hooks (lib/posix/fork.ts)
export {
  atFork, exit, fork, forkAndRun, forkProbes, forkQuiesceTimeout, forkStats, isForkedChild, setForkQuiesceTimeout
} from './fork.js';
export type { AtForkHooks, ForkProbe, ForkStats } from './fork.js';

// processes: posix_spawn, waitpid, pidfd, kill, ids and sessions, prctl, affinity, rlimits, signal names
export {
  checkInt, getAffinity, getcpu, getParentDeathSignal, getpgid, getpid, getppid, getrlimit, getsid, gettid,
  isSubreaper, kill, pidfdOpen, pidfdSendSignal, setAffinity, setParentDeathSignal, setpgid, setrlimit, setsid, setSubreaper,
  signalName, signalNumber, signals, spawn, waitpid, waitpidAsync
} from './process.js';
export type { Resource, Signal, SpawnOptions, WaitpidOptions, WaitStatus } from './process.js';

// file descriptors: pipes, sockets, FIFOs, read/write (sync, async, raw async), fcntl, poll, fd passing
export {
  cancelWait, close, dup, dup2, fdFlags, getPipeSize, mkfifo, open, pingPongBench, pipe, poll, pollAsync,
  pollAsyncRaw, read, readAsync, readAsyncRaw, recvFds, recvFdsAsync, SCM_MAX_FD, sendFds, setCloexec,
  setNonBlocking, setPipeSize, socketpair, unixConnect, write, writeAll, writeAsync, writeAsyncRaw
} from './fd.js';
export type { OpenOptions, PipeOptions, ReceivedFds, SocketType } from './fd.js';

// shared memory: mmap, shm_open, memfd_create, file sizes
export { fallocate, fdSize, ftruncate, Mapping, memfdCreate, mmap, pageSize, shmOpen, shmUnlink } from './shm.js';
export type { MmapOptions, ShmOpenOptions } from './shm.js';

// process-shared semaphores, mutexes, condition variables, barriers
export {
  ALIGNOF, Barrier, Cond, Mutex, pendingAsyncWaits, SEM_VALUE_MAX, Semaphore, semaphoreTracking, SIZEOF
} from './sync.js';
export type { SemOpenOptions, SyncLayout, WaitAsyncOptions } from './sync.js';

// futex(2)
export {
  futexCancel, futexWait, futexWaitAsync, futexWaitAsyncRaw, futexWaitRaw, futexWake, futexWakeRaw,
  pendingFutexWaits
} from './futex.js';
export type { FutexWaitAsyncOptions, FutexWaitResult } from './futex.js';

// POSIX message queues
export { MessageQueue, MQ_PRIO_MAX, mqLimits, mqOpen, mqPingPongBench, mqUnlink } from './mqueue.js';
export type { MqAttr, MqLimits, MqMessage, MqOpenOptions } from './mqueue.js';

// signals: sigaction (recording handler), masks, sigsuspend, sigqueue, delivery records
export {
  decodeSignalMask, sigaction, signalCount, signalMasks, signalRecords, signalSeq, sigpending, sigprocmask, sigqueue,
  sigsuspend
} from './signal.js';
export type {
  PreviousAction, SigactionFlags, SigactionOptions, SignalDisposition, SignalMasks, SignalRecord
} from './signal.js';

// namespaces: unshare, setns, hostname, mount
export { gethostname, mount, namespaceId, nsPids, sethostname, setns, umount2, unshare } from './ns.js';
export type { MountFlag, Namespace } from './ns.js';

// /proc: process information and trees
export { allProcesses, children, parseStat, processInfo, processTree } from './procfs.js';
export type { ProcessInfo, ProcessState, TreeRow } from './procfs.js';

// loops in C: the native baselines of the benchmarks
export {
  barrierBench, copyBench, fillBench, forkWaitBench, futexPingPongBench, mutexBench, semPingPongBench,
  semUncontendedBench, spawnWaitBench, streamBench
} from './bench.js';

// Node-style errors of the argument checks (lib/posix/errors.ts)
export { rangeError, typeError } from './errors.js';

// The public names (shared/API.md is the contract): every name the package exported when the one-step
// redesign began is still exported, from the same entry point. Adding names is free; removing or renaming one
// fails here. (Values only: types vanish at run time and are checked by the type-check of test/ and examples/.)
import { describe, expect, it } from 'vitest';
import * as multiproc from '../lib/index.js';
import * as posix from '../lib/posix/index.js';

const MULTIPROC = [
  'Barrier', 'BaseProxy', 'BoundedSemaphore', 'BrokenBarrierError', 'Condition', 'Connection',
  'DEFAULT_MANAGER_MESSAGE_BYTES', 'DEFAULT_MAX_MESSAGE_BYTES', 'DictProxy', 'EOFError', 'Empty', 'Event', 'Full',
  'JoinableQueue', 'ListProxy', 'Lock', 'LockProxy', 'Manager', 'NamespaceProxy', 'Pipe', 'Pool', 'Process', 'Queue',
  'QueueProxy', 'RLock', 'RawArray', 'RawValue', 'Semaphore', 'SharedArray', 'SharedMemory', 'SimpleQueue',
  'TimeoutError', 'Value', 'ValueProxy', 'WorkerDiedError', 'activeChildren', 'arenaStats', 'checkSendable',
  'cpuCount', 'currentProcess', 'getAllStartMethods', 'getContext', 'getStartMethod', 'markNotSendable',
  'parentProcess', 'posix', 'processCpuCount', 'reapSharedMemory', 'rebuildProxy', 'registerShareable',
  'setStartMethod',
];

const POSIX = [
  'ALIGNOF', 'Barrier', 'Cond', 'MQ_PRIO_MAX', 'Mapping', 'MessageQueue', 'Mutex', 'SCM_MAX_FD', 'SEM_VALUE_MAX',
  'SIZEOF', 'Semaphore', 'allProcesses', 'atFork', 'checkInt', 'children', 'close', 'decodeSignalMask', 'dup',
  'dup2', 'exit', 'fallocate', 'fdFlags', 'fdSize', 'fork', 'forkAndRun', 'forkProbes', 'forkQuiesceTimeout',
  'forkStats', 'ftruncate', 'futexCancel', 'futexWait', 'futexWaitAsync', 'futexWaitAsyncRaw', 'futexWaitRaw',
  'futexWake', 'futexWakeRaw', 'getAffinity', 'getParentDeathSignal', 'getPipeSize', 'getcpu', 'gethostname',
  'getpgid', 'getpid', 'getppid', 'getrlimit', 'getsid', 'gettid', 'isForkedChild', 'isSubreaper', 'kill',
  'memfdCreate', 'mkfifo', 'mmap', 'mount', 'mqLimits', 'mqOpen', 'mqPingPongBench', 'mqUnlink', 'namespaceId',
  'nsPids', 'pageSize', 'parseStat', 'pendingAsyncWaits', 'pendingFutexWaits', 'pidfdOpen', 'pingPongBench', 'pipe',
  'poll', 'pollAsync', 'processInfo', 'processTree', 'rangeError', 'read', 'readAsync', 'recvFds', 'recvFdsAsync',
  'semaphoreTracking', 'sendFds', 'setAffinity', 'setCloexec', 'setForkQuiesceTimeout', 'setNonBlocking',
  'setParentDeathSignal', 'setPipeSize', 'setSubreaper', 'sethostname', 'setns', 'setpgid', 'setrlimit', 'setsid',
  'shmOpen', 'shmUnlink', 'sigaction', 'signalCount', 'signalMasks', 'signalName', 'signalNumber', 'signalRecords',
  'signalSeq', 'signals', 'sigpending', 'sigprocmask', 'sigqueue', 'sigsuspend', 'socketpair', 'spawn', 'typeError',
  'umount2', 'unixConnect', 'unshare', 'waitpid', 'waitpidAsync', 'write', 'writeAll', 'writeAsync',
];

describe('public names', () => {
  it("'multiproc' still exports every name it did", () => {
    expect(MULTIPROC.filter((n) => !(n in multiproc))).toEqual([]);
  });
  it("'multiproc/posix' still exports every name it did (and 'multiproc' exposes it as posix)", () => {
    expect(POSIX.filter((n) => !(n in posix))).toEqual([]);
    expect(Object.keys(multiproc.posix).sort()).toEqual(Object.keys(posix).sort());
  });
});

// The typed contract of both addons: every function, class and constant they export, with the shapes the
// native code takes and returns. lib/binding/addon.ts loads the addons as these types; lib/posix is the only
// caller. test/binding.test.ts reads the interfaces below with the TypeScript compiler and requires that
// the loaded addons export exactly the members declared here (and that classes, constant tables and returned
// objects have exactly the declared members), so a native export without a declaration, or a declaration
// without a native export, fails there.
//
// Conventions of the raw layer (native/core/errors.h): the native side checks every argument itself
// (TypeError ERR_INVALID_ARG_TYPE, RangeError ERR_OUT_OF_RANGE); a failed syscall throws Error{code, errno,
// syscall}; a closed object throws ERR_MULTIPROC_CLOSED. Timeouts are milliseconds (Infinity: none). Every
// async wait returns an id from one space, for cancelWait.

// ---------------------------------------------------------------------------------------------------------
// shared shapes

/** A mapping handle from mmap: the addon's own type-tagged object (lib/posix/shm.ts gives it Mapping's prototype). */
export interface MappingHandle {
  /** The mapped bytes (detached, byteLength 0, after mappingClose). */
  readonly buffer: ArrayBuffer;
  /** false for a read-only (private copy-on-write) mapping. */
  readonly shared: boolean;
}

/**
 * A class the addon exports (native/sync.cc): its instances come only from the addon's factories (semInit,
 * mutexAttach…); calling it throws TypeError ERR_ILLEGAL_CONSTRUCTOR. Its prototype holds the methods.
 */
export interface NativeClass<T> {
  readonly prototype: T;
}

/** [pid, kind, value, coreDumped]; kind: 0 exited, 1 signaled, 2 stopped, 3 continued, 4 running. */
export type RawStatus = [pid: number, kind: 0 | 1 | 2 | 3 | 4, value: number, core: boolean];

/** Called back by readAsync/writeAsync with the byte count; n is -1 when the readiness was spurious (try again). */
export type IoCallback = (err: Error | null, n: number) => void;

/** Called back by the thread waits (Semaphore/Barrier waitAsync, futexWaitAsync) with a result code. */
export type ResultCallback = (err: Error | null, result?: number) => void;

/** Called back by mqSendAsync/mqReceiveAsync: n is the received length (0 for a send), -1 to try again. */
export type MqCallback = (err: Error | null, n: number, priority: number) => void;

/** What recvFds returns. */
export interface RawReceivedFds {
  /** The received descriptors (close-on-exec). */
  fds: number[];
  /** The payload that came with them. */
  data: Uint8Array;
}

/** mq_getattr(3), as mqGetattr returns it. */
export interface RawMqAttr {
  maxMessages: number;
  messageSize: number;
  currentMessages: number;
  nonBlocking: boolean;
}

/** sizeof or alignof of each process-shared sync object, in bytes. */
export interface SyncLayout {
  /** sem_t (posix Semaphore) */
  sem: number;
  /** pthread_mutex_t (posix Mutex) */
  mutex: number;
  /** pthread_cond_t (posix Cond) */
  cond: number;
  /** pthread_barrier_t (posix Barrier) */
  barrier: number;
}

// ---------------------------------------------------------------------------------------------------------
// constant tables (type literals, not interfaces: each is also a Readonly<Record<string, number>> for lookups by name)

/** Signal names → numbers (sigabbrev_np(3)), SIGRTMIN, 'SIGRTMIN+1' … and SIGRTMAX (native/process.cc). */
export interface SignalTable {
  readonly SIGHUP: number;
  readonly SIGINT: number;
  readonly SIGQUIT: number;
  readonly SIGILL: number;
  readonly SIGTRAP: number;
  readonly SIGABRT: number;
  readonly SIGBUS: number;
  readonly SIGFPE: number;
  readonly SIGKILL: number;
  readonly SIGUSR1: number;
  readonly SIGSEGV: number;
  readonly SIGUSR2: number;
  readonly SIGPIPE: number;
  readonly SIGALRM: number;
  readonly SIGTERM: number;
  readonly SIGSTKFLT: number;
  readonly SIGCHLD: number;
  readonly SIGCONT: number;
  readonly SIGSTOP: number;
  readonly SIGTSTP: number;
  readonly SIGTTIN: number;
  readonly SIGTTOU: number;
  readonly SIGURG: number;
  readonly SIGXCPU: number;
  readonly SIGXFSZ: number;
  readonly SIGVTALRM: number;
  readonly SIGPROF: number;
  readonly SIGWINCH: number;
  readonly SIGPOLL: number;
  readonly SIGPWR: number;
  readonly SIGSYS: number;
  readonly SIGRTMIN: number;
  readonly SIGRTMAX: number;
  /** And 'SIGRTMIN+1' … 'SIGRTMIN+<n>': the real-time signals between SIGRTMIN and SIGRTMAX. */
  readonly [name: string]: number;
}

/** native/process.cc: waitpid flags, RLIMIT_* resources, CPU_SETSIZE. */
export type ProcessConstants = {
  readonly WNOHANG: number;
  readonly WUNTRACED: number;
  readonly WCONTINUED: number;
  readonly RLIMIT_CORE: number;
  readonly RLIMIT_NPROC: number;
  readonly RLIMIT_NOFILE: number;
  readonly RLIMIT_AS: number;
  readonly RLIMIT_CPU: number;
  readonly RLIMIT_DATA: number;
  readonly RLIMIT_FSIZE: number;
  readonly RLIMIT_STACK: number;
  readonly RLIMIT_MEMLOCK: number;
  readonly CPU_SETSIZE: number;
};

/** native/fd.cc: open flags, socket types, poll events, SCM_MAX_FD. */
export type FdConstants = {
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_NONBLOCK: number;
  readonly O_DIRECT: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_TRUNC: number;
  readonly O_APPEND: number;
  readonly SOCK_STREAM: number;
  readonly SOCK_DGRAM: number;
  readonly SOCK_SEQPACKET: number;
  readonly POLLIN: number;
  readonly POLLOUT: number;
  readonly POLLERR: number;
  readonly POLLHUP: number;
  readonly POLLNVAL: number;
  readonly SCM_MAX_FD: number;
};

/** native/shm.cc: shm_open flags. */
export type ShmConstants = {
  readonly O_RDONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_TRUNC: number;
};

/** native/sync.cc: sem_open flags and SEM_VALUE_MAX. */
export type SyncConstants = {
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly SEM_VALUE_MAX: number;
};

/** native/mqueue.cc: mq_open flags, MQ_PRIO_MAX, NAME_MAX. */
export type MqConstants = {
  readonly O_RDONLY: number;
  readonly O_WRONLY: number;
  readonly O_RDWR: number;
  readonly O_CREAT: number;
  readonly O_EXCL: number;
  readonly O_NONBLOCK: number;
  readonly MQ_PRIO_MAX: number;
  readonly NAME_MAX: number;
};

/** native/ns.cc: CLONE_NEW* namespace types, MS_* mount flags, umount2 flags. */
export type NsConstants = {
  readonly CLONE_NEWNS: number;
  readonly CLONE_NEWUTS: number;
  readonly CLONE_NEWIPC: number;
  readonly CLONE_NEWNET: number;
  readonly CLONE_NEWPID: number;
  readonly CLONE_NEWUSER: number;
  readonly CLONE_NEWCGROUP: number;
  readonly CLONE_NEWTIME: number;
  readonly MS_RDONLY: number;
  readonly MS_NOSUID: number;
  readonly MS_NODEV: number;
  readonly MS_NOEXEC: number;
  readonly MS_SYNCHRONOUS: number;
  readonly MS_REMOUNT: number;
  readonly MS_MANDLOCK: number;
  readonly MS_DIRSYNC: number;
  readonly MS_NOSYMFOLLOW: number;
  readonly MS_NOATIME: number;
  readonly MS_NODIRATIME: number;
  readonly MS_BIND: number;
  readonly MS_MOVE: number;
  readonly MS_REC: number;
  readonly MS_SILENT: number;
  readonly MS_UNBINDABLE: number;
  readonly MS_PRIVATE: number;
  readonly MS_SLAVE: number;
  readonly MS_SHARED: number;
  readonly MS_RELATIME: number;
  readonly MS_STRICTATIME: number;
  readonly MS_LAZYTIME: number;
  readonly MNT_FORCE: number;
  readonly MNT_DETACH: number;
  readonly MNT_EXPIRE: number;
  readonly UMOUNT_NOFOLLOW: number;
};

/** native/signal.cc: sigprocmask `how`, SA_* flags, si_code values, the record ring's size. */
export type SignalConstants = {
  readonly SIG_BLOCK: number;
  readonly SIG_UNBLOCK: number;
  readonly SIG_SETMASK: number;
  readonly SA_RESTART: number;
  readonly SA_NODEFER: number;
  readonly SA_RESETHAND: number;
  readonly SA_NOCLDSTOP: number;
  readonly SA_NOCLDWAIT: number;
  readonly SI_USER: number;
  readonly SI_QUEUE: number;
  readonly SI_KERNEL: number;
  readonly SI_TKILL: number;
  readonly CLD_EXITED: number;
  readonly CLD_KILLED: number;
  readonly CLD_DUMPED: number;
  readonly CLD_STOPPED: number;
  readonly CLD_CONTINUED: number;
  /** How many deliveries the record ring keeps. */
  readonly RING: number;
};

// ---------------------------------------------------------------------------------------------------------
// the sync family's objects (native/sync.cc)

/** A sem_t in a mapping (semInit/semAttach) or a named semaphore (semOpen). */
export interface RawSemaphore {
  /** The number the fast functions (semWaitFast…) take. */
  readonly handle: number;
  readonly closed: boolean;
  /** The name of a named semaphore; undefined for an unnamed one. */
  readonly name: string | undefined;
  wait(): void;
  tryWait(): boolean;
  /** false when `ms` passed first. */
  timedWait(ms: number): boolean;
  post(): void;
  value(): number;
  /** 0: acquired at once; -1: timed out at once; else a wait id (callback: 1 acquired, 0 timeout, 2 cancelled). */
  waitAsync(ms: number, cb: ResultCallback): number;
  /** sem_destroy(3) of an unnamed semaphore; idempotent. */
  destroy(): void;
  /** sem_close(3) of a named semaphore; idempotent. */
  close(): void;
}

/** A robust, error-checking, process-shared pthread_mutex_t in a mapping. */
export interface RawMutex {
  readonly handle: number;
  readonly closed: boolean;
  /** true after an acquisition that inherited a dead owner's lock, until the next one. */
  readonly ownerDied: boolean;
  /** 1 acquired, 2 acquired from a dead owner (made consistent). */
  lock(): 1 | 2;
  /** 0 busy, 1 acquired, 2 acquired from a dead owner. */
  tryLock(): 0 | 1 | 2;
  timedLock(ms: number): 0 | 1 | 2;
  unlock(): void;
  destroy(): void;
}

/** A process-shared pthread_cond_t (CLOCK_MONOTONIC) in a mapping. */
export interface RawCond {
  readonly handle: number;
  readonly closed: boolean;
  /** 0 timed out, 1 woken, 2 woken and the mutex inherited from a dead owner. The mutex is held on return. */
  wait(mx: RawMutex, ms?: number): 0 | 1 | 2;
  signal(): void;
  broadcast(): void;
  destroy(): void;
}

/** A process-shared pthread_barrier_t in a mapping. */
export interface RawBarrier {
  readonly handle: number;
  readonly closed: boolean;
  /** true in exactly one process per cycle (PTHREAD_BARRIER_SERIAL_THREAD). */
  wait(): boolean;
  /** A wait id (not cancellable); the callback gets 1 (serial) or 0. */
  waitAsync(cb: ResultCallback): number;
  destroy(): void;
}

// ---------------------------------------------------------------------------------------------------------
// the main addon, by family (one interface per native/*.cc)

/** native/addon.cc: the ABI tag and the one cancel entry of every async wait. */
export interface AsyncWaitBinding {
  /** 'napi': the main addon is Node-API (ABI-stable). */
  readonly abi: 'napi';
  /**
   * Cancels a pending async wait: true if it was pending. A reactor watch's callback then never runs; a futex
   * wait calls back with 3, a semaphore wait with 2 (nothing consumed); a barrier wait cannot be cancelled.
   */
  cancelWait(id: number): boolean;
  /** Async waits not yet called back: all, or of one kind. */
  pendingWaits(kind?: 'reactor' | 'futex' | 'sync'): number;
}

/** native/process.cc */
export interface ProcessBinding {
  waitpid(pid: number, flags: number): RawStatus;
  /** Termination only; a pidfd watched by the reactor. Returns a wait id. */
  waitpidAsync(pid: number, cb: (err: Error | null, status?: RawStatus) => void): number;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  kill(pid: number, signal: number): void;
  getpid(): number;
  getppid(): number;
  gettid(): number;
  setsid(): number;
  getsid(pid: number): number;
  setpgid(pid: number, pgid: number): void;
  getpgid(pid: number): number;
  setSubreaper(on: boolean): void;
  isSubreaper(): boolean;
  setPdeathsig(signal: number): void;
  getPdeathsig(): number;
  setAffinity(pid: number, cpus: number[]): void;
  getAffinity(pid: number): number[];
  getcpu(): number;
  /** RLIM_INFINITY is Infinity. */
  getrlimit(resource: number): [soft: number, hard: number];
  setrlimit(resource: number, soft: number, hard: number): void;
  _exit(code: number): never;
  /** posix_spawn(3): the child's fds are 0-2 plus `fds`; empty signal mask, default dispositions. */
  spawn(file: string, argv: string[], env: string[] | undefined, fds: [childFd: number, parentFd: number][], newGroup: boolean): number;
  readonly signals: SignalTable;
  readonly processConstants: ProcessConstants;
}

/** native/fd.cc */
export interface FdBinding {
  /** pipe2(2); O_CLOEXEC is always added. */
  pipe(flags?: number): [readFd: number, writeFd: number];
  socketpair(type?: number, nonBlocking?: boolean): [number, number];
  mkfifo(path: string, mode: number): void;
  /** open(2); O_CLOEXEC is always added; mode defaults to 0o600. */
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): void;
  read(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  write(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  /** Writes every byte, waiting with poll(2) while a non-blocking fd is full. */
  writeAllSync(fd: number, buf: Uint8Array, offset?: number, length?: number): number;
  /** A wait id (0 when done at once, the callback having run). */
  readAsync(fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: IoCallback): number;
  writeAsync(fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: IoCallback): number;
  dup(fd: number): number;
  dup2(from: number, to: number): void;
  setNonBlocking(fd: number, on: boolean): void;
  getFlags(fd: number): { nonBlocking: boolean; cloexec: boolean; accessMode: number };
  setCloexec(fd: number, on: boolean): void;
  setPipeSize(fd: number, size: number): number;
  getPipeSize(fd: number): number;
  /** revents, 0 on timeout (-1: none). */
  poll(fd: number, events: number, timeoutMs: number): number;
  sendFds(sock: number, fds: number[], data?: Uint8Array): number;
  recvFds(sock: number, maxFds?: number, maxBytes?: number): RawReceivedFds;
  /** A wait id (0 when done at once); result undefined without error: another reader was first, try again. */
  recvFdsAsync(sock: number, maxFds: number | undefined, maxBytes: number | undefined, cb: (err: Error | null, result?: RawReceivedFds) => void): number;
  /** A wait id: calls back once `fd` is readable (or writable) with the epoll events; reads nothing. */
  waitReady(fd: number, writable: boolean, cb: (err: null, events: number) => void): number;
  /** One side of a 1-byte ping-pong in C; the elapsed ns. */
  pingPongBench(readFd: number, writeFd: number, iterations: number, initiator: boolean): number;
  unixConnect(path: string): number;
  readonly fdConstants: FdConstants;
}

/** native/shm.cc */
export interface ShmBinding {
  mmap(length: number, fd?: number, offset?: number, readOnly?: boolean): MappingHandle;
  mappingClose(m: MappingHandle): void;
  mappingState(m: MappingHandle): [length: number, closed: boolean];
  mappingMsync(m: MappingHandle, offset?: number, length?: number): void;
  shmOpen(name: string, flags: number, mode?: number): number;
  shmUnlink(name: string): void;
  memfdCreate(name: string, allowSealing?: boolean): number;
  ftruncate(fd: number, size: number): void;
  fallocate(fd: number, offset: number, length: number): void;
  fdSize(fd: number): number;
  pageSize(): number;
  /** cgroup -1: no memory cgroup limit. */
  memoryLimit(): { limit: number; ram: number; swap: number; cgroup: number; source: string };
  /** iterations × memcpy of `bytes` into the mapping (the caller times it). */
  fillBench(m: MappingHandle, bytes: number, iterations: number): void;
  readonly shmConstants: ShmConstants;
}

/** native/sync.cc */
export interface SyncBinding {
  readonly Semaphore: NativeClass<RawSemaphore>;
  readonly Mutex: NativeClass<RawMutex>;
  readonly Cond: NativeClass<RawCond>;
  readonly Barrier: NativeClass<RawBarrier>;
  semInit(m: MappingHandle, offset: number, value: number): RawSemaphore;
  semAttach(m: MappingHandle, offset: number): RawSemaphore;
  semOpen(name: string, flags: number, mode: number, value: number): RawSemaphore;
  semUnlink(name: string): void;
  mutexInit(m: MappingHandle, offset: number): RawMutex;
  mutexAttach(m: MappingHandle, offset: number): RawMutex;
  condInit(m: MappingHandle, offset: number): RawCond;
  condAttach(m: MappingHandle, offset: number): RawCond;
  barrierInit(m: MappingHandle, offset: number, count: number): RawBarrier;
  barrierAttach(m: MappingHandle, offset: number): RawBarrier;
  // The hot operations as module-level functions of an object's handle ("fast functions"): they skip the
  // ObjectWrap unwrap, most of the cost of a call into the addon, and one function for all objects keeps
  // each call site monomorphic.
  semWaitFast(handle: number): void;
  semPostFast(handle: number): void;
  semTryWaitFast(handle: number): boolean;
  mutexLockFast(handle: number): 1 | 2;
  mutexUnlockFast(handle: number): void;
  mutexTryLockFast(handle: number): 0 | 1 | 2;
  barrierWaitFast(handle: number): boolean;
  readonly syncSizes: SyncLayout;
  readonly syncAlign: SyncLayout;
  readonly syncConstants: SyncConstants;
}

/** native/futex.cc */
export interface FutexBinding {
  /** 0 woken (spurious included), 1 not equal, 2 timed out. */
  futexWait(m: MappingHandle, offset: number, expected: number, timeoutMs?: number): 0 | 1 | 2;
  futexWake(m: MappingHandle, offset: number, count?: number): number;
  /** A wait id; the callback gets 0 woken, 1 not equal, 2 timed out, 3 cancelled. */
  futexWaitAsync(m: MappingHandle, offset: number, expected: number, timeoutMs: number, cb: ResultCallback): number;
}

/** native/mqueue.cc */
export interface MqueueBinding {
  mqOpen(name: string, oflag: number, mode: number, maxMessages?: number, messageSize?: number): number;
  mqUnlink(name: string): void;
  mqClose(mqd: number): void;
  mqGetattr(mqd: number): RawMqAttr;
  mqSetNonBlocking(mqd: number, on: boolean): void;
  mqSend(mqd: number, data: Uint8Array, priority: number): void;
  /** false when the queue stayed full until the deadline. */
  mqTimedSend(mqd: number, data: Uint8Array, priority: number, timeoutMs: number): boolean;
  /** The length; the priority goes to priorityOut[0]. */
  mqReceive(mqd: number, buf: Uint8Array, priorityOut?: Uint32Array): number;
  /** The length, or null when nothing came before the deadline. */
  mqTimedReceive(mqd: number, buf: Uint8Array, timeoutMs: number, priorityOut?: Uint32Array): number | null;
  /** A wait id (0 when done at once). */
  mqSendAsync(mqd: number, data: Uint8Array, priority: number, cb: MqCallback): number;
  mqReceiveAsync(mqd: number, buf: Uint8Array, cb: MqCallback): number;
  /** One side of a ping-pong in C; the elapsed ns. */
  mqPingPongBench(receiveMqd: number, sendMqd: number, iterations: number, initiator: boolean): number;
  readonly mqConstants: MqConstants;
}

/** native/bench.cc: loops run entirely in C, the baselines of lib/tools/bench; each returns the elapsed ns. */
export interface BenchBinding {
  /** side 0: post(ping), wait(pong); side 1: wait(ping), post(pong) — one round trip per iteration. */
  semPingPongBench(m: MappingHandle, pingOffset: number, pongOffset: number, iterations: number, side: 0 | 1): number;
  /** iterations × { sem_post; sem_wait } in one process. */
  semUncontendedBench(m: MappingHandle, offset: number, iterations: number): number;
  barrierBench(m: MappingHandle, offset: number, iterations: number): number;
  /** iterations × { lock; (*int32 at counterOffset)++; unlock }. */
  mutexBench(m: MappingHandle, mutexOffset: number, counterOffset: number, iterations: number): number;
  futexPingPongBench(m: MappingHandle, offset: number, iterations: number, side: 0 | 1): number;
  /** side 0 writes totalBytes in chunks of chunkBytes; side 1 reads them. */
  streamBench(fd: number, totalBytes: number, chunkBytes: number, side: 0 | 1): number;
  /** iterations × { fork(); child: _exit(0); waitpid }. */
  forkWaitBench(iterations: number): number;
  /** iterations × { posix_spawn(path); waitpid }; each child must exit 0. */
  spawnWaitBench(path: string, iterations: number): number;
  /** iterations × memcpy of `bytes` into the start of the mapping. */
  copyBench(m: MappingHandle, bytes: number, iterations: number): number;
}

/** native/ns.cc */
export interface NsBinding {
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  sethostname(name: string): void;
  gethostname(): string;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount2(target: string, flags?: number): void;
  readonly nsConstants: NsConstants;
}

/** native/signal.cc */
export interface SignalBinding {
  /** The previous mask. With how = SIG_BLOCK and null: reads the mask. */
  sigprocmask(how: number, signals: number[] | null): number[];
  sigpending(): number[];
  /** disposition: 0 default, 1 ignore, 2 record, 3 original → [previous: 0 default, 1 ignore, 2 record, 3 other, its flags] */
  sigaction(signal: number, disposition: number, flags?: number, mask?: number[]): [previous: number, flags: number];
  /** true when a handler ran, false when the time ran out. */
  sigsuspend(mask: number[], timeoutMs?: number): boolean;
  sigqueue(pid: number, signal: number, value: number): void;
  /** [seq, signo, si_code, si_pid, si_uid, si_value, si_status, time (ms, CLOCK_MONOTONIC)][] */
  signalRecords(fromSeq?: number): [number, number, number, number, number, number, number, number][];
  signalCount(signal: number): number;
  signalSeq(): number;
  readonly signalConstants: SignalConstants;
}

/** The main addon (Node-API, ABI-stable): build/Release/multiproc.node or its prebuild. */
export interface MainAddon
  extends AsyncWaitBinding,
    ProcessBinding,
    FdBinding,
    ShmBinding,
    SyncBinding,
    FutexBinding,
    MqueueBinding,
    BenchBinding,
    NsBinding,
    SignalBinding {}

// ---------------------------------------------------------------------------------------------------------
// the fork addon (native/fork/run.cc; node.h/v8.h, one build per Node ABI)

/** One of fork()'s assumptions about Node, V8 and libuv, checked (native/fork/internals.h). */
export interface ForkProbe {
  /** The assumption's name ('platform-workers', …), as docs/fork-internals.md lists them. */
  name: string;
  /** Whether it holds in this Node; fork() refuses (ERR_MULTIPROC_FORK_PROBE, naming it) when one does not. */
  ok: boolean;
  /** What was seen, in words. */
  detail: string;
}

/** The last child's phases, ns after the fork() call began (0: not reached). */
export interface ForkChildPhases {
  /** The child's first instruction after fork(2) returned. */
  start: number;
  /** Its own V8 platform worker threads started. */
  pool: number;
  /** uv_loop_fork done. */
  loopFork: number;
  /** The parent's handles neutralised (uv_walk). */
  handles: number;
  /** The JS repair began (lib/posix/child.ts). */
  repairStart: number;
  /** The JS repair ended. */
  repairEnd: number;
  /** The child began to exit. */
  exit: number;
}

/** Timings of the last fork(). */
export interface ForkStats {
  /** The V8 platform worker threads quiesced before it. */
  workers: number;
  /** ns spent waiting until those workers were idle. */
  quiesceNs: number;
  /** ns spent re-marking MADV_DONTFORK mappings (V8's heap) MADV_DOFORK. */
  remarkNs: number;
  /** ns from fork(2) to the parent's release of the workers. */
  forkNs: number;
  /** How many mappings were re-marked. */
  remarkedMappings: number;
  /** fork() calls made by this process so far. */
  forks: number;
  /** Present once a child has stamped its phases. */
  child?: ForkChildPhases;
}

/** The fork addon. */
export interface ForkAddon {
  /** The NODE_MODULE_VERSION it was built for. */
  readonly abi: number;
  /**
   * Quiesces, forks, repairs the child. Plain: returns 0 in the child. With repair/entry/tick/resetAsync: the
   * child runs `repair`, then `entry` on a fresh stack, and never returns. `onDry` is called when the child's
   * loop runs dry (exiting: false → 'beforeExit'; true → 'exit', returns the exit code).
   */
  fork(onDry: (exiting: boolean) => number | undefined, quiesceTimeoutMs: number): number;
  fork(
    onDry: (exiting: boolean) => number | undefined,
    quiesceTimeoutMs: number,
    repair: () => void,
    entry: () => void,
    tick: () => void,
    resetAsync: () => void,
  ): number;
  probes(): ForkProbe[];
  stats(): ForkStats;
  /** A child stamps a phase of its JS side (5 repairStart, 6 repairEnd, 7 exit). */
  mark(phase: number): void;
}

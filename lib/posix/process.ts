// The process family of the posix layer: posix_spawn(3), waitpid(2), pidfd_open(2), kill(2), getpid(2),
// setsid(2), setpgid(2), prctl(2) PR_SET_CHILD_SUBREAPER / PR_SET_PDEATHSIG, sched_setaffinity(2),
// getrlimit(2), and signal names (signal(7)). fork(2) and _exit(2) are lib/posix/fork.ts.
// Names and semantics are C's; each function links its man page.
import { native, type RawStatus, type SignalTable } from '../binding/addon.js';
import { describe, integer, invalidType, invalidValue, rangeError, typeError } from './errors.js';
import { debug } from './debug.js';

// ---------------------------------------------------------------------------------------------------------
// Signals

/** A signal by name ('SIGTERM', 'SIGRTMIN+3') or number. */
export type Signal = string | number;

/** Signal names → numbers on this system (from the C library, including the real-time range). */
export const signals: Readonly<SignalTable> = Object.freeze({ ...native.signals });
const signalNames = new Map<number, string>();
for (const [name, num] of Object.entries(signals)) if (!signalNames.has(num)) signalNames.set(num, name);
signalNames.set(signals.SIGABRT, 'SIGABRT'); // not SIGIOT
signalNames.set(signals.SIGCHLD, 'SIGCHLD'); // not SIGCLD

/**
 * The number of a signal given by name or number; throws TypeError/RangeError for anything else.
 * @param signal a name ('SIGTERM', 'TERM', 'sigterm', 'SIGRTMIN+3') or a number (1 ..= SIGRTMAX)
 * @param allowZero accept 0, kill(2)'s "only check that the process exists" (default false)
 * @returns the signal's number on this system
 * @throws TypeError ERR_UNKNOWN_SIGNAL for an unknown name, ERR_INVALID_ARG_TYPE for neither a string nor a
 *   number; RangeError ERR_OUT_OF_RANGE for a number that is no signal
 * @see [signal(7)](https://man7.org/linux/man-pages/man7/signal.7.html)
 */
export function signalNumber(signal: Signal, allowZero = false): number {
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal) || signal < (allowZero ? 0 : 1) || signal > signals.SIGRTMAX) {
      throw rangeError(`The value of "signal" is out of range. It must be an integer >= ${allowZero ? 0 : 1} && <= ${signals.SIGRTMAX}. Received ${String(signal)}`);
    }
    return signal;
  }
  if (typeof signal !== 'string') {
    throw typeError(`The "signal" argument must be a string or a number. Received ${describe(signal)}`);
  }
  const upper = signal.toUpperCase();
  const num = signals[upper] ?? signals[`SIG${upper}`];
  if (num === undefined) throw typeError(`Unknown signal: ${signal} (expected a name such as 'SIGTERM')`, 'ERR_UNKNOWN_SIGNAL');
  return num;
}

/**
 * The name of a signal number ('SIGKILL'), or 'SIG<n>' for numbers without one.
 * @param num a signal number (9 → 'SIGKILL'; SIGABRT and SIGCHLD win over their aliases SIGIOT and SIGCLD)
 */
export function signalName(num: number): string {
  return signalNames.get(num) ?? `SIG${num}`;
}

// ---------------------------------------------------------------------------------------------------------
// posix_spawn

/** Options of {@link spawn}. */
export interface SpawnOptions {
  /** The environment as NAME=value strings (default: this process's). */
  env?: Record<string, string | undefined>;
  /**
   * fds for the child: `{ 3: fd }` (or the pairs `[[3, fd]]`) makes this process's `fd` the child's fd 3. The
   * child's fds are 0, 1, 2 (inherited unless mapped here) and these; every other fd of this library is
   * close-on-exec.
   */
  fds?: Record<number, number> | readonly (readonly [childFd: number, parentFd: number])[];
  /** Start a new process group led by the child (setpgid(0, 0)), e.g. to signal it as a group. */
  newGroup?: boolean;
}

/**
 * posix_spawn(3): runs `file` (a path; no PATH search, no shell) with `argv` (argv[0] included) in a new
 * process and returns its pid; reap it with waitpid/waitpidAsync. The child starts with an empty signal
 * mask and every signal at its default action (Node ignores SIGPIPE; a new program must not inherit that).
 * @param file the program's path (no PATH search: '/bin/ls', not 'ls')
 * @param argv the whole argument vector, argv[0] included (`['ls', '-l']`)
 * @param opts environment, fds to hand over, and a new process group; see {@link SpawnOptions}
 * @returns the child's pid
 * @throws Error{code, errno, syscall: 'posix_spawn'} when the program cannot be started (ENOENT, EACCES…)
 * @see [posix_spawn(3)](https://man7.org/linux/man-pages/man3/posix_spawn.3.html)
 * @example
 * ```ts
 * const pid = posix.spawn('/bin/sh', ['sh', '-c', 'exit 3']);
 * posix.waitpid(pid); // { kind: 'exited', pid, code: 3 }
 * ```
 */
export function spawn(file: string, argv: string[], opts: SpawnOptions = {}): number {
  const env = opts.env === undefined ? undefined : Object.entries(opts.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  const fds: [number, number][] = Array.isArray(opts.fds)
    ? opts.fds.map(([child, parent]) => [child, parent])
    : Object.entries(opts.fds ?? {}).map(([child, parent]) => [Number(child), parent]);
  const pid = native.spawn(file, argv, env, fds, opts.newGroup ?? false);
  debug('spawn(%s) -> %d', file, pid);
  return pid;
}

// ---------------------------------------------------------------------------------------------------------
// waitpid

/**
 * The decoded status of a child, as waitpid(2)'s macros read it (nix's WaitStatus, as a union): switch on
 * `kind`.
 *
 * | `kind`      | C macro        | fields                               |
 * |-------------|----------------|--------------------------------------|
 * | `exited`    | `WIFEXITED`    | `code` (`WEXITSTATUS`)               |
 * | `signaled`  | `WIFSIGNALED`  | `signal` (`'SIGKILL'`), `coreDumped` |
 * | `stopped`   | `WIFSTOPPED`   | `signal` (with `{ untraced: true }`) |
 * | `continued` | `WIFCONTINUED` | (with `{ continued: true }`)         |
 * | `running`   | —              | only with `{ noHang: true }`         |
 */
export type WaitStatus =
  /** WIFEXITED: the child called exit/_exit; `code` is WEXITSTATUS. */
  | {
      /** WIFEXITED */
      kind: 'exited';
      /** The child's pid. */
      pid: number;
      /** WEXITSTATUS: the low 8 bits of the value it passed to exit/_exit (0 ..= 255). */
      code: number;
    }
  /** WIFSIGNALED: a signal ended it; WTERMSIG as a name; WCOREDUMP. */
  | {
      /** WIFSIGNALED */
      kind: 'signaled';
      /** The child's pid. */
      pid: number;
      /** WTERMSIG, by name ('SIGKILL'). */
      signal: string;
      /** WCOREDUMP: the kernel wrote a core file (RLIMIT_CORE and core_pattern permitting). */
      coreDumped: boolean;
    }
  /** WIFSTOPPED (with `untraced`): stopped by a signal (WSTOPSIG). */
  | {
      /** WIFSTOPPED */
      kind: 'stopped';
      /** The child's pid. */
      pid: number;
      /** WSTOPSIG, by name ('SIGSTOP', 'SIGTSTP'…). */
      signal: string;
    }
  /** WIFCONTINUED (with `continued`): resumed by SIGCONT. */
  | {
      /** WIFCONTINUED */
      kind: 'continued';
      /** The child's pid. */
      pid: number;
    }
  /** Only with `noHang`: the child exists and has not changed state. */
  | {
      /** No state change yet (WNOHANG and waitpid returned 0). */
      kind: 'running';
      /** The pid that was asked about (as given to waitpid). */
      pid: number;
    };

/** Options of {@link waitpid}: waitpid(2) flags. */
export interface WaitpidOptions {
  /** WNOHANG: return `{ kind: 'running' }` at once if no child has changed state. */
  noHang?: boolean;
  /** WUNTRACED: also report children stopped by a signal. */
  untraced?: boolean;
  /** WCONTINUED: also report stopped children resumed by SIGCONT. */
  continued?: boolean;
}

function decode(raw: RawStatus, requested: number): WaitStatus {
  const [pid, kind, value, core] = raw;
  switch (kind) {
    case 0:
      return { kind: 'exited', pid, code: value };
    case 1:
      return { kind: 'signaled', pid, signal: signalName(value), coreDumped: core };
    case 2:
      return { kind: 'stopped', pid, signal: signalName(value) };
    case 3:
      return { kind: 'continued', pid };
    default:
      return { kind: 'running', pid: requested };
  }
}

/**
 * waitpid(2): waits for a child to change state and returns its decoded status. `pid` > 0 waits for that
 * child; -1 for any child; 0 or < -1 for a process group. Blocks unless `noHang`. Throws ECHILD when there is
 * no such child. (The library itself never waits for -1: that would steal child_process's children.)
 * EINTR is retried.
 * @param pid which child: `pid > 0` that one; `-1` any child; `0` any child in this process group; `< -1` any
 *   child in the group `-pid`
 * @param opts WNOHANG, WUNTRACED, WCONTINUED as booleans (default: none: wait for termination)
 * @returns the decoded status ({@link WaitStatus}); `{ kind: 'running' }` only with `noHang`
 * @throws Error{code: 'ECHILD', syscall: 'waitpid'} when there is no such child (or it was reaped already)
 * @see [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
 * @example
 * ```ts
 * import * as posix from 'multiproc/posix';
 *
 * const pid = posix.fork();                 // 0 in the child, the child's pid in the parent
 * if (pid === 0) posix.exit(7);             // flush stdio, then _exit(7)
 * const status = posix.waitpid(pid);        // blocks, as in C
 * if (status.kind === 'exited') console.log(status.code); // 7
 * ```
 */
export function waitpid(pid: number, opts: WaitpidOptions = {}): WaitStatus {
  checkInt('pid', pid, -2147483647, 2147483647);
  const c = native.processConstants;
  const flags = (opts.noHang ? c.WNOHANG : 0) | (opts.untraced ? c.WUNTRACED : 0) | (opts.continued ? c.WCONTINUED : 0);
  debug('waitpid(%d, %d)', pid, flags);
  return decode(native.waitpid(pid, flags), pid);
}

/**
 * Waits for child `pid` (> 0) to terminate without blocking the thread, and reaps it. Uses a pidfd watched by
 * the addon's reactor: no libuv threadpool thread and no thread per child. Only termination is reported
 * (stop/continue events are for the sync {@link waitpid}). Rejects with ECHILD if `pid` is not a child of
 * this process; aborting via `signal` rejects with the signal's reason and leaves the child unreaped.
 * @param pid a child of this process (> 0)
 * @param opts `signal`: an AbortSignal that stops the wait (the child is not reaped then)
 * @returns a promise of the child's final status (`exited` or `signaled`)
 * @see [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html), [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
 * @example
 * ```ts
 * const pid = posix.spawn('/bin/sleep', ['sleep', '1']);
 * const status = await posix.waitpidAsync(pid, { signal: AbortSignal.timeout(5000) });
 * ```
 */
export function waitpidAsync(pid: number, opts: { signal?: AbortSignal } = {}): Promise<WaitStatus> {
  try {
    checkInt('pid', pid, 1, 4194304);
  } catch (e) {
    return Promise.reject(e);
  }
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<WaitStatus>((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    const id = native.waitpidAsync(pid, (err, raw) => {
      if (onAbort) signal!.removeEventListener('abort', onAbort);
      debug('waitpidAsync(%d) -> %o', pid, err ?? raw);
      if (err) reject(err);
      else resolve(decode(raw!, pid));
    });
    debug('waitpidAsync(%d) watch %d', pid, id);
    if (signal) {
      onAbort = () => {
        native.cancelWait(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * pidfd_open(2): a file descriptor (close-on-exec) that refers to process `pid` and becomes readable when it
 * terminates — poll it ({@link pollAsync}, {@link poll}) to learn of the end without reaping; close it after.
 * @param pid any process (> 0), not only a child
 * @returns the new file descriptor
 * @throws Error ESRCH when there is no such process
 * @see [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
 */
export function pidfdOpen(pid: number): number {
  checkInt('pid', pid, 1, 4194304);
  return native.pidfdOpen(pid);
}

/**
 * pidfd_send_signal(2): sends `signal` (default SIGTERM; 0 only checks) to the process `pidfd` refers to — never
 * to another process that reused its pid: once it has ended, ESRCH.
 */
export function pidfdSendSignal(pidfd: number, signal: Signal = 'SIGTERM'): void {
  native.pidfdSendSignal(pidfd, signalNumber(signal, true));
}

// ---------------------------------------------------------------------------------------------------------
// signals, ids, sessions

/**
 * kill(2): sends `signal` (default SIGTERM; 0 only checks that `pid` exists) to a process or group.
 * @param pid the target: `pid > 0` that process; `0` this process group; `-1` every process this one may
 *   signal; `< -1` the group `-pid`
 * @param signal a name or number (default 'SIGTERM'); 0 sends nothing and only checks
 * @throws Error ESRCH (no such process), EPERM (not allowed to signal it)
 * @see [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
 */
export function kill(pid: number, signal: Signal = 'SIGTERM'): void {
  checkInt('pid', pid, -2147483647, 2147483647);
  native.kill(pid, signalNumber(signal, true));
}

/**
 * getpid(2). Unlike a cached value, always this process's own pid (also in a forked child).
 * @see [getpid(2)](https://man7.org/linux/man-pages/man2/getpid.2.html)
 */
export function getpid(): number {
  return native.getpid();
}
/**
 * getppid(2): the parent's pid, which changes when this process is orphaned and adopted.
 * @see [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html)
 */
export function getppid(): number {
  return native.getppid();
}
/**
 * gettid(2): the calling thread's id (equal to the pid in the main thread).
 * @see [gettid(2)](https://man7.org/linux/man-pages/man2/gettid.2.html)
 */
export function gettid(): number {
  return native.gettid();
}
/**
 * setsid(2): a new session and process group led by this process; returns the session id.
 * @throws Error EPERM when this process already leads a process group (call it in a child)
 * @see [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
 */
export function setsid(): number {
  return native.setsid();
}
/**
 * getsid(2): the session id of `pid`.
 * @param pid the process (default 0: this process)
 * @see [getsid(2)](https://man7.org/linux/man-pages/man2/getsid.2.html)
 */
export function getsid(pid = 0): number {
  return native.getsid(pid);
}
/**
 * setpgid(2): moves process `pid` into process group `pgid`.
 * @param pid the process (0: this process): itself or a child that has not exec'd yet
 * @param pgid the group (0: a new group whose id is `pid`)
 * @see [setpgid(2)](https://man7.org/linux/man-pages/man2/setpgid.2.html)
 */
export function setpgid(pid: number, pgid: number): void {
  native.setpgid(pid, pgid);
}
/**
 * getpgid(2): the process group of `pid`.
 * @param pid the process (default 0: this process)
 * @see [getpgid(2)](https://man7.org/linux/man-pages/man2/getpgid.2.html)
 */
export function getpgid(pid = 0): number {
  return native.getpgid(pid);
}

/**
 * prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants of this process are re-parented to it instead of to
 * PID 1 (which, in containers, may never reap them). A subreaper must reap what it adopts.
 * @param on true (the default) to become a subreaper, false to stop being one
 * @see [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) PR_SET_CHILD_SUBREAPER
 */
export function setSubreaper(on = true): void {
  native.setSubreaper(on);
}
/**
 * prctl(PR_GET_CHILD_SUBREAPER): whether this process is a subreaper (see {@link setSubreaper}).
 * @see [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
 */
export function isSubreaper(): boolean {
  return native.isSubreaper();
}

/**
 * prctl(PR_SET_PDEATHSIG): the signal this process receives when its parent thread ends (0 disables). Set it
 * in a child, then check getppid(): if the parent died before the call, no signal will come.
 * @param signal the signal to receive (a name or number), or 0 to disable
 * @see [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) PR_SET_PDEATHSIG
 */
export function setParentDeathSignal(signal: Signal | 0): void {
  native.setPdeathsig(signal === 0 ? 0 : signalNumber(signal));
}
/**
 * prctl(PR_GET_PDEATHSIG): the signal's name, or null when none is set.
 * @see [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
 */
export function getParentDeathSignal(): string | null {
  const n = native.getPdeathsig();
  return n === 0 ? null : signalName(n);
}

// ---------------------------------------------------------------------------------------------------------
// CPU affinity and resource limits

/**
 * sched_setaffinity(2): restricts `pid` (0 = this process... strictly, this thread) to `cpus`.
 * @param pid the process or thread (0: the calling thread)
 * @param cpus CPU numbers (0 ..< CPU_SETSIZE), at least one this machine has
 * @throws Error EINVAL when none of `cpus` is online or allowed; RangeError for a CPU number out of range
 * @see [sched_setaffinity(2)](https://man7.org/linux/man-pages/man2/sched_setaffinity.2.html)
 */
export function setAffinity(pid: number, cpus: number[]): void {
  native.setAffinity(pid, cpus);
}
/**
 * sched_getaffinity(2): the CPUs `pid` (0 = this thread) may run on.
 * @param pid the process or thread (default 0: the calling thread)
 * @returns the CPU numbers, ascending
 * @see [sched_getaffinity(2)](https://man7.org/linux/man-pages/man2/sched_getaffinity.2.html)
 */
export function getAffinity(pid = 0): number[] {
  return native.getAffinity(pid);
}
/**
 * sched_getcpu(3): the CPU this thread is running on now (it may move at once unless pinned).
 * @see [sched_getcpu(3)](https://man7.org/linux/man-pages/man3/sched_getcpu.3.html)
 */
export function getcpu(): number {
  return native.getcpu();
}

/** A resource of getrlimit(2)/setrlimit(2): RLIMIT_CORE, RLIMIT_NPROC… in lower case without the prefix. */
export type Resource = 'core' | 'nproc' | 'nofile' | 'as' | 'cpu' | 'data' | 'fsize' | 'stack' | 'memlock';
const RESOURCES: readonly Resource[] = ['core', 'nproc', 'nofile', 'as', 'cpu', 'data', 'fsize', 'stack', 'memlock'];
const RLIMITS: Readonly<Record<string, number>> = native.processConstants;
function resourceNumber(r: Resource): number {
  if (typeof r !== 'string') throw invalidType('resource', 'of type string', r);
  const n = RESOURCES.includes(r) ? RLIMITS[`RLIMIT_${r.toUpperCase()}`] : undefined;
  if (n === undefined) throw invalidValue('resource', r, `must be one of ${RESOURCES.map((x) => `'${x}'`).join(', ')}`);
  return n;
}
/**
 * getrlimit(2): a resource limit of this process; RLIM_INFINITY is Infinity.
 * @param resource which limit ('nofile', 'nproc', 'core'…)
 * @returns `soft`: the limit the kernel enforces; `hard`: the ceiling an unprivileged process may raise the
 *   soft limit to
 * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown resource
 * @see [getrlimit(2)](https://man7.org/linux/man-pages/man2/getrlimit.2.html)
 */
export function getrlimit(resource: Resource): {
  /** The soft limit: what the kernel enforces (Infinity: none). */
  soft: number;
  /** The hard limit: the most the soft limit may be raised to without CAP_SYS_RESOURCE (Infinity: none). */
  hard: number;
} {
  const [soft, hard] = native.getrlimit(resourceNumber(resource));
  return { soft, hard };
}
/**
 * setrlimit(2): sets a resource limit of this process (inherited by its children); Infinity is RLIM_INFINITY.
 * @param resource which limit ('nofile', 'nproc', 'core'…)
 * @param limits the new soft and hard limits (soft <= hard; raising hard needs CAP_SYS_RESOURCE)
 * @throws Error EPERM (raising the hard limit unprivileged), EINVAL (soft above hard); TypeError
 *   ERR_INVALID_ARG_VALUE for an unknown resource
 * @see [setrlimit(2)](https://man7.org/linux/man-pages/man2/setrlimit.2.html)
 * @example
 * ```ts
 * posix.setrlimit('core', { soft: 0, hard: 0 }); // no core files from this process and its children
 * ```
 */
export function setrlimit(resource: Resource, limits: { soft: number; hard: number }): void {
  const n = resourceNumber(resource);
  if (limits === null || typeof limits !== 'object') throw invalidType('limits', 'of type object', limits);
  native.setrlimit(n, limits.soft, limits.hard);
}

// ---------------------------------------------------------------------------------------------------------
// argument helpers: lib/posix/errors.ts (the native layer checks again; these give the same messages earlier)

/**
 * Throws TypeError/RangeError (Node's codes) unless `v` is an integer in [min, max]; `name` is the parameter.
 * @param name the parameter's name, as the message shows it ("The value of "pid" is out of range…")
 * @param v the value to check
 * @param min the smallest allowed value
 * @param max the largest allowed value
 * @throws TypeError ERR_INVALID_ARG_TYPE when `v` is not a number; RangeError ERR_OUT_OF_RANGE when it is not
 *   an integer in [min, max]
 */
export function checkInt(name: string, v: unknown, min: number, max: number): asserts v is number {
  integer(name, v, min, max);
}

// The process family of the posix layer: posix_spawn(3), waitpid(2), pidfd_open(2), kill(2), getpid(2),
// setsid(2), setpgid(2), prctl(2) PR_SET_CHILD_SUBREAPER / PR_SET_PDEATHSIG, sched_setaffinity(2),
// getrlimit(2), and signal names (signal(7)). fork(2) and _exit(2) are lib/posix/fork.ts.
// Names and semantics are C's; each function links its man page.
import { debuglog } from 'node:util';
import { native, type RawStatus, type SignalTable } from '../binding/addon.js';
import { describe, integer, invalidType, invalidValue, rangeError, typeError } from './errors.js';

const debug = debuglog('multiproc');

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

/** The number of a signal given by name or number; throws TypeError/RangeError for anything else. */
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

/** The name of a signal number ('SIGKILL'), or 'SIG<n>' for numbers without one. */
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

/** The decoded status of a child, as waitpid(2)'s macros read it (nix's WaitStatus, as a union). */
export type WaitStatus =
  /** WIFEXITED: the child called exit/_exit; `code` is WEXITSTATUS. */
  | { kind: 'exited'; pid: number; code: number }
  /** WIFSIGNALED: a signal ended it; WTERMSIG as a name; WCOREDUMP. */
  | { kind: 'signaled'; pid: number; signal: string; coreDumped: boolean }
  /** WIFSTOPPED (with `untraced`): stopped by a signal (WSTOPSIG). */
  | { kind: 'stopped'; pid: number; signal: string }
  /** WIFCONTINUED (with `continued`): resumed by SIGCONT. */
  | { kind: 'continued'; pid: number }
  /** Only with `noHang`: the child exists and has not changed state. */
  | { kind: 'running'; pid: number };

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

/** kill(2): sends `signal` (default SIGTERM; 0 only checks that `pid` exists) to a process or group. */
export function kill(pid: number, signal: Signal = 'SIGTERM'): void {
  checkInt('pid', pid, -2147483647, 2147483647);
  native.kill(pid, signalNumber(signal, true));
}

/** getpid(2). Unlike a cached value, always this process's own pid (also in a forked child). */
export function getpid(): number {
  return native.getpid();
}
/** getppid(2): the parent's pid, which changes when this process is orphaned and adopted. */
export function getppid(): number {
  return native.getppid();
}
/** gettid(2). */
export function gettid(): number {
  return native.gettid();
}
/** setsid(2): a new session and process group led by this process; returns the session id. */
export function setsid(): number {
  return native.setsid();
}
/** getsid(2) (0 = this process). */
export function getsid(pid = 0): number {
  return native.getsid(pid);
}
/** setpgid(2) (0 = this process / a group id equal to the pid). */
export function setpgid(pid: number, pgid: number): void {
  native.setpgid(pid, pgid);
}
/** getpgid(2) (0 = this process). */
export function getpgid(pid = 0): number {
  return native.getpgid(pid);
}

/**
 * prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants of this process are re-parented to it instead of to
 * PID 1 (which, in containers, may never reap them). A subreaper must reap what it adopts.
 */
export function setSubreaper(on = true): void {
  native.setSubreaper(on);
}
/** prctl(PR_GET_CHILD_SUBREAPER). */
export function isSubreaper(): boolean {
  return native.isSubreaper();
}

/**
 * prctl(PR_SET_PDEATHSIG): the signal this process receives when its parent thread ends (0 disables). Set it
 * in a child, then check getppid(): if the parent died before the call, no signal will come.
 */
export function setParentDeathSignal(signal: Signal | 0): void {
  native.setPdeathsig(signal === 0 ? 0 : signalNumber(signal));
}
/** prctl(PR_GET_PDEATHSIG): the signal's name, or null when none is set. */
export function getParentDeathSignal(): string | null {
  const n = native.getPdeathsig();
  return n === 0 ? null : signalName(n);
}

// ---------------------------------------------------------------------------------------------------------
// CPU affinity and resource limits

/** sched_setaffinity(2): restricts `pid` (0 = this process... strictly, this thread) to `cpus`. */
export function setAffinity(pid: number, cpus: number[]): void {
  native.setAffinity(pid, cpus);
}
/** sched_getaffinity(2): the CPUs `pid` (0 = this thread) may run on. */
export function getAffinity(pid = 0): number[] {
  return native.getAffinity(pid);
}
/** sched_getcpu(3): the CPU this thread is running on now. */
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
/** getrlimit(2); RLIM_INFINITY is Infinity. */
export function getrlimit(resource: Resource): { soft: number; hard: number } {
  const [soft, hard] = native.getrlimit(resourceNumber(resource));
  return { soft, hard };
}
/** setrlimit(2); Infinity is RLIM_INFINITY. */
export function setrlimit(resource: Resource, limits: { soft: number; hard: number }): void {
  const n = resourceNumber(resource);
  if (limits === null || typeof limits !== 'object') throw invalidType('limits', 'of type object', limits);
  native.setrlimit(n, limits.soft, limits.hard);
}

// ---------------------------------------------------------------------------------------------------------
// argument helpers: lib/posix/errors.ts (the native layer checks again; these give the same messages earlier)

/** Throws TypeError/RangeError (Node's codes) unless `v` is an integer in [min, max]; `name` is the parameter. */
export function checkInt(name: string, v: unknown, min: number, max: number): asserts v is number {
  integer(name, v, min, max);
}

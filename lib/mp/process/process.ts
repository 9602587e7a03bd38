// Process: Python's multiprocessing.Process with Node's conventions (join() is a Promise, joinSync() blocks).
// How the child comes to exist is its start method's business (./start: fork and spawn, interchangeable
// strategies as CPython's popen_fork.py / popen_spawn_posix.py); a Process keeps the state machine — start
// once, poll, join, signal, close — over the ChildHandle its method returns, the same for every method.
import * as posix from '../../posix/index.js';
import { closedError } from '../core/errors.js';
import { invalidType, stateError, timeout as checkTimeout, waitOptions } from '../../posix/errors.js';
import { addChild, getIdentity, removeChild } from './current.js';
import {
  type ChildHandle,
  getStartMethod,
  type ModuleTarget,
  moduleUrl,
  type StartMethod,
  startMethod,
  type StartMethodStrategy,
  type TargetFunction,
} from './start/index.js';
import { debug } from '../../posix/debug.js';

// Kept here for the modules and tests that import them from this file.
export type { StartMethod } from './start/index.js';
export { childExecArgv } from './start/spawn.js';

/** What `new Process(options)` takes. */
export interface ProcessOptions {
  /** fork: the function to run in the child (any function, closures included; an async one is awaited). */
  target?: TargetFunction;
  /** Arguments for the target. With spawn they are structured-cloned (v8.serialize). */
  args?: unknown[];
  /** A name for the child (default Process-N). */
  name?: string;
  /** A daemon child is terminated when this process exits, and dies with it even if it is SIGKILLed. */
  daemon?: boolean;
  /** 'fork' (default, see setStartMethod), 'spawn' or 'forkserver'. */
  startMethod?: StartMethod;
  /** spawn, forkserver: the module that exports the target (a path or a file: URL). */
  module?: string | URL;
  /** spawn, forkserver: the export's name (default 'default'). */
  export?: string;
  /**
   * spawn, forkserver: other modules the target will import (paths or URLs), loaded before it runs. A
   * forkserver loads them before it forks the child, which then finds them loaded (under a loader with
   * off-thread hooks, such as tsx, a forked child cannot import anything itself).
   */
  preload?: Array<string | URL>;
}

let counter = 0;


/** A call that the Process's state does not allow (Python raises AssertionError/ValueError with these messages). */
function stateErr(message: string): Error {
  return stateError('ERR_MULTIPROC_PROCESS_STATE', message);
}

type State = 'initial' | 'started' | 'closed';

/**
 * A child process running a target (Python's multiprocessing.Process): a function under fork, an export of a
 * module under spawn. Not started until start(); join()/joinSync() wait for it; exitCode is -N when signal N
 * ended it. close() releases the object once the child has ended.
 *
 * Under fork the child is a copy of this process that runs `target(...args)` and exits: 0 when it returns
 * (or its promise resolves), 1 after an exception (printed to stderr as "Process <name>:" and the stack).
 * Under spawn it is a fresh `node` that imports `module` and calls its export with `args` (structured
 * clones; shared objects — Value, Lock, Queue… — are passed by their fds). Either way the pid is multiproc's
 * own: it reaps it itself and never calls waitpid(-1). At a normal exit of this process, daemon children
 * are terminated and the others joined, as in Python.
 * @example
 * ```ts
 * import { Process, Queue } from 'multiproc';
 *
 * const q = new Queue<number>();
 * const p = new Process({ target: async (n: number) => { await q.put(n * 2); }, args: [21], name: 'worker' });
 * p.start();                  // returns once the child exists
 * console.log(await q.get()); // 42
 * await p.join();             // or p.joinSync(); join(1000) just returns after 1 s
 * p.exitCode;                 // 0; 1 after an exception; -15 after terminate()
 *
 * // A fresh node instead of a fork: the target is a module export.
 * new Process({ startMethod: 'spawn', module: './tasks.js', export: 'crunch', args: [new Map()] }).start();
 * ```
 */
export class Process {
  /** The child's name (its currentProcess().name); Process-N unless given. */
  readonly name: string;
  /** A daemon child is terminated at this process's exit and dies with it (PR_SET_PDEATHSIG). */
  readonly daemon: boolean;
  /** The start method's name. */
  readonly startMethod: StartMethod;
  readonly #method: StartMethodStrategy;
  readonly #target: TargetFunction | ModuleTarget;
  readonly #args: unknown[];
  readonly #preload: string[];
  #state: State = 'initial';
  #child: ChildHandle | undefined;
  #status: posix.WaitStatus | undefined;

  /**
   * Checks the options; starts nothing.
   * @param opts the target and its arguments, a name, daemon, the start method; see {@link ProcessOptions}
   * @throws TypeError ERR_INVALID_ARG_TYPE for an option of the wrong type, or a target the start method
   *   cannot run (a method that runsClosures needs `target`; one that does not, `module` and `export`);
   *   ERR_INVALID_ARG_VALUE for an unknown start method.
   */
  constructor(opts: ProcessOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw invalidType('options', 'of type object', opts);
    this.#method = startMethod('options.startMethod', opts.startMethod ?? getStartMethod());
    this.startMethod = this.#method.name;
    if (opts.name !== undefined && typeof opts.name !== 'string') throw invalidType('options.name', 'of type string', opts.name);
    if (opts.daemon !== undefined && typeof opts.daemon !== 'boolean') throw invalidType('options.daemon', 'of type boolean', opts.daemon);
    if (opts.export !== undefined && typeof opts.export !== 'string') throw invalidType('options.export', 'of type string', opts.export);
    this.name = opts.name ?? `Process-${++counter}`;
    this.daemon = opts.daemon ?? false;
    this.#args = opts.args ?? [];
    if (!Array.isArray(this.#args)) throw invalidType('options.args', 'an instance of Array', this.#args);
    if (opts.preload !== undefined && !Array.isArray(opts.preload)) throw invalidType('options.preload', 'an instance of Array', opts.preload);
    this.#preload = (opts.preload ?? []).map((m, i) => moduleUrl(`options.preload[${i}]`, m));
    if (this.#method.runsClosures) {
      if (typeof opts.target !== 'function') {
        throw invalidType('options.target', `of type function (with the ${this.startMethod} start method)`, opts.target);
      }
      this.#target = opts.target;
    } else {
      if (opts.module === undefined) {
        throw invalidType(
          'options.module',
          `a path or a URL (new Process({ startMethod: '${this.startMethod}', module, export }): a ${this.startMethod} child imports its target, so give the module and the export name)`,
          opts.module,
        );
      }
      this.#target = { module: moduleUrl('options.module', opts.module), export: opts.export ?? 'default' };
    }
  }

  /** The child's pid once started (undefined before). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Python's ident: the pid. */
  get ident(): number | undefined {
    return this.#child?.pid;
  }

  /** null while running (or not started); the exit status; or -N when a signal N ended the child. */
  get exitCode(): number | null {
    if (this.#state === 'closed' && !this.#status) throw closedError('process object is closed');
    this.#poll();
    const s = this.#status;
    if (!s) return null;
    if (s.kind === 'exited') return s.code;
    if (s.kind === 'signaled') return -posix.signalNumber(s.signal);
    return null;
  }

  /**
   * Starts the child. Returns once it exists (fork: it is already running this process's copy).
   * @throws Error ERR_MULTIPROC_PROCESS_STATE when started before; ERR_MULTIPROC_DAEMON in a daemon child
   *   (daemons may not have children, as in Python); ERR_MULTIPROC_CLOSED after close(); the start method's
   *   errors (fork: EAGAIN, ERR_MULTIPROC_FORK_PROBE…)
   */
  start(): void {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state !== 'initial') throw stateErr('cannot start a process twice');
    if (getIdentity().daemon) throw stateError('ERR_MULTIPROC_DAEMON', 'daemonic processes are not allowed to have children');
    this.#child = this.#method.start({ name: this.name, daemon: this.daemon, target: this.#target, args: this.#args, preload: this.#preload });
    this.#state = 'started';
    addChild(this);
    debug('Process %s started (%s), pid %d', this.name, this.startMethod, this.#child.pid);
  }

  /** Learns whether the child has ended (its handle reaps it, never blocking); true when the status is known. */
  #poll(): boolean {
    if (this.#status) return true;
    const s = this.#child?.poll();
    if (!s) return false;
    this.#reaped(s);
    return true;
  }

  #reaped(s: posix.WaitStatus): void {
    if (this.#status) return;
    this.#status = s;
    removeChild(this);
    debug('Process %s (pid %d) ended: %o', this.name, this.#child?.pid, s);
  }

  /** Whether the child has started and not yet ended. */
  isAlive(): boolean {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state === 'initial') return false;
    return !this.#poll();
  }

  /**
   * Waits for the child to end without blocking the thread (its sentinel's readiness — a pidfd for a child
   * of this process — in the addon's reactor; no thread parked). With a timeout it just returns when the
   * time is up (check exitCode), as Python's join does; an AbortSignal rejects with its reason.
   * @param t a timeout in ms, or `{ timeout, signal }` (default: wait until it ends)
   * @throws Error ERR_MULTIPROC_PROCESS_STATE for a process not started (or a join of itself)
   */
  async join(t?: number | { timeout?: number; signal?: AbortSignal }): Promise<void> {
    const { timeout, signal } = waitOptions(t);
    this.#checkJoinable();
    if (this.#poll()) return;
    signal?.throwIfAborted();
    const ac = new AbortController();
    const onAbort = () => ac.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeout === Infinity ? undefined : setTimeout(() => ac.abort(kTimeout), timeout);
    // Wait for the end without reaping, then poll (reap) here, synchronously: a reap inside the reactor's callback
    // and a status delivered a microtask later left a window in which isAlive() met ECHILD (seen under load:
    // a Pool worker's exit and its channel's EOF in one reactor batch).
    const pidfd = this.#child!.openSentinel();
    try {
      await posix.pollAsync(pidfd, { readable: true }, { signal: ac.signal });
      this.#poll();
    } catch (e) {
      if (e === kTimeout) return;
      throw e;
    } finally {
      posix.close(pidfd);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Blocks the thread until the child ends, or until `timeout` ms have passed (then just returns).
   * @param timeout milliseconds (default: wait until it ends)
   */
  joinSync(timeout?: number | null): void {
    const ms = checkTimeout('timeout', timeout);
    this.#checkJoinable();
    if (this.#poll()) return;
    const pidfd = this.#child!.openSentinel();
    try {
      const deadline = ms === Infinity ? Infinity : Date.now() + ms;
      for (;;) {
        const left = deadline === Infinity ? -1 : Math.max(0, deadline - Date.now());
        let ready = false;
        try {
          ready = posix.poll(pidfd, { readable: true }, left).readable;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EINTR') throw e;
        }
        if (ready) {
          this.#poll();
          return;
        }
        if (Date.now() >= deadline) return;
      }
    } finally {
      posix.close(pidfd);
    }
  }

  #checkJoinable(): void {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state === 'initial') throw stateErr('can only join a started process');
    if (this.#child!.pid === process.pid) throw stateErr('can only join a child process');
  }

  /** Sends SIGTERM (nothing happens if the child has already ended). */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** Sends SIGKILL (nothing happens if the child has already ended). */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(sig: posix.Signal): void {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state !== 'started' || this.#poll()) return;
    this.#child!.signal(sig);
  }

  /** Releases the Process object; an error while the child is still running. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'started' && !this.#poll()) {
      throw stateErr('Cannot close a process while it is still running. You should first call join() or terminate().');
    }
    this.#state = 'closed';
  }

  /** `<Process name='…' pid=… started|stopped exitcode=N [daemon]>`, as Python's repr. */
  toString(): string {
    const status = this.#state === 'initial' ? 'initial' : this.#status ? `stopped exitcode=${this.exitCode}` : 'started';
    return `<Process name='${this.name}' ${this.#child ? `pid=${this.#child.pid} ` : ''}${status}${this.daemon ? ' daemon' : ''}>`;
  }
}

const kTimeout = Symbol('timeout');

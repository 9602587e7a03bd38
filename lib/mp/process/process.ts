// Process: Python's multiprocessing.Process with Node's conventions (join() is a Promise, joinSync() blocks).
// Two start methods, interchangeable strategies as in CPython's popen_fork.py / popen_spawn_posix.py:
//   fork   posix.forkAndRun: the target is any function (closures included) and runs in a forked copy of
//          this process, on a fresh stack; the code after start() never runs in the child.
//   spawn  posix_spawn of a fresh `node` (argv array, no shell) that imports { module, export } and calls it
//          with `args` (structured-cloned with v8.serialize). For children that need worker threads or a clean
//          runtime.
// Both methods give a pid that this process owns and reaps itself (never waitpid(-1)), so join(), exitCode
// and isAlive() work the same way for both.
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debuglog } from 'node:util';
import v8 from 'node:v8';
import * as posix from '../../posix/index.js';
import { packageRoot } from '../../posix/install.js';
import { closedError } from '../core/errors.js';
import { reduceArgs } from '../core/reduction.js';
import { invalidType, invalidValue, stateError, timeout as checkTimeout, waitOptions } from '../../posix/errors.js';

const debug = debuglog('multiproc');
const require = createRequire(import.meta.url);

export type StartMethod = 'fork' | 'spawn';
export const START_METHODS: readonly StartMethod[] = ['fork', 'spawn'];

/** What a spawned child's bootstrap receives (fd 3, v8.serialize). */
export interface SpawnPayload {
  name: string;
  daemon: boolean;
  parentPid: number;
  parentName: string;
  module: string;
  export: string;
  args: unknown[];
  /** How many fds follow fd 3 (4, 5, …): the fds of shared objects in args (lib/mp/core/reduction.ts). */
  fdCount: number;
}

export interface ProcessOptions {
  /** fork: the function to run in the child (any function, closures included; an async one is awaited). */
  target?: (...args: never[]) => unknown;
  /** Arguments for the target. With spawn they are structured-cloned (v8.serialize). */
  args?: unknown[];
  /** A name for the child (default Process-N). */
  name?: string;
  /** A daemon child is terminated when this process exits, and dies with it even if it is SIGKILLed. */
  daemon?: boolean;
  /** 'fork' (default, see setStartMethod) or 'spawn'. */
  startMethod?: StartMethod;
  /** spawn: the module that exports the target (a path or a file: URL). */
  module?: string | URL;
  /** spawn: the export's name (default 'default'). */
  export?: string;
}

// ---------------------------------------------------------------------------------------------------------
// This process's identity (Python's current_process() / parent_process())

interface Identity {
  name: string;
  pid: number;
  daemon: boolean;
  parent: { pid: number; name: string } | null;
}

let identity: Identity = { name: 'MainProcess', pid: process.pid, daemon: false, parent: null };
let defaultMethod: StartMethod = 'fork';
let counter = 0;

/** The children started by this process and not yet reaped (Python's _children). */
const live = new Set<Process>();

/** Sets this process's identity (the child bootstraps call it). */
export function setIdentity(id: Identity): void {
  identity = id;
  live.clear(); // a child starts with no children of its own
  exitHookInstalled = false;
}

export function getIdentity(): Readonly<Identity> {
  return identity;
}

export function getStartMethod(): StartMethod {
  return defaultMethod;
}

export function setDefaultStartMethod(method: StartMethod): void {
  checkMethod(method);
  defaultMethod = method;
}

function checkMethod(method: unknown): asserts method is StartMethod {
  if (method !== 'fork' && method !== 'spawn') {
    throw invalidValue('method', method, "must be 'fork' or 'spawn'");
  }
}

/** The started children that are still running; finished ones are reaped (Python's active_children()). */
export function activeChildren(): Process[] {
  for (const p of [...live]) p.isAlive();
  return [...live];
}

// At exit, as Python's _exit_function: daemon children are terminated, the others are waited for.
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of [...live]) {
      if (p.daemon && p.isAlive()) p.terminate();
    }
    for (const p of [...live]) p.joinSync();
  });
}

// ---------------------------------------------------------------------------------------------------------

/** A call that the Process's state does not allow (Python raises AssertionError/ValueError with these messages). */
function stateErr(message: string): Error {
  return stateError('ERR_MULTIPROC_PROCESS_STATE', message);
}

type State = 'initial' | 'started' | 'closed';

export class Process {
  readonly name: string;
  readonly daemon: boolean;
  readonly startMethod: StartMethod;
  readonly #target: ((...args: never[]) => unknown) | undefined;
  readonly #args: unknown[];
  readonly #module: string | undefined;
  readonly #export: string;
  #state: State = 'initial';
  #pid: number | undefined;
  #status: posix.WaitStatus | undefined;

  constructor(opts: ProcessOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw invalidType('options', 'of type object', opts);
    const method = opts.startMethod ?? defaultMethod;
    checkMethod(method);
    this.startMethod = method;
    if (opts.name !== undefined && typeof opts.name !== 'string') throw invalidType('options.name', 'of type string', opts.name);
    if (opts.daemon !== undefined && typeof opts.daemon !== 'boolean') throw invalidType('options.daemon', 'of type boolean', opts.daemon);
    if (opts.export !== undefined && typeof opts.export !== 'string') throw invalidType('options.export', 'of type string', opts.export);
    this.name = opts.name ?? `Process-${++counter}`;
    this.daemon = opts.daemon ?? false;
    this.#args = opts.args ?? [];
    if (!Array.isArray(this.#args)) throw invalidType('options.args', 'an instance of Array', this.#args);
    this.#export = opts.export ?? 'default';
    if (method === 'fork') {
      if (typeof opts.target !== 'function') {
        throw invalidType('options.target', 'of type function (with the fork start method)', opts.target);
      }
      this.#target = opts.target;
    } else {
      if (opts.module === undefined) {
        throw invalidType(
          'options.module',
          "a path or a URL (new Process({ startMethod: 'spawn', module, export }): a spawned child imports its target, so give the module and the export name)",
          opts.module,
        );
      }
      this.#module = toModuleUrl(opts.module);
    }
  }

  /** The child's pid once started (undefined before). */
  get pid(): number | undefined {
    return this.#pid;
  }

  /** Python's ident: the pid. */
  get ident(): number | undefined {
    return this.#pid;
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

  /** Starts the child. Returns once it exists (fork: it is already running this process's copy). */
  start(): void {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state !== 'initial') throw stateErr('cannot start a process twice');
    if (identity.daemon) throw stateError('ERR_MULTIPROC_DAEMON', 'daemonic processes are not allowed to have children');
    this.#pid = this.startMethod === 'fork' ? this.#startFork() : this.#startSpawn();
    this.#state = 'started';
    live.add(this);
    installExitHook();
    debug('Process %s started (%s), pid %d', this.name, this.startMethod, this.#pid);
  }

  #startFork(): number {
    const target = this.#target!;
    const args = this.#args;
    const me: Identity = { name: this.name, pid: 0, daemon: this.daemon, parent: { pid: process.pid, name: identity.name } };
    return posix.forkAndRun(async () => {
      setIdentity({ ...me, pid: process.pid });
      childSetup(me.daemon, me.parent!.pid);
      try {
        await (target as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        reportFailure(me.name, e);
        posix.exit(1);
      }
      posix.exit(0);
    });
  }

  #startSpawn(): number {
    const reduced = reduceArgs(this.#args);
    const payload: SpawnPayload = {
      name: this.name,
      daemon: this.daemon,
      parentPid: process.pid,
      parentName: identity.name,
      module: this.#module!,
      export: this.#export,
      args: reduced.args,
      fdCount: reduced.fds.length,
    };
    let bytes: Buffer;
    try {
      bytes = v8.serialize(payload);
    } catch (e) {
      const err = new TypeError(`Process args cannot be sent to a spawned child: ${(e as Error).message}`, { cause: e });
      (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_NOT_CLONEABLE';
      throw err;
    }
    // The payload travels in a memfd (fd 3 in the child): writing it never blocks, whatever its size.
    const fd = posix.memfdCreate('multiproc-spawn');
    const devnull = posix.open('/dev/null');
    try {
      posix.writeAll(fd, bytes);
      const argv = [process.execPath, ...childExecArgv(), spawnMainPath()];
      const fdMap: [number, number][] = [[0, devnull], [3, fd], ...reduced.fds.map((f, i): [number, number] => [4 + i, f])];
      return posix.spawn(process.execPath, argv, { fds: fdMap });
    } finally {
      posix.close(fd);
      posix.close(devnull);
    }
  }

  /** Reaps the child if it has ended (WNOHANG); true when the status is known. */
  #poll(): boolean {
    if (this.#status) return true;
    if (this.#pid === undefined) return false;
    let s: posix.WaitStatus;
    try {
      s = posix.waitpid(this.#pid, { noHang: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ECHILD' && this.#status) return true;
      throw e;
    }
    if (s.kind === 'running') return false;
    this.#reaped(s);
    return true;
  }

  #reaped(s: posix.WaitStatus): void {
    if (this.#status) return;
    this.#status = s;
    live.delete(this);
    debug('Process %s (pid %d) ended: %o', this.name, this.#pid, s);
  }

  /** Whether the child has started and not yet ended. */
  isAlive(): boolean {
    if (this.#state === 'closed') throw closedError('process object is closed');
    if (this.#state === 'initial') return false;
    return !this.#poll();
  }

  /**
   * Waits for the child to end without blocking the thread (pidfd readiness, no thread parked). With a
   * timeout it just returns when the time is up (check exitCode), as Python's join does; an AbortSignal
   * rejects with its reason.
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
    // Wait for the end without reaping, then reap here, synchronously: a reap inside the reactor's callback
    // and a status delivered a microtask later left a window in which isAlive() met ECHILD (seen under load:
    // a Pool worker's exit and its channel's EOF in one reactor batch).
    const pidfd = posix.pidfdOpen(this.#pid!);
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

  /** Blocks the thread until the child ends, or until `timeout` ms have passed (then just returns). */
  joinSync(timeout?: number | null): void {
    const ms = checkTimeout('timeout', timeout);
    this.#checkJoinable();
    if (this.#poll()) return;
    const pidfd = posix.pidfdOpen(this.#pid!);
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
    if (this.#pid === process.pid) throw stateErr('can only join a child process');
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
    posix.kill(this.#pid!, sig); // still our unreaped child: the pid cannot have been reused
  }

  /** Releases the Process object; an error while the child is still running. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'started' && !this.#poll()) {
      throw stateErr('Cannot close a process while it is still running. You should first call join() or terminate().');
    }
    this.#state = 'closed';
  }

  toString(): string {
    const status = this.#state === 'initial' ? 'initial' : this.#status ? `stopped exitcode=${this.exitCode}` : 'started';
    return `<Process name='${this.name}' ${this.#pid ? `pid=${this.#pid} ` : ''}${status}${this.daemon ? ' daemon' : ''}>`;
  }
}

const kTimeout = Symbol('timeout');

// ---------------------------------------------------------------------------------------------------------
// child side, shared by both start methods

/** Python prints "Process <name>:" and the traceback; so do we. */
export function reportFailure(name: string, e: unknown): void {
  const text = e instanceof Error ? (e.stack ?? String(e)) : `Uncaught ${require('node:util').inspect(e)}`;
  process.stderr.write(`Process ${name}:\n${text}\n`);
}

/** stdin from /dev/null (as Python does), and a daemon dies with its parent. */
export function childSetup(daemon: boolean, parentPid: number): void {
  const devnull = posix.open('/dev/null');
  posix.dup2(devnull, 0);
  posix.close(devnull);
  if (daemon) {
    posix.setParentDeathSignal('SIGKILL');
    // The parent may have died before prctl: then no signal would ever come.
    if (posix.getppid() !== parentPid) posix.kill(posix.getpid(), 'SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------------------
// spawn helpers

function toModuleUrl(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string') throw invalidType('options.module', 'a path or a URL', m);
  if (/^[a-z][a-z0-9+.-]*:/i.test(m)) return m; // already a URL (file:, data:)
  return pathToFileURL(path.resolve(m)).href;
}

/** The bootstrap the spawned node runs: dist/mp/process/spawn-main.js, or its .ts when running from source. */
function spawnMainPath(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), here.endsWith('.ts') ? 'spawn-main.ts' : 'spawn-main.js');
}

const INSPECTOR = /^--(inspect|inspect-brk|inspect-port|debug|debug-brk|inspect-publish-uid)(=|$)/;

/**
 * The parent's execArgv for the child, minus inspector flags and -e/-p code; plus a TypeScript loader when
 * multiproc itself runs from its .ts sources (a test runner may transform them in-process, without one).
 */
export function childExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    const arg = a[i]!;
    if (INSPECTOR.test(arg)) {
      if (!arg.includes('=') && a[i + 1] && /^\d+$|^[\w.-]+:\d+$/.test(a[i + 1]!)) i++;
      continue;
    }
    if (['-e', '--eval', '-p', '--print'].includes(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('--eval=') || arg.startsWith('--print=')) continue;
    out.push(arg);
  }
  if (fileURLToPath(import.meta.url).endsWith('.ts') && !out.some((x) => /tsx|ts-node|--experimental-strip-types/.test(x))) {
    out.push('--import', pathToFileURL(path.join(packageRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href);
  }
  return out;
}

/** os.cpus().length (Python's cpu_count). */
export function cpuCount(): number {
  return os.cpus().length;
}

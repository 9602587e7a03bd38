// What a start method is (CPython's Popen classes: popen_fork.py, popen_spawn_posix.py, popen_forkserver.py).
//
// A start method turns a Process's description (a ChildJob) into a running child and hands back a
// ChildHandle: how to learn, without blocking, that the child has ended and with what status; an fd to wait
// on for that (Python's Popen.sentinel); how to signal it. Process keeps the state machine (start once,
// join, exitCode, close) and never asks which method it has. Callers that must do different things for
// different methods (Process's options, Pool, Manager) ask what the method can do — runsClosures — never
// its name; so a new method is one more file, registered in ./index.ts.
//
// fork and spawn both make a child of this process (OwnChild): waitpid reaps it, its pidfd says when it has
// ended, and kill() cannot hit a reused pid while it is unreaped. A method whose children are not ours (a
// forkserver's: the server forks them) brings its own handle: the status comes back through a pipe from
// the process that reaps it, signals go through a pidfd.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as posix from '../../../posix/index.js';
import { coded, invalidType } from '../../../posix/errors.js';

/**
 * How a child process is started: 'fork' (a copy of this process; the default), 'spawn' (a fresh `node`) or
 * 'forkserver' (forked by a small server this process starts once).
 */
export type StartMethod = 'fork' | 'spawn' | 'forkserver';

/** A target a child can run only if it is a copy of this process (runsClosures): any function, closures included. */
export type TargetFunction = (...args: never[]) => unknown;

/** A target named by the module that exports it (a URL: file: or data:) and the export's name. */
export interface ModuleTarget {
  module: string;
  export: string;
}

/** One child to start: what a Process asks of its start method. */
export interface ChildJob {
  /** The child's name (its identity: currentProcess().name). */
  name: string;
  /** A daemon child dies with this process (PR_SET_PDEATHSIG), and is terminated at its exit. */
  daemon: boolean;
  /** A function when the method runsClosures, else the export the child imports. */
  target: TargetFunction | ModuleTarget;
  /** The target's arguments: inherited as they are (fork), or reduced and rebuilt (lib/mp/core/reduction.ts). */
  args: unknown[];
  /** Module URLs the child will import besides its target's (a forkserver loads them before it forks). */
  preload?: string[];
}

/** A started child, as its start method lets this process see it (Python's Popen object). */
export interface ChildHandle {
  /** The child's pid. */
  readonly pid: number;
  /**
   * The child's status once it has ended (the first call that sees it reaps it, or reads it from whoever
   * did); undefined while it runs. Never waits for a running child (a forkserver's child that has just ended:
   * for the server's report of it, briefly). After it has returned a status it is not called again.
   */
  poll(): posix.WaitStatus | undefined;
  /**
   * A new fd that polls readable once the child has ended (Python's Popen.sentinel): a pidfd for a child of
   * this process, a status pipe for one a server started. The caller closes it.
   */
  openSentinel(): number;
  /** Sends `sig`. Only called while poll() says the child runs; must not reach a reused pid. */
  signal(sig: posix.Signal): void;
}

/** A start method: how a child comes to exist, and what that allows (CPython's Popen class and context). */
export interface StartMethodStrategy {
  /** The name Process, Pool and Manager options take ('fork', 'spawn'). */
  readonly name: StartMethod;
  /**
   * The child is a copy of this process at the start: its target may be any function (closures included)
   * and sees this process's memory, fds and module state as they were; its args are the objects themselves.
   * Otherwise the child is a fresh program: its target is a ModuleTarget it imports, and its args travel as
   * a structured clone, shared objects by reduction (their fds).
   */
  readonly runsClosures: boolean;
  /** Starts the child; returns once it exists. Throws when it cannot (nothing is left behind then). */
  start(job: ChildJob): ChildHandle;
}

/** A child of this process (fork and spawn): reaped with waitpid, waited for through its pidfd. */
export class OwnChild implements ChildHandle {
  /** @param pid the pid fork or posix_spawn returned: ours to reap. */
  constructor(readonly pid: number) {}

  /** waitpid(pid, WNOHANG): reaps the child if it has ended. */
  poll(): posix.WaitStatus | undefined {
    const s = posix.waitpid(this.pid, { noHang: true });
    return s.kind === 'running' ? undefined : s;
  }

  /** pidfd_open(pid): valid for an unreaped child (a zombie included). */
  openSentinel(): number {
    return posix.pidfdOpen(this.pid);
  }

  /** kill(pid, sig): the child is unreaped, so the pid is still its own. */
  signal(sig: posix.Signal): void {
    posix.kill(this.pid, sig);
  }
}

/**
 * A module given as a path (resolved against the working directory) or a URL, as the URL a child imports.
 * @param name the option's name, for the error ("options.module").
 * @throws TypeError ERR_INVALID_ARG_TYPE when `m` is neither a non-empty string nor a URL.
 */
export function moduleUrl(name: string, m: unknown): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string' || m === '') throw invalidType(name, 'a path or a URL', m);
  if (/^[a-z][a-z0-9+.-]*:/i.test(m)) return m; // already a URL (file:, data:)
  return pathToFileURL(path.resolve(m)).href;
}

/** How a child gets a module's namespace: import() it, or find it loaded (a forkserver's child). */
export type ModuleLoader = (url: string) => Promise<Record<string, unknown>>;

/** import(), the ModuleLoader of a child that loads its modules itself. */
export const importModule: ModuleLoader = async (url) => (await import(url)) as Record<string, unknown>;

let currentLoader: ModuleLoader = importModule;

/** Sets how this process loads a target's module from now on (a forkserver's child: through the server's). */
export function setModuleLoader(load: ModuleLoader): void {
  currentLoader = load;
}

/**
 * Imports a ModuleTarget's module (through `load`) and returns the export.
 * @throws TypeError ERR_INVALID_ARG_VALUE when the export is not a function (the message lists the exports).
 */
export async function importTarget(t: ModuleTarget, load: ModuleLoader = currentLoader): Promise<(...args: unknown[]) => unknown> {
  const mod = await load(t.module);
  const fn = mod[t.export];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).join(', ') || 'none';
    throw coded(new TypeError(`${t.module} has no exported function "${t.export}" (exports: ${names})`), 'ERR_INVALID_ARG_VALUE');
  }
  return fn as (...args: unknown[]) => unknown;
}

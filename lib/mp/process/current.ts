// This process as multiproc sees it (CPython keeps the same in process.py: _current_process, _children,
// _exit_function): its identity, the children it started and has not reaped, what happens to them at exit,
// and the set-up every child runs first, whatever its start method.
import { closeSync, openSync } from 'node:fs';
import os from 'node:os';
import { inspect } from 'node:util';
import * as posix from '../../posix/index.js';

/** Who this process is: its name, pid and daemon flag, and the process that started it (null at the top). */
export interface Identity {
  name: string;
  pid: number;
  daemon: boolean;
  parent: { pid: number; name: string } | null;
}

/**
 * What this module needs of a started child (a Process: only Process.start counts one here): enough to reap
 * it, or terminate a daemon, at exit.
 */
export interface Child {
  readonly daemon: boolean;
  isAlive(): boolean;
  terminate(): void;
  joinSync(): unknown;
}

let identity: Identity = { name: 'MainProcess', pid: process.pid, daemon: false, parent: null };

/** The children started by this process and not yet reaped (Python's _children). */
const live = new Set<Child>();

/** Sets this process's identity (a child's first act, whatever its start method): it has no children yet. */
export function setIdentity(id: Identity): void {
  identity = id;
  live.clear(); // a forked child's copy of its parent's children is not its own
  afterChildren.length = 0;
  exitHookInstalled = false;
}

/** This process's identity ('MainProcess' and no parent in the process the program started as). */
export function getIdentity(): Readonly<Identity> {
  return identity;
}

/** Counts `p` among the children to reap or terminate at exit (Process.start calls it). */
export function addChild(p: Child): void {
  live.add(p);
  installExitHook();
}

/** `p` has been reaped (its status is known). */
export function removeChild(p: Child): void {
  live.delete(p);
}

/** The started children that are still running; finished ones are reaped (Python's active_children()). */
export function activeChildren(): Child[] {
  for (const p of [...live]) p.isAlive();
  return [...live];
}

// At exit, as Python's _exit_function: daemon children are terminated, the others are waited for; then what
// must outlive the children (a forkserver) is stopped.
let exitHookInstalled = false;
const afterChildren: Array<() => void> = [];
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of [...live]) {
      if (p.daemon && p.isAlive()) p.terminate();
    }
    for (const p of [...live]) p.joinSync();
    for (const f of afterChildren.splice(0)) f();
  });
}

/** Runs `f` at this process's exit, once its children have been terminated or joined. */
export function atExitAfterChildren(f: () => void): void {
  afterChildren.push(f);
  installExitHook();
}

/** os.cpus().length (Python's cpu_count). */
export function cpuCount(): number {
  return os.cpus().length;
}

// ---------------------------------------------------------------------------------------------------------
// the child's side, shared by every start method

let realParent: number | undefined;

/**
 * The pid of this child's real parent (the one whose death a daemon dies with), when multiproc started it:
 * the process in its identity, or the forkserver that forked it.
 */
export function realParentPid(): number | undefined {
  return realParent;
}

/**
 * Runs `fn` with an fd of /dev/null opened for reading (close-on-exec), closed afterwards: what a child's stdin
 * is made from, by the parent before it forks or spawns the child.
 */
export function withDevNull<T>(fn: (devnull: number) => T): T {
  const devnull = openSync('/dev/null', 'r');
  try {
    return fn(devnull);
  } finally {
    closeSync(devnull);
  }
}

/**
 * A child's first act: take its identity, read stdin from /dev/null (as Python does), and, as a daemon, die
 * with its parent (PR_SET_PDEATHSIG, checked against a parent that died before the prctl). `guardPid` is the
 * child's real parent when that is not the process in its identity (a forkserver's children). `devnull`: an
 * fd of /dev/null the parent opened before fork() (this child's copy, closed here); without it the child
 * opens one (an fs.openSync in a forked child costs ~300 µs of first touches, a dup2 ~20 µs).
 */
export function enterChild(id: Identity, guardPid = id.parent?.pid, devnull = openSync('/dev/null', 'r')): void {
  setIdentity(id);
  realParent = guardPid;
  posix.dup2(devnull, 0);
  posix.close(devnull);
  if (id.daemon) {
    posix.setParentDeathSignal('SIGKILL');
    // The parent may have died before prctl: then no signal would ever come.
    if (posix.getppid() !== guardPid) posix.kill(posix.getpid(), 'SIGKILL');
  }
}

/** A target that threw: Python prints "Process <name>:" and the traceback; so do we (the child then exits 1). */
export function reportFailure(name: string, e: unknown): void {
  const text = e instanceof Error ? (e.stack ?? String(e)) : `Uncaught ${inspect(e)}`;
  process.stderr.write(`Process ${name}:\n${text}\n`);
}

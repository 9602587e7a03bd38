// The fork start method (CPython's popen_fork.py): posix.forkAndRun makes the child a copy of this process
// that runs the target on a fresh stack, so the target may be any function — closures included — and its
// args are the very objects (shared memory, locks and fds inherited, nothing serialised). The code after
// start() never runs in the child. What a forked Node child may do: README "Fork safety".
import * as posix from '../../../posix/index.js';
import { enterChild, getIdentity, reportFailure, withDevNull } from '../current.js';
import { type ChildHandle, type ChildJob, OwnChild, type StartMethodStrategy } from './strategy.js';

/** fork(2) and run the target in the copy; the child exits 0, or 1 when the target throws (or rejects). */
export const fork: StartMethodStrategy = Object.freeze({
  name: 'fork',
  runsClosures: true,
  start(job: ChildJob): ChildHandle {
    const { name, daemon, target, args } = job;
    if (typeof target !== 'function') throw new TypeError('the fork start method runs a function target');
    const parent = { pid: process.pid, name: getIdentity().name };
    // The child's stdin: opened here, where it is cheap, and dup2'd there (the parent's copy is closed once
    // fork() returned or failed). The entry closure holds only what the child needs (a Pool's worker must not
    // hold its Pool, which a finalizer may have to collect).
    const pid = withDevNull((devnull) =>
      posix.forkAndRun(async () => {
        enterChild({ name, pid: process.pid, daemon, parent }, parent.pid, devnull);
        try {
          await (target as (...a: unknown[]) => unknown)(...args);
        } catch (e) {
          reportFailure(name, e);
          posix.exit(1);
        }
        posix.exit(0);
      }),
    );
    return new OwnChild(pid);
  },
});

// The multiprocessing layer's error classes, in one place (DESIGN.md "Errors"):
//
//   class               code                           thrown by
//   TimeoutError        ERR_MULTIPROC_TIMEOUT          recv/poll and Manager calls that waited too long; hold/withLock
//   EOFError            ERR_MULTIPROC_EOF              recv on a Connection whose other end is closed
//   Empty               ERR_MULTIPROC_EMPTY            Queue.get/getNowait with nothing to take (Python's queue.Empty)
//   Full                ERR_MULTIPROC_FULL             Queue.put/putNowait with no space (Python's queue.Full)
//   BrokenBarrierError  ERR_MULTIPROC_BROKEN_BARRIER   Barrier.wait on a broken barrier
//   WorkerDiedError     ERR_MULTIPROC_WORKER_DIED      a Pool task whose worker died
//
// Use after close is a plain Error with code ERR_MULTIPROC_CLOSED: closedError() (lib/posix/errors.ts: the
// posix layer throws it too). Argument errors (TypeError/RangeError with Node's codes) and the timeout
// validators are lib/posix/errors.ts's. Errors that cross a process boundary: lib/mp/core/remote-error.ts.
export { closedError } from '../../posix/errors.js';

/** The base of the classes below: `name` is the class's name, `code` its ERR_MULTIPROC_… code. */
export abstract class MultiprocError extends Error {
  /** ERR_MULTIPROC_… */
  abstract readonly code: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * A wait that took longer than its timeout where no return value can say so (Python has no convention for
 * recv): Connection.recv/recvSync, Manager calls, and Lock.hold/withLock.
 */
export class TimeoutError extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_TIMEOUT';
  /** @param message the message (default 'timed out') */
  constructor(message = 'timed out') { super(message); }
}

/** The other end of a Connection was closed (Python's EOFError). */
export class EOFError extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_EOF';
  /** @param message the message (default 'the other end of the connection is closed') */
  constructor(message = 'the other end of the connection is closed') { super(message); }
}

/** Raised by get() when no item arrives in time, and by getNowait() on an empty queue (Python's queue.Empty). */
export class Empty extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_EMPTY';
  /** @param message the message (default 'the queue is empty') */
  constructor(message = 'the queue is empty') { super(message); }
}

/** Raised by put() when no space frees in time, and by putNowait() on a full queue (Python's queue.Full). */
export class Full extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_FULL';
  /** @param message the message (default 'the queue is full') */
  constructor(message = 'the queue is full') { super(message); }
}

/** Thrown by Barrier.wait when the barrier is broken (timeout, abort, reset, or a failed action). */
export class BrokenBarrierError extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_BROKEN_BARRIER';
  /** @param message the message (default 'The barrier is broken') */
  constructor(message = 'The barrier is broken') { super(message); }
}

/** A Pool task whose worker died (killed, crashed, exit() inside a task) before it finished. */
export class WorkerDiedError extends MultiprocError {
  readonly code = 'ERR_MULTIPROC_WORKER_DIED';
  /** The worker's pid. */
  readonly pid: number;
  /** The exit status, or null when a signal ended the worker. */
  readonly exitCode: number | null;
  /** The signal's name ('SIGKILL'), or null when the worker exited. */
  readonly signal: string | null;
  /**
   * @param pid the worker's pid
   * @param exitCode its exit status (null: a signal ended it)
   * @param signal the signal's name (null: it exited)
   * @param tasks how many tasks it held (for the message)
   */
  constructor(pid: number, exitCode: number | null, signal: string | null, tasks: number) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(`Pool worker ${pid} ${how} while it held ${tasks} task${tasks === 1 ? '' : 's'}`);
    this.pid = pid;
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/**
 * The classes above by name, with a one-argument (message) constructor: what lib/mp/core/remote-error.ts
 * rebuilds an error of the same class from.
 */
export const MESSAGE_ERRORS: Readonly<Record<string, new (message?: string) => Error>> = {
  TimeoutError,
  EOFError,
  Empty,
  Full,
  BrokenBarrierError,
};

// Python's queue.Empty and queue.Full, shared by every queue of the library (the Manager's Queue proxy throws
// them as a local Queue does). They carry a code too, so code that checks `err.code` works without the class.

/** A get() with no item to take (non-blocking, or the timeout passed). */
export class Empty extends Error {
  readonly code = 'ERR_MULTIPROC_EMPTY';
  constructor(message = 'queue is empty') {
    super(message);
    this.name = 'Empty';
  }
}

/** A put() with no room (non-blocking, or the timeout passed). */
export class Full extends Error {
  readonly code = 'ERR_MULTIPROC_FULL';
  constructor(message = 'queue is full') {
    super(message);
    this.name = 'Full';
  }
}

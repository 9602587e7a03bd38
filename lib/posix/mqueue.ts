// The mqueue family of the posix layer: POSIX message queues, mq_overview(7) — mq_open(3), mq_send(3),
// mq_timedsend(3), mq_receive(3), mq_timedreceive(3), mq_getattr(3), mq_setattr(3), mq_close(3),
// mq_unlink(3).
//
// A queue holds at most `maxMessages` messages of at most `messageSize` bytes each; a receive takes the
// oldest message of the highest priority. On Linux the queue descriptor (mqd_t) is a file descriptor: it is
// inherited by fork(), can be handed to a spawned child in `stdio` (then adopted with MessageQueue.fromFd),
// and the async forms wait for it in the addon's reactor (epoll), never in libuv's threadpool.
//
// The kernel's limits (Linux defaults, also in most containers: 10 messages, 8,192 bytes each, 256 queues,
// 819,200 bytes per user) are in /proc/sys/fs/mqueue and RLIMIT_MSGQUEUE; an error caused by one names it.
import { readdirSync, readFileSync } from 'node:fs';
import { native, type MqCallback } from '../binding/addon.js';
import { closedError, rangeError, timeout as checkTimeout, typeError } from './errors.js';

/** What the addon takes as "no deadline" for the timed calls (~31 years). */
const MQ_FOREVER_MS = 1e12;

const C = native.mqConstants;
/** Where the sync receives put the priority (single-threaded: read right after the call). */
const priorityOut = new Uint32Array(1);

/** sysconf(_SC_MQ_PRIO_MAX): priorities are 0 ..= MQ_PRIO_MAX - 1 (32767 on Linux); higher is received first. */
export const MQ_PRIO_MAX: number = C.MQ_PRIO_MAX;

/** mq_getattr(3): a queue's attributes. */
export interface MqAttr {
  /** mq_maxmsg: how many messages the queue holds before a send blocks. */
  maxMessages: number;
  /** mq_msgsize: the largest message, in bytes. */
  messageSize: number;
  /** mq_curmsgs: messages in the queue now. */
  currentMessages: number;
  /** O_NONBLOCK on this descriptor: a send to a full / receive from an empty queue fails with EAGAIN. */
  nonBlocking: boolean;
}

/** A received message. */
export interface MqMessage {
  /** The bytes (a view of the buffer passed to receive, or a fresh Buffer when none was passed). */
  data: Uint8Array;
  /** The priority it was sent with (0 ..< MQ_PRIO_MAX; higher is received first). */
  priority: number;
}

/** Options of {@link mqOpen}: mq_open(3)'s oflag, mode and attributes. */
export interface MqOpenOptions {
  /** O_CREAT: create the queue if it does not exist. */
  create?: boolean;
  /** O_EXCL: with `create`, fail with EEXIST if it exists. */
  exclusive?: boolean;
  /** Permission bits of a created queue (default 0o600; the umask applies). */
  mode?: number;
  /** mq_maxmsg of a created queue (default /proc/sys/fs/mqueue/msg_default; at most msg_max). */
  maxMessages?: number;
  /** mq_msgsize of a created queue (default /proc/sys/fs/mqueue/msgsize_default; at most msgsize_max). */
  messageSize?: number;
  /** O_NONBLOCK: send/receive fail with EAGAIN instead of waiting. The timed and async forms still wait. */
  nonBlocking?: boolean;
  /** O_RDONLY, O_WRONLY or O_RDWR (default 'readwrite'). */
  access?: 'read' | 'write' | 'readwrite';
}

/** The system's message-queue limits (/proc/sys/fs/mqueue, and RLIMIT_MSGQUEUE of this process). */
export interface MqLimits {
  /** msg_max: the largest maxMessages an unprivileged process may ask for. */
  msgMax: number | undefined;
  /** msgsize_max: the largest messageSize an unprivileged process may ask for. */
  msgsizeMax: number | undefined;
  /** queues_max: queues that may exist at once in this IPC namespace. */
  queuesMax: number | undefined;
  /** msg_default: the maxMessages of a queue created without attributes. */
  msgDefault: number | undefined;
  /** msgsize_default: the messageSize of a queue created without attributes. */
  msgsizeDefault: number | undefined;
  /** RLIMIT_MSGQUEUE (soft): the bytes all of this user's queues may take (ulimit -q). */
  rlimitMsgqueue: number | undefined;
}

const PROC = '/proc/sys/fs/mqueue';

function readNumber(file: string): number | undefined {
  try {
    const v = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function softLimit(label: string): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(label));
    const soft = line?.slice(label.length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    return soft === 'unlimited' ? Infinity : Number.parseInt(soft, 10);
  } catch {
    return undefined;
  }
}

/**
 * The limits that apply to message queues here (mq_overview(7), "/proc interfaces"; getrlimit(2),
 * RLIMIT_MSGQUEUE), read from /proc/sys/fs/mqueue/* and /proc/self/limits.
 */
export function mqLimits(): MqLimits {
  return {
    msgMax: readNumber(`${PROC}/msg_max`),
    msgsizeMax: readNumber(`${PROC}/msgsize_max`),
    queuesMax: readNumber(`${PROC}/queues_max`),
    msgDefault: readNumber(`${PROC}/msg_default`),
    msgsizeDefault: readNumber(`${PROC}/msgsize_default`),
    rlimitMsgqueue: softLimit('Max msgqueue size'),
  };
}

/** Adds `detail` to an errno error's message (and stack), keeping code/errno/syscall. */
function amend(e: unknown, detail: string | undefined): unknown {
  if (detail && e instanceof Error) {
    const old = e.message;
    e.message = `${old}; ${detail}`;
    if (typeof e.stack === 'string') e.stack = e.stack.replace(old, e.message);
  }
  return e;
}

function codeOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Why mq_open failed, in terms of the limit or option that caused it. */
function openDetail(e: unknown, name: string, create: boolean, maxMessages?: number, messageSize?: number): string | undefined {
  const L = mqLimits();
  switch (codeOf(e)) {
    case 'EINVAL': {
      const why: string[] = [];
      if (create && maxMessages !== undefined && L.msgMax !== undefined && maxMessages > L.msgMax) {
        why.push(`maxMessages ${maxMessages} exceeds the system limit ${PROC}/msg_max = ${L.msgMax}`);
      }
      if (create && messageSize !== undefined && L.msgsizeMax !== undefined && messageSize > L.msgsizeMax) {
        why.push(`messageSize ${messageSize} exceeds the system limit ${PROC}/msgsize_max = ${L.msgsizeMax}`);
      }
      return why.join('; ') || undefined;
    }
    case 'ENOSPC':
      return `the number of queues in this IPC namespace reached the system limit ${PROC}/queues_max = ${L.queuesMax ?? '?'} (close and mqUnlink queues no longer needed)`;
    case 'EMFILE': {
      const nofile = softLimit('Max open files');
      let open = 0;
      try {
        open = readdirSync('/proc/self/fd').length;
      } catch {
        /* unknown */
      }
      if (nofile !== undefined && open >= nofile - 1) return `this process has ${open} open files, its RLIMIT_NOFILE = ${nofile}`;
      return (
        `creating it would take this user's message queues over RLIMIT_MSGQUEUE = ${L.rlimitMsgqueue ?? '?'} bytes ` +
        `(ulimit -q; each queue counts about maxMessages × (messageSize + 100) bytes, here ${maxMessages ?? L.msgDefault} × ${messageSize ?? L.msgsizeDefault})`
      );
    }
    case 'ENOENT':
      return create ? undefined : `there is no queue named '${name}' (pass create: true to create it)`;
    case 'EEXIST':
      return `a queue named '${name}' exists already (exclusive: true)`;
    case 'EACCES':
      return `the queue '${name}' exists and its mode does not allow this access`;
    default:
      return undefined;
  }
}

function bytesOf(data: Uint8Array | string, name = 'data'): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data);
  if (!(data instanceof Uint8Array)) {
    throw typeError(`The "${name}" argument must be a string or an instance of Uint8Array. Received ${data === null ? 'null' : typeof data}`);
  }
  return data;
}

function optBool(opts: object, key: string): boolean {
  const v = (opts as Record<string, unknown>)[key];
  if (v !== undefined && typeof v !== 'boolean') {
    throw typeError(`The "options.${key}" property must be of type boolean. Received type ${typeof v}`);
  }
  return v === true;
}

function optInt(opts: object, key: string, min: number, max: number): number | undefined {
  const v = (opts as Record<string, unknown>)[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw typeError(`The "options.${key}" property must be of type number. Received type ${typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw rangeError(`The value of "options.${key}" is out of range. It must be an integer >= ${min} && <= ${max}. Received ${v}`);
  }
  return v;
}

// Closes the descriptor of a queue that was garbage-collected without close().
// Only in the process that registered it: a forked child collects its copies of the parent's objects too, and
// by then the descriptor number may name something else of the child's.
const finalizer = new FinalizationRegistry<{ mqd: number; pid: number }>(({ mqd, pid }) => {
  if (pid !== process.pid) return;
  try {
    native.mqClose(mqd);
  } catch {
    /* already gone */
  }
});

/**
 * An open message queue descriptor (mqd_t). Create one with {@link mqOpen} / `MessageQueue.open`, or adopt
 * an inherited descriptor with `MessageQueue.fromFd`. `close()` closes this descriptor only; the queue and
 * its messages live on until {@link mqUnlink} and the last close.
 * @see [mq_overview(7)](https://man7.org/linux/man-pages/man7/mq_overview.7.html)
 */
export class MessageQueue implements Disposable {
  /** The name it was opened with ('/name'), or undefined when adopted with fromFd. */
  readonly name: string | undefined;
  /** mq_maxmsg (fixed when the queue was created). */
  readonly maxMessages: number;
  /** mq_msgsize (fixed when the queue was created). */
  readonly messageSize: number;
  #mqd: number;
  #scratch: Uint8Array | undefined;
  /** Pending async operations: reactor watch id → reject. */
  readonly #pending = new Map<number, (e: unknown) => void>();

  private constructor(mqd: number, name: string | undefined) {
    let attr: MqAttr;
    try {
      attr = native.mqGetattr(mqd);
    } catch (e) {
      if (name !== undefined) native.mqClose(mqd);
      throw e;
    }
    this.#mqd = mqd;
    this.name = name;
    this.maxMessages = attr.maxMessages;
    this.messageSize = attr.messageSize;
    finalizer.register(this, { mqd, pid: process.pid }, this);
  }

  /**
   * mq_open(3); see {@link mqOpen}.
   * @param name '/' followed by up to 255 characters other than '/'
   * @param opts O_CREAT, O_EXCL, O_NONBLOCK, access, mode and the attributes of a created queue; see
   *   {@link MqOpenOptions}
   */
  static open(name: string, opts: MqOpenOptions = {}): MessageQueue {
    if (opts === null || typeof opts !== 'object') throw typeError(`The "options" argument must be an object. Received ${opts === null ? 'null' : typeof opts}`);
    const create = optBool(opts, 'create');
    const exclusive = optBool(opts, 'exclusive');
    const nonBlocking = optBool(opts, 'nonBlocking');
    const mode = optInt(opts, 'mode', 0, 0o777) ?? 0o600;
    let maxMessages = optInt(opts, 'maxMessages', 1, 2 ** 31 - 1);
    let messageSize = optInt(opts, 'messageSize', 1, 2 ** 31 - 1);
    const access = opts.access ?? 'readwrite';
    const acc = { read: C.O_RDONLY, write: C.O_WRONLY, readwrite: C.O_RDWR }[access];
    if (acc === undefined) throw typeError(`Unknown access: ${String(access)} (expected 'read', 'write' or 'readwrite')`);
    if (create && (maxMessages === undefined) !== (messageSize === undefined)) {
      // mq_open takes both or neither: complete the pair with the kernel's defaults.
      const L = mqLimits();
      maxMessages ??= L.msgDefault ?? 10;
      messageSize ??= L.msgsizeDefault ?? 8192;
    }
    const oflag = acc | (create ? C.O_CREAT : 0) | (exclusive ? C.O_EXCL : 0) | (nonBlocking ? C.O_NONBLOCK : 0);
    let mqd: number;
    try {
      mqd = create && maxMessages !== undefined ? native.mqOpen(name, oflag, mode, maxMessages, messageSize) : native.mqOpen(name, oflag, mode);
    } catch (e) {
      throw amend(e, openDetail(e, name, create, maxMessages, messageSize));
    }
    return new MessageQueue(mqd, name);
  }

  /**
   * Adopts an open queue descriptor — one inherited from a parent, e.g. passed in `stdio` to a spawned
   * child — and owns it from now on (close() and the finalizer close it). EBADF if `fd` is not a queue.
   */
  static fromFd(fd: number): MessageQueue {
    return new MessageQueue(fd, undefined);
  }

  /**
   * mq_unlink(3); see {@link mqUnlink}.
   * @param name the queue's name ('/name')
   */
  static unlink(name: string): void {
    mqUnlink(name);
  }

  /**
   * The descriptor (a file descriptor on Linux: poll it, pass it in `stdio`, sendFds it). Throws
   * ERR_MULTIPROC_CLOSED after close(). Close it with close(), never with posix.close(q.fd): the object (and
   * its finalizer) would later close whatever fd reused the number.
   */
  get fd(): number {
    if (this.#mqd < 0) throw closedError('The message queue is closed');
    return this.#mqd;
  }

  /** true after close(). */
  get closed(): boolean {
    return this.#mqd < 0;
  }

  #explain(op: 'send' | 'receive', e: unknown, length: number): unknown {
    const code = codeOf(e);
    if (code === 'EMSGSIZE') {
      return amend(
        e,
        op === 'send'
          ? `the message is ${length} bytes but the queue's messageSize is ${this.messageSize}`
          : `the buffer holds ${length} bytes but the queue's messageSize is ${this.messageSize} (receive without a buffer allocates one)`,
      );
    }
    if (code === 'EAGAIN') {
      return amend(e, op === 'send' ? `the queue is full (maxMessages ${this.maxMessages}) and non-blocking` : 'the queue is empty and non-blocking');
    }
    if (code === 'EBADF') return amend(e, `the queue was not opened for ${op === 'send' ? 'writing' : 'reading'}`);
    return e;
  }

  /**
   * mq_send(3): appends `data` (a string is sent as UTF-8) with `priority` (0 ..= 32767). Blocks while the
   * queue is full, or fails with EAGAIN if it is non-blocking. EMSGSIZE if longer than messageSize.
   * @param data the message (a string is sent as UTF-8), at most messageSize bytes
   * @param priority 0 ..< MQ_PRIO_MAX (default 0); higher is received first
   * @see [mq_send(3)](https://man7.org/linux/man-pages/man3/mq_send.3.html)
   */
  send(data: Uint8Array | string, priority = 0): void {
    const buf = bytesOf(data);
    try {
      native.mqSend(this.fd, buf, priority);
    } catch (e) {
      throw this.#explain('send', e, buf.length);
    }
  }

  /**
   * mq_timedsend(3): like send, but gives up after `ms` milliseconds and returns false. The deadline is on
   * CLOCK_REALTIME, as the kernel's: setting the clock moves it.
   * @param data the message (a string is sent as UTF-8)
   * @param ms milliseconds to wait for space
   * @param priority 0 ..< MQ_PRIO_MAX (default 0)
   * @returns true when sent, false on timeout
   * @see [mq_timedsend(3)](https://man7.org/linux/man-pages/man3/mq_timedsend.3.html)
   */
  timedSend(data: Uint8Array | string, ms: number, priority = 0): boolean {
    const t = Math.min(checkTimeout('ms', ms), MQ_FOREVER_MS);
    const buf = bytesOf(data);
    try {
      return native.mqTimedSend(this.fd, buf, priority, t);
    } catch (e) {
      throw this.#explain('send', e, buf.length);
    }
  }

  #buffer(buf: Uint8Array | undefined): Uint8Array {
    if (buf !== undefined) return buf;
    this.#scratch ??= new Uint8Array(this.messageSize);
    return this.#scratch;
  }

  static #message(buf: Uint8Array | undefined, target: Uint8Array, length: number, priority: number): MqMessage {
    return { data: buf !== undefined ? buf.subarray(0, length) : Buffer.from(target.subarray(0, length)), priority };
  }

  /**
   * mq_receive(3): removes and returns the oldest message of the highest priority. Blocks while the queue
   * is empty, or fails with EAGAIN if it is non-blocking. A `buf` must hold messageSize bytes (EMSGSIZE);
   * the message is then a view of it.
   * @param buf where to receive (at least messageSize bytes); default: a fresh Buffer for each message
   * @see [mq_receive(3)](https://man7.org/linux/man-pages/man3/mq_receive.3.html)
   */
  receive(buf?: Uint8Array): MqMessage {
    const target = this.#buffer(buf);
    try {
      const length = native.mqReceive(this.fd, target, priorityOut);
      return MessageQueue.#message(buf, target, length, priorityOut[0]!);
    } catch (e) {
      throw this.#explain('receive', e, target.length);
    }
  }

  /**
   * mq_timedreceive(3): like receive, but returns null if no message came within `ms` milliseconds
   * (deadline on CLOCK_REALTIME, as the kernel's).
   * @param ms milliseconds to wait for a message
   * @param buf where to receive (at least messageSize bytes); default: a fresh Buffer
   * @see [mq_timedreceive(3)](https://man7.org/linux/man-pages/man3/mq_timedreceive.3.html)
   */
  timedReceive(ms: number, buf?: Uint8Array): MqMessage | null {
    const t = Math.min(checkTimeout('ms', ms), MQ_FOREVER_MS);
    const target = this.#buffer(buf);
    try {
      const length = native.mqTimedReceive(this.fd, target, t, priorityOut);
      return length === null ? null : MessageQueue.#message(buf, target, length, priorityOut[0]!);
    } catch (e) {
      throw this.#explain('receive', e, target.length);
    }
  }

  #whenReady<T>(
    op: 'send' | 'receive',
    length: number,
    start: (mqd: number, cb: MqCallback) => number,
    finish: (n: number, priority: number) => T,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let id = 0;
      let settled = false;
      const settle = (): void => {
        settled = true;
        if (id !== 0) this.#pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (e: unknown): void => {
        if (settled) return;
        settle();
        reject(e);
      };
      const onAbort = (): void => {
        if (id !== 0) native.cancelWait(id);
        fail(signal!.reason);
      };
      const attempt = (): void => {
        if (id !== 0) this.#pending.delete(id);
        id = 0;
        let got: number;
        try {
          got = start(this.fd, (err, count, priority) => {
            if (settled) return;
            if (err) fail(this.#explain(op, err, length));
            else if (count === -1) attempt(); // another process took the message / the space first
            else {
              settle();
              resolve(finish(count, priority));
            }
          });
        } catch (e) {
          fail(e);
          return;
        }
        if (!settled && got !== 0) {
          id = got;
          this.#pending.set(id, fail);
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      attempt();
    });
  }

  /**
   * send without blocking the thread: resolves once the message is in the queue. While the queue is full it
   * waits for writability in the addon's reactor (epoll; no threadpool thread). Aborting via `signal` rejects
   * with the signal's reason and sends nothing. close() rejects it with ERR_MULTIPROC_CLOSED.
   * @param data the message (a string is sent as UTF-8)
   * @param priority 0 ..< MQ_PRIO_MAX (default 0)
   * @param opts `signal`: an AbortSignal that stops the wait
   */
  sendAsync(data: Uint8Array | string, priority = 0, opts: { signal?: AbortSignal } = {}): Promise<void> {
    let buf: Uint8Array;
    try {
      buf = bytesOf(data);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#whenReady(
      'send',
      buf.length,
      (mqd, cb) => native.mqSendAsync(mqd, buf, priority, cb),
      () => undefined,
      opts.signal,
    );
  }

  /**
   * receive without blocking the thread: resolves with the next message. While the queue is empty it waits
   * for readability in the addon's reactor (epoll; no threadpool thread). Aborting via `signal` rejects with
   * the signal's reason and consumes nothing. close() rejects it with ERR_MULTIPROC_CLOSED.
   * @param buf where to receive (at least messageSize bytes); default: a fresh buffer
   * @param opts `signal`: an AbortSignal that stops the wait
   */
  receiveAsync(buf?: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<MqMessage> {
    const target = buf ?? new Uint8Array(this.messageSize);
    return this.#whenReady(
      'receive',
      target.length,
      (mqd, cb) => native.mqReceiveAsync(mqd, target, cb),
      (length, priority) => MessageQueue.#message(buf, target, length, priority),
      opts.signal,
    );
  }

  /**
   * mq_getattr(3): the queue's attributes, with the number of messages in it now.
   * @see [mq_getattr(3)](https://man7.org/linux/man-pages/man3/mq_getattr.3.html)
   */
  getattr(): MqAttr {
    return native.mqGetattr(this.fd);
  }

  /**
   * mq_setattr(3) of O_NONBLOCK (for this descriptor and its duplicates, e.g. in forked children).
   * @param on true (the default) sets O_NONBLOCK, false clears it
   * @see [mq_setattr(3)](https://man7.org/linux/man-pages/man3/mq_setattr.3.html)
   */
  setNonBlocking(on = true): void {
    native.mqSetNonBlocking(this.fd, on);
  }

  /**
   * mq_close(3): closes this descriptor (idempotent). Pending async operations reject with
   * ERR_MULTIPROC_CLOSED. The queue itself stays until mqUnlink.
   * @see [mq_close(3)](https://man7.org/linux/man-pages/man3/mq_close.3.html)
   */
  close(): void {
    if (this.#mqd < 0) return;
    for (const [id, fail] of [...this.#pending]) {
      native.cancelWait(id);
      fail(closedError('The message queue is closed'));
    }
    this.#pending.clear();
    const mqd = this.#mqd;
    this.#mqd = -1;
    finalizer.unregister(this);
    native.mqClose(mqd);
  }

  /** close(), for `using q = mqOpen(…)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * mq_open(3): opens (or with `create`, creates) the queue `name` — '/' followed by up to 255 characters
 * other than '/'. Created queues get mode 0o600 unless `mode` says otherwise. The descriptor is
 * close-on-exec (the kernel's choice) and inherited by fork(). Errors caused by a limit name it: maxMessages
 * above /proc/sys/fs/mqueue/msg_max or messageSize above msgsize_max (EINVAL), too many queues
 * (ENOSPC: queues_max), this user's queues over RLIMIT_MSGQUEUE (EMFILE).
 *
 * @param name '/' followed by up to 255 characters other than '/'
 * @param opts O_CREAT, O_EXCL, O_NONBLOCK, access, mode and the attributes of a created queue; see
 *   {@link MqOpenOptions}
 * @returns the open queue; close() it when done, mqUnlink(name) to remove it
 * @see [mq_open(3)](https://man7.org/linux/man-pages/man3/mq_open.3.html), [mq_overview(7)](https://man7.org/linux/man-pages/man7/mq_overview.7.html)
 * @example
 * ```ts
 * using q = posix.mqOpen('/jobs', { create: true, maxMessages: 10, messageSize: 256 });
 * q.send('urgent', 5);
 * q.receive(); // { data: <Buffer 75 72 ...>, priority: 5 }
 * posix.mqUnlink('/jobs');
 * ```
 */
export function mqOpen(name: string, opts: MqOpenOptions = {}): MessageQueue {
  return MessageQueue.open(name, opts);
}

/**
 * mq_unlink(3): removes the name; descriptors already open keep working, the queue goes with the last one.
 * @param name the queue's name ('/name')
 * @throws Error ENOENT when there is no such queue
 * @see [mq_unlink(3)](https://man7.org/linux/man-pages/man3/mq_unlink.3.html)
 */
export function mqUnlink(name: string): void {
  try {
    native.mqUnlink(name);
  } catch (e) {
    throw amend(e, codeOf(e) === 'ENOENT' ? `there is no queue named '${name}'` : undefined);
  }
}

/**
 * One side of a ping-pong of 1-byte messages run entirely in C (the benchmark's native baseline): receive
 * on `receiveQueue`, send on `sendQueue`, `iterations` times; the initiator sends first. Returns elapsed ns.
 * @param receiveQueue where this side receives
 * @param sendQueue where this side sends
 * @param iterations round trips
 * @param initiator true on the side that sends first
 */
export function mqPingPongBench(receiveQueue: MessageQueue, sendQueue: MessageQueue, iterations: number, initiator: boolean): number {
  return native.mqPingPongBench(receiveQueue.fd, sendQueue.fd, iterations, initiator);
}

// The fd family of the posix layer: pipe2(2), socketpair(2), mkfifo(3), read(2), write(2), close(2),
// dup2(2), fcntl(2) (O_NONBLOCK, FD_CLOEXEC, F_SETPIPE_SZ), poll(2), and fd passing over Unix sockets
// (sendmsg(2)/recvmsg(2) with SCM_RIGHTS, unix(7)).
// Async forms wait for readiness in the addon's reactor (epoll), never in libuv's threadpool.
import { native } from '../binding/addon.js';
import { invalidType, invalidValue, timeout } from './errors.js';

const C = native.fdConstants;


/** Options of {@link pipe}: pipe2(2) flags. */
export interface PipeOptions {
  /** O_NONBLOCK on both ends. */
  nonBlocking?: boolean;
  /** O_DIRECT: "packet mode", each write() is one read(). */
  direct?: boolean;
}

/**
 * pipe2(2) with O_CLOEXEC: `[readFd, writeFd]`. The fds are inherited by fork(), not by exec.
 * @param opts O_NONBLOCK and O_DIRECT as booleans (default: neither)
 * @returns the read end and the write end; close both when done ({@link close})
 * @throws Error EMFILE / ENFILE when the process or the system is out of descriptors
 * @see [pipe(2)](https://man7.org/linux/man-pages/man2/pipe.2.html), [pipe(7)](https://man7.org/linux/man-pages/man7/pipe.7.html)
 * @example
 * ```ts
 * import * as posix from 'multiproc/posix';
 *
 * const [r, w] = posix.pipe();
 * const pid = posix.fork();
 * if (pid === 0) {
 *   posix.close(r);
 *   posix.write(w, 'hello from the child');
 *   posix.exit(0);
 * }
 * posix.close(w);
 * const buf = Buffer.alloc(64);
 * const n = await posix.readAsync(r, buf);  // or posix.read(r, buf): blocks the thread
 * console.log(buf.toString('utf8', 0, n));
 * posix.close(r);
 * posix.waitpid(pid);
 * ```
 */
export function pipe(opts: PipeOptions = {}): [readFd: number, writeFd: number] {
  return native.pipe((opts.nonBlocking ? C.O_NONBLOCK : 0) | (opts.direct ? C.O_DIRECT : 0));
}

/** The socket type of {@link socketpair}: SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET. */
export type SocketType = 'stream' | 'dgram' | 'seqpacket';

/**
 * socketpair(2): AF_UNIX, SOCK_STREAM by default, with SOCK_CLOEXEC. Both ends read and write.
 * @param type 'stream' (default: a byte stream), 'dgram' (datagrams: each write one message; reliable on
 *   AF_UNIX) or 'seqpacket' (messages with their boundaries, over a connection)
 * @param opts `nonBlocking`: SOCK_NONBLOCK on both ends (default false)
 * @returns the two connected ends
 * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown type
 * @see [socketpair(2)](https://man7.org/linux/man-pages/man2/socketpair.2.html), [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
 */
export function socketpair(type: SocketType = 'stream', opts: { nonBlocking?: boolean } = {}): [number, number] {
  const types: Record<string, number | undefined> = { stream: C.SOCK_STREAM, dgram: C.SOCK_DGRAM, seqpacket: C.SOCK_SEQPACKET };
  if (typeof type !== 'string') throw invalidType('type', 'of type string', type);
  const t = Object.hasOwn(types, type) ? types[type] : undefined;
  if (t === undefined) throw invalidValue('type', type, "must be 'stream', 'dgram' or 'seqpacket'");
  return native.socketpair(t, opts.nonBlocking ?? false);
}

/**
 * mkfifo(3): a named pipe at `path`, mode 0o600 unless given. Open it with {@link open}: opening one end
 * blocks until the other end is opened too, unless `nonBlocking`.
 * @param path where to create it
 * @param mode permission bits (default 0o600; the umask applies)
 * @throws Error EEXIST when `path` exists
 * @see [mkfifo(3)](https://man7.org/linux/man-pages/man3/mkfifo.3.html), [fifo(7)](https://man7.org/linux/man-pages/man7/fifo.7.html)
 */
export function mkfifo(path: string, mode = 0o600): void {
  native.mkfifo(path, mode);
}

/** Options of {@link open}. */
export interface OpenOptions {
  /** O_RDONLY ('read', the default), O_WRONLY ('write') or O_RDWR ('readwrite'). */
  access?: 'read' | 'write' | 'readwrite';
  /** O_CREAT: create the file if it does not exist. */
  create?: boolean;
  /** O_EXCL: with `create`, fail (EEXIST) if it exists. */
  exclusive?: boolean;
  /** O_TRUNC: truncate it to 0 bytes. */
  truncate?: boolean;
  /** O_APPEND: every write goes to the end. */
  append?: boolean;
  /** O_NONBLOCK (a FIFO then opens without waiting for the other end, and reads never block). */
  nonBlocking?: boolean;
  /** Permission bits when created (default 0o600). */
  mode?: number;
}

/**
 * open(2) with O_CLOEXEC: an fd for the file at `path`, read-only unless `access` says otherwise.
 * @param path the file (a FIFO, a device, a regular file)
 * @param opts access mode, O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_NONBLOCK and the mode of a created file; see
 *   {@link OpenOptions}
 * @returns the new file descriptor
 * @throws Error ENOENT, EACCES, EEXIST… with `syscall: 'open'`; TypeError ERR_INVALID_ARG_VALUE for an unknown access
 * @see [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
 */
export function open(path: string, opts: OpenOptions = {}): number {
  if (opts === null || typeof opts !== 'object') throw invalidType('opts', 'of type object', opts);
  const access = opts.access ?? 'read';
  const modes = { read: C.O_RDONLY, write: C.O_WRONLY, readwrite: C.O_RDWR };
  if (!Object.hasOwn(modes, access)) throw invalidValue('opts.access', access, "must be 'read', 'write' or 'readwrite'");
  const flags =
    modes[access] |
    (opts.create ? C.O_CREAT : 0) |
    (opts.exclusive ? C.O_EXCL : 0) |
    (opts.truncate ? C.O_TRUNC : 0) |
    (opts.append ? C.O_APPEND : 0) |
    (opts.nonBlocking ? C.O_NONBLOCK : 0);
  return native.open(path, flags, opts.mode ?? 0o600);
}

/**
 * read(2) into `buf[offset, offset + length)`. Returns the byte count, 0 at end of file. Blocks unless O_NONBLOCK.
 * EINTR is retried.
 * @param fd the descriptor to read from
 * @param buf where the bytes go
 * @param offset where in `buf` (default 0)
 * @param length at most this many bytes (default: the rest of `buf` after `offset`)
 * @returns the number of bytes read; 0 at end of file (every write end closed)
 * @throws Error EAGAIN on an empty non-blocking fd; EBADF…; RangeError when offset/length leave `buf`
 * @see [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
 */
export function read(fd: number, buf: Uint8Array, offset?: number, length?: number): number {
  // two arguments take the addon's quick path (what a ping-pong pays per call)
  return offset === undefined && length === undefined ? native.read(fd, buf) : native.read(fd, buf, offset, length);
}

/**
 * write(2) of `data` (a string is written as UTF-8). Returns the byte count (may be short). EINTR is retried.
 * @param fd the descriptor to write to
 * @param data the bytes, or a string (written as UTF-8)
 * @param offset where in `data` to start (default 0)
 * @param length at most this many bytes (default: the rest of `data` after `offset`)
 * @returns the number of bytes written (a pipe or socket may take fewer than asked: see {@link writeAll})
 * @throws Error EAGAIN on a full non-blocking fd; EPIPE when no reader is left (Node ignores SIGPIPE)
 * @see [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
 */
export function write(fd: number, data: Uint8Array | string, offset?: number, length?: number): number {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return offset === undefined && length === undefined ? native.write(fd, buf) : native.write(fd, buf, offset, length);
}

/**
 * Writes all of `data`, waiting (poll) while a non-blocking fd is full: write(2) in a loop, blocking the
 * thread until every byte is written.
 * @param fd the descriptor to write to
 * @param data the bytes, or a string (written as UTF-8)
 * @param offset where in `data` to start (default 0)
 * @param length how many bytes (default: the rest of `data` after `offset`)
 * @returns the number of bytes written (all of them)
 * @throws Error EPIPE when no reader is left
 * @see [write(2)](https://man7.org/linux/man-pages/man2/write.2.html), [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
 */
export function writeAll(fd: number, data: Uint8Array | string, offset?: number, length?: number): number {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return offset === undefined && length === undefined ? native.writeAllSync(fd, buf) : native.writeAllSync(fd, buf, offset, length);
}

function ioAsync(
  op: 'readAsync' | 'writeAsync',
  fd: number,
  buf: Uint8Array,
  offset: number | undefined,
  length: number | undefined,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const attempt = (): void => {
      native[op](fd, buf, offset, length, (err, n) => {
        if (err) reject(err);
        else if (n === -1) attempt(); // spurious readiness: wait again
        else resolve(n);
      });
    };
    attempt();
  });
}

/**
 * read(2) without blocking the thread: resolves when data (or EOF: 0) is there. The fd is waited for in
 * the addon's reactor (epoll): no libuv threadpool thread is held, however many reads are pending.
 * @param fd the descriptor to read from (a pipe, socket, FIFO or tty; a regular file reads at once)
 * @param buf where the bytes go (referenced until the promise settles)
 * @param offset where in `buf` (default 0)
 * @param length at most this many bytes (default: the rest of `buf` after `offset`)
 * @returns a promise of the byte count (0 at end of file)
 * @see [read(2)](https://man7.org/linux/man-pages/man2/read.2.html), [epoll(7)](https://man7.org/linux/man-pages/man7/epoll.7.html)
 */
export function readAsync(fd: number, buf: Uint8Array, offset?: number, length?: number): Promise<number> {
  return ioAsync('readAsync', fd, buf, offset, length);
}

/**
 * write(2) without blocking the thread: resolves with the byte count once the fd accepted some (it may be
 * fewer than asked: call again for the rest).
 * @param fd the descriptor to write to
 * @param data the bytes, or a string (written as UTF-8)
 * @param offset where in `data` to start (default 0)
 * @param length at most this many bytes (default: the rest of `data` after `offset`)
 * @returns a promise of the number of bytes written
 * @see [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
 */
export function writeAsync(fd: number, data: Uint8Array | string, offset?: number, length?: number): Promise<number> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return ioAsync('writeAsync', fd, buf, offset, length);
}

/**
 * close(2). Never retried on EINTR (Linux has released the fd already).
 * @param fd the descriptor to close
 * @throws Error EBADF when `fd` is not open
 * @see [close(2)](https://man7.org/linux/man-pages/man2/close.2.html)
 */
export function close(fd: number): void {
  native.close(fd);
}

/**
 * dup2(2): makes `to` a copy of `from` (without O_CLOEXEC, as in C), closing what `to` was first.
 * @param from the descriptor to copy
 * @param to the number it gets as well (e.g. 1 to redirect stdout)
 * @see [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
 */
export function dup2(from: number, to: number): void {
  native.dup2(from, to);
}

/**
 * fcntl(F_DUPFD_CLOEXEC): a new fd (the lowest free number, close-on-exec) for the same open file.
 * @param fd the descriptor to duplicate
 * @returns the new descriptor
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html), [dup(2)](https://man7.org/linux/man-pages/man2/dup.2.html)
 */
export function dup(fd: number): number {
  return native.dup(fd);
}

/**
 * fcntl(F_SETFL, O_NONBLOCK). Note: the flag belongs to the open file, shared with every process holding it.
 * @param fd the descriptor
 * @param on true (the default) sets O_NONBLOCK, false clears it
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
 */
export function setNonBlocking(fd: number, on = true): void {
  native.setNonBlocking(fd, on);
}

/**
 * fcntl(F_SETFD, FD_CLOEXEC): whether `fd` is closed in a program started by exec (posix_spawn). Every fd
 * this library opens starts close-on-exec.
 * @param fd the descriptor
 * @param on true (the default) sets FD_CLOEXEC, false clears it (the fd is then inherited across exec)
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
 */
export function setCloexec(fd: number, on = true): void {
  native.setCloexec(fd, on);
}

/**
 * fcntl(F_GETFL/F_GETFD): the flags of `fd`.
 * @param fd the descriptor
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
 */
export function fdFlags(fd: number): {
  /** O_NONBLOCK is set (on the open file, shared with every duplicate). */
  nonBlocking: boolean;
  /** FD_CLOEXEC is set (on this descriptor only). */
  cloexec: boolean;
  /** flags & O_ACCMODE: O_RDONLY (0), O_WRONLY (1) or O_RDWR (2). */
  accessMode: number;
} {
  return native.getFlags(fd);
}

/**
 * fcntl(F_SETPIPE_SZ): returns the capacity the kernel gave (rounded up to pages).
 * @param fd either end of a pipe
 * @param size the capacity wanted, in bytes (unprivileged: at most /proc/sys/fs/pipe-max-size)
 * @returns the capacity set
 * @throws Error EPERM above pipe-max-size, EBUSY below the bytes in the pipe now
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html), [pipe(7)](https://man7.org/linux/man-pages/man7/pipe.7.html)
 */
export function setPipeSize(fd: number, size: number): number {
  return native.setPipeSize(fd, size);
}

/**
 * fcntl(F_GETPIPE_SZ): the capacity of a pipe in bytes (65536 by default on Linux).
 * @param fd either end of a pipe
 * @see [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
 */
export function getPipeSize(fd: number): number {
  return native.getPipeSize(fd);
}

/**
 * poll(2) on one fd: the returned events ({ readable, writable, hup, error }), all false on timeout. Blocks.
 * `timeoutMs`: as in C, -1 (the default) waits for ever; so do Infinity and null (lib/posix/errors.ts).
 * @param fd the descriptor to watch
 * @param events which readiness to wait for: POLLIN (`readable`), POLLOUT (`writable`); hang-up and errors
 *   are always reported
 * @param timeoutMs milliseconds (fractions round up); 0 checks without waiting; -1, Infinity or null: no limit
 * @returns what fired; all false on timeout
 * @throws Error EINTR when a signal handler interrupted the wait (not retried: recompute the time left)
 * @see [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
 */
export function poll(
  fd: number,
  events: { readable?: boolean; writable?: boolean },
  timeoutMs: number | null = -1,
): {
  /** POLLIN: a read will not block (data, or end of file). */
  readable: boolean;
  /** POLLOUT: a write will not block. */
  writable: boolean;
  /** POLLHUP: the other end hung up (a pipe's last writer closed). */
  hup: boolean;
  /** POLLERR or POLLNVAL: an error on the fd, or `fd` is not open. */
  error: boolean;
} {
  const ms = timeoutMs === -1 ? Infinity : timeout('timeoutMs', timeoutMs);
  if (events === null || typeof events !== 'object') throw invalidType('events', 'of type object', events);
  const want = (events.readable ? C.POLLIN : 0) | (events.writable ? C.POLLOUT : 0);
  const r = native.poll(fd, want, ms === Infinity ? -1 : Math.ceil(ms));
  return {
    readable: (r & C.POLLIN) !== 0,
    writable: (r & C.POLLOUT) !== 0,
    hup: (r & C.POLLHUP) !== 0,
    error: (r & (C.POLLERR | C.POLLNVAL)) !== 0,
  };
}

/**
 * {@link poll} without blocking the thread: resolves once `fd` is readable (or, with `{ writable: true }` and
 * not `readable`, writable), with the events that fired, from the addon's reactor (epoll; no threadpool
 * thread). Nothing is read or written. Aborting via `signal` rejects with its reason and drops the watch.
 * @param fd the descriptor to watch (a pipe, socket, pidfd, eventfd…)
 * @param events `readable` (the default when neither is set) or `writable`
 * @param opts `signal`: an AbortSignal that drops the watch
 * @returns a promise of the events that fired, as {@link poll} returns them
 * @see [epoll(7)](https://man7.org/linux/man-pages/man7/epoll.7.html)
 */
export function pollAsync(fd: number, events: { readable?: boolean; writable?: boolean }, opts: { signal?: AbortSignal } = {}): Promise<ReturnType<typeof poll>> {
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let onAbort: (() => void) | undefined;
    let id: number;
    try {
      id = native.waitReady(fd, !events.readable && !!events.writable, (_err, r) => {
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        resolve({
          readable: (r & C.POLLIN) !== 0,
          writable: (r & C.POLLOUT) !== 0,
          hup: (r & C.POLLHUP) !== 0,
          error: (r & (C.POLLERR | C.POLLNVAL)) !== 0,
        });
      });
    } catch (e) {
      reject(e);
      return;
    }
    if (signal) {
      onAbort = () => {
        native.cancelWait(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// The raw async forms, for hot paths (a message layer that keeps one wait armed per fd): callbacks instead of
// promises, and an id that cancelWait drops. They wait in the addon's reactor (epoll) like the forms above.

/**
 * The raw form of {@link readAsync}: read(2) once `fd` is readable, then `cb(err, n)` — n is the byte count (0
 * at EOF), or -1 when the readiness was spurious (call again). Returns a wait id for {@link cancelWait}, or 0
 * when the read was done at once (the callback has already run). `buf` is referenced until the callback.
 */
export const readAsyncRaw: (fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: (err: Error | null, n: number) => void) => number =
  native.readAsync;

/** The raw form of {@link writeAsync}: as {@link readAsyncRaw}, for write(2) once `fd` is writable. */
export const writeAsyncRaw: (fd: number, buf: Uint8Array, offset: number | undefined, length: number | undefined, cb: (err: Error | null, n: number) => void) => number =
  native.writeAsync;

/**
 * The raw form of {@link pollAsync}: `cb(null, events)` once `fd` is readable (or, with `writable`, writable),
 * with the poll(2) bits that fired (POLLIN, POLLOUT, POLLHUP, POLLERR); nothing is read or written. Returns a
 * wait id for {@link cancelWait}.
 */
export const pollAsyncRaw: (fd: number, writable: boolean, cb: (err: null, events: number) => void) => number = native.waitReady;

/**
 * Cancels a pending raw async wait by its id (readAsyncRaw, writeAsyncRaw, pollAsyncRaw; futexWaitAsyncRaw as
 * futexCancel does): true if it was still pending. A cancelled fd wait never calls back.
 */
export function cancelWait(id: number): boolean {
  return native.cancelWait(id);
}

// ---------------------------------------------------------------------------------------------------------
// Passing file descriptors over a Unix socket (SCM_RIGHTS)

/** What {@link recvFds} returns: the fds that arrived (new numbers in this process) and the bytes with them. */
export interface ReceivedFds {
  /** The received descriptors, each close-on-exec (MSG_CMSG_CLOEXEC). The caller owns and closes them. */
  fds: number[];
  /** The payload sent with them. Empty (and no fds) at end of stream. */
  data: Uint8Array;
}

/** The most fds one message may carry (SCM_MAX_FD, 253 on Linux). */
export const SCM_MAX_FD: number = C.SCM_MAX_FD ?? 253;

/**
 * sendmsg(2) with SCM_RIGHTS (unix(7), cmsg(3)): sends duplicates of `fds` (up to SCM_MAX_FD = 253) over the
 * AF_UNIX socket `sock`, with `data` (a string is sent as UTF-8). The receiver gets new descriptors for the
 * same open files; the sender's stay open. A stream socket carries fds only alongside payload, so without
 * `data` a single zero byte is sent (and received). MSG_NOSIGNAL: a closed peer is an EPIPE error. Returns
 * the bytes sent.
 * @param sock an AF_UNIX socket (from {@link socketpair} or {@link unixConnect})
 * @param fds the descriptors to send (0 ..= SCM_MAX_FD of them)
 * @param data the payload (default: one zero byte)
 * @returns the number of payload bytes sent
 * @see [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html), [sendmsg(2)](https://man7.org/linux/man-pages/man2/sendmsg.2.html), [cmsg(3)](https://man7.org/linux/man-pages/man3/cmsg.3.html)
 * @example
 * ```ts
 * const [a, b] = posix.socketpair();
 * const [r, w] = posix.pipe();
 * posix.sendFds(a, [r], 'the read end');
 * const { fds, data } = posix.recvFds(b); // fds[0]: a new descriptor for the same pipe
 * ```
 */
export function sendFds(sock: number, fds: number[], data?: Uint8Array | string): number {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return native.sendFds(sock, fds, buf);
}

/**
 * recvmsg(2) with MSG_CMSG_CLOEXEC: receives one message from `sock` — up to `maxFds` descriptors (1..253)
 * and up to `maxBytes` of payload. Blocks unless the socket is non-blocking. If more fds arrived than
 * `maxFds` (MSG_CTRUNC: the kernel dropped the rest), or a datagram/seqpacket message was longer than
 * `maxBytes` (MSG_TRUNC), it throws an Error with code 'ERR_MULTIPROC_TRUNCATED' after closing the fds that
 * did arrive: nothing leaks. On a stream socket a receive may return fewer bytes than were sent with the fds.
 * @param sock an AF_UNIX socket
 * @param maxFds the most descriptors to accept (1 ..= 253, default 16)
 * @param maxBytes the most payload bytes to accept (default 4096)
 * @returns the descriptors that arrived (yours to close) and the payload; both empty at end of stream
 * @see [recvmsg(2)](https://man7.org/linux/man-pages/man2/recvmsg.2.html), [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
 */
export function recvFds(sock: number, maxFds = 16, maxBytes = 4096): ReceivedFds {
  return native.recvFds(sock, maxFds, maxBytes);
}

/**
 * {@link recvFds} without blocking the thread: tries at once (MSG_DONTWAIT), else waits for readability in
 * the addon's reactor (no threadpool thread). Aborting via `signal` rejects with its reason and receives
 * nothing.
 * @param sock an AF_UNIX socket
 * @param maxFds the most descriptors to accept (1 ..= 253, default 16)
 * @param maxBytes the most payload bytes to accept (default 4096)
 * @param opts `signal`: an AbortSignal that stops the wait
 * @returns a promise of what {@link recvFds} returns
 */
export function recvFdsAsync(sock: number, maxFds = 16, maxBytes = 4096, opts: { signal?: AbortSignal } = {}): Promise<ReceivedFds> {
  const signal = opts.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<ReceivedFds>((resolve, reject) => {
    let id = 0;
    const onAbort = (): void => {
      if (id !== 0) native.cancelWait(id);
      reject(signal!.reason);
    };
    const attempt = (): void => {
      id = 0;
      try {
        const got = native.recvFdsAsync(sock, maxFds, maxBytes, (err, result) => {
          if (err) {
            signal?.removeEventListener('abort', onAbort);
            reject(err);
          } else if (result === undefined) {
            attempt(); // another reader took the message first: wait again
          } else {
            signal?.removeEventListener('abort', onAbort);
            resolve(result);
          }
        });
        if (got !== 0) id = got;
      } catch (e) {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt();
  });
}

/**
 * One side of a 1-byte ping-pong run entirely in C with blocking read(2)/write(2) — the native baseline of
 * the pipe and socketpair benchmarks (lib/tools/bench/pipe.ts). The initiator writes first; the other side answers
 * every byte. Returns the elapsed nanoseconds. Throws ERR_MULTIPROC_EOF if the other side closes early.
 * @param readFd where this side reads the other's bytes
 * @param writeFd where this side writes its bytes
 * @param iterations round trips (0 ..= 2^40)
 * @param initiator true on the side that writes first
 */
export function pingPongBench(readFd: number, writeFd: number, iterations: number, initiator: boolean): number {
  return native.pingPongBench(readFd, writeFd, iterations, initiator);
}

/**
 * socket(2) + connect(2): a blocking AF_UNIX stream socket (close-on-exec) connected to the listening socket at
 * `path` (unix(7); at most 107 bytes). Blocking reads and writes on it need no event loop, which is what a
 * synchronous client (the Manager's ...Sync calls) uses.
 * @param path the socket's path
 * @returns the connected socket's descriptor
 * @throws Error ENOENT (no such socket), ECONNREFUSED (nobody listens); RangeError for a path over 107 bytes
 * @see [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html), [connect(2)](https://man7.org/linux/man-pages/man2/connect.2.html)
 */
export function unixConnect(path: string): number {
  return native.unixConnect(path);
}

// Pipe and Connection: Python's multiprocessing.connection with Node's conventions (recv() is a Promise,
// recvSync() blocks). A message is one frame on a pipe or a Unix stream socket:
//
//   [kind: u8][length: u32 little-endian][body: length bytes]
//
// Numbers, strings, booleans, null, undefined and bigints have compact encodings of their own (a structured
// clone of a small value costs microseconds); everything else is structured-cloned with v8.serialize (Maps,
// Dates, typed arrays, errors; never code). A frame longer than the connection's limit (default 256 MiB) is
// refused before anything is allocated. Timeouts wait for the first byte and then read whole frames, so a
// timeout never cuts a message in half.
import v8 from 'node:v8';
import * as posix from '../posix/index.js';
import { decode, encode, Kind, LAST_KIND } from './core/codec.js';
import { closedError, EOFError, TimeoutError } from './core/errors.js';
import { registerShareable } from './core/reduction.js';
import { markNotSendable } from './core/sendable.js';
import { allocation, coded, integer, invalidType, options, type ParsedWait, timeout as checkTimeout, waitOptions } from '../posix/errors.js';

const HEADER = 5;
/** Bytes one read(2) asks for when the rest of a frame is smaller than this. */
const READ_BUFFER = 65536;

/** Default largest message a Connection sends or accepts: 256 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 2 ** 20;
const MAX_FRAME = 2 ** 32 - 1;

/** The errors of a Connection (lib/mp/core/errors.ts; exported here too, where they always were). */
export { EOFError, TimeoutError };

// Posix objects that live in shared memory or own kernel objects travel by inheritance, never inside a message.
for (const cls of [posix.Mapping, posix.Semaphore, posix.Mutex, posix.Cond, posix.Barrier, posix.MessageQueue]) markNotSendable(cls);

/** A timeout in ms (undefined, null or Infinity: none), or { timeout, signal }. */
type Wait = number | null | { timeout?: number | null; signal?: AbortSignal } | undefined;

/** maxMessageBytes: 1 .. 2^32 - 1 (the frame's length field), and no more than the machine can back. */
function checkMaxMessage(max: unknown): number {
  if (max === undefined) return DEFAULT_MAX_MESSAGE_BYTES;
  const n = integer('options.maxMessageBytes', max, 1, MAX_FRAME);
  allocation('options.maxMessageBytes', n, 'a message limit');
  return n;
}

/** Options of `new Connection(fd, options)`. */
export interface ConnectionOptions {
  /** Whether this end receives (default true; false for a pipe's write end). */
  readable?: boolean;
  /** Whether this end sends (default true; false for a pipe's read end). */
  writable?: boolean;
  /** The largest message sent or accepted (default 256 MiB). */
  maxMessageBytes?: number;
}

/** One end of a Pipe. Sending blocks until the message is written (as in Python); receiving is async or Sync. */
export class Connection {
  readonly #fd: number;
  readonly #readable: boolean;
  readonly #writable: boolean;
  readonly #max: number;
  #closed = false;
  #broken: Error | undefined; // a frame this end could not read: the stream lost its framing
  #reading: Promise<unknown> = Promise.resolve();
  readonly #waits = new Map<number, (e: Error) => void>();

  /** Wraps an fd this Connection now owns (closes it on close()). */
  constructor(fd: number, opts: ConnectionOptions = {}) {
    integer('fd', fd, 0, 2 ** 31 - 1);
    opts = options('options', opts);
    const max = checkMaxMessage(opts.maxMessageBytes);
    this.#fd = fd;
    this.#readable = opts.readable ?? true;
    this.#writable = opts.writable ?? true;
    this.#max = max;
  }

  /** Whether close() has been called (every call after it throws ERR_MULTIPROC_CLOSED). */
  get closed(): boolean {
    return this.#closed;
  }
  /** The largest message this end sends or accepts. */
  get maxMessageBytes(): number {
    return this.#max;
  }
  /** Whether this end receives (recv, recvBytes, poll). */
  get readable(): boolean {
    return this.#readable;
  }
  /** Whether this end sends (send, sendBytes). */
  get writable(): boolean {
    return this.#writable;
  }
  /** The fd (Python's fileno()). */
  fileno(): number {
    this.#check();
    return this.#fd;
  }

  #check(): void {
    if (this.#closed) throw closedError('The connection is closed');
  }

  // ---- sending ----

  /** Sends a value (compact for primitives, structured clone otherwise). Blocks until it is written. */
  send(obj: unknown): void {
    const [kind, body] = encode(obj);
    this.#write(kind, body);
  }

  /** Sends bytes as they are (recvBytes on the other end). */
  sendBytes(buf: Uint8Array, offset = 0, size?: number): void {
    if (!(buf instanceof Uint8Array)) throw invalidType('buf', 'an instance of Uint8Array', buf);
    if (offset === 0 && size === undefined) return this.#write(Kind.Bytes, buf); // the common call: no view
    integer('offset', offset, 0, buf.length);
    const n = size === undefined ? buf.length - offset : integer('size', size, 0, buf.length - offset);
    this.#write(Kind.Bytes, buf.subarray(offset, offset + n));
  }

  // A small frame is assembled in this end's own buffer (grown to the largest small frame sent, at most
  // 64 KiB + header) and written with one write(2): no allocation per message.
  #wbuf = Buffer.allocUnsafe(0);

  #write(kind: Kind, body: Uint8Array): void {
    this.#check();
    if (!this.#writable) throw coded(new Error('This end of the pipe is read-only'), 'ERR_MULTIPROC_NOT_WRITABLE');
    if (body.length > this.#max) {
      throw coded(
        new RangeError(`A message of ${body.length} bytes exceeds this connection's limit of ${this.#max} bytes (maxMessageBytes)`),
        'ERR_MULTIPROC_MESSAGE_TOO_LARGE',
      );
    }
    if (body.length <= 65536) {
      const size = HEADER + body.length;
      if (this.#wbuf.length < size) this.#wbuf = Buffer.allocUnsafe(Math.max(256, 2 ** Math.ceil(Math.log2(size))));
      const frame = this.#wbuf;
      const n = body.length;
      frame[0] = kind;
      frame[1] = n & 0xff;
      frame[2] = (n >>> 8) & 0xff;
      frame[3] = (n >>> 16) & 0xff;
      frame[4] = n >>> 24;
      if (n <= 16) for (let i = 0; i < n; i++) frame[HEADER + i] = body[i]!;
      else frame.set(body, HEADER);
      posix.writeAll(this.#fd, frame, 0, size);
    } else {
      const header = Buffer.allocUnsafe(HEADER);
      header[0] = kind;
      header.writeUInt32LE(body.length, 1);
      posix.writeAll(this.#fd, header);
      posix.writeAll(this.#fd, body);
    }
  }

  // ---- receiving ----

  /** The next message. `t`: a timeout in ms or { timeout, signal }; on timeout a TimeoutError. */
  recv(t?: Wait): Promise<unknown> {
    return this.#recvAsync(t, decode);
  }

  /** The next message, which must have been sent with sendBytes. */
  recvBytes(t?: Wait): Promise<Uint8Array> {
    return this.#recvAsync(t, bytesOf);
  }

  /** The next frame, in turn with the other receives, as `convert` makes it; bad options reject. */
  #recvAsync<T>(t: Wait | undefined, convert: (kind: Kind, body: Buffer) => T): Promise<T> {
    let w: ParsedWait;
    try {
      w = waitOptions(t);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#serial(async () => {
      const [kind, body] = await this.#frameAsync(w);
      return convert(kind, body);
    });
  }

  /** recv, blocking the thread (timeout in ms; undefined, null or Infinity: none). */
  recvSync(timeout?: number | null): unknown {
    const [kind, body] = this.#frameSync(checkTimeout('timeout', timeout));
    return decode(kind, body);
  }

  /** recvBytes, blocking the thread. */
  recvBytesSync(timeout?: number | null): Uint8Array {
    const [kind, body] = this.#frameSync(timeout === undefined ? Infinity : checkTimeout('timeout', timeout));
    return bytesOf(kind, body);
  }

  /** Whether a message (or end-of-file) can be read; waits up to `t` ms (default 0; null or Infinity: for ever). */
  async poll(t?: Wait): Promise<boolean> {
    const { timeout, signal } = waitOptions(t, 0);
    this.#check();
    if (this.#ready(0)) return true;
    if (timeout === 0) return false;
    return this.#waitReadable(timeout, signal);
  }

  /** poll, blocking the thread (timeout in ms, default 0; null or Infinity waits for ever). */
  pollSync(timeout: number | null = 0): boolean {
    return this.#ready(checkTimeout('timeout', timeout, 0));
  }

  #ready(ms: number): boolean {
    this.#check();
    if (this.#buffered() > 0) return true;
    const r = posix.poll(this.#fd, { readable: true }, ms === Infinity ? -1 : Math.ceil(ms));
    return r.readable || r.hup;
  }

  /** Closes this end (idempotent). Receives still waiting reject with ERR_MULTIPROC_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, reject] of this.#waits) {
      posix.cancelWait(id);
      reject(closedError('The connection was closed while a receive was waiting'));
    }
    this.#waits.clear();
    posix.close(this.#fd);
  }

  /** `using conn = …`: closes the end at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#reading.then(op, op); // one frame at a time, in call order
    this.#reading = run.catch(() => undefined);
    return run;
  }

  #waitReadable(timeout: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.#waits.delete(id);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        posix.cancelWait(id);
        done();
        reject(signal!.reason);
      };
      const id = posix.pollAsyncRaw(this.#fd, false, () => {
        done();
        resolve(true);
      });
      this.#waits.set(id, (e) => {
        done();
        reject(e);
      });
      if (timeout !== Infinity) {
        timer = setTimeout(() => {
          posix.cancelWait(id);
          done();
          resolve(false);
        }, timeout);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #frameAsync({ timeout, signal }: ParsedWait): Promise<[Kind, Buffer]> {
    this.#checkReadable();
    if (timeout !== Infinity || signal) {
      const ready = this.#ready(0) || (await this.#waitReadable(timeout, signal));
      if (!ready) throw new TimeoutError(`no message within ${timeout} ms`);
    }
    const whole = this.#bufferedFrame();
    if (whole) return whole;
    const header = await this.#readExactAsync(HEADER, true);
    const [kind, length] = this.#header(header);
    return [kind, await this.#readExactAsync(length, false)];
  }

  #frameSync(timeout: number): [Kind, Buffer] {
    this.#checkReadable();
    if (timeout !== Infinity && !this.#ready(timeout)) throw new TimeoutError(`no message within ${timeout} ms`);
    // The common case: the whole frame is buffered, or comes with one read(2) into the empty buffer.
    const whole = this.#buffered() === 0 ? (this.#fillSync(), this.#bufferedFrame()) : this.#bufferedFrame();
    if (whole) return whole;
    const header = this.#readExactSync(HEADER, true);
    const [kind, length] = this.#header(header);
    return [kind, this.#readExactSync(length, false)];
  }

  #checkReadable(): void {
    this.#check();
    if (!this.#readable) throw coded(new Error('This end of the pipe is write-only'), 'ERR_MULTIPROC_NOT_READABLE');
    if (this.#broken) throw this.#broken;
  }

  /** The next frame, if all of it is in the read buffer (taken out of it); else undefined and nothing taken. */
  #bufferedFrame(): [Kind, Buffer] | undefined {
    const avail = this.#buffered();
    if (avail < HEADER) return undefined;
    const p = this.#rpos;
    const [kind, length] = this.#header(this.#rbuf, p);
    if (avail < HEADER + length) return undefined;
    const rbuf = this.#rbuf;
    let body: Buffer | Uint8Array;
    if (length <= 16) {
      // small: copied by hand; the bytes of sendBytes into a plain (on-heap) Uint8Array, which is what
      // recvBytes returns anyway
      body = kind === Kind.Bytes ? new Uint8Array(length) : Buffer.allocUnsafe(length);
      for (let i = 0, from = p + HEADER; i < length; i++) body[i] = rbuf[from + i]!;
    } else {
      body = Buffer.allocUnsafe(length);
      rbuf.copy(body, 0, p + HEADER, p + HEADER + length);
    }
    this.#rpos = p + HEADER + length;
    return [kind, body as Buffer]; // a Uint8Array only for Kind.Bytes, which bytesOf takes as it is
  }

  /** One read(2) into the (empty) read buffer; true once bytes arrived. EOF here is a clean end. */
  #fillSync(): boolean {
    if (this.#rbuf.length === 0) this.#rbuf = Buffer.allocUnsafe(READ_BUFFER);
    for (;;) {
      let k: number;
      try {
        k = posix.read(this.#fd, this.#rbuf); // all of it (READ_BUFFER): the addon's two-argument quick path
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          posix.poll(this.#fd, { readable: true }, -1);
          continue;
        }
        throw e;
      }
      if (k === 0) throw this.#eof(true);
      this.#rpos = 0;
      this.#rend = k;
      return true;
    }
  }

  #header(h: Buffer, at = 0): [Kind, number] {
    const kind = h[at]!;
    const length = (h[at + 1]! | (h[at + 2]! << 8) | (h[at + 3]! << 16)) + h[at + 4]! * 0x1000000;
    if (kind > LAST_KIND) {
      this.#broken = coded(new Error(`Malformed message: unknown kind ${kind} (this is not a multiproc Connection stream)`), 'ERR_MULTIPROC_BAD_FRAME');
      throw this.#broken;
    }
    if (length > this.#max) {
      this.#broken = coded(
        new RangeError(`A message of ${length} bytes exceeds this connection's limit of ${this.#max} bytes (maxMessageBytes); the connection cannot be read any further`),
        'ERR_MULTIPROC_MESSAGE_TOO_LARGE',
      );
      throw this.#broken;
    }
    return [kind as Kind, length];
  }

  // Reads go through a small buffer: one read(2) usually brings a whole small frame (header and body), where
  // exact reads would need two. Bytes already read belong to the process that read them: a forked child
  // starts with an empty buffer (what its parent had read is the parent's), so a Connection handed over to a
  // child never delivers a message twice.
  #rbuf = Buffer.allocUnsafe(0);
  #rpos = 0;
  #rend = 0;
  #rpid = 0;

  #buffered(): number {
    if (this.#rpid !== process.pid) {
      this.#rpid = process.pid;
      this.#rpos = this.#rend = 0;
    }
    return this.#rend - this.#rpos;
  }

  /** Takes up to n buffered bytes into dst at off; returns how many. */
  #takeBuffered(dst: Buffer, off: number, n: number): number {
    const k = Math.min(n, this.#buffered());
    if (k > 0) {
      this.#rbuf.copy(dst, off, this.#rpos, this.#rpos + k);
      this.#rpos += k;
    }
    return k;
  }

  /** Where the next read goes: the buffer (for small remainders) or straight into dst. */
  #readTarget(dst: Buffer, got: number, n: number): [Buffer, number, number] {
    if (n - got >= READ_BUFFER) return [dst, got, n - got];
    if (this.#rbuf.length === 0) this.#rbuf = Buffer.allocUnsafe(READ_BUFFER);
    this.#rpos = this.#rend = 0;
    return [this.#rbuf, 0, READ_BUFFER];
  }

  #afterRead(into: Buffer, dst: Buffer, got: number, n: number, k: number): number {
    if (into === dst) return got + k;
    this.#rend = k;
    return got + this.#takeBuffered(dst, got, n - got);
  }

  async #readExactAsync(n: number, frameStart: boolean): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(n);
    let got = this.#takeBuffered(buf, 0, n);
    while (got < n) {
      const [into, off, len] = this.#readTarget(buf, got, n);
      const k = await posix.readAsync(this.#fd, into, off, len);
      if (k === 0) throw this.#eof(frameStart && got === 0);
      got = this.#afterRead(into, buf, got, n, k);
    }
    return buf;
  }

  #readExactSync(n: number, frameStart: boolean): Buffer {
    const buf = Buffer.allocUnsafe(n);
    let got = this.#takeBuffered(buf, 0, n);
    while (got < n) {
      const [into, off, len] = this.#readTarget(buf, got, n);
      let k: number;
      try {
        k = posix.read(this.#fd, into, off, len);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          posix.poll(this.#fd, { readable: true }, -1);
          continue;
        }
        throw e;
      }
      if (k === 0) throw this.#eof(frameStart && got === 0);
      got = this.#afterRead(into, buf, got, n, k);
    }
    return buf;
  }

  #eof(atFrameStart: boolean): Error {
    if (atFrameStart) return new EOFError();
    this.#broken = coded(new Error('The other end closed in the middle of a message (truncated frame)'), 'ERR_MULTIPROC_EOF');
    return this.#broken;
  }
}

function bytesOf(kind: Kind, body: Buffer): Uint8Array {
  if (kind !== Kind.Bytes) {
    throw coded(new TypeError('recvBytes: this message was sent with send(), not sendBytes(); use recv()'), 'ERR_MULTIPROC_BAD_FRAME');
  }
  return body instanceof Buffer ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : body;
}

/**
 * A pair of connected Connections. Duplex (default): a Unix stream socketpair, both ends send and receive.
 * Otherwise a pipe: [reader, writer]. Both fds are close-on-exec and inherited by fork.
 * @param duplex both ends send and receive (default true), or a one-way pipe.
 * @param opts `maxMessageBytes`: the largest message either end sends or accepts (default 256 MiB).
 * @returns the two ends: [a, b] (duplex) or [reader, writer].
 * @throws TypeError when `duplex` is not a boolean; RangeError for a bad `maxMessageBytes`.
 * @example
 * const [a, b] = Pipe();
 * a.send({ hello: 'world' });
 * console.log(b.recvSync()); // { hello: 'world' }
 */
export function Pipe(duplex = true, opts: { maxMessageBytes?: number } = {}): [Connection, Connection] {
  if (typeof duplex !== 'boolean') throw invalidType('duplex', 'of type boolean', duplex);
  opts = options('options', opts);
  checkMaxMessage(opts.maxMessageBytes);
  if (duplex) {
    const [a, b] = posix.socketpair('stream');
    return [new Connection(a, opts), new Connection(b, opts)];
  }
  const [r, w] = posix.pipe();
  return [new Connection(r, { ...opts, writable: false }), new Connection(w, { ...opts, readable: false })];
}

// A Connection in a spawned child's Process args arrives as its fd (passed at start), with the same options.
registerShareable(
  Connection,
  'Connection',
  (c: Connection) => ({ fds: [c.fileno()], data: { readable: c.readable, writable: c.writable, maxMessageBytes: c.maxMessageBytes } }),
  (fds: number[], opts: ConnectionOptions) => new Connection(fds[0]!, opts),
  import.meta.url,
);

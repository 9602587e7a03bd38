// The Manager's client side of the wire: this process's connections to one manager (address + authkey), with
// the requests waiting on them. Proxies (lib/mp/manager/proxies.ts) and the Manager (manager.ts) send every
// request through clientFor(...).call / .callSync.
//
// Connections belong to one process: each process opens its own (lazily, on first use) and never uses one it
// inherited — a forked child's proxies connect afresh, and the child closes its copies of the parent's
// synchronous sockets at once. Async calls go over a net.Socket (many requests in flight, matched by id);
// …Sync calls go over a second, blocking socket (posix.unixConnect) with one request at a time, so the thread
// sleeps in read(2) until the reply — no event loop, no spinning.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  authError,
  clientAnswer,
  clientCheckWelcome,
  coded,
  decode,
  encode,
  type ErrorRecord,
  FrameDecoder,
  HANDSHAKE_MAX,
  readFrameSync,
  type Reply,
  writeFrameSync,
} from './wire.js';
import * as posix from '../../posix/index.js';
import { closedError } from '../core/errors.js';
import { errorFromRecord } from '../core/remote-error.js';

/** An ERR_MULTIPROC_CLOSED error: the manager (or this process's connection to it) is gone. */
/** A server's error, rebuilt (lib/mp/core/remote-error.ts): the caller's stack, then the server's. */
function rebuildError(r: ErrorRecord): unknown {
  return errorFromRecord(r, { where: 'the Manager server', localStack: true });
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** One async connection and the requests waiting for a reply on it. */
interface AsyncConn {
  sock: net.Socket;
  pending: Map<number, Pending>;
  dead: boolean;
  /** Authenticated: requests may go. */
  ready: boolean;
}

function failAll(conn: AsyncConn, e: unknown): void {
  const all = [...conn.pending.values()];
  conn.pending.clear();
  for (const p of all) p.reject(e);
}

/** This process's connections to one manager (address + key). */
export class Client {
  readonly pid = process.pid;
  /** Every connection of this process carries it: the server knows them as one lock owner. */
  readonly session = processSession;
  #ready: Promise<AsyncConn> | null = null;
  #current: AsyncConn | null = null;
  #nextId = 1;
  #syncFd = -1;

  constructor(
    readonly address: string,
    readonly key: Buffer,
    readonly limit: number,
  ) {}

  // ---- async: a net.Socket, requests matched to replies by id ----

  #connect(): Promise<AsyncConn> {
    if (this.#ready) return this.#ready;
    const ready = new Promise<AsyncConn>((resolve, reject) => {
      const sock = net.connect(this.address);
      const conn: AsyncConn = { sock, pending: new Map(), dead: false, ready: false };
      this.#current = conn;
      const decoder = new FrameDecoder(HANDSHAKE_MAX);
      let state: 'challenge' | 'verdict' | 'ready' = 'challenge';
      let nonce: Buffer;
      let settled = false;
      const fail = (e: unknown): void => {
        conn.dead = true;
        if (this.#ready === ready) this.#ready = null;
        if (this.#current === conn) this.#current = null;
        if (!settled) {
          settled = true;
          reject(e);
        }
        failAll(conn, e);
        sock.destroy();
      };
      sock.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = decoder.push(chunk);
        } catch (e) {
          return fail(e);
        }
        for (const f of frames) {
          if (conn.dead) return;
          try {
            if (state === 'challenge') {
              const a = clientAnswer(this.key, f, this.session);
              nonce = a.nonce;
              sock.write(a.frame);
              state = 'verdict';
            } else if (state === 'verdict') {
              clientCheckWelcome(this.key, nonce!, f);
              state = 'ready';
              decoder.limit = this.limit;
              settled = true;
              conn.ready = true;
              if (conn.pending.size === 0) sock.unref();
              resolve(conn);
            } else {
              const [id, ok, value] = decode(f) as Reply;
              // id 0 is fatal: the server refuses this connection (an oversized or malformed frame) and closes it
              if (id === 0) return fail(rebuildError(value as ErrorRecord));
              const p = conn.pending.get(id);
              if (!p) continue;
              conn.pending.delete(id);
              if (conn.pending.size === 0) sock.unref();
              if (ok) p.resolve(value);
              else p.reject(rebuildError(value as ErrorRecord));
            }
          } catch (e) {
            return fail(e);
          }
        }
      });
      sock.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ?? '';
        if (state === 'challenge' && ['ENOENT', 'ECONNREFUSED'].includes(code)) {
          fail(coded(new Error(`cannot reach the Manager at ${this.address} (${code}: is it shut down?)`, { cause: e }), 'ERR_MULTIPROC_CLOSED'));
        } else if (['EPIPE', 'ECONNRESET'].includes(code)) {
          fail(coded(new Error(`the Manager closed the connection (${code})`, { cause: e }), 'ERR_MULTIPROC_CLOSED'));
        } else {
          fail(e);
        }
      });
      sock.on('close', () => {
        fail(state === 'verdict' ? authError('Manager closed the connection during authentication') : closedError('the Manager closed the connection'));
      });
    });
    this.#ready = ready;
    return ready;
  }

  /**
   * One request. With a signal, an abort asks the server to cancel the request if it is still waiting there
   * (queue get/put, lock acquire): the call then rejects with the signal's reason. A request the server had
   * already completed when the cancel arrived settles with its outcome.
   */
  call(oid: number, method: string, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    let data: Buffer;
    try {
      data = encode([id, oid, method, args], this.limit, 'A request'); // a bad value fails here, before any I/O
    } catch (e) {
      return Promise.reject(e);
    }
    const send = (conn: AsyncConn): Promise<unknown> =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = (): void => {
          if (conn.dead || !conn.pending.has(id)) return;
          conn.sock.write(encode([this.#nextId++, 0, 'cancel', [id]], Infinity)); // its reply is not awaited
        };
        const unlisten = (): void => signal?.removeEventListener('abort', onAbort);
        conn.pending.set(id, {
          resolve: (v) => {
            unlisten();
            resolve(v);
          },
          reject: (e) => {
            unlisten();
            reject(signal?.aborted && (e as NodeJS.ErrnoException).code === 'ABORT_ERR' ? signal.reason : e);
          },
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        conn.sock.ref();
        conn.sock.write(data);
      });
    const cur = this.#current;
    if (cur?.ready && !cur.dead) return send(cur); // the common case: no extra hop through #connect
    return (async () => {
      let conn = await this.#connect();
      if (conn.dead) conn = await this.#connect(); // it died since it was ready: a fresh one
      if (conn.dead) throw closedError('the Manager closed the connection');
      return send(conn);
    })();
  }

  // ---- sync: a blocking socket of its own, one request at a time ----

  #syncConnect(): number {
    if (this.#syncFd >= 0) return this.#syncFd;
    let fd: number;
    try {
      fd = posix.unixConnect(this.address);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        throw coded(new Error(`cannot reach the Manager at ${this.address} (${code}: is it shut down?)`, { cause: e }), 'ERR_MULTIPROC_CLOSED');
      }
      throw e;
    }
    try {
      const a = clientAnswer(this.key, readFrameSync(fd, HANDSHAKE_MAX), this.session);
      writeFrameSync(fd, a.frame);
      let verdict: Buffer;
      try {
        verdict = readFrameSync(fd, HANDSHAKE_MAX);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ERR_MULTIPROC_EOF') throw authError('Manager closed the connection during authentication');
        throw e;
      }
      clientCheckWelcome(this.key, a.nonce, verdict);
    } catch (e) {
      posix.close(fd);
      throw e;
    }
    this.#syncFd = fd;
    return fd;
  }

  /**
   * One request on the blocking socket: the thread sleeps in read(2) until the reply. A broken stream is
   * closed (the next call connects afresh) and reported as ERR_MULTIPROC_CLOSED.
   */
  callSync(oid: number, method: string, args: unknown[]): unknown {
    const data = encode([1, oid, method, args], this.limit, 'A request');
    const fd = this.#syncConnect();
    let reply: Reply;
    try {
      writeFrameSync(fd, data);
      reply = decode(readFrameSync(fd, this.limit)) as Reply;
    } catch (e) {
      this.#closeSync(); // the stream is out of step now: start afresh next time
      if (['EPIPE', 'ECONNRESET', 'ERR_MULTIPROC_EOF'].includes((e as NodeJS.ErrnoException).code ?? '')) {
        throw closedError('the Manager closed the connection');
      }
      throw e;
    }
    const [id, ok, value] = reply;
    if (id === 0) {
      this.#closeSync();
      throw rebuildError(value as ErrorRecord);
    }
    if (!ok) throw rebuildError(value as ErrorRecord);
    return value;
  }

  #closeSync(): void {
    if (this.#syncFd >= 0) {
      try {
        posix.close(this.#syncFd);
      } catch {
        /* already closed */
      }
      this.#syncFd = -1;
    }
  }

  /** Closes both connections (pending async calls are rejected). */
  close(): void {
    this.#closeSync();
    const conn = this.#current;
    this.#current = null;
    this.#ready = null;
    if (conn) {
      conn.dead = true;
      failAll(conn, closedError('the Manager connection was closed'));
      conn.sock.destroy();
    }
  }

  /** In a forked child: drop this process's copy of the parent's connections without using them. */
  forgetInChild(): void {
    this.#closeSync(); // our own fd: the copy goes, the parent's stays
    // the net.Socket's fd was made inert by fork's repair (never read in the child); just let it go
    if (this.#current) this.#current.dead = true;
    this.#current = null;
    this.#ready = null;
  }
}

/** This process's identity towards managers (a forked child gets its own). */
let processSession = randomUUID();

const clients = new Map<string, Client>();

/** This process's client of the manager at `address` with `key` (made on first use, again after a fork). */
export function clientFor(address: string, key: Buffer, limit: number): Client {
  const id = `${address}\0${key.toString('hex')}\0${limit}`;
  let c = clients.get(id);
  if (!c || c.pid !== process.pid) {
    c = new Client(address, key, limit);
    clients.set(id, c);
  }
  return c;
}

/** Closes and forgets this process's clients of the manager at `address`. */
export function dropClients(address: string): void {
  for (const [id, c] of clients) {
    if (c.address === address) {
      c.close();
      clients.delete(id);
    }
  }
}

posix.atFork({
  child() {
    processSession = randomUUID();
    for (const c of clients.values()) c.forgetInChild();
    clients.clear();
  },
});


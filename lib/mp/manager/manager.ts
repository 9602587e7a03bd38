// Manager: Python's multiprocessing.Manager with Node's conventions. A server process owns dicts, lists,
// namespaces, queues, locks and values; every other process holds proxies whose methods are requests to it.
//
//   const manager = await Manager.start();          // a server process (spawn by default; fork on request)
//   const d = await manager.dict();                  // a proxy
//   await d.set('k', 1); d.getSync('k');             // async, and …Sync twins that block the thread
//   await manager.shutdown();
//
// Transport and security (lib/mp/manager/wire.ts): a Unix stream socket in a private 0700 directory (mkdtemp),
// the socket itself 0600; every connection proves knowledge of the authkey with an HMAC challenge in both
// directions before anything else; frames have a size limit; values are structured clones (v8.serialize).
//
// Connections belong to one process: each process opens its own (lazily, on first use) and never uses one it
// inherited — a forked child's proxies connect afresh, and the child closes its copies of the parent's
// synchronous sockets at once. Async calls go over a net.Socket (many requests in flight, matched by id);
// …Sync calls go over a second, blocking socket (posix.unixConnect) with one request at a time, so the thread
// sleeps in read(2) until the reply — no event loop, no spinning.
//
// The server dies with the process that started it, even on SIGKILL (PR_SET_PDEATHSIG → SIGTERM, whose
// handler removes the socket directory); shutdown() stops it and removes the directory.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveManager, type ServerConfig } from './server.js';
import {
  authError,
  clientAnswer,
  clientCheckWelcome,
  coded,
  DEFAULT_MANAGER_MESSAGE_BYTES,
  AUTH_TIMEOUT_MS,
  decode,
  encode,
  type ErrorRecord,
  FrameDecoder,
  HANDSHAKE_MAX,
  MAX_PENDING_AUTH,
  readFrameSync,
  type Reply,
  toKey,
  writeFrameSync,
} from './wire.js';
import * as posix from '../../posix/index.js';
import { Process, type StartMethod } from '../process/process.js';
import { startMethod } from '../process/start/index.js';
import { Empty, Full } from '../queue.js';
import { registerShareable } from '../core/reduction.js';
import { allocation, integer, integerOr, timeout as checkTimeout, waitOptions } from '../../posix/errors.js';

export { DEFAULT_MANAGER_MESSAGE_BYTES } from './wire.js';

export interface ManagerOptions {
  /** The shared secret (default: 32 random bytes). Children that should connect need it (proxies carry it). */
  authkey?: string | Uint8Array;
  /** How the server process starts: 'spawn' (default: a clean `node` that holds none of this process's fds or memory) or 'fork' (faster start). */
  startMethod?: StartMethod;
  /** Largest request or reply, in bytes (default 64 MiB); longer ones are refused by both sides. */
  maxMessageBytes?: number;
  /** How long start() waits for the server to listen (default 60 s). */
  startTimeout?: number;
  /** ms a new connection has to prove it knows the authkey; later, the server closes it (default 5000). */
  authTimeout?: number;
  /**
   * How many connections may be waiting to authenticate at once (default 32): one more is refused at once
   * (its client gets ERR_MULTIPROC_AUTH saying so). Authenticated connections are not limited.
   */
  maxPendingAuth?: number;
}

export interface ManagerStats {
  pid: number;
  objects: number;
  connections: number;
  authenticating: number;
  sessions: number;
}

export interface ConnectOptions {
  maxMessageBytes?: number;
}

/** What identifies a manager's object: enough for any process that has the key to reach it. */
export interface ProxyData {
  address: string;
  authkey: Uint8Array;
  oid: number;
  kind: ProxyKind;
  maxMessageBytes: number;
}

export type ProxyKind = 'dict' | 'list' | 'Namespace' | 'Value' | 'Queue' | 'Lock';

type DictKey = string | number | bigint | boolean | null | undefined;
/** A timeout in ms, or options: `block: false` is Python's block=False; `signal` (async forms) cancels the wait. */
type Timeout = number | null | { timeout?: number | null; block?: boolean; signal?: AbortSignal };

function closedError(what: string): Error {
  return coded(new Error(what), 'ERR_MULTIPROC_CLOSED');
}

// ---------------------------------------------------------------------------------------------------------
// per-process clients

function rebuildError(r: ErrorRecord): Error {
  if (r.name === 'Empty') return new Empty(r.message);
  if (r.name === 'Full') return new Full(r.message);
  const C = r.name === 'TypeError' ? TypeError : r.name === 'RangeError' ? RangeError : Error;
  const e = new C(r.message);
  if (r.code) coded(e, r.code);
  if (r.stack) e.stack = `${e.stack}\n    --- in the Manager server ---\n${r.stack}`;
  return e;
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
class Client {
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

function clientFor(address: string, key: Buffer, limit: number): Client {
  const id = `${address}\0${key.toString('hex')}\0${limit}`;
  let c = clients.get(id);
  if (!c || c.pid !== process.pid) {
    c = new Client(address, key, limit);
    clients.set(id, c);
  }
  return c;
}

function dropClients(address: string): void {
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

// ---------------------------------------------------------------------------------------------------------
// proxies

function timeoutOpts(t: Timeout | undefined): [block: boolean, timeout: number | undefined, signal: AbortSignal | undefined] {
  const w = waitOptions(t, Infinity, { block: true });
  return [w.block, w.timeout === Infinity ? undefined : w.timeout, w.signal];
}

/**
 * Trailing undefined arguments are left out (the server's methods see them as undefined all the same), so
 * that most requests are plain JSON data; push's arguments are values to store, kept as they are.
 */
function trimArgs(method: string, args: unknown[]): unknown[] {
  if (method === 'push') return args;
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return n === args.length ? args : args.slice(0, n);
}

/** What every proxy has: the object's id and the way to its manager. */
export abstract class BaseProxy {
  readonly #data: ProxyData;
  readonly #key: Buffer;

  constructor(data: ProxyData) {
    this.#data = { ...data, authkey: Buffer.from(data.authkey) };
    this.#key = Buffer.from(data.authkey);
  }

  /** The manager's socket path. */
  get address(): string {
    return this.#data.address;
  }

  /** The object's id in the manager. */
  get id(): number {
    return this.#data.oid;
  }

  get kind(): ProxyKind {
    return this.#data.kind;
  }

  /** What rebuilds this proxy in another process (with rebuildProxy); it contains the authkey. */
  toProxyData(): ProxyData {
    return { ...this.#data, authkey: Buffer.from(this.#key) };
  }

  protected call(method: string, ...args: unknown[]): Promise<unknown> {
    return clientFor(this.#data.address, this.#key, this.#data.maxMessageBytes).call(this.#data.oid, method, trimArgs(method, args));
  }

  /** A call that an AbortSignal may cancel while it waits in the server. */
  protected callAbortable(signal: AbortSignal | undefined, method: string, ...args: unknown[]): Promise<unknown> {
    return clientFor(this.#data.address, this.#key, this.#data.maxMessageBytes).call(this.#data.oid, method, trimArgs(method, args), signal);
  }

  protected callSync(method: string, ...args: unknown[]): unknown {
    return clientFor(this.#data.address, this.#key, this.#data.maxMessageBytes).callSync(this.#data.oid, method, trimArgs(method, args));
  }

  toString(): string {
    return `<${this.constructor.name} id=${this.#data.oid} manager=${this.#data.address}>`;
  }
}

/** A dict in the manager (a Map; keys are primitives). */
export class DictProxy<V = unknown> extends BaseProxy {
  get(key: DictKey, dflt?: V): Promise<V | undefined> {
    return this.call('get', key, dflt) as Promise<V | undefined>;
  }
  getSync(key: DictKey, dflt?: V): V | undefined {
    return this.callSync('get', key, dflt) as V | undefined;
  }
  async set(key: DictKey, value: V): Promise<void> {
    await this.call('set', key, value);
  }
  setSync(key: DictKey, value: V): void {
    this.callSync('set', key, value);
  }
  has(key: DictKey): Promise<boolean> {
    return this.call('has', key) as Promise<boolean>;
  }
  hasSync(key: DictKey): boolean {
    return this.callSync('has', key) as boolean;
  }
  delete(key: DictKey): Promise<boolean> {
    return this.call('delete', key) as Promise<boolean>;
  }
  deleteSync(key: DictKey): boolean {
    return this.callSync('delete', key) as boolean;
  }
  keys(): Promise<DictKey[]> {
    return this.call('keys') as Promise<DictKey[]>;
  }
  keysSync(): DictKey[] {
    return this.callSync('keys') as DictKey[];
  }
  values(): Promise<V[]> {
    return this.call('values') as Promise<V[]>;
  }
  valuesSync(): V[] {
    return this.callSync('values') as V[];
  }
  entries(): Promise<[DictKey, V][]> {
    return this.call('entries') as Promise<[DictKey, V][]>;
  }
  entriesSync(): [DictKey, V][] {
    return this.callSync('entries') as [DictKey, V][];
  }
  size(): Promise<number> {
    return this.call('size') as Promise<number>;
  }
  sizeSync(): number {
    return this.callSync('size') as number;
  }
  async clear(): Promise<void> {
    await this.call('clear');
  }
  clearSync(): void {
    this.callSync('clear');
  }
  /** Sets every entry of a Map, a plain object or an array of pairs. */
  async update(entries: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): Promise<void> {
    await this.call('update', entries);
  }
  updateSync(entries: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): void {
    this.callSync('update', entries);
  }
  /** Atomically adds `by` to the number at `key` (missing: `start`), in the server; returns the new value. */
  increment(key: DictKey, by = 1, start = 0): Promise<number> {
    return this.call('increment', key, by, start) as Promise<number>;
  }
  incrementSync(key: DictKey, by = 1, start = 0): number {
    return this.callSync('increment', key, by, start) as number;
  }
  /** A local copy. */
  toMap(): Promise<Map<DictKey, V>> {
    return this.call('toMap') as Promise<Map<DictKey, V>>;
  }
  toMapSync(): Map<DictKey, V> {
    return this.callSync('toMap') as Map<DictKey, V>;
  }
}

/** A list in the manager. Negative indices count from the end; out of range is a RangeError. */
export class ListProxy<T = unknown> extends BaseProxy {
  get(i: number): Promise<T> {
    return this.call('get', i) as Promise<T>;
  }
  getSync(i: number): T {
    return this.callSync('get', i) as T;
  }
  async set(i: number, value: T): Promise<void> {
    await this.call('set', i, value);
  }
  setSync(i: number, value: T): void {
    this.callSync('set', i, value);
  }
  /** Appends; returns the new length. */
  push(...values: T[]): Promise<number> {
    return this.call('push', ...values) as Promise<number>;
  }
  pushSync(...values: T[]): number {
    return this.callSync('push', ...values) as number;
  }
  /** Removes and returns the last item (or the one at `i`); RangeError on an empty list. */
  pop(i?: number): Promise<T> {
    return this.call('pop', i) as Promise<T>;
  }
  popSync(i?: number): T {
    return this.callSync('pop', i) as T;
  }
  length(): Promise<number> {
    return this.call('length') as Promise<number>;
  }
  lengthSync(): number {
    return this.callSync('length') as number;
  }
  /** A local copy. */
  toArray(): Promise<T[]> {
    return this.call('toArray') as Promise<T[]>;
  }
  toArraySync(): T[] {
    return this.callSync('toArray') as T[];
  }
}

/** A namespace in the manager: named attributes. */
export class NamespaceProxy extends BaseProxy {
  get(name: string): Promise<unknown> {
    return this.call('get', name);
  }
  getSync(name: string): unknown {
    return this.callSync('get', name);
  }
  async set(name: string, value: unknown): Promise<void> {
    await this.call('set', name, value);
  }
  setSync(name: string, value: unknown): void {
    this.callSync('set', name, value);
  }
  has(name: string): Promise<boolean> {
    return this.call('has', name) as Promise<boolean>;
  }
  hasSync(name: string): boolean {
    return this.callSync('has', name) as boolean;
  }
  delete(name: string): Promise<boolean> {
    return this.call('delete', name) as Promise<boolean>;
  }
  deleteSync(name: string): boolean {
    return this.callSync('delete', name) as boolean;
  }
  toObject(): Promise<Record<string, unknown>> {
    return this.call('toObject') as Promise<Record<string, unknown>>;
  }
  toObjectSync(): Record<string, unknown> {
    return this.callSync('toObject') as Record<string, unknown>;
  }
}

/** A single value in the manager (Python's Value proxy: any cloneable value; the typecode is kept as given). */
export class ValueProxy<T = unknown> extends BaseProxy {
  get(): Promise<T> {
    return this.call('get') as Promise<T>;
  }
  getSync(): T {
    return this.callSync('get') as T;
  }
  async set(value: T): Promise<void> {
    await this.call('set', value);
  }
  setSync(value: T): void {
    this.callSync('set', value);
  }
  /** Python's `.value`: a synchronous round trip each time. */
  get value(): T {
    return this.getSync();
  }
  set value(v: T) {
    this.setSync(v);
  }
}

/**
 * A queue in the manager (Python's manager Queue). get/put wait in the server: `timeout` in ms, or
 * `{ block: false }`; when no item (room) came in time they throw Empty (Full).
 */
export class QueueProxy<T = unknown> extends BaseProxy {
  async put(item: T, t?: Timeout): Promise<void> {
    const [block, timeout, signal] = timeoutOpts(t);
    await this.callAbortable(signal, 'put', item, block, timeout);
  }
  putSync(item: T, t?: Timeout): void {
    const [block, timeout] = timeoutOpts(t);
    this.callSync('put', item, block, timeout);
  }
  /** With a signal: an abort while the get waits in the server rejects with its reason and takes no item. */
  async get(t?: Timeout): Promise<T> {
    const [block, timeout, signal] = timeoutOpts(t);
    return (await this.callAbortable(signal, 'get', block, timeout)) as T;
  }
  getSync(t?: Timeout): T {
    const [block, timeout] = timeoutOpts(t);
    return this.callSync('get', block, timeout) as T;
  }
  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }
  putNowaitSync(item: T): void {
    this.putSync(item, { block: false });
  }
  getNowait(): Promise<T> {
    return this.get({ block: false });
  }
  getNowaitSync(): T {
    return this.getSync({ block: false });
  }
  qsize(): Promise<number> {
    return this.call('qsize') as Promise<number>;
  }
  qsizeSync(): number {
    return this.callSync('qsize') as number;
  }
  empty(): Promise<boolean> {
    return this.call('empty') as Promise<boolean>;
  }
  emptySync(): boolean {
    return this.callSync('empty') as boolean;
  }
  full(): Promise<boolean> {
    return this.call('full') as Promise<boolean>;
  }
  fullSync(): boolean {
    return this.callSync('full') as boolean;
  }
}

/**
 * A lock in the manager, owned by the process that acquired it: only that process may release it, and when
 * it dies holding the lock the next acquisition succeeds with `ownerDied === true` (and a process warning
 * MULTIPROC_OWNER_DIED), as for the library's other locks. Not reentrant.
 */
export class LockProxy extends BaseProxy {
  #ownerDied = false;

  /** true after an acquisition that inherited a dead owner's lock (until the next acquisition). */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  #took([ok, died]: [boolean, boolean]): boolean {
    if (ok) {
      this.#ownerDied = died;
      if (died) {
        process.emitWarning('a Manager Lock was acquired after its owner process died while holding it', {
          code: 'MULTIPROC_OWNER_DIED',
        });
      }
    }
    return ok;
  }

  /** Resolves true once acquired; false when `timeout` ms passed (or `{ block: false }` and it is held). */
  async acquire(t?: Timeout): Promise<boolean> {
    const [block, timeout, signal] = timeoutOpts(t);
    const got = (await this.callAbortable(signal, 'acquire', block, timeout)) as [boolean, boolean];
    if (got[0] && signal?.aborted) {
      // the lock was granted as the abort went out: leave nothing held
      await this.call('release');
      throw signal.reason;
    }
    return this.#took(got);
  }
  acquireSync(t?: Timeout): boolean {
    const [block, timeout] = timeoutOpts(t);
    return this.#took(this.callSync('acquire', block, timeout) as [boolean, boolean]);
  }
  /** Releases; an error if this process does not hold it. */
  async release(): Promise<void> {
    await this.call('release');
  }
  releaseSync(): void {
    this.callSync('release');
  }
  locked(): Promise<boolean> {
    return this.call('locked') as Promise<boolean>;
  }
  lockedSync(): boolean {
    return this.callSync('locked') as boolean;
  }
  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
  withLockSync<R>(fn: () => R): R {
    this.acquireSync();
    try {
      return fn();
    } finally {
      this.releaseSync();
    }
  }
}

const PROXY_CLASSES: Record<ProxyKind, new (d: ProxyData) => BaseProxy> = {
  dict: DictProxy,
  list: ListProxy,
  Namespace: NamespaceProxy,
  Value: ValueProxy,
  Queue: QueueProxy,
  Lock: LockProxy,
};

/** Rebuilds a proxy from {@link BaseProxy.toProxyData} (in any process that may reach the socket). */
export function rebuildProxy(data: ProxyData): BaseProxy {
  if (data === null || typeof data !== 'object' || !Object.hasOwn(PROXY_CLASSES, data.kind)) {
    throw coded(new TypeError('rebuildProxy: not the data of a Manager proxy'), 'ERR_INVALID_ARG_TYPE');
  }
  return new PROXY_CLASSES[data.kind](data);
}

// ---------------------------------------------------------------------------------------------------------
// the manager

function serverModule(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), here.endsWith('.ts') ? 'server.ts' : 'server.js');
}

/** Waits for the server's "ready" line on the private ready socket, or its exit, or the timeout. */
function awaitReady(ready: net.Server, proc: Process, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const ac = new AbortController();
    const timer =
      timeoutMs === Infinity
        ? undefined
        : setTimeout(() => {
            ac.abort();
            reject(coded(new Error(`the Manager server did not start within ${timeoutMs} ms`), 'ERR_MULTIPROC_TIMEOUT'));
          }, timeoutMs);
    const done = (): void => {
      if (timer) clearTimeout(timer);
      ac.abort();
    };
    ready.on('connection', (s) => {
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('error', () => {});
      s.on('end', () => {
        done();
        const m = /^ready (\d+)$/.exec(text);
        if (m) resolve(Number(m[1]));
        else reject(new Error(`the Manager server could not start: ${text.replace(/^error /, '')}`));
      });
    });
    proc.join({ signal: ac.signal }).then(
      () => {
        done();
        reject(new Error(`the Manager server exited (code ${proc.exitCode}) before it was ready`));
      },
      () => {
        /* aborted: ready or timed out */
      },
    );
  });
}

let managerFromData: (d: { address: string; authkey: Uint8Array; maxMessageBytes: number }) => Manager;

export class Manager {
  /** The server's socket path (what Manager.connect takes). */
  readonly address: string;
  /** The shared secret every connection proves it knows. */
  readonly authkey: Buffer;
  readonly maxMessageBytes: number;
  #proc: Process | null;
  #dir: string | null;
  #serverPid: number | undefined;
  #ownerPid = process.pid;
  #closed = false;

  private constructor(address: string, authkey: Buffer, limit: number, proc: Process | null, dir: string | null, serverPid?: number) {
    this.address = address;
    this.authkey = authkey;
    this.maxMessageBytes = limit;
    this.#proc = proc;
    this.#dir = dir;
    this.#serverPid = serverPid;
  }

  static {
    managerFromData = (d) => new Manager(d.address, Buffer.from(d.authkey), d.maxMessageBytes, null, null);
  }

  /** Starts a server process and returns once it listens. */
  static async start(opts: ManagerOptions = {}): Promise<Manager> {
    if (opts === null || typeof opts !== 'object') throw coded(new TypeError('Manager.start(options): options must be an object'), 'ERR_INVALID_ARG_TYPE');
    const key = opts.authkey === undefined ? randomBytes(32) : toKey(opts.authkey);
    if (key.length === 0) throw coded(new RangeError('The authkey must not be empty'), 'ERR_OUT_OF_RANGE');
    const limit = checkLimit(opts.maxMessageBytes);
    const startTimeout = checkTimeout('options.startTimeout', opts.startTimeout, 60_000);
    const method = startMethod('options.startMethod', opts.startMethod ?? 'spawn');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'multiproc-mgr-')); // mode 0700, unpredictable name
    const cfg: ServerConfig = {
      dir,
      socketPath: path.join(dir, 'manager.sock'),
      readyPath: path.join(dir, 'ready.sock'),
      authkey: key,
      maxMessageBytes: limit,
      authTimeout: integerOr('authTimeout', opts.authTimeout, AUTH_TIMEOUT_MS, 1, 2 ** 31 - 1),
      maxPendingAuth: integerOr('maxPendingAuth', opts.maxPendingAuth, MAX_PENDING_AUTH, 1, 2 ** 31 - 1),
      parentPid: process.pid,
    };
    const ready = net.createServer();
    let proc: Process | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        ready.once('error', reject);
        ready.listen(cfg.readyPath, resolve);
      });
      const server = { startMethod: method.name, daemon: true, name: 'Manager' };
      proc = method.runsClosures
        ? new Process({ ...server, target: () => serveManager(cfg) })
        : new Process({ ...server, module: serverModule(), export: 'serveManager', args: [cfg] });
      proc.start();
      const serverPid = await awaitReady(ready, proc, startTimeout);
      return new Manager(cfg.socketPath, key, limit, proc, dir, serverPid);
    } catch (e) {
      if (proc?.isAlive()) proc.kill();
      if (proc?.pid !== undefined) await proc.join();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    } finally {
      ready.close();
    }
  }

  /** A manager started elsewhere (by another process), reached through its address with its authkey. */
  static async connect(address: string, authkey: string | Uint8Array, opts: ConnectOptions = {}): Promise<Manager> {
    if (typeof address !== 'string') throw coded(new TypeError('The "address" argument must be a string (a socket path)'), 'ERR_INVALID_ARG_TYPE');
    const key = toKey(authkey);
    const limit = checkLimit(opts.maxMessageBytes);
    const m = new Manager(address, key, limit, null, null);
    m.#serverPid = (await m.#call('ping')) as number; // authenticates now: a wrong key fails here
    return m;
  }

  /** The server process's pid. */
  get pid(): number | undefined {
    return this.#serverPid;
  }

  #call(method: string, ...args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(closedError('the Manager is shut down'));
    return clientFor(this.address, this.authkey, this.maxMessageBytes).call(0, method, args);
  }

  async #create<P extends BaseProxy>(kind: ProxyKind, ...args: unknown[]): Promise<P> {
    const oid = (await this.#call('create', kind, args)) as number;
    return rebuildProxy({ address: this.address, authkey: this.authkey, oid, kind, maxMessageBytes: this.maxMessageBytes }) as P;
  }

  /** A proxy for an existing object of this manager, by kind and id (another process's proxy's `id`). */
  proxy(kind: 'dict', id: number): DictProxy;
  proxy(kind: 'list', id: number): ListProxy;
  proxy(kind: 'Namespace', id: number): NamespaceProxy;
  proxy(kind: 'Value', id: number): ValueProxy;
  proxy(kind: 'Queue', id: number): QueueProxy;
  proxy(kind: 'Lock', id: number): LockProxy;
  proxy(kind: ProxyKind, id: number): BaseProxy {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) throw coded(new TypeError('The "id" must be a positive integer'), 'ERR_INVALID_ARG_TYPE');
    return rebuildProxy({ address: this.address, authkey: this.authkey, oid: id, kind, maxMessageBytes: this.maxMessageBytes });
  }

  /**
   * The server's counts: live objects, open connections (of which `authenticating` have not proved the key
   * yet), client sessions (one per process).
   */
  stats(): Promise<ManagerStats> {
    return this.#call('stats') as Promise<ManagerStats>;
  }

  /** A new dict, optionally filled from a Map, a plain object or [key, value] pairs. */
  dict<V = unknown>(init?: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): Promise<DictProxy<V>> {
    return this.#create('dict', init);
  }

  list<T = unknown>(init?: T[]): Promise<ListProxy<T>> {
    return this.#create('list', init);
  }

  Namespace(init?: Record<string, unknown>): Promise<NamespaceProxy> {
    return this.#create('Namespace', init);
  }

  /** Value(init) or Python's Value(typecode, init) (the typecode is kept, values are not coerced). */
  Value<T = unknown>(init?: T): Promise<ValueProxy<T>>;
  Value<T = unknown>(typecode: string, init: T): Promise<ValueProxy<T>>;
  Value(...args: unknown[]): Promise<ValueProxy> {
    return args.length >= 2 ? this.#create('Value', args[0], args[1]) : this.#create('Value', undefined, args[0]);
  }

  /** A queue; maxsize 0 (default) is unbounded. */
  Queue<T = unknown>(maxsize = 0): Promise<QueueProxy<T>> {
    return this.#create('Queue', maxsize);
  }

  Lock(): Promise<LockProxy> {
    return this.#create('Lock');
  }

  /**
   * Stops the server (its objects are gone; proxies then fail with ERR_MULTIPROC_CLOSED) and removes its
   * socket directory. From the process that started it, also waits for the server to exit. Idempotent.
   */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call('shutdown');
    } catch {
      /* already gone: still reap and clean up below */
    }
    this.#closed = true;
    dropClients(this.address);
    const proc = this.#proc;
    if (proc && this.#ownerPid === process.pid) {
      await proc.join(5000);
      if (proc.isAlive()) {
        proc.kill();
        await proc.join();
      }
      proc.close();
    }
    if (this.#dir && this.#ownerPid === process.pid) rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Drops this process's connections to the manager, leaving the server running. */
  close(): void {
    dropClients(this.address);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#proc) await this.shutdown();
    else this.close();
  }

  toString(): string {
    return `<Manager address=${this.address}${this.#serverPid ? ` pid=${this.#serverPid}` : ''}${this.#closed ? ' shut down' : ''}>`;
  }
}

function checkLimit(n: unknown): number {
  if (n === undefined) return DEFAULT_MANAGER_MESSAGE_BYTES;
  const limit = integer('options.maxMessageBytes', n, 1024, 2 ** 32 - 1);
  allocation('options.maxMessageBytes', limit, 'a Manager message limit');
  return limit;
}

// Proxies and managers reach spawned children in Process args (lib/mp/core/reduction.ts): a proxy travels as its
// ProxyData (address, object id, authkey), a manager as its address and authkey, and the child connects on
// first use. Inside a Pipe or Queue message they are an error (they carry the authkey), as registered classes.
registerShareable(
  BaseProxy,
  'ManagerProxy',
  (p) => ({ fds: [], data: p.toProxyData() }),
  (_fds, data: ProxyData) => rebuildProxy(data),
  import.meta.url,
);
registerShareable(
  Manager,
  'Manager',
  (m) => ({ fds: [], data: { address: m.address, authkey: Buffer.from(m.authkey), maxMessageBytes: m.maxMessageBytes } }),
  (_fds, data: { address: string; authkey: Uint8Array; maxMessageBytes: number }) => managerFromData(data),
  import.meta.url,
);

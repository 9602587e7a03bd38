// The Manager's server: the process that owns the shared objects (Python's managers.Server). It listens on
// a Unix socket inside a private directory, authenticates every connection (lib/mp/manager/wire.ts), and runs
// each request against the object it names. Only the methods listed in each class's table can be called;
// arguments and results are structured clones, never code.
//
// Blocking operations (Queue get/put with room or items missing, Lock acquire) wait here, in the server, as
// promises; a waiter whose connection closes is dropped, so a dead client never swallows an item or a lock.
// A lock is owned by a session (one process's connections); when the last connection of the session holding
// it closes (the process died), the lock is freed and the next acquirer is told its owner died.
import { rmSync, chmodSync } from 'node:fs';
import net from 'node:net';
import * as posix from '../../posix/index.js';
import {
  coded,
  DEFAULT_MANAGER_MESSAGE_BYTES,
  decode,
  encode,
  errorRecord,
  FrameDecoder,
  AUTH_TIMEOUT_MS,
  HANDSHAKE_MAX,
  MAX_PENDING_AUTH,
  serverChallenge,
  serverRefusal,
  serverVerify,
  type ProxyKind,
  type Reply,
  type Request,
} from './wire.js';
import { Empty, Full } from '../queue.js';
import { integer, rangeError, timeout as checkTimeout, typeError } from '../../posix/errors.js';
import { realParentPid } from '../process/current.js';

/** What the process starting the server passes it (Process args; with spawn they travel in a memfd). */
export interface ServerConfig {
  dir: string;
  socketPath: string;
  readyPath: string;
  authkey: Uint8Array;
  maxMessageBytes?: number;
  /** ms a new connection has to authenticate (default 5 s). */
  authTimeout?: number;
  /** Connections that may be waiting to authenticate at once; one more is refused (default 32). */
  maxPendingAuth?: number;
  parentPid: number;
}

// ---------------------------------------------------------------------------------------------------------
// sessions, connections, waiters

interface Session {
  id: string;
  conns: number;
  locks: Set<LockObj>;
}

interface Ctx {
  conn: ServerConn;
  session: Session;
  /** The request's id on its connection (what a cancel names). */
  id: number;
}

/** A request waiting in the server (queue get/put, lock acquire). */
interface Waiter<T> {
  conn: ServerConn;
  session: Session;
  resolve(v: T): void;
  reject(e: unknown): void;
  timer?: NodeJS.Timeout;
}

const argError = (message: string): TypeError => typeError(message);

/** A timeout in ms (lib/posix/errors.ts): undefined when there is none (undefined, null, Infinity, above 2^31-1). */
function timeoutArg(t: unknown): number | undefined {
  const ms = checkTimeout('timeout', t);
  return ms === Infinity ? undefined : ms;
}

/**
 * Waits in a list until resolved, timed out (→ onTimeout), cancelled by the client (→ AbortError) or its
 * connection closes (→ dropped, never settled: nobody is left to answer).
 */
function wait<T, W extends Waiter<T>>(list: W[], ctx: Ctx, timeout: number | undefined, onTimeout: () => unknown, extra?: Omit<W, keyof Waiter<T>>): Promise<T> {
  return new Promise<T>((res, rej) => {
    const done = (): void => {
      ctx.conn.waiting.delete(ctx.id);
      if (w.timer) clearTimeout(w.timer);
    };
    const w = {
      ...extra,
      conn: ctx.conn,
      session: ctx.session,
      resolve: (v: T) => {
        done();
        res(v);
      },
      reject: (e: unknown) => {
        done();
        rej(e);
      },
    } as W;
    const unlist = (): boolean => {
      const i = list.indexOf(w);
      if (i < 0) return false;
      list.splice(i, 1);
      return true;
    };
    if (timeout !== undefined) {
      w.timer = setTimeout(() => {
        unlist();
        try {
          w.resolve(onTimeout() as T);
        } catch (e) {
          w.reject(e);
        }
      }, timeout);
    }
    list.push(w);
    ctx.conn.waiting.set(ctx.id, (reason) => {
      if (!unlist()) return false;
      if (reason) w.reject(reason);
      else done();
      return true;
    });
  });
}

function abortError(): Error {
  const e = coded(new Error('The operation was aborted'), 'ABORT_ERR');
  e.name = 'AbortError';
  return e;
}

/** The first waiter whose connection is still open (taken off the list). */
function nextWaiter<W extends Waiter<never>>(list: W[]): W | undefined {
  for (;;) {
    const w = list.shift();
    if (!w) return undefined;
    if (w.timer) clearTimeout(w.timer);
    if (!w.conn.closed) return w;
  }
}

// ---------------------------------------------------------------------------------------------------------
// the managed objects

type Method = (args: unknown[], ctx: Ctx) => unknown;

abstract class Managed {
  abstract readonly methods: Record<string, Method>;
}

type DictKey = string | number | bigint | boolean | null | undefined;

function dictKey(k: unknown): DictKey {
  if (k === null || k === undefined || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)) return k as DictKey;
  throw argError(`A Manager dict key must be a string, number, bigint, boolean, null or undefined (received ${typeof k})`);
}

class DictObj extends Managed {
  readonly map = new Map<DictKey, unknown>();
  constructor(init?: unknown) {
    super();
    if (init !== undefined && init !== null) this.update(init);
  }
  update(init: unknown): void {
    const entries = init instanceof Map ? [...init] : Array.isArray(init) ? init : typeof init === 'object' ? Object.entries(init as object) : null;
    if (!entries) throw argError('A dict is made from a Map, an array of [key, value] pairs or a plain object');
    for (const e of entries) {
      if (!Array.isArray(e) || e.length !== 2) throw argError('A dict entry must be a [key, value] pair');
      this.map.set(dictKey(e[0]), e[1]);
    }
  }
  readonly methods = {
    get: ([k, dflt]) => {
      const key = dictKey(k);
      return this.map.has(key) ? this.map.get(key) : dflt;
    },
    set: ([k, v]) => {
      this.map.set(dictKey(k), v);
    },
    has: ([k]) => this.map.has(dictKey(k)),
    delete: ([k]) => this.map.delete(dictKey(k)),
    keys: () => [...this.map.keys()],
    values: () => [...this.map.values()],
    entries: () => [...this.map.entries()],
    size: () => this.map.size,
    clear: () => this.map.clear(),
    update: ([init]) => this.update(init),
    toMap: () => new Map(this.map),
    // an atomic read-modify-write that needs no lock: add `by` to a number (missing key: `start`)
    increment: ([k, by = 1, start = 0]) => {
      const key = dictKey(k);
      const cur = this.map.has(key) ? this.map.get(key) : start;
      if (typeof cur !== 'number' || typeof by !== 'number') throw argError('increment() needs numbers');
      this.map.set(key, cur + by);
      return cur + by;
    },
  } satisfies Record<string, Method>;
}

function listIndex(a: unknown[], i: unknown, what: string): number {
  if (typeof i !== 'number' || !Number.isInteger(i)) throw argError(`A list index must be an integer (received ${typeof i === 'number' ? i : typeof i})`);
  const j = i < 0 ? a.length + i : i;
  if (j < 0 || j >= a.length) throw rangeError(`list ${what} index out of range: ${i} (length ${a.length})`);
  return j;
}

class ListObj extends Managed {
  readonly items: unknown[];
  constructor(init?: unknown) {
    super();
    if (init !== undefined && init !== null && !Array.isArray(init)) throw argError('A list is made from an array');
    this.items = init ? [...(init as unknown[])] : [];
  }
  readonly methods = {
    get: ([i]) => this.items[listIndex(this.items, i, 'get')],
    set: ([i, v]) => {
      this.items[listIndex(this.items, i, 'assignment')] = v;
    },
    push: (vs) => this.items.push(...vs),
    pop: ([i]) => {
      if (this.items.length === 0) throw rangeError('pop from empty list');
      if (i === undefined) return this.items.pop();
      return this.items.splice(listIndex(this.items, i, 'pop'), 1)[0];
    },
    length: () => this.items.length,
    toArray: () => this.items,
  } satisfies Record<string, Method>;
}

class NamespaceObj extends Managed {
  readonly attrs = new Map<string, unknown>();
  constructor(init?: unknown) {
    super();
    if (init !== undefined && init !== null) {
      if (typeof init !== 'object') throw argError('A Namespace is made from a plain object');
      for (const [k, v] of Object.entries(init)) this.attrs.set(k, v);
    }
  }
  #name(n: unknown): string {
    if (typeof n !== 'string') throw argError('A Namespace attribute name must be a string');
    return n;
  }
  readonly methods = {
    get: ([n]) => this.attrs.get(this.#name(n)),
    set: ([n, v]) => {
      this.attrs.set(this.#name(n), v);
    },
    has: ([n]) => this.attrs.has(this.#name(n)),
    delete: ([n]) => this.attrs.delete(this.#name(n)),
    toObject: () => Object.fromEntries(this.attrs),
  } satisfies Record<string, Method>;
}

class ValueObj extends Managed {
  value: unknown;
  constructor(readonly typecode: unknown, init: unknown) {
    super();
    this.value = init;
  }
  readonly methods = {
    get: () => this.value,
    set: ([v]) => {
      this.value = v;
    },
    typecode: () => this.typecode,
  } satisfies Record<string, Method>;
}

/** Python's queue.Queue as the manager serves it: put/get block (here, in the server) with timeouts. */
class QueueObj extends Managed {
  readonly items: unknown[] = [];
  readonly getters: Waiter<unknown>[] = [];
  readonly putters: (Waiter<undefined> & { item: unknown })[] = [];
  readonly maxsize: number;
  constructor(maxsize: unknown) {
    super();
    // Python's maxsize: 0 or less is unbounded
    this.maxsize = maxsize == null ? 0 : integer('maxsize', maxsize, Number.MIN_SAFE_INTEGER, 2 ** 31 - 1);
  }
  #full(): boolean {
    return this.maxsize > 0 && this.items.length >= this.maxsize;
  }
  /** Moves items to waiting getters and waiting puts into free room. */
  #settle(): void {
    for (;;) {
      if (this.items.length > 0 && this.getters.length > 0) {
        const g = nextWaiter(this.getters);
        if (g) g.resolve(this.items.shift());
        continue;
      }
      if (this.putters.length > 0 && !this.#full()) {
        const p = nextWaiter(this.putters);
        if (p) {
          this.items.push(p.item);
          p.resolve(undefined);
        }
        continue;
      }
      return;
    }
  }
  readonly methods = {
    put: ([item, block = true, t], ctx) => {
      const timeout = block ? timeoutArg(t) : 0;
      if (!this.#full()) {
        this.items.push(item);
        this.#settle();
        return undefined;
      }
      if (timeout === 0) throw new Full();
      return wait(this.putters, ctx, timeout, () => {
        throw new Full();
      }, { item });
    },
    get: ([block = true, t], ctx) => {
      const timeout = block ? timeoutArg(t) : 0;
      if (this.items.length > 0) {
        const item = this.items.shift();
        this.#settle();
        return item;
      }
      if (timeout === 0) throw new Empty();
      return wait(this.getters, ctx, timeout, () => {
        throw new Empty();
      });
    },
    qsize: () => this.items.length,
    empty: () => this.items.length === 0,
    full: () => this.#full(),
    maxsize: () => this.maxsize,
  } satisfies Record<string, Method>;
}

/** A lock owned by the session that acquired it; owner death frees it and tells the next owner. */
class LockObj extends Managed {
  owner: Session | null = null;
  abandoned = false;
  readonly waiters: Waiter<[boolean, boolean]>[] = [];
  #take(s: Session): [boolean, boolean] {
    this.owner = s;
    s.locks.add(this);
    const died = this.abandoned;
    this.abandoned = false;
    return [true, died];
  }
  /** The owner's session ended while it held the lock. */
  ownerGone(): void {
    this.owner = null;
    this.abandoned = true;
    this.#handOver();
  }
  #handOver(): void {
    const w = nextWaiter(this.waiters);
    if (w) w.resolve(this.#take(w.session));
  }
  readonly methods = {
    acquire: ([block = true, t], ctx) => {
      const timeout = block ? timeoutArg(t) : 0;
      if (this.owner === null) return this.#take(ctx.session);
      if (timeout === 0) return [false, false];
      return wait(this.waiters, ctx, timeout, () => [false, false]);
    },
    release: (_a, ctx) => {
      if (this.owner === null) throw coded(new Error('release unlocked lock'), 'ERR_MULTIPROC_LOCK_NOT_HELD');
      if (this.owner !== ctx.session) throw coded(new Error('cannot release a lock held by another process'), 'ERR_MULTIPROC_LOCK_NOT_OWNER');
      this.owner.locks.delete(this);
      this.owner = null;
      this.#handOver();
    },
    locked: () => this.owner !== null,
    owned: (_a, ctx) => this.owner === ctx.session,
  } satisfies Record<string, Method>;
}

/** Each kind of object a manager makes, from the arguments of its create request. */
const KINDS = {
  dict: ([init]) => new DictObj(init),
  list: ([init]) => new ListObj(init),
  Namespace: ([init]) => new NamespaceObj(init),
  Value: ([typecode, init]) => new ValueObj(typecode, init),
  Queue: ([maxsize]) => new QueueObj(maxsize),
  Lock: () => new LockObj(),
} satisfies Record<ProxyKind, (args: unknown[]) => Managed>;

/**
 * The requests each kind of object serves, and the manager's own (id 0): what a proxy's method table
 * (lib/mp/manager/proxies.ts) may name. A type only: the client never loads this module.
 */
export type ServedOps = { [K in ProxyKind]: keyof ReturnType<(typeof KINDS)[K]>['methods'] } & { manager: keyof ManagerServer['methods'] };

// ---------------------------------------------------------------------------------------------------------
// the server

class ServerConn {
  closed = false;
  /** The requests of this connection waiting in the server, by id: cancel(reason) rejects one, cancel() drops it. */
  readonly waiting = new Map<number, (reason?: Error) => boolean>();
  #session: Session | null = null;
  #decoder = new FrameDecoder(HANDSHAKE_MAX);
  #nonce: Buffer = Buffer.alloc(0);
  #timer: NodeJS.Timeout | undefined;
  /** Counted in the server's pendingAuth (until it authenticates or closes). */
  #pending = false;

  constructor(
    readonly server: ManagerServer,
    readonly sock: net.Socket,
  ) {
    sock.on('error', () => {});
    sock.on('close', () => this.#onClose());
    if (server.pendingAuth >= server.maxPendingAuth) {
      this.#refuse(`too many connections waiting to authenticate (${server.maxPendingAuth}, the Manager's maxPendingAuth)`);
      return;
    }
    this.#pending = true;
    server.pendingAuth++;
    const c = serverChallenge();
    this.#nonce = c.nonce;
    sock.write(c.frame);
    this.#timer = setTimeout(() => this.#refuse(`authentication timed out (${server.authTimeout} ms, the Manager's authTimeout)`), server.authTimeout);
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  #endPending(): void {
    if (!this.#pending) return;
    this.#pending = false;
    this.server.pendingAuth--;
    clearTimeout(this.#timer);
  }

  /**
   * Before authentication: a refusal frame with a fixed reason (nothing about the server: no error message,
   * no stack, no path), then the connection is closed.
   */
  #refuse(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#endPending();
    // no longer served: stats() stops counting it now, not when the peer's FIN comes back
    this.server.conns.delete(this);
    this.sock.end(serverRefusal(reason));
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  #onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (e) {
      if (this.#session) this.fatal(e);
      else this.#refuse(`not a Manager handshake (a frame longer than ${HANDSHAKE_MAX} bytes)`);
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      if (!this.#session) this.#handshake(f);
      else this.#request(f);
    }
  }

  #handshake(answer: Buffer): void {
    const v = serverVerify(this.server.key, this.#nonce, answer);
    this.#endPending();
    this.sock.write(v.frame);
    if (!v.ok) {
      this.closed = true;
      this.sock.end();
      return;
    }
    this.#session = this.server.joinSession(v.session);
    this.#decoder.limit = this.server.limit;
  }

  /** An error that ends the connection: told to the client (request id 0), then the socket is closed. */
  fatal(e: unknown): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sock.write(encode([0, false, errorRecord(e)] satisfies Reply, Infinity));
    } catch {
      /* nothing more to say */
    }
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 1000).unref();
  }

  #request(body: Buffer): void {
    let req: Request;
    try {
      req = decode(body) as Request;
      if (!Array.isArray(req) || typeof req[0] !== 'number' || typeof req[1] !== 'number' || typeof req[2] !== 'string' || !Array.isArray(req[3])) {
        throw new TypeError('malformed request');
      }
    } catch (e) {
      this.fatal(e);
      return;
    }
    const [id, oid, method, args] = req;
    let result: unknown;
    try {
      result = this.server.dispatch(oid, method, args, { conn: this, session: this.#session!, id });
    } catch (e) {
      this.reply(id, false, errorRecord(e));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (v) => this.reply(id, true, v),
        (e) => this.reply(id, false, errorRecord(e)),
      );
    } else {
      this.reply(id, true, result);
    }
  }

  reply(id: number, ok: boolean, value: unknown, cb?: () => void): void {
    if (this.closed) return;
    let f: Buffer;
    try {
      // an undefined value is left out: [id, ok] (JSON-encodable, the common reply of set())
      f = encode(value === undefined ? [id, ok] : ([id, ok, value] satisfies Reply), this.server.limit, 'A reply', false);
    } catch (e) {
      f = encode([id, false, errorRecord(e)] satisfies Reply, Infinity);
    }
    this.sock.write(f, cb);
  }

  #onClose(): void {
    this.closed = true;
    this.#endPending();
    for (const cancel of [...this.waiting.values()]) cancel();
    this.waiting.clear();
    if (this.#session) this.server.leaveSession(this.#session);
    this.server.conns.delete(this);
  }
}

class ManagerServer {
  readonly key: Buffer;
  readonly limit: number;
  readonly authTimeout: number;
  readonly maxPendingAuth: number;
  /** Connections open and not yet authenticated. */
  pendingAuth = 0;
  readonly conns = new Set<ServerConn>();
  readonly objects = new Map<number, Managed>();
  readonly sessions = new Map<string, Session>();
  #nextOid = 1;
  #net: net.Server;
  #done!: () => void;
  readonly finished = new Promise<void>((r) => (this.#done = r));
  #stopping = false;

  constructor(readonly cfg: ServerConfig) {
    this.key = Buffer.from(cfg.authkey);
    this.limit = cfg.maxMessageBytes ?? DEFAULT_MANAGER_MESSAGE_BYTES;
    this.authTimeout = cfg.authTimeout ?? AUTH_TIMEOUT_MS;
    this.maxPendingAuth = cfg.maxPendingAuth ?? MAX_PENDING_AUTH;
    this.#net = net.createServer((sock) => {
      if (this.#stopping) return void sock.destroy();
      const conn = new ServerConn(this, sock);
      if (!conn.closed) this.conns.add(conn); // refused in its constructor (maxPendingAuth): not served, not counted
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      const old = process.umask(0o177); // the socket is created 0600 (the directory is 0700 as well)
      this.#net.listen(this.cfg.socketPath, () => {
        process.umask(old);
        this.#net.off('error', reject);
        chmodSync(this.cfg.socketPath, 0o600);
        resolve();
      });
    });
  }

  joinSession(id: string): Session {
    let s = this.sessions.get(id);
    if (!s) {
      s = { id, conns: 0, locks: new Set() };
      this.sessions.set(id, s);
    }
    s.conns++;
    return s;
  }

  leaveSession(s: Session): void {
    if (--s.conns > 0) return;
    this.sessions.delete(s.id);
    for (const lock of s.locks) lock.ownerGone();
    s.locks.clear();
  }

  /** The manager's own requests (object id 0). */
  readonly methods = {
    create: ([kind, kargs]) => {
      const make = typeof kind === 'string' && Object.hasOwn(KINDS, kind) ? KINDS[kind as ProxyKind] : undefined;
      if (!make || !Array.isArray(kargs)) throw argError(`unknown Manager object kind ${String(kind)}`);
      const oid = this.#nextOid++;
      this.objects.set(oid, make(kargs));
      return oid;
    },
    ping: () => process.pid,
    // an AbortSignal fired in the client: true if the request was still waiting (it is rejected)
    cancel: ([id], ctx) => ctx.conn.waiting.get(id as number)?.(abortError()) ?? false,
    stats: () => ({ pid: process.pid, objects: this.objects.size, connections: this.conns.size, authenticating: this.pendingAuth, sessions: this.sessions.size }),
    shutdown: () => {
      // the reply is written now; stop() ends (flushes) every connection after it
      setImmediate(() => this.stop());
    },
  } satisfies Record<string, Method>;

  /** Runs one request: a method from the table of the object it names (id 0: the manager's own). */
  dispatch(oid: number, method: string, args: unknown[], ctx: Ctx): unknown {
    const obj = oid === 0 ? this : this.objects.get(oid);
    if (!obj) throw coded(new Error(`the Manager has no object with id ${oid}`), 'ERR_MULTIPROC_NO_OBJECT');
    const methods: Record<string, Method> = obj.methods;
    const fn = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (fn) return fn(args, ctx);
    if (oid === 0) throw argError(`unknown Manager request ${method}`);
    throw coded(new TypeError(`${obj.constructor.name.replace(/Obj$/, '')} proxy has no method "${method}"`), 'ERR_INVALID_ARG_VALUE');
  }

  /** Closes every connection and the listener, removes the socket and its directory. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#net.close();
    for (const c of this.conns) {
      c.closed = true;
      c.sock.end();
      setTimeout(() => c.sock.destroy(), 200).unref();
    }
    removeDir(this.cfg.dir);
    this.#done();
  }
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* already gone */
  }
}

/** Tells the starting process that the server listens (or why it could not). */
function report(readyPath: string, message: string): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(readyPath, () => s.end(message, () => resolve()));
    s.on('error', () => resolve());
  });
}

/**
 * The server process's entry (the target of the Manager's Process, fork or spawn). Returns when the server
 * has been shut down. It dies with its parent: PR_SET_PDEATHSIG delivers SIGTERM, and the SIGTERM handler
 * removes the socket directory before exiting. SIGINT is ignored (a Ctrl-C reaches the whole foreground
 * process group; the parent decides when its manager stops), as Python's manager server does.
 */
export async function serveManager(cfg: ServerConfig): Promise<void> {
  posix.setParentDeathSignal('SIGTERM');
  if (posix.getppid() !== (realParentPid() ?? cfg.parentPid)) {
    removeDir(cfg.dir);
    process.exit(1); // the parent died before prctl: no signal would ever come
  }
  const server = new ManagerServer(cfg);
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {
    removeDir(cfg.dir);
    process.exit(0);
  });
  try {
    await server.listen();
  } catch (e) {
    await report(cfg.readyPath, `error ${(e as Error).message}`);
    removeDir(cfg.dir);
    throw e;
  }
  await report(cfg.readyPath, `ready ${process.pid}`);
  await server.finished;
  // let the last replies and FINs go out
  await new Promise((r) => setTimeout(r, 20));
}

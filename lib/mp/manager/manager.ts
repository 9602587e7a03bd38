// Manager: Python's multiprocessing.Manager with Node's conventions. A server process owns dicts, lists,
// namespaces, queues, locks and values; every other process holds proxies whose methods are requests to it.
//
//   const manager = await Manager.start();          // a server process (spawn by default; fork on request)
//   const d = await manager.dict();                  // a proxy
//   await d.set('k', 1); d.getSync('k');             // async, and …Sync twins that block the thread
//   await manager.shutdown();
//
// The pieces: this file starts (or reaches) the server and makes proxies; lib/mp/manager/proxies.ts holds the
// proxies, lib/mp/manager/client.ts this process's connections, lib/mp/manager/server.ts the server process.
//
// Transport and security (lib/mp/manager/wire.ts): a Unix stream socket in a private 0700 directory (mkdtemp),
// the socket itself 0600; every connection proves knowledge of the authkey with an HMAC challenge in both
// directions before anything else; frames have a size limit; values are structured clones (v8.serialize).
//
// The server dies with the process that started it, even on SIGKILL (PR_SET_PDEATHSIG → SIGTERM, whose
// handler removes the socket directory); shutdown() stops it and removes the directory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientFor, dropClients } from './client.js';
import { closedError } from '../core/errors.js';
import {
  type BaseProxy,
  type DictKey,
  type DictProxy,
  type ListProxy,
  type LockProxy,
  type NamespaceProxy,
  type ProxyKind,
  type QueueProxy,
  rebuildProxy,
  type ValueProxy,
} from './proxies.js';
import { serveManager, type ServedOps, type ServerConfig } from './server.js';
import { AUTH_TIMEOUT_MS, coded, DEFAULT_MANAGER_MESSAGE_BYTES, MAX_PENDING_AUTH, toKey } from './wire.js';
import { Process, type StartMethod } from '../process/process.js';
import { startMethod } from '../process/start/index.js';
import { registerShareable } from '../core/reduction.js';
import { allocation, integer, integerOr, timeout as checkTimeout } from '../../posix/errors.js';

export { DEFAULT_MANAGER_MESSAGE_BYTES } from './wire.js';

/** Options of {@link Manager.start}. */
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


/** What {@link Manager.stats} reports: the server's pid and counts. */
export interface ManagerStats {
  /** The server process's pid. */
  pid: number;
  /** Objects alive in the server (dicts, lists, queues…). */
  objects: number;
  /** Connections open now, authenticated or not. */
  connections: number;
  /** Of those, the ones that have not proved the authkey yet. */
  authenticating: number;
  /** Client sessions: one per process that talks to the server. */
  sessions: number;
}


/** Options of {@link Manager.connect}. */
export interface ConnectOptions {
  /** Largest request or reply this client sends or accepts, in bytes (1024 ..= 2^32 - 1; default 64 MiB). */
  maxMessageBytes?: number;
}


// ---------------------------------------------------------------------------------------------------------
// the launcher

/** The server's module, as Process({ startMethod: 'spawn' }) loads it (the .ts source under tsx, else the .js). */
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

// ---------------------------------------------------------------------------------------------------------
// the manager

let managerFromData: (d: { address: string; authkey: Uint8Array; maxMessageBytes: number }) => Manager;

/**
 * A manager: a server process that owns shared objects, and the way to it. {@link Manager.start} starts one,
 * {@link Manager.connect} reaches one started elsewhere; dict(), list(), Namespace(), Value(), Queue() and
 * Lock() make objects in it and return their proxies.
 *
 * Every proxy call is a request to the server (a Promise), with a …Sync twin that blocks the thread on a
 * blocking socket. Waits (a Queue's get, a Lock's acquire) happen in the server. Proxies travel to other
 * processes in Process args (and a forked child inherits them); each process opens its own connections.
 *
 * Security: the server listens on a Unix socket (0600) in a private 0700 directory; every connection must
 * prove it knows the `authkey` (an HMAC-SHA256 challenge, both ways) before anything else, a wrong key is
 * ERR_MULTIPROC_AUTH; frames are limited to `maxMessageBytes`; values are structured clones, never code. The
 * server dies with the process that started it (even on SIGKILL) and then removes its directory.
 * @example
 * ```ts
 * import { Manager, Process } from 'multiproc';
 *
 * await using manager = await Manager.start();    // a server process (spawn by default)
 * const d = await manager.dict<number>();         // also list(), Namespace(), Queue(), Lock(), Value()
 * await d.set('hits', 1);
 * d.setSync('hits', 2);                           // the blocking twin
 * const p = new Process({ target: async () => d.increment('hits') });
 * p.start();
 * await p.join();
 * await d.get('hits');                            // 3
 * const other = await Manager.connect(manager.address, manager.authkey);  // from any process
 * ```
 */
export class Manager {
  /** The server's socket path (what Manager.connect takes). */
  readonly address: string;
  /** The shared secret every connection proves it knows. */
  readonly authkey: Buffer;
  /** Largest request or reply, in bytes. */
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

  /**
   * Starts a server process and returns once it listens.
   * @param opts authkey, start method, message limit, timeouts; see {@link ManagerOptions}
   * @throws Error ERR_MULTIPROC_TIMEOUT when the server does not listen within `startTimeout`; the server's
   *   own error when it cannot start
   */
  static async start(opts: ManagerOptions = {}): Promise<Manager> {
    if (opts === null || typeof opts !== 'object') throw coded(new TypeError('Manager.start(options): options must be an object'), 'ERR_INVALID_ARG_TYPE');
    const key = opts.authkey === undefined ? randomBytes(32) : toKey(opts.authkey);
    if (key.length === 0) throw coded(new RangeError('The authkey must not be empty'), 'ERR_OUT_OF_RANGE');
    const limit = checkLimit(opts.maxMessageBytes);
    const startTimeout = checkTimeout('options.startTimeout', opts.startTimeout, 60_000);
    const method = startMethod('options.startMethod', opts.startMethod ?? 'spawn');
    const authTimeout = integerOr('authTimeout', opts.authTimeout, AUTH_TIMEOUT_MS, 1, 2 ** 31 - 1);
    const maxPendingAuth = integerOr('maxPendingAuth', opts.maxPendingAuth, MAX_PENDING_AUTH, 1, 2 ** 31 - 1);
    // Every option is checked before the directory exists: a bad one must not leave it behind.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'multiproc-mgr-')); // mode 0700, unpredictable name
    const cfg: ServerConfig = {
      dir,
      socketPath: path.join(dir, 'manager.sock'),
      readyPath: path.join(dir, 'ready.sock'),
      authkey: key,
      maxMessageBytes: limit,
      authTimeout,
      maxPendingAuth,
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

  /**
   * A manager started elsewhere (by another process), reached through its address with its authkey.
   * @param address its `address` (the socket path)
   * @param authkey its `authkey`
   * @param opts `maxMessageBytes`; see {@link ConnectOptions}
   * @throws Error ERR_MULTIPROC_AUTH for a wrong key (it connects and authenticates at once)
   */
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

  #call(method: ServedOps['manager'], ...args: unknown[]): Promise<unknown> {
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

  /**
   * A new dict, optionally filled from a Map, a plain object or [key, value] pairs.
   * @param init the initial entries (keys: strings, numbers, bigints, booleans, null, undefined)
   */
  dict<V = unknown>(init?: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): Promise<DictProxy<V>> {
    return this.#create('dict', init);
  }

  /**
   * A new list, optionally a copy of `init`.
   * @param init the initial items
   */
  list<T = unknown>(init?: T[]): Promise<ListProxy<T>> {
    return this.#create('list', init);
  }

  /**
   * A new namespace, optionally with the attributes of `init`.
   * @param init the initial attributes
   */
  Namespace(init?: Record<string, unknown>): Promise<NamespaceProxy> {
    return this.#create('Namespace', init);
  }

  /** Value(init) or Python's Value(typecode, init) (the typecode is kept, values are not coerced). */
  Value<T = unknown>(init?: T): Promise<ValueProxy<T>>;
  Value<T = unknown>(typecode: string, init: T): Promise<ValueProxy<T>>;
  Value(...args: unknown[]): Promise<ValueProxy> {
    return args.length >= 2 ? this.#create('Value', args[0], args[1]) : this.#create('Value', undefined, args[0]);
  }

  /**
   * A queue in the server (Python's manager.Queue()): get/put wait there, Empty/Full as Python.
   * @param maxsize the most items (default 0: unbounded)
   */
  Queue<T = unknown>(maxsize = 0): Promise<QueueProxy<T>> {
    return this.#create('Queue', maxsize);
  }

  /** A new lock (owned by the process that acquires it). */
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

  /** `await using`: shuts down a manager this process started, closes the connections of one it reached. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#proc) await this.shutdown();
    else this.close();
  }

  /** `<Manager address=… pid=…>` (and ` shut down` after shutdown()). */
  toString(): string {
    return `<Manager address=${this.address}${this.#serverPid ? ` pid=${this.#serverPid}` : ''}${this.#closed ? ' shut down' : ''}>`;
  }
}

/** options.maxMessageBytes: an integer in [1024, 2^32 - 1] that can be allocated (default 64 MiB). */
function checkLimit(n: unknown): number {
  if (n === undefined) return DEFAULT_MANAGER_MESSAGE_BYTES;
  const limit = integer('options.maxMessageBytes', n, 1024, 2 ** 32 - 1);
  allocation('options.maxMessageBytes', limit, 'a Manager message limit');
  return limit;
}

// A manager reaches spawned children in Process args (lib/mp/core/reduction.ts) as its address and authkey (the
// child connects on first use); inside a Pipe or Queue message it is an error (it carries the authkey).
registerShareable(
  Manager,
  'Manager',
  (m) => ({ fds: [], data: { address: m.address, authkey: Buffer.from(m.authkey), maxMessageBytes: m.maxMessageBytes } }),
  (_fds, data: { address: string; authkey: Uint8Array; maxMessageBytes: number }) => managerFromData(data),
  import.meta.url,
);

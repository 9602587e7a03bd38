// Proxies: what a process holds for an object of a Manager (Python's BaseProxy and its kinds). Each method is a
// request to the server, made by the generic request code here from one row of its class's method table:
//
//   DictProxy: get: {},  increment: { args: (key, by = 1, start = 0) => [key, by, start] },  …
//   QueueProxy: put: { wait: 1 },  getNowait: { op: 'get', args: () => [NOWAIT], wait: 0 },  …
//
// defineOps() turns each row into the async method and its …Sync twin (one implementation for both: only the
// transport differs, lib/mp/manager/client.ts). The signatures and their docs are declared in the interface
// that merges with each class, so TypeScript users see precise types; the table's type is derived from that
// interface (a declared method without a row, a row without a declared method, a …Sync twin whose signature is
// not the blocking form of its async method, or a request the server does not serve, is a compile error).
import { clientFor } from './client.js';
import { coded, type ProxyKind } from './wire.js';
import type { ServedOps } from './server.js';
import { registerShareable } from '../core/reduction.js';
import { waitOptions } from '../../posix/errors.js';

export type { ProxyKind } from './wire.js';

/** What identifies a manager's object: enough for any process that has the key to reach it. */
export interface ProxyData {
  /** The manager's socket path. */
  address: string;
  /** The manager's authkey (keep it secret: it grants access to every object of the manager). */
  authkey: Uint8Array;
  /** The object's id in the manager (a proxy's `id`). */
  oid: number;
  /** What kind of object it is ('dict', 'list', 'Namespace', 'Value', 'Queue', 'Lock'). */
  kind: ProxyKind;
  /** The largest request or reply, in bytes. */
  maxMessageBytes: number;
}

/** A Manager dict's keys: primitives (compared as a Map compares them). */
export type DictKey = string | number | bigint | boolean | null | undefined;
/** A timeout in ms, or options: `block: false` is Python's block=False; `signal` (async forms) cancels the wait. */
export type Timeout = number | null | { timeout?: number | null; block?: boolean; signal?: AbortSignal };

/** One request for a proxy's object: async (a signal may cancel it while it waits in the server), or blocking. */
let request: (p: BaseProxy, op: string, args: unknown[], signal?: AbortSignal) => Promise<unknown>;
let requestSync: (p: BaseProxy, op: string, args: unknown[]) => unknown;

/**
 * What every proxy has: the object's id and the way to its manager. Proxies come from a {@link Manager}
 * (dict(), list()…, proxy()), from {@link rebuildProxy}, or as Process args; each process opens its own
 * connection on first use.
 */
export abstract class BaseProxy {
  readonly #data: ProxyData;
  readonly #key: Buffer;

  /** @param data the object's address, key, id and kind (what {@link BaseProxy.toProxyData} returns) */
  constructor(data: ProxyData) {
    this.#data = { ...data, authkey: Buffer.from(data.authkey) };
    this.#key = Buffer.from(data.authkey);
  }

  static {
    request = (p, op, args, signal) => p.#client().call(p.#data.oid, op, args, signal);
    requestSync = (p, op, args) => p.#client().callSync(p.#data.oid, op, args);
  }

  #client(): ReturnType<typeof clientFor> {
    return clientFor(this.#data.address, this.#key, this.#data.maxMessageBytes);
  }

  /** The manager's socket path. */
  get address(): string {
    return this.#data.address;
  }

  /** The object's id in the manager. */
  get id(): number {
    return this.#data.oid;
  }

  /** What kind of object this proxy stands for. */
  get kind(): ProxyKind {
    return this.#data.kind;
  }

  /** What rebuilds this proxy in another process (with rebuildProxy); it contains the authkey. */
  toProxyData(): ProxyData {
    return { ...this.#data, authkey: Buffer.from(this.#key) };
  }

  /** `<DictProxy id=… manager=…>`. */
  toString(): string {
    return `<${this.constructor.name} id=${this.#data.oid} manager=${this.#data.address}>`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// method tables and the generator

type AsyncMethod = (...a: never[]) => Promise<unknown>;

/** How one proxy method becomes a request, and the reply its result. */
interface OpRow<F extends AsyncMethod, Served extends string, P> {
  /** The server's method (default: the proxy method's own name). */
  op?: Served;
  /** The request's arguments from the method's (default: as given). */
  args?: (...a: Parameters<F>) => unknown[];
  /**
   * The request's argument at this index is a {@link Timeout}: validated here, sent as (block, timeout); an
   * async call passes its signal on (an abort cancels the request while it waits in the server).
   */
  wait?: number;
  /** Keep trailing undefined arguments (they are values to store); by default they are left out. */
  verbatim?: true;
  /** The method's result from the server's reply (default: the reply itself). */
  result?: (reply: unknown, proxy: P) => Awaited<ReturnType<F>>;
  /**
   * Async: when the reply grants something (`if`) although the signal had aborted meanwhile, give it back with
   * this request (no arguments), then reject with the signal's reason.
   */
  undo?: { op: Served; if: (reply: unknown) => boolean };
}

/** The blocking form of an async method. */
type SyncOf<F> = F extends (...a: infer A) => Promise<infer R> ? (...a: A) => R : never;

/** The methods of P that have a …Sync twin, less those written by hand (Skip). */
type Twinned<P, Skip extends string> = Exclude<
  { [K in keyof P & string]: `${K}Sync` extends keyof P ? (P[K] extends AsyncMethod ? K : never) : never }[keyof P & string],
  Skip
>;

/** Both ways assignable: the same signature. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/**
 * One row per async method of P that has a …Sync twin: a row names a request the server serves (its own name,
 * or `op`), and the twin must be the blocking form of the method.
 */
type Table<P, Served extends string, Skip extends string> = {
  [K in Twinned<P, Skip>]: P[K] extends AsyncMethod
    ? Same<P[`${K}Sync` & keyof P], SyncOf<P[K]>> extends true
      ? OpRow<P[K], Served, P> & (K extends Served ? unknown : { op: Served })
      : { error: `${K}Sync is not the blocking form of ${K}` }
    : never;
};

/** An untyped row, as the generator reads it. */
type AnyRow = OpRow<(...a: unknown[]) => Promise<unknown>, string, BaseProxy>;

/** Leaves out trailing undefined arguments (the server sees them as undefined all the same): most requests stay plain JSON. */
function trim(args: unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return n === args.length ? args : args.slice(0, n);
}

/** Defines a method as a class body would (not enumerable), with its name. */
function method(proto: object, name: string, fn: (...a: unknown[]) => unknown): void {
  Object.defineProperty(fn, 'name', { value: name });
  Object.defineProperty(proto, name, { value: fn, writable: true, enumerable: false, configurable: true });
}

/** The proxy class of each kind (what rebuildProxy makes), as defineOps registers them. */
const PROXY_CLASSES = new Map<ProxyKind, new (data: ProxyData) => BaseProxy>();

/**
 * Makes cls the proxy of `kind`: defines, for each row of the table, the async method on cls.prototype and its
 * …Sync twin (their types and docs are in the interface that merges with cls), and registers cls as what
 * rebuildProxy makes for that kind.
 */
function defineOps<P extends BaseProxy, K extends ProxyKind, Skip extends string = never>(
  cls: new (data: ProxyData) => P,
  kind: K,
  table: Table<P, ServedOps[K] & string, Skip>,
): void {
  PROXY_CLASSES.set(kind, cls);
  for (const [name, row] of Object.entries(table) as [string, AnyRow][]) {
    const op = row.op ?? name;
    const prepare = (a: unknown[]): { args: unknown[]; signal: AbortSignal | undefined } => {
      let args = row.args ? row.args(...a) : a;
      let signal: AbortSignal | undefined;
      if (row.wait !== undefined) {
        const w = waitOptions(args[row.wait], Infinity, { block: true });
        signal = w.signal;
        args = Array.from({ length: row.wait }, (_, i) => args[i]);
        args.push(w.block, w.timeout === Infinity ? undefined : w.timeout);
      }
      return { args: row.verbatim ? args : trim(args), signal };
    };
    const finish = (reply: unknown, proxy: BaseProxy): unknown => (row.result ? row.result(reply, proxy) : reply);
    method(cls.prototype, name, async function (this: BaseProxy, ...a: unknown[]): Promise<unknown> {
      const { args, signal } = prepare(a);
      const reply = await request(this, op, args, signal);
      if (row.undo && signal?.aborted && row.undo.if(reply)) {
        await request(this, row.undo.op, []);
        throw signal.reason;
      }
      return finish(reply, this);
    });
    method(cls.prototype, `${name}Sync`, function (this: BaseProxy, ...a: unknown[]): unknown {
      return finish(requestSync(this, op, prepare(a).args), this);
    });
  }
}

/** The wait options of the …Nowait methods. */
const NOWAIT = { block: false };

// ---------------------------------------------------------------------------------------------------------
// the proxies: each interface declares the methods (async and …Sync), each class's table makes them

/** What a dict and a namespace have alike: values by key (a namespace's keys are its attribute names). */
export interface KeyedOps<K, V> {
  /**
   * Sets the value at `key`.
   * @param key the key (a namespace's attribute name)
   * @param value the value (structured-cloned)
   */
  set(key: K, value: V): Promise<void>;
  /**
   * set(), blocking the thread until the reply.
   * @param key the key
   * @param value the value
   */
  setSync(key: K, value: V): void;
  /**
   * Whether there is a value at `key`.
   * @param key the key
   */
  has(key: K): Promise<boolean>;
  /**
   * has(), blocking.
   * @param key the key
   */
  hasSync(key: K): boolean;
  /**
   * Removes the value at `key`; true if there was one.
   * @param key the key
   */
  delete(key: K): Promise<boolean>;
  /**
   * delete(), blocking.
   * @param key the key
   */
  deleteSync(key: K): boolean;
}

/**
 * A dict in the manager (a Map; keys are primitives). Every method has a …Sync twin that blocks the thread.
 * @example
 * ```ts
 * const d = await manager.dict<number>({ a: 1 });
 * await d.increment('hits');         // atomic in the server: 1
 * d.getSync('a');                    // 1, blocking the thread
 * await d.toMap();                   // Map { 'a' => 1, 'hits' => 1 }
 * ```
 */
export interface DictProxy<V = unknown> extends KeyedOps<DictKey, V> {
  /**
   * The value at `key`, or `dflt` when there is none.
   * @param key the key
   * @param dflt what to return when there is no value at `key` (default undefined)
   */
  get(key: DictKey, dflt?: V): Promise<V | undefined>;
  /**
   * {@link DictProxy.get}, blocking the thread until the reply.
   * @param key the key
   * @param dflt what to return when there is no value at `key`
   */
  getSync(key: DictKey, dflt?: V): V | undefined;
  /** The keys, in insertion order. */
  keys(): Promise<DictKey[]>;
  /** {@link DictProxy.keys}, blocking. */
  keysSync(): DictKey[];
  /** The values, in insertion order. */
  values(): Promise<V[]>;
  /** {@link DictProxy.values}, blocking. */
  valuesSync(): V[];
  /** The [key, value] pairs, in insertion order. */
  entries(): Promise<[DictKey, V][]>;
  /** {@link DictProxy.entries}, blocking. */
  entriesSync(): [DictKey, V][];
  /** The number of entries. */
  size(): Promise<number>;
  /** {@link DictProxy.size}, blocking. */
  sizeSync(): number;
  /** Removes every entry. */
  clear(): Promise<void>;
  /** {@link DictProxy.clear}, blocking. */
  clearSync(): void;
  /**
   * Sets every entry of a Map, a plain object or an array of pairs.
   * @param entries the entries to set
   */
  update(entries: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): Promise<void>;
  /**
   * {@link DictProxy.update}, blocking.
   * @param entries the entries to set
   */
  updateSync(entries: Map<DictKey, V> | Record<string, V> | [DictKey, V][]): void;
  /**
   * Atomically adds `by` to the number at `key` (missing: `start`), in the server; returns the new value.
   * @param key the key
   * @param by what to add (default 1)
   * @param start the value a missing key starts from (default 0)
   */
  increment(key: DictKey, by?: number, start?: number): Promise<number>;
  /**
   * {@link DictProxy.increment}, blocking.
   * @param key the key
   * @param by what to add (default 1)
   * @param start the value a missing key starts from (default 0)
   */
  incrementSync(key: DictKey, by?: number, start?: number): number;
  /** A local copy. */
  toMap(): Promise<Map<DictKey, V>>;
  /** {@link DictProxy.toMap}, blocking. */
  toMapSync(): Map<DictKey, V>;
}
export class DictProxy<V = unknown> extends BaseProxy {
  static {
    defineOps(this, 'dict', {
      get: {},
      set: {},
      has: {},
      delete: {},
      keys: {},
      values: {},
      entries: {},
      size: {},
      clear: {},
      update: {},
      increment: { args: (key, by = 1, start = 0) => [key, by, start] },
      toMap: {},
    });
  }
}

/**
 * A list in the manager. Negative indices count from the end; out of range is a RangeError. Every method has a
 * …Sync twin that blocks the thread.
 */
export interface ListProxy<T = unknown> {
  /**
   * The item at `i`.
   * @param i the index (negative: from the end)
   */
  get(i: number): Promise<T>;
  /**
   * {@link ListProxy.get}, blocking.
   * @param i the index (negative: from the end)
   */
  getSync(i: number): T;
  /**
   * Replaces the item at `i`.
   * @param i the index (negative: from the end)
   * @param value the new item
   */
  set(i: number, value: T): Promise<void>;
  /**
   * {@link ListProxy.set}, blocking.
   * @param i the index (negative: from the end)
   * @param value the new item
   */
  setSync(i: number, value: T): void;
  /**
   * Appends; returns the new length.
   * @param values the items to append
   */
  push(...values: T[]): Promise<number>;
  /**
   * {@link ListProxy.push}, blocking.
   * @param values the items to append
   */
  pushSync(...values: T[]): number;
  /**
   * Removes and returns the last item (or the one at `i`); RangeError on an empty list.
   * @param i the index (default: the last; negative: from the end)
   */
  pop(i?: number): Promise<T>;
  /**
   * {@link ListProxy.pop}, blocking.
   * @param i the index (default: the last)
   */
  popSync(i?: number): T;
  /** The number of items. */
  length(): Promise<number>;
  /** {@link ListProxy.length}, blocking. */
  lengthSync(): number;
  /** A local copy. */
  toArray(): Promise<T[]>;
  /** {@link ListProxy.toArray}, blocking. */
  toArraySync(): T[];
}
export class ListProxy<T = unknown> extends BaseProxy {
  static {
    defineOps(this, 'list', { get: {}, set: {}, push: { verbatim: true }, pop: {}, length: {}, toArray: {} });
  }
}

/** A namespace in the manager: named attributes. Every method has a …Sync twin that blocks the thread. */
export interface NamespaceProxy extends KeyedOps<string, unknown> {
  /**
   * The attribute's value (undefined when there is none).
   * @param name the attribute
   */
  get(name: string): Promise<unknown>;
  /**
   * {@link NamespaceProxy.get}, blocking.
   * @param name the attribute
   */
  getSync(name: string): unknown;
  /** A local copy, as a plain object. */
  toObject(): Promise<Record<string, unknown>>;
  /** {@link NamespaceProxy.toObject}, blocking. */
  toObjectSync(): Record<string, unknown>;
}
export class NamespaceProxy extends BaseProxy {
  static {
    defineOps(this, 'Namespace', { get: {}, set: {}, has: {}, delete: {}, toObject: {} });
  }
}

/**
 * A single value in the manager (Python's Value proxy: any cloneable value; the typecode is kept as given).
 * get and set have …Sync twins that block the thread.
 */
export interface ValueProxy<T = unknown> {
  /** The value. */
  get(): Promise<T>;
  /** {@link ValueProxy.get}, blocking. */
  getSync(): T;
  /**
   * Replaces the value.
   * @param value the new value (structured-cloned)
   */
  set(value: T): Promise<void>;
  /**
   * {@link ValueProxy.set}, blocking.
   * @param value the new value
   */
  setSync(value: T): void;
}
export class ValueProxy<T = unknown> extends BaseProxy {
  static {
    defineOps(this, 'Value', { get: {}, set: {} });
  }

  /** Python's `.value`: a synchronous round trip each time. */
  get value(): T {
    return this.getSync();
  }
  /** Python's `.value =`: setSync(v), a synchronous round trip. */
  set value(v: T) {
    this.setSync(v);
  }
}

/**
 * A queue in the manager (Python's manager Queue). get/put wait in the server: `timeout` in ms, or
 * `{ block: false }`; when no item (room) came in time they throw Empty (Full). Every method has a …Sync twin
 * that blocks the thread.
 */
export interface QueueProxy<T = unknown> {
  /**
   * Puts an item, waiting (in the server) for room when the queue is full.
   * @param item the item (structured-cloned)
   * @param t a timeout in ms, or `{ timeout, block, signal }` (default: wait as long as it takes)
   * @throws Full when no room came in time
   */
  put(item: T, t?: Timeout): Promise<void>;
  /**
   * {@link QueueProxy.put}, blocking.
   * @param item the item
   * @param t a timeout in ms, or `{ timeout, block }`
   */
  putSync(item: T, t?: Timeout): void;
  /**
   * Takes an item. With a signal: an abort while the get waits in the server rejects with its reason and takes no item.
   * @param t a timeout in ms, or `{ timeout, block, signal }` (default: wait as long as it takes)
   * @throws Empty when no item came in time
   */
  get(t?: Timeout): Promise<T>;
  /**
   * {@link QueueProxy.get}, blocking.
   * @param t a timeout in ms, or `{ timeout, block }`
   */
  getSync(t?: Timeout): T;
  /**
   * put(item, { block: false }): Full at once when there is no room.
   * @param item the item
   */
  putNowait(item: T): Promise<void>;
  /**
   * {@link QueueProxy.putNowait}, blocking.
   * @param item the item
   */
  putNowaitSync(item: T): void;
  /** get({ block: false }): Empty at once when there is no item. */
  getNowait(): Promise<T>;
  /** {@link QueueProxy.getNowait}, blocking. */
  getNowaitSync(): T;
  /** The number of items. */
  qsize(): Promise<number>;
  /** {@link QueueProxy.qsize}, blocking. */
  qsizeSync(): number;
  /** Whether the queue holds no item. */
  empty(): Promise<boolean>;
  /** {@link QueueProxy.empty}, blocking. */
  emptySync(): boolean;
  /** Whether the queue is bounded and holds maxsize items. */
  full(): Promise<boolean>;
  /** {@link QueueProxy.full}, blocking. */
  fullSync(): boolean;
}
export class QueueProxy<T = unknown> extends BaseProxy {
  static {
    defineOps(this, 'Queue', {
      put: { wait: 1 },
      get: { wait: 0 },
      putNowait: { op: 'put', args: (item) => [item, NOWAIT], wait: 1 },
      getNowait: { op: 'get', args: () => [NOWAIT], wait: 0 },
      qsize: {},
      empty: {},
      full: {},
    });
  }
}

/**
 * A lock in the manager, owned by the process that acquired it: only that process may release it, and when
 * it dies holding the lock the next acquisition succeeds with `ownerDied === true` (and a process warning
 * MULTIPROC_OWNER_DIED), as for the library's other locks. Not reentrant. Every method has a …Sync twin that
 * blocks the thread.
 */
export interface LockProxy {
  /**
   * Resolves true once acquired; false when `timeout` ms passed (or `{ block: false }` and it is held). With a
   * signal: an abort while it waits rejects with the signal's reason, and leaves the lock not held.
   * @param t a timeout in ms, or `{ timeout, block, signal }` (default: wait as long as it takes)
   */
  acquire(t?: Timeout): Promise<boolean>;
  /**
   * {@link LockProxy.acquire}, blocking.
   * @param t a timeout in ms, or `{ timeout, block }`
   */
  acquireSync(t?: Timeout): boolean;
  /** Releases; an error if this process does not hold it. */
  release(): Promise<void>;
  /** {@link LockProxy.release}, blocking. */
  releaseSync(): void;
  /** Whether some process holds the lock. */
  locked(): Promise<boolean>;
  /** {@link LockProxy.locked}, blocking. */
  lockedSync(): boolean;
}
export class LockProxy extends BaseProxy {
  #ownerDied = false;

  static {
    defineOps<LockProxy, 'Lock', 'withLock'>(this, 'Lock', {
      acquire: { wait: 0, result: (reply, lock) => lock.#took(reply as [boolean, boolean]), undo: { op: 'release', if: (reply) => (reply as [boolean])[0] } },
      release: {},
      locked: {},
    });
  }

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

  /**
   * Runs fn holding the lock (acquired first, released after, also when fn throws).
   * @param fn what to run (awaited when it returns a promise)
   */
  async withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
  /**
   * {@link LockProxy.withLock}, blocking: fn runs synchronously.
   * @param fn what to run
   */
  withLockSync<R>(fn: () => R): R {
    this.acquireSync();
    try {
      return fn();
    } finally {
      this.releaseSync();
    }
  }
}

/**
 * Rebuilds a proxy from {@link BaseProxy.toProxyData} (in any process that may reach the socket).
 * @param data what toProxyData() returned in some process
 * @returns a proxy of the data's kind (a DictProxy for 'dict', …)
 * @throws TypeError ERR_INVALID_ARG_TYPE when `data` is not a proxy's data
 */
export function rebuildProxy(data: ProxyData): BaseProxy {
  const cls = data !== null && typeof data === 'object' ? PROXY_CLASSES.get(data.kind) : undefined;
  if (!cls) throw coded(new TypeError('rebuildProxy: not the data of a Manager proxy'), 'ERR_INVALID_ARG_TYPE');
  return new cls(data);
}

// Proxies reach spawned children in Process args (lib/mp/core/reduction.ts) as their ProxyData (address, object
// id, authkey), and the child connects on first use. Inside a Pipe or Queue message they are an error (they
// carry the authkey), as registered classes.
registerShareable(
  BaseProxy,
  'ManagerProxy',
  (p) => ({ fds: [], data: p.toProxyData() }),
  (_fds, data: ProxyData) => rebuildProxy(data),
  import.meta.url,
);

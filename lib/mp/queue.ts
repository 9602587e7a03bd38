// Queue, SimpleQueue, JoinableQueue: multi-producer, multi-consumer FIFO queues between processes.
//
// Shape: a ring buffer in a shared memfd mapping. Producers serialise on one robust mutex (wlock) and consumers
// on another (rlock); between the wlock holder and the rlock holder the ring is single-producer single-consumer,
// so a producer and a consumer never wait for each other's lock. Critical sections never block: a producer
// takes wlock only once its record fits, a consumer takes rlock only to copy one record out — which is why
// the async forms may take these locks on the JS thread (a pthread mutex belongs to the thread that locked it,
// so it cannot be taken off-thread). Waiting for data or space happens outside the locks on two process-shared
// semaphores, posted only when a waiter has announced itself (Atomics on shared words; V8's Atomics on a
// mapping's typed array are real lock-prefixed instructions, tested across processes). The semaphores are only
// wake-up hints: every waiter re-checks the ring and waits in bounded slices, so a waiter that died after taking
// a wake-up, or a lost post, delays the others by at most one slice — it never wedges the queue.
// The mapping's layout, the ring's byte copies and these waits are lib/mp/queue-ring.ts.
//
// Records: u32 body length, u8 kind, body (lib/mp/core/codec.ts encodings: numbers, strings, booleans, null, undefined,
// bigints and bytes compactly, everything else structured clone). A record that would take more than a quarter
// of the ring goes through a side channel instead: its bytes in a memfd whose fd travels over a SOCK_SEQPACKET
// socketpair shared by the queue's users (SCM_RIGHTS), and the ring carries a small reference with a sequence
// number — so one huge item never needs the ring to be huge, and the ring's order is the queue's order
// (lib/mp/queue-large.ts).
// Both kinds of record are decoded by lib/mp/core/codec.ts's decode(), the one the Connection uses too (a large one from
// the memfd's mapping: the reference's 13 bytes are never the item).
//
// Process death (tested with SIGKILL):
// - a consumer killed inside get(): before it advanced the ring's tail the item stays in the queue; after, the
//   item is gone with it (as in Python, where an item a killed consumer had read is lost). The next consumer
//   inherits rlock (robust mutex: EOWNERDEAD), recounts the items, and goes on.
// - a producer killed inside put(): its record is either committed whole or not at all (the head advances
//   after the copy). A side-channel fd it sent without committing is skipped by sequence number.
// - qsize() is exact except across such a death, where the recovering process recounts the ring.
import { decode, encode, encodeShortInto, Kind } from './core/codec.js';
import { decodeLarge, type Large, largeItemsReceived, receiveLarge, sendLarge, writeLarge } from './queue-large.js';
import * as posix from '../posix/index.js';
import { closedError, Empty, Full } from './core/errors.js';
import { registerShareable } from './core/reduction.js';
import { now, parseSyncWait, parseWait, runAsync, runSync, type WaitOptions, type Waits } from './core/wait.js';
import {
  checkBufferBytes, checkMaxsize, copyIn, copyOut, DATA, KIND_LARGE, LARGE_BODY, MAGIC, OFF_ITEMS, OFF_JOIN, OFF_RLOCK, OFF_SPACE,
  OFF_WLOCK, peekU32, putFailed, RECORD_HEADER, sleepOn, spinForItem, W_CAPACITY, W_COUNT, W_HEAD, W_ITEM_WAITERS, W_JOIN_WAITERS,
  W_MAGIC, W_MAXSIZE, W_SEND_SEQ, W_SPACE_WAITERS, W_TAIL, W_UNFINISHED, wakeJoiners,
} from './queue-ring.js';
import { options, type ParsedWait, stateError } from '../posix/errors.js';

/** The errors of a Queue (lib/mp/core/errors.ts; exported here too, where they always were). */
export { Empty, Full };

/** Options of a Queue. */
export interface QueueOptions {
  /** Ring buffer bytes (a power of two, 4 KiB … 1 GiB; default 1 MiB). Larger records use the side channel. */
  bufferBytes?: number;
}

/** A timeout in ms, or options: `block: false` is Python's block=False; `signal` (Promise forms) cancels the wait. */
export type QueueWait = number | null | (WaitOptions & { block?: boolean }) | undefined;

const ATTACH = Symbol('attach');

interface Handles {
  memfd: number;
  sendSock: number; // producers write side-channel fds here
  recvSock: number; // consumers read them here
}

const finalizer = new FinalizationRegistry<{ h: Handles; map: posix.Mapping; pid: number }>((r) => {
  if (r.pid !== process.pid) return;
  r.map.close();
  for (const fd of [r.h.memfd, r.h.sendSock, r.h.recvSock]) {
    try {
      posix.close(fd);
    } catch {
      /* already closed */
    }
  }
});

/**
 * A FIFO queue between processes (Python's multiprocessing.Queue). Items are copied: numbers, strings,
 * booleans, null, undefined, bigints and Uint8Arrays compactly, anything else by structured clone. Shared
 * objects (locks, Values, other queues, Connections) are refused: they travel by inheritance.
 * Created before fork (or passed in Process args to a spawned child), it is the same queue in both processes.
 *
 * The items live in a ring buffer in shared memory (a memfd) guarded by two robust process-shared mutexes
 * (producers', consumers'); items larger than a quarter of the ring travel as a memfd over a socketpair.
 * Many producers and consumers in different processes lose or duplicate nothing, and each producer's items
 * arrive in order. A process killed inside get() never wedges the queue (the item it was taking is lost
 * with it, as in Python).
 *
 * Waits: the Promise forms (put, get) take a timeout in ms or `{ timeout, signal, block }`; the Sync forms
 * (putSync, getSync) the same without `signal`; `{ block: false }` is Python's block=False (putNowait,
 * getNowait). A timeout is Full / Empty, as in Python.
 * @typeParam T the type of the items
 * @example
 * ```ts
 * import { Process, Queue, Empty } from 'multiproc';
 *
 * const q = new Queue<string>(100);                // at most 100 items (0 or none: unbounded)
 * new Process({ target: () => q.putSync('hello') }).start();
 * await q.get({ timeout: 1000 });                  // 'hello'; Empty after 1 s
 * q.putSync('again'); q.getSync(500);              // the blocking forms; Empty after 500 ms
 * try { q.getNowait(); } catch (e) { if (!(e instanceof Empty)) throw e; }
 * ```
 */
export class Queue<T = unknown> {
  #map!: posix.Mapping;
  #w!: Int32Array;
  #u8!: Uint8Array;
  #cap!: number;
  #mask!: number;
  #wlock!: posix.Mutex;
  #rlock!: posix.Mutex;
  #items!: posix.Semaphore;
  #space!: posix.Semaphore;
  #join!: posix.Semaphore;
  #h!: Handles;
  #closed = false;
  #wbuf = new Uint8Array(256); // the record being put
  #wdv = new DataView(this.#wbuf.buffer);
  #rbuf = new Uint8Array(256); // the record being taken
  #rdv = new DataView(this.#rbuf.buffer);
  #token = {};
  /** @internal JoinableQueue: every put counts an unfinished task (until taskDone). */
  protected _countsTasks = false;

  /**
   * Creates the queue (its ring and fds); it reaches other processes by inheritance (fork, Process args).
   * @param maxsize the most items it holds (Python's maxsize: an integer; 0, negative or undefined: unbounded)
   * @param opts `bufferBytes`: the ring's size; see {@link QueueOptions}
   * @throws RangeError for a bufferBytes that is not a power of two in range, or more than the machine can back
   */
  constructor(maxsize?: number, opts: QueueOptions = {}) {
    if ((opts as { [ATTACH]?: number[] })[ATTACH]) {
      const [memfd, s, r] = (opts as { [ATTACH]: number[] })[ATTACH];
      this.#attach(memfd!, s!, r!);
      return;
    }
    const max = checkMaxsize(maxsize);
    const cap = checkBufferBytes(options('options', opts).bufferBytes);
    const memfd = posix.memfdCreate('multiproc-queue');
    let map: posix.Mapping | undefined;
    let socks: [number, number] | undefined;
    try {
      posix.ftruncate(memfd, DATA + cap);
      map = posix.mmap(DATA + cap, { fd: memfd });
      socks = posix.socketpair('seqpacket');
      const w = new Int32Array(map.buffer, 0, 1024);
      w[W_CAPACITY] = cap;
      w[W_MAXSIZE] = max;
      posix.Mutex.init(map, OFF_WLOCK);
      posix.Mutex.init(map, OFF_RLOCK);
      posix.Semaphore.init(map, OFF_ITEMS, 0);
      posix.Semaphore.init(map, OFF_SPACE, 0);
      posix.Semaphore.init(map, OFF_JOIN, 0);
      Atomics.store(w, W_MAGIC, MAGIC);
    } catch (e) {
      map?.close();
      if (socks) for (const fd of socks) posix.close(fd);
      posix.close(memfd);
      throw e;
    }
    this.#attach(memfd, socks[0], socks[1], map);
  }

  #attach(memfd: number, sendSock: number, recvSock: number, mapped?: posix.Mapping): void {
    const map = mapped ?? posix.mmap(posix.fdSize(memfd), { fd: memfd });
    const w = new Int32Array(map.buffer, 0, 1024);
    if (Atomics.load(w, W_MAGIC) !== MAGIC) {
      map.close();
      throw stateError('ERR_INVALID_STATE', 'Not a multiproc queue');
    }
    this.#h = { memfd, sendSock, recvSock };
    this.#map = map;
    this.#cap = w[W_CAPACITY]!;
    this.#mask = this.#cap - 1;
    this.#w = w;
    this.#u8 = new Uint8Array(map.buffer, DATA, this.#cap);
    this.#wlock = posix.Mutex.attach(map, OFF_WLOCK);
    this.#rlock = posix.Mutex.attach(map, OFF_RLOCK);
    this.#items = posix.Semaphore.attach(map, OFF_ITEMS);
    this.#space = posix.Semaphore.attach(map, OFF_SPACE);
    this.#join = posix.Semaphore.attach(map, OFF_JOIN);
    finalizer.register(this, { h: this.#h, map, pid: process.pid }, this.#token);
  }

  static {
    registerShareable(
      Queue,
      'Queue',
      (q: Queue) => {
        q.#check();
        const cls = q instanceof JoinableQueue ? 'JoinableQueue' : q instanceof SimpleQueue ? 'SimpleQueue' : 'Queue';
        return { fds: [q.#h.memfd, q.#h.sendSock, q.#h.recvSock], data: cls };
      },
      // Rebuilds the queue in a spawned child from the fds passed at start.
      (fds: number[], cls: 'Queue' | 'SimpleQueue' | 'JoinableQueue') => {
        const opts = { [ATTACH]: fds } as QueueOptions;
        return cls === 'JoinableQueue' ? new JoinableQueue(0, opts) : cls === 'SimpleQueue' ? new SimpleQueue(opts) : new Queue(0, opts);
      },
      import.meta.url,
    );
  }

  /** The maximum number of items (0: unbounded). */
  get maxsize(): number {
    this.#check();
    return this.#w[W_MAXSIZE]!;
  }

  /** The number of items in the queue (a snapshot: other processes may change it at once). */
  qsize(): number {
    this.#check();
    return Atomics.load(this.#w, W_COUNT);
  }

  /** Is the queue empty now? (a snapshot, as qsize()) */
  empty(): boolean {
    this.#check();
    return Atomics.load(this.#w, W_HEAD) === Atomics.load(this.#w, W_TAIL);
  }

  /** Is a bounded queue full now? (a snapshot; always false when unbounded) */
  full(): boolean {
    this.#check();
    const max = this.#w[W_MAXSIZE]!;
    return max > 0 && Atomics.load(this.#w, W_COUNT) >= max;
  }

  /** Was this process's handle closed? */
  get closed(): boolean {
    return this.#closed;
  }

  // --- put ---------------------------------------------------------------------------------------------

  /**
   * Puts an item, waiting for space in a bounded queue; rejects with Full after `timeout` ms.
   * @param obj the item (copied; a shared object in it is ERR_MULTIPROC_NOT_SENDABLE)
   * @param opts a timeout in ms, or `{ timeout, signal, block }` (default: wait as long as it takes)
   * @throws Full on timeout (or at once with `block: false`); an AbortSignal's reason when aborted
   */
  async put(obj: T, opts?: QueueWait): Promise<void> {
    const o = parseWait(opts, Infinity, true);
    const waits = this.#put(obj, o);
    if (waits) await runAsync(waits, o.signal);
  }

  /**
   * Puts an item, blocking this thread while a bounded queue is full; throws Full after `timeout` ms.
   * @param obj the item (copied)
   * @param opts a timeout in ms, or `{ timeout, block }` (a `signal` is a TypeError: use put())
   */
  putSync(obj: T, opts?: QueueWait): void {
    const waits = this.#put(obj, parseSyncWait(opts, 'putSync'));
    if (waits) runSync(waits);
  }

  /**
   * Puts an item if there is space now; throws Full otherwise.
   * @param obj the item (copied)
   */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Puts obj now if there is space (→ undefined); else the waits that put it (Full without `block`). */
  #put(obj: T, o: ParsedWait): Waits<void> | undefined {
    this.#check();
    const counted = this._countsTasks;
    if (counted) Atomics.add(this.#w, W_UNFINISHED, 1);
    let large: Large | undefined;
    try {
      const n = this.#encode(obj);
      large = this.#takeLarge();
      if (this.#tryPut(n, large)) return undefined;
      if (!o.block) throw new Full();
      const waits = this.#putWaits(n, large, o.timeout, counted);
      large = undefined; // the waits own it now
      return waits;
    } catch (e) {
      if (counted) putFailed(this.#w, this.#join);
      throw e;
    } finally {
      if (large) posix.close(large.fd); // sendFds sent a duplicate
    }
  }

  /** Waits for space (in slices), then puts the record #put encoded; Full after `ms`. */
  *#putWaits(n: number, large: Large | undefined, ms: number, counted: boolean): Waits<void> {
    // While it waits, other calls in this process may reuse the write buffer: keep the record aside.
    const record = this.#wbuf.slice(0, n);
    const w = this.#w;
    const deadline = now() + ms;
    try {
      for (;;) {
        const left = deadline - now();
        if (left <= 0) throw new Full();
        yield* sleepOn(w, W_SPACE_WAITERS, this.#space, () => this.#hasSpace(n), left);
        this.#check();
        this.#wbuf.set(record);
        if (this.#tryPut(n, large)) return;
      }
    } catch (e) {
      if (counted && !this.#closed) putFailed(w, this.#join);
      throw e;
    } finally {
      if (large) posix.close(large.fd);
    }
  }

  /** Encodes obj into the scratch buffer as a ring record (or a side-channel reference); returns its length. */
  #encode(obj: unknown): number {
    this.#check();
    const short = encodeShortInto(obj, this.#wbuf, this.#wdv, RECORD_HEADER);
    if (short >= 0) {
      this.#wdv.setUint32(0, short, true);
      this.#wbuf[4] = typeof obj === 'number' ? Kind.Number : Kind.String;
      return RECORD_HEADER + short;
    }
    const [kind, body] = encode(obj);
    const n = RECORD_HEADER + body.byteLength;
    if (n > this.#cap / 4) return this.#encodeLarge(kind, body);
    this.#ensureW(n);
    this.#wdv.setUint32(0, body.byteLength, true);
    this.#wbuf[4] = kind;
    this.#wbuf.set(body, RECORD_HEADER);
    return n;
  }

  /** A large item: its bytes go to a memfd now; the fd is sent at commit time (#tryPut) with the sequence. */
  #pendingLarge: Large | undefined;

  #takeLarge(): Large | undefined {
    const l = this.#pendingLarge;
    this.#pendingLarge = undefined;
    return l;
  }

  #encodeLarge(kind: number, body: Uint8Array): number {
    this.#pendingLarge = writeLarge(kind, body);
    this.#wdv.setUint32(0, LARGE_BODY, true);
    this.#wbuf[4] = KIND_LARGE;
    return RECORD_HEADER + LARGE_BODY;
  }

  #ensureW(n: number): void {
    if (this.#wbuf.byteLength >= n) return;
    const b = new Uint8Array(Math.max(n, this.#wbuf.byteLength * 2));
    b.set(this.#wbuf);
    this.#wbuf = b;
    this.#wdv = new DataView(b.buffer);
  }

  #ensureR(n: number): void {
    if (this.#rbuf.byteLength >= n) return;
    this.#rbuf = new Uint8Array(Math.max(n, this.#rbuf.byteLength * 2));
    this.#rdv = new DataView(this.#rbuf.buffer);
  }

  #hasSpace(n: number): boolean {
    const w = this.#w;
    const used = (Atomics.load(w, W_HEAD) - Atomics.load(w, W_TAIL)) >>> 0;
    const max = w[W_MAXSIZE]!;
    return used + n <= this.#cap && (max === 0 || Atomics.load(w, W_COUNT) < max);
  }

  #lockW(): void {
    if (this.#wlock.lock()) this.#recover(true);
  }

  #lockR(): void {
    if (this.#rlock.lock()) this.#recover(false);
  }

  /** After inheriting a lock from a dead process: recount the items (its count update may be missing). */
  #recover(holdingW: boolean): void {
    // Lock order is always rlock then wlock.
    if (holdingW) {
      this.#wlock.unlock();
      this.#rlock.lock();
      this.#wlock.lock();
    } else {
      this.#wlock.lock();
    }
    const w = this.#w;
    let t = w[W_TAIL]!;
    const h = w[W_HEAD]!;
    let count = 0;
    while (t !== h && count < 2 ** 30) {
      t = (t + RECORD_HEADER + peekU32(this.#u8, t)) | 0;
      count++;
    }
    Atomics.store(w, W_COUNT, count);
    process.emitWarning(
      `A process died inside a Queue operation; ${process.pid} recovered the queue (${count} item(s) in it). ` +
        'An item the dead process was taking out is lost with it.',
      { code: 'MULTIPROC_OWNER_DIED' },
    );
    if (holdingW) this.#rlock.unlock();
    else this.#wlock.unlock();
  }

  #tryPut(n: number, large: Large | undefined): boolean {
    const w = this.#w;
    if (!this.#hasSpace(n)) return false;
    this.#lockW();
    try {
      if (!this.#hasSpace(n)) return false;
      if (large) {
        const seq = (w[W_SEND_SEQ]! + 1) | 0;
        w[W_SEND_SEQ] = seq;
        sendLarge(this.#h.sendSock, large, seq);
        this.#wdv.setInt32(RECORD_HEADER, seq, true);
        this.#wbuf[RECORD_HEADER + 4] = large.kind;
        this.#wdv.setFloat64(RECORD_HEADER + 5, large.length, true);
      }
      const head = w[W_HEAD]!;
      copyIn(this.#u8, head, this.#wbuf, n);
      Atomics.store(w, W_HEAD, (head + n) | 0);
      Atomics.add(w, W_COUNT, 1);
    } finally {
      this.#wlock.unlock();
    }
    if (Atomics.load(w, W_ITEM_WAITERS) > 0) this.#items.post();
    return true;
  }

  // --- get ---------------------------------------------------------------------------------------------

  /**
   * Removes and returns an item, waiting for one; rejects with Empty after `timeout` ms.
   * @param opts a timeout in ms, or `{ timeout, signal, block }` (default: wait as long as it takes)
   * @throws Empty on timeout (or at once with `block: false`); an AbortSignal's reason when aborted (nothing
   *   is taken)
   */
  async get(opts?: QueueWait): Promise<T> {
    const o = parseWait(opts, Infinity, true);
    const r = this.#getNow(o);
    return (r !== NOTHING ? r : runAsync(this.#getWaits(o.timeout), o.signal)) as Promise<T>;
  }

  /**
   * Removes and returns an item, blocking this thread until one arrives; throws Empty after `timeout` ms.
   * @param opts a timeout in ms, or `{ timeout, block }` (a `signal` is a TypeError: use get())
   */
  getSync(opts?: QueueWait): T {
    const o = parseSyncWait(opts, 'getSync');
    const r = this.#getNow(o);
    return (r !== NOTHING ? r : runSync(this.#getWaits(o.timeout))) as T;
  }

  /** Removes and returns an item if there is one now; throws Empty otherwise. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** An item if there is one now; NOTHING (Empty without `block`) otherwise. */
  #getNow(o: ParsedWait): unknown {
    this.#check();
    const r = this.#tryGet();
    if (r === NOTHING && !o.block) throw new Empty();
    return r;
  }

  /** Waits for an item (spinning a little, then sleeping in slices); Empty after `ms`. */
  *#getWaits(ms: number): Waits<unknown> {
    const w = this.#w;
    const ready = () => Atomics.load(w, W_HEAD) !== Atomics.load(w, W_TAIL);
    const deadline = now() + ms;
    for (;;) {
      if (!spinForItem(w)) {
        const left = deadline - now();
        if (left <= 0) throw new Empty();
        yield* sleepOn(w, W_ITEM_WAITERS, this.#items, ready, left);
        this.#check();
      }
      const r = this.#tryGet();
      if (r !== NOTHING) return r;
    }
  }

  #tryGet(): unknown {
    const w = this.#w;
    if (Atomics.load(w, W_HEAD) === Atomics.load(w, W_TAIL)) return NOTHING;
    let kind: number;
    let len: number;
    let largeFd = -1;
    this.#lockR();
    try {
      const tail = w[W_TAIL]!;
      if (Atomics.load(w, W_HEAD) === tail) return NOTHING;
      len = peekU32(this.#u8, tail);
      kind = this.#u8[(tail + 4) & this.#mask]!;
      this.#ensureR(len);
      copyOut(this.#u8, tail + RECORD_HEADER, this.#rbuf, len);
      // A large item's record is a reference: consume it first, so that a consumer killed after this line
      // takes the item with it and the next one skips its fd by sequence number.
      Atomics.store(w, W_TAIL, (tail + RECORD_HEADER + len) | 0);
      Atomics.sub(w, W_COUNT, 1);
      if (kind === KIND_LARGE) {
        kind = this.#rbuf[4]!;
        len = this.#rdv.getFloat64(5, true);
        largeFd = receiveLarge(this.#h.recvSock, this.#rdv.getInt32(0, true));
      }
    } finally {
      this.#rlock.unlock();
    }
    if (Atomics.load(w, W_SPACE_WAITERS) > 0) this.#space.post();
    if (largeFd < 0) return decode(kind as Kind, this.#rbuf, true, len);
    return decodeLarge(largeFd, kind as Kind, len); // outside the lock: the fd is ours now
  }

  // --- lifetime ----------------------------------------------------------------------------------------

  #check(): void {
    if (this.#closed) throw closedError('The queue is closed in this process');
  }

  /**
   * Closes this process's handle: unmaps the ring and closes its fds. The queue lives on in the other
   * processes that have it. Idempotent. (Python's close() also stops the feeder thread; there is none here:
   * put() has finished copying when it returns.)
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    finalizer.unregister(this.#token);
    this.#map.close();
    for (const fd of [this.#h.memfd, this.#h.sendSock, this.#h.recvSock]) posix.close(fd);
  }

  /** Python compatibility: nothing to wait for (no feeder thread). */
  joinThread(): void {}

  /** close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // --- JoinableQueue support (words present in every queue) --------------------------------------------

  /** @internal */
  get _words(): Int32Array {
    this.#check();
    return this.#w;
  }

  /** @internal */
  get _joinSem(): posix.Semaphore {
    this.#check();
    return this.#join;
  }

  /** @internal tests: take the consumers' ('r') or producers' ('w') lock and keep it (to die holding it). */
  _holdLock(which: 'r' | 'w'): void {
    this.#check();
    if (which === 'r') this.#lockR();
    else this.#lockW();
  }

  /** @internal number of large items received by this process (tests). */
  static get _largeReceived(): number {
    return largeItemsReceived();
  }
}

const NOTHING = Symbol('nothing');

/** A simpler unbounded queue (Python's SimpleQueue): put, get, empty, close. */
export class SimpleQueue<T = unknown> extends Queue<T> {
  /** @param opts `bufferBytes`: the ring's size; see {@link QueueOptions} */
  constructor(opts: QueueOptions = {}) {
    super(0, opts);
  }
}

/**
 * A Queue whose consumers confirm each item with taskDone(); join() waits until every item is done.
 * @example
 * ```ts
 * const jobs = new JoinableQueue<number>();
 * new Process({ target: () => { for (;;) { jobs.getSync(); jobs.taskDone(); } }, daemon: true }).start();
 * for (let i = 0; i < 10; i++) await jobs.put(i);
 * await jobs.join();   // every item taken and marked done
 * ```
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  /**
   * @param maxsize the most items it holds (0, negative or undefined: unbounded)
   * @param opts `bufferBytes`: the ring's size; see {@link QueueOptions}
   */
  constructor(maxsize?: number, opts: QueueOptions = {}) {
    super(maxsize, opts);
    this._countsTasks = true;
  }

  /** Marks one item taken with get() as processed. More calls than items is an error (Python's ValueError). */
  taskDone(): void {
    const w = this._words;
    for (;;) {
      const v = Atomics.load(w, W_UNFINISHED);
      if (v <= 0) throw Object.assign(new RangeError('taskDone() called too many times'), { code: 'ERR_MULTIPROC_TASK_DONE' });
      if (Atomics.compareExchange(w, W_UNFINISHED, v, v - 1) === v) {
        if (v === 1) wakeJoiners(w, this._joinSem);
        return;
      }
    }
  }

  /** Items put and not yet marked done. */
  get unfinishedTasks(): number {
    return Atomics.load(this._words, W_UNFINISHED);
  }

  /** Waits (in slices) until every item put has been marked done (true), or false after `ms`. */
  *#joinWaits(ms: number): Waits<boolean> {
    const w = this._words;
    const done = () => Atomics.load(w, W_UNFINISHED) <= 0;
    const deadline = now() + ms;
    while (!done()) {
      const left = deadline - now();
      if (left <= 0) return false;
      yield* sleepOn(w, W_JOIN_WAITERS, this._joinSem, done, left);
    }
    return true;
  }

  /**
   * Resolves when every item put has been marked done (true), or false after `timeout` ms.
   * @param opts a timeout in ms, or `{ timeout, signal }` (default: no timeout)
   */
  async join(opts?: QueueWait): Promise<boolean> {
    const o = parseWait(opts);
    return runAsync(this.#joinWaits(o.timeout), o.signal);
  }

  /**
   * join() that blocks this thread: true when every item put has been marked done, false after `timeout` ms.
   * @param timeout milliseconds (default: no timeout)
   */
  joinSync(timeout?: number | null): boolean {
    return runSync(this.#joinWaits(parseSyncWait(timeout, 'joinSync').timeout));
  }
}

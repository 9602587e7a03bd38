// Synchronisation primitives of the multiprocessing API (Python's multiprocessing.synchronize, Node's
// conventions): Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier.
//
// How they are built. Like CPython's SemLock, not as pthread wrappers: each object is a few int32 words in the
// shared arena (lib/mp/shared/arena.ts), changed with JS Atomics on an Int32Array over the mapping (real locked
// instructions, atomic across processes: test/sync.test.ts checks it with 8 processes). The uncontended paths
// (acquire of a free lock, release without sleepers, Event.isSet, ...) are a compare-and-swap in JS with no
// native call; only a process that must sleep calls futex(2) FUTEX_WAIT (posix.futexWait, or futexWaitAsync on
// a thread of the addon for the Promise forms: the JS thread stays free), and a release wakes sleepers only
// when a word says there are some.
//
// Ownership is per process (as in Python): a lock word holds the owner's pid (and a "sleepers" bit); beside it
// the owner's start time (/proc/<pid>/stat field 22), so that a dead owner is recognised even after its pid
// was reused. A waiter sleeps in slices of OWNER_CHECK_MS; after each empty slice it checks that the owner is
// alive, and if it is not, takes the lock over: the acquisition succeeds, `ownerDied` is true on that handle
// until its next acquisition, and a process warning with code 'MULTIPROC_OWNER_DIED' is emitted
// (DESIGN.md "Owner death"). A dead owner never wedges the others.
//
// Blocking calls: `acquire({ timeout, signal })` → Promise<boolean> (false on timeout, like Python's False;
// an aborted signal rejects with signal.reason), `acquireSync(timeout)` → boolean. Timeouts in ms.
//
// Caveats: ownership is per process, so worker threads of one process are one owner (an RLock re-enters
// from any of them; use the objects from the main thread). A Barrier's action runs in the last process to
// arrive; it reaches forked children (inherited) but not spawned ones (a function cannot travel: there the
// barrier has no action). Aborting (AbortSignal) a pending Barrier.wait breaks the barrier, as a timeout does:
// an arrival cannot be taken back. Wake-ups may be spurious for Condition.wait (use waitFor).
//
// Lifetime: each object is an arena block; close() frees it in the creating process (see lib/mp/shared/arena.ts for the
// rule: keep it open while other processes use it); after close every call throws ERR_MULTIPROC_CLOSED.
// Sync objects travel by inheritance (fork, or Process args at start): putting one in a Pipe/Queue throws
// ERR_MULTIPROC_NOT_SENDABLE.
import { debuglog } from 'node:util';
import { allocate, ArenaObject, attachBlock, type Block, type BlockHandle, blockHandle, myPid, myStartTime } from '../shared/arena.js';
import * as posix from '../../posix/index.js';
import { BrokenBarrierError } from '../core/errors.js';
import { registerShareable } from '../core/reduction.js';
import { markNotSendable } from '../core/sendable.js';
import { integer, invalidType, stateError, timeout, typeError, waitOptions } from '../../posix/errors.js';

const debug = debuglog('multiproc');

const W = 1 << 30; // "there may be sleepers" bit of a lock word
const PID_MASK = W - 1;
/** How often a waiter checks that the owner of the lock it waits for is alive. */
export const OWNER_CHECK_MS = 100;
const SPIN = 64;
const WAKE_ALL = 0x7fffffff;
const { futexWaitRaw: futexWait, futexWakeRaw: futexWake, futexWaitAsyncRaw, futexCancel } = posix;

// ---------------------------------------------------------------------------------------------------------
// helpers

/** Options of the Promise forms. */
export interface WaitOptions {
  /** Milliseconds; resolves false when it elapses. Default: no timeout. */
  timeout?: number | null;
  /** Aborting rejects with signal.reason (nothing is acquired). */
  signal?: AbortSignal;
}

const checkTimeout = timeout;
const parseWait = (t: unknown, dflt = Infinity) => waitOptions(t, dflt);

function aborted(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

const now = () => performance.now();

/** This process's start time as stored in a lock word (int32). */
const myStart = (): number => myStartTime() | 0;

/** Is process `pid` (whose start time, when `start` != 0, is `start`) alive? Zombies are dead. */
function ownerAlive(pid: number, start: number): boolean {
  if (pid === myPid()) return true;
  const info = posix.processInfo(pid);
  if (info === null || info.state === 'zombie' || info.state === 'dead') return false;
  return start === 0 || (info.startTime | 0) === start;
}

const OWNER_DIED_MESSAGE =
  'A process died while holding a multiproc lock; this process has now acquired it. The data the lock ' +
  'protects may be half-updated: check it.';

/** Wraps futexWaitAsyncRaw: resolves 0 woken, 1 not equal, 2 timed out, 3 cancelled (signal). */
function waitAsync(m: posix.Mapping, offset: number, expected: number, ms: number, signal: AbortSignal | undefined): Promise<number> {
  // An abort that came after the previous wait of the loop ended (between its callback and this call) fires no
  // 'abort' event for this one: report it at once.
  if (signal?.aborted) return Promise.resolve(3);
  return new Promise((resolve, reject) => {
    const onAbort = () => futexCancel(id);
    const id = futexWaitAsyncRaw(m, offset, expected, ms, (err, r) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(r!);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// What the constructors take to attach to an existing block (a spawned child's rebuild) instead of allocating.
const ATTACH = Symbol('attach');
type Attach = { [ATTACH]: Block };
function isAttach(x: unknown): x is Attach {
  return typeof x === 'object' && x !== null && ATTACH in x;
}

/** The common part: the block's words. */
class SyncObject extends ArenaObject {
  /** @internal */ readonly _i32: Int32Array;
  /** @internal */ readonly _m: posix.Mapping;
  /** @internal index of the first word */ readonly _w: number;

  constructor(block: Block, what: string) {
    super(block, what);
    this._i32 = block.region.i32;
    this._m = block.region.mapping;
    this._w = block.offset >> 2;
  }

  /** @internal (fd, handle) of the block, for a spawned child. */
  _handle(): { fd: number; block: BlockHandle } {
    this._check();
    return { fd: this._block.region.fd, block: blockHandle(this._block) };
  }
}

// ---------------------------------------------------------------------------------------------------------
// the lock word: [state (0 free, else owner pid | W), owner start time, owner pid echo, recursion count]

const LOCK_BYTES = 16;

class LockCore {
  ownerDied = false;
  /** Runs at each acquisition, before anything else can see it (RLock: count = 1). */
  onTook: (() => void) | undefined;
  /** Throws ERR_MULTIPROC_CLOSED once the object was closed (checked after every async wait: its bytes may
   *  have been given to another object since). */
  check: () => void = () => {};
  constructor(
    readonly i32: Int32Array,
    readonly m: posix.Mapping,
    readonly w: number, // index of the state word
  ) {}

  /** The owner's pid (0 when free). */
  owner(): number {
    return Atomics.load(this.i32, this.w) & PID_MASK;
  }

  took(died: boolean): void {
    const me = myPid();
    // Only owners write these, so if they already name this process (pid and start time: a former holder
    // with the same pid, before pid reuse, had another start time) a process that takes the lock again and
    // again pays no extra stores.
    const start = myStart();
    if (this.i32[this.w + 2] !== me || this.i32[this.w + 1] !== start) {
      Atomics.store(this.i32, this.w + 1, start);
      Atomics.store(this.i32, this.w + 2, me);
    }
    this.onTook?.();
    this.ownerDied = died;
    if (died) {
      debug('lock: process %d took over a dead owner\'s lock', me);
      process.emitWarning(OWNER_DIED_MESSAGE, { code: 'MULTIPROC_OWNER_DIED' });
    }
  }

  tryFast(): boolean {
    if (Atomics.compareExchange(this.i32, this.w, 0, myPid()) === 0) {
      this.took(false);
      return true;
    }
    return false;
  }

  /** One attempt of the contended path: 0 if acquired, else the word value to sleep on (sleepers bit set). */
  attempt(): number {
    const { i32, w } = this;
    for (;;) {
      const c = Atomics.load(i32, w);
      if (c === 0) {
        if (Atomics.compareExchange(i32, w, 0, myPid() | W) === 0) {
          this.took(false);
          return 0;
        }
        continue;
      }
      if ((c & W) === 0) {
        if (Atomics.compareExchange(i32, w, c, c | W) !== c) continue;
        return c | W;
      }
      return c;
    }
  }

  /** Takes the lock over if its owner (word value c) is dead. */
  stealIfDead(c: number): boolean {
    const pid = c & PID_MASK;
    if (pid === 0) return false;
    // The start time belongs to `pid` only if the echo word says so (written after it by the owner).
    const start = Atomics.load(this.i32, this.w + 2) === pid ? Atomics.load(this.i32, this.w + 1) : 0;
    if (ownerAlive(pid, start)) return false;
    if (Atomics.compareExchange(this.i32, this.w, c, myPid() | W) !== c) return false;
    this.took(true);
    return true;
  }

  spin(): boolean {
    for (let i = 0; i < SPIN; i++) {
      if (Atomics.load(this.i32, this.w) === 0 && this.tryFast()) return true;
    }
    return false;
  }

  acquireSync(ms: number): boolean {
    if (this.tryFast() || (ms > 0 && this.spin())) return true;
    const deadline = now() + ms;
    for (;;) {
      const c = this.attempt();
      if (c === 0) return true;
      const left = deadline - now();
      if (left <= 0) return this.stealIfDead(c);
      if (futexWait(this.m, this.w << 2, c, Math.min(left, OWNER_CHECK_MS)) === 2 && this.stealIfDead(c)) return true;
    }
  }

  async acquire(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) throw aborted(signal);
    if (this.tryFast()) return true;
    const deadline = now() + ms;
    for (;;) {
      const c = this.attempt();
      if (c === 0) return true;
      const left = deadline - now();
      if (left <= 0) return this.stealIfDead(c);
      const r = await waitAsync(this.m, this.w << 2, c, Math.min(left, OWNER_CHECK_MS), signal);
      this.check();
      if (r === 3) {
        futexWake(this.m, this.w << 2, 1); // pass on a wake-up this wait may have taken
        throw aborted(signal!);
      }
      if (r === 2 && this.stealIfDead(c)) return true;
    }
  }

  /** Frees the lock (the caller checked ownership). */
  unlock(): void {
    if (Atomics.exchange(this.i32, this.w, 0) & W) futexWake(this.m, this.w << 2, 1);
  }
}

/** Common surface of Lock and RLock. */
abstract class LockBase extends SyncObject {
  /** @internal */ readonly _core: LockCore;

  constructor(block: Block, what: string) {
    super(block, what);
    this._core = new LockCore(this._i32, this._m, this._w);
    this._core.check = () => this._check();
  }

  /** true after an acquisition (by this handle) that took the lock over from a dead owner; reset by the next. */
  get ownerDied(): boolean {
    return this._core.ownerDied;
  }

  /** The pid of the process that holds it, or 0. */
  get owner(): number {
    this._check();
    return this._core.owner();
  }

  /** Blocks until acquired; false if `timeout` ms elapsed first (0: just try). */
  abstract acquireSync(timeout?: number): boolean;
  /** Resolves true once acquired, false on timeout; waits off the JS thread. */
  abstract acquire(t?: number | WaitOptions): Promise<boolean>;
  abstract release(): void;
  /** @internal For Condition: releases completely, returns what _restore needs. */
  abstract _save(): number;
  /** @internal */
  abstract _restore(saved: number): void;
  /** @internal Does this process hold it? */
  _isMine(): boolean {
    return this._core.owner() === myPid();
  }

  /** Runs fn with the lock held; releases on every exit path. */
  async withLock<T>(fn: () => T | Promise<T>, t?: number | WaitOptions): Promise<T> {
    if (!(await this.acquire(t))) throw stateError('ERR_MULTIPROC_TIMEOUT', 'The lock was not acquired within the timeout');
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  withLockSync<T>(fn: () => T, timeout?: number): T {
    if (!this.acquireSync(timeout)) throw stateError('ERR_MULTIPROC_TIMEOUT', 'The lock was not acquired within the timeout');
    try {
      return fn();
    } finally {
      this.release();
    }
  }

  /**
   * Acquires (blocking) and returns a disposable that releases, for `using`:
   * `{ using _ = lock.holdSync(); … }` releases on every exit path. A timeout is ERR_MULTIPROC_TIMEOUT.
   */
  holdSync(timeout?: number): Disposable {
    if (!this.acquireSync(timeout)) throw stateError('ERR_MULTIPROC_TIMEOUT', 'The lock was not acquired within the timeout');
    return this.#held();
  }

  /** holdSync, acquiring off the JS thread: `{ using _ = await lock.hold(); … }`. */
  async hold(t?: number | WaitOptions): Promise<Disposable> {
    if (!(await this.acquire(t))) throw stateError('ERR_MULTIPROC_TIMEOUT', 'The lock was not acquired within the timeout');
    return this.#held();
  }

  #held(): Disposable {
    let done = false;
    return {
      [Symbol.dispose]: () => {
        if (done) return;
        done = true;
        this.release();
      },
    };
  }
}

/**
 * A non-recursive lock shared between processes (Python's multiprocessing.Lock). Acquiring it again in the
 * process that holds it waits (as in Python) until some code of this process releases it. Any process may
 * release it (as in Python); releasing an unlocked lock is an error.
 */
export class Lock extends LockBase {
  constructor(attach?: Attach) {
    super(isAttach(attach) ? attach[ATTACH] : allocate(LOCK_BYTES), 'Lock');
  }

  acquireSync(timeout?: number): boolean {
    this._check();
    return this._core.acquireSync(checkTimeout('timeout', timeout));
  }

  acquire(t?: number | WaitOptions): Promise<boolean> {
    try {
      this._check();
      const { timeout, signal } = parseWait(t);
      return this._core.acquire(timeout, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  release(): void {
    this._check();
    if (this._i32[this._w] === 0) throw stateError('ERR_MULTIPROC_NOT_LOCKED', 'Cannot release an unlocked Lock');
    this._core.unlock();
  }

  _save(): number {
    this._core.unlock();
    return 1;
  }

  _restore(): void {
    this._core.acquireSync(Infinity);
  }

  /** @internal */
  async _restoreAsync(): Promise<void> {
    await this._core.acquire(Infinity, undefined);
  }
}

/**
 * A recursive lock (Python's multiprocessing.RLock): the owner is a process, which may acquire it again
 * (counted); release by a process that does not hold it is an error (ERR_MULTIPROC_NOT_OWNER).
 */
export class RLock extends LockBase {
  constructor(attach?: Attach) {
    super(isAttach(attach) ? attach[ATTACH] : allocate(LOCK_BYTES), 'RLock');
    const i32 = this._i32;
    const w = this._w;
    this._core.onTook = () => void (i32[w + 3] = 1);
  }

  acquireSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    // Free: take it with one CAS (reading the word first would fetch its cache line shared, then again
    // exclusive for the CAS — measured 222 vs 102 ns per increment across CPUs).
    if (this._core.tryFast()) return true;
    const i32 = this._i32;
    const w = this._w;
    // A plain read is enough to recognise this process's own pid: only this process writes it there.
    if ((i32[w]! & PID_MASK) === myPid()) {
      i32[w + 3]!++;
      return true;
    }
    return this._core.acquireSync(ms);
  }

  acquire(t?: number | WaitOptions): Promise<boolean> {
    try {
      this._check();
      const { timeout, signal } = parseWait(t);
      if (signal?.aborted) throw aborted(signal);
      if (this._isMine()) {
        this._i32[this._w + 3]!++;
        return Promise.resolve(true);
      }
      return this._core.acquire(timeout, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  release(): void {
    this._check();
    const i32 = this._i32;
    const w = this._w;
    const c = i32[w]!; // plain read: see acquireSync
    if ((c & PID_MASK) !== myPid()) {
      throw stateError(
        'ERR_MULTIPROC_NOT_OWNER',
        c === 0 ? 'Cannot release an un-acquired RLock' : `Cannot release an RLock held by process ${c & PID_MASK} (this is ${myPid()})`,
      );
    }
    const n = i32[w + 3]!;
    if (n > 1) {
      i32[w + 3] = n - 1;
      return;
    }
    i32[w + 3] = 0;
    this._core.unlock();
  }

  /** The recursion count of the owning process (0 when free). */
  get count(): number {
    this._check();
    return this._core.owner() === 0 ? 0 : this._i32[this._w + 3]!;
  }

  _save(): number {
    const n = this._i32[this._w + 3]!;
    this._i32[this._w + 3] = 0;
    this._core.unlock();
    return n;
  }

  _restore(saved: number): void {
    this._core.acquireSync(Infinity);
    this._i32[this._w + 3] = saved;
  }


  /** @internal */
  async _restoreAsync(saved: number): Promise<void> {
    await this._core.acquire(Infinity, undefined);
    this._i32[this._w + 3] = saved;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Semaphore: [count, sleepers, max (0: unbounded), -]

/** A counting semaphore shared between processes (Python's multiprocessing.Semaphore). */
export class Semaphore extends SyncObject {
  constructor(value: number | Attach = 1, /** @internal */ bounded = false) {
    if (isAttach(value)) {
      super(value[ATTACH], bounded ? 'BoundedSemaphore' : 'Semaphore');
      return;
    }
    integer('value', value, 0, 0x3fffffff);
    super(allocate(16), bounded ? 'BoundedSemaphore' : 'Semaphore');
    this._i32[this._w] = value;
    this._i32[this._w + 2] = bounded ? value : 0;
  }

  private tryTake(): boolean {
    const i32 = this._i32;
    const w = this._w;
    let c = Atomics.load(i32, w);
    while (c > 0) {
      const seen = Atomics.compareExchange(i32, w, c, c - 1);
      if (seen === c) return true;
      c = seen;
    }
    return false;
  }

  acquireSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    if (this.tryTake()) return true;
    if (ms === 0) return false;
    const i32 = this._i32;
    const w = this._w;
    const deadline = now() + ms;
    Atomics.add(i32, w + 1, 1);
    try {
      for (;;) {
        if (this.tryTake()) return true;
        const left = deadline - now();
        if (left <= 0) return false;
        futexWait(this._m, w << 2, 0, left);
      }
    } finally {
      Atomics.sub(i32, w + 1, 1);
    }
  }

  async acquire(t?: number | WaitOptions): Promise<boolean> {
    this._check();
    const { timeout, signal } = parseWait(t);
    if (signal?.aborted) throw aborted(signal);
    if (this.tryTake()) return true;
    if (timeout === 0) return false;
    const i32 = this._i32;
    const w = this._w;
    const deadline = now() + timeout;
    Atomics.add(i32, w + 1, 1);
    try {
      for (;;) {
        if (this.tryTake()) return true;
        const left = deadline - now();
        if (left <= 0) return false;
        const r = await waitAsync(this._m, w << 2, 0, left, signal);
        this._check(); // closed meanwhile: its bytes may belong to another object now
        if (r === 3) {
          if (Atomics.load(i32, w) > 0) futexWake(this._m, w << 2, 1); // pass on a wake-up this wait may have taken
          throw aborted(signal!);
        }
      }
    } finally {
      if (!this.closed) Atomics.sub(i32, w + 1, 1);
    }
  }

  /** Adds `n` (default 1) to the count and wakes up to `n` waiters. */
  release(n = 1): void {
    this._check();
    integer('n', n, 1, 0x3fffffff);
    const i32 = this._i32;
    const w = this._w;
    const max = i32[w + 2]!;
    if (max > 0) {
      let c = Atomics.load(i32, w);
      for (;;) {
        if (c + n > max) throw stateError('ERR_MULTIPROC_OVER_RELEASE', `BoundedSemaphore released too many times (its value is ${c}, its bound ${max})`);
        const seen = Atomics.compareExchange(i32, w, c, c + n);
        if (seen === c) break;
        c = seen;
      }
    } else {
      Atomics.add(i32, w, n);
    }
    if (Atomics.load(i32, w + 1) > 0) futexWake(this._m, w << 2, n);
  }

  /** The current count (Python's get_value()). */
  getValue(): number {
    this._check();
    return Atomics.load(this._i32, this._w);
  }

  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  withLockSync<T>(fn: () => T): T {
    this.acquireSync();
    try {
      return fn();
    } finally {
      this.release();
    }
  }
}

/** A Semaphore whose count may not exceed its initial value: over-release throws ERR_MULTIPROC_OVER_RELEASE. */
export class BoundedSemaphore extends Semaphore {
  constructor(value: number | Attach = 1) {
    super(value, true);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Condition: [sequence, sleepers, -, -] plus its lock

/**
 * A condition variable (Python's multiprocessing.Condition) over a Lock or RLock (default: a new RLock).
 * wait() must be called holding the lock; it releases it while sleeping and re-acquires it before returning.
 * A wait may end without a notify (a spurious wake-up, rare): use waitFor with a predicate.
 */
export class Condition extends SyncObject {
  readonly #lock: Lock | RLock;
  readonly #ownsLock: boolean;

  constructor(lock?: Lock | RLock | Attach, /** @internal */ attachedLock?: Lock | RLock) {
    if (isAttach(lock)) {
      super(lock[ATTACH], 'Condition');
      this.#lock = attachedLock!;
      this.#ownsLock = true;
      return;
    }
    if (lock !== undefined && !(lock instanceof Lock) && !(lock instanceof RLock)) throw invalidType('lock', 'a Lock or an RLock', lock);
    super(allocate(16), 'Condition');
    this.#ownsLock = lock === undefined;
    this.#lock = lock ?? new RLock();
  }

  /** @internal */
  get _lock(): Lock | RLock {
    return this.#lock;
  }

  acquireSync(timeout?: number): boolean {
    return this.#lock.acquireSync(timeout);
  }
  acquire(t?: number | WaitOptions): Promise<boolean> {
    return this.#lock.acquire(t);
  }
  release(): void {
    this.#lock.release();
  }
  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.#lock.withLock(fn);
  }
  withLockSync<T>(fn: () => T): T {
    return this.#lock.withLockSync(fn);
  }

  private checkOwned(what: string): void {
    this._check();
    if (!this.#lock._isMine()) throw stateError('ERR_MULTIPROC_NOT_OWNER', `Condition.${what}() needs the lock, which this process does not hold`);
  }

  /** Releases the lock, waits for a notify (or `timeout` ms), re-acquires. false on timeout. */
  waitSync(timeout?: number): boolean {
    const ms = checkTimeout('timeout', timeout);
    this.checkOwned('wait');
    const i32 = this._i32;
    const w = this._w;
    const seq = Atomics.load(i32, w);
    Atomics.add(i32, w + 1, 1);
    const saved = this.#lock._save();
    const deadline = now() + ms;
    let notified = true;
    try {
      while (Atomics.load(i32, w) === seq) {
        const left = deadline - now();
        if (left <= 0 || futexWait(this._m, w << 2, seq, left) === 2) {
          notified = Atomics.load(i32, w) !== seq;
          break;
        }
      }
    } finally {
      Atomics.sub(i32, w + 1, 1);
      this.#lock._restore(saved);
    }
    return notified;
  }

  /** wait, off the JS thread. */
  async wait(t?: number | WaitOptions): Promise<boolean> {
    const { timeout, signal } = parseWait(t);
    this.checkOwned('wait');
    if (signal?.aborted) throw aborted(signal);
    const i32 = this._i32;
    const w = this._w;
    const seq = Atomics.load(i32, w);
    Atomics.add(i32, w + 1, 1);
    const saved = this.#lock._save();
    const deadline = now() + timeout;
    let notified = true;
    let abortedBy: AbortSignal | undefined;
    try {
      while (Atomics.load(i32, w) === seq) {
        const left = deadline - now();
        const r = left <= 0 ? 2 : await waitAsync(this._m, w << 2, seq, left, signal);
        this._check(); // closed meanwhile: its bytes may belong to another object now
        if (r === 3) {
          abortedBy = signal;
          break;
        }
        if (r === 2) {
          notified = Atomics.load(i32, w) !== seq;
          break;
        }
      }
    } finally {
      if (!this.closed) Atomics.sub(i32, w + 1, 1);
      await (this.#lock as RLock)._restoreAsync(saved);
    }
    if (abortedBy) throw aborted(abortedBy);
    return notified;
  }

  /** Waits until predicate() is truthy (checked with the lock held); returns its last value. */
  waitForSync<T>(predicate: () => T, timeout?: number): T {
    const ms = checkTimeout('timeout', timeout);
    const deadline = now() + ms;
    let result = predicate();
    while (!result) {
      const left = deadline - now();
      if (left <= 0) break;
      this.waitSync(left);
      result = predicate();
    }
    return result;
  }

  async waitFor<T>(predicate: () => T, t?: number | WaitOptions): Promise<T> {
    const { timeout, signal } = parseWait(t);
    const deadline = now() + timeout;
    let result = predicate();
    while (!result) {
      const left = deadline - now();
      if (left <= 0) break;
      await this.wait({ timeout: left, signal });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to n (default 1) waiting processes. Needs the lock. */
  notify(n = 1): void {
    integer('n', n, 0, Number.MAX_SAFE_INTEGER);
    this.checkOwned('notify');
    Atomics.add(this._i32, this._w, 1);
    if (n > 0 && Atomics.load(this._i32, this._w + 1) > 0) futexWake(this._m, this._w << 2, Math.min(n, WAKE_ALL));
  }

  notifyAll(): void {
    this.notify(WAKE_ALL);
  }

  override _onClose(): void {
    if (this.#ownsLock) this.#lock.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Event: [flag, sleepers, -, -]

/** An event flag shared between processes (Python's multiprocessing.Event). */
export class Event extends SyncObject {
  constructor(attach?: Attach) {
    super(isAttach(attach) ? attach[ATTACH] : allocate(16), 'Event');
  }

  isSet(): boolean {
    this._check();
    return Atomics.load(this._i32, this._w) !== 0;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    this._check();
    Atomics.store(this._i32, this._w, 1);
    if (Atomics.load(this._i32, this._w + 1) > 0) futexWake(this._m, this._w << 2, WAKE_ALL);
  }

  clear(): void {
    this._check();
    Atomics.store(this._i32, this._w, 0);
  }

  /** Blocks until set; returns the flag (false on timeout). */
  waitSync(timeout?: number): boolean {
    this._check();
    const ms = checkTimeout('timeout', timeout);
    const i32 = this._i32;
    const w = this._w;
    if (Atomics.load(i32, w) !== 0) return true;
    const deadline = now() + ms;
    Atomics.add(i32, w + 1, 1);
    try {
      while (Atomics.load(i32, w) === 0) {
        const left = deadline - now();
        if (left <= 0) return false;
        futexWait(this._m, w << 2, 0, left);
      }
      return true;
    } finally {
      Atomics.sub(i32, w + 1, 1);
    }
  }

  async wait(t?: number | WaitOptions): Promise<boolean> {
    this._check();
    const { timeout, signal } = parseWait(t);
    if (signal?.aborted) throw aborted(signal);
    const i32 = this._i32;
    const w = this._w;
    if (Atomics.load(i32, w) !== 0) return true;
    const deadline = now() + timeout;
    Atomics.add(i32, w + 1, 1);
    try {
      while (Atomics.load(i32, w) === 0) {
        const left = deadline - now();
        if (left <= 0) return false;
        const r = await waitAsync(this._m, w << 2, 0, left, signal);
        this._check(); // closed meanwhile: its bytes may belong to another object now
        if (r === 3) throw aborted(signal!);
      }
      return true;
    } finally {
      if (!this.closed) Atomics.sub(i32, w + 1, 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Barrier: [lock word ×4][generation, arrived, broken, brokenGeneration, parties, sleepers, -, -]

export { BrokenBarrierError };

export interface BarrierOptions {
  /** Run by the last process to arrive, before the others are released; if it throws, the barrier breaks. */
  action?: () => void;
  /** Default timeout of wait() in ms; a timeout breaks the barrier. */
  timeout?: number;
}

const GEN = 4;
const ARRIVED = 5;
const BROKEN = 6;
const BROKEN_GEN = 7;
const PARTIES = 8;
const SLEEPERS = 9;
const BARRIER_SPIN_MAX = 8192;
const BARRIER_SPIN_MIN = 8;

/**
 * A barrier for `parties` processes (Python's threading/multiprocessing Barrier): wait() returns the arrival
 * index (0 … parties-1); a timeout, abort() or a throwing action breaks it, and every waiter (and later
 * caller, until reset()) gets BrokenBarrierError. Built on shared words, not pthread_barrier_t.
 */
export class Barrier extends SyncObject {
  readonly #core: LockCore;
  readonly #action: (() => void) | undefined;
  readonly #timeout: number;
  #spin = 512;

  constructor(parties: number | Attach, opts: BarrierOptions = {}) {
    if (isAttach(parties)) {
      super(parties[ATTACH], 'Barrier');
    } else {
      integer('parties', parties, 1, 0x3fffffff);
      if (opts.action !== undefined && typeof opts.action !== 'function') throw invalidType('options.action', 'of type function', opts.action);
      super(allocate(48), 'Barrier');
      this._i32[this._w + PARTIES] = parties;
    }
    this.#action = opts.action;
    this.#timeout = checkTimeout('options.timeout', opts.timeout);
    this.#core = new LockCore(this._i32, this._m, this._w);
    this.#core.check = () => this._check();
  }

  get parties(): number {
    this._check();
    return this._i32[this._w + PARTIES]!;
  }

  /** @internal the default timeout (travels to a spawned child) */
  get _timeout(): number {
    return this.#timeout;
  }

  /** The number of processes waiting in the current cycle. */
  get nWaiting(): number {
    this._check();
    return Atomics.load(this._i32, this._w + BROKEN) ? 0 : Atomics.load(this._i32, this._w + ARRIVED);
  }

  get broken(): boolean {
    this._check();
    return Atomics.load(this._i32, this._w + BROKEN) !== 0;
  }

  // with the internal lock held
  private breakLocked(): void {
    const i32 = this._i32;
    const w = this._w;
    Atomics.store(i32, w + BROKEN, 1);
    Atomics.store(i32, w + ARRIVED, 0);
    const g = Atomics.load(i32, w + GEN);
    Atomics.store(i32, w + BROKEN_GEN, (g + 1) | 0);
    Atomics.store(i32, w + GEN, (g + 1) | 0);
    futexWake(this._m, (w + GEN) << 2, WAKE_ALL);
  }

  /** Arrives; returns the generation to wait for, or -1-index when this arrival completed the cycle. */
  private arrive(): { gen: number; index: number; last: boolean } {
    const i32 = this._i32;
    const w = this._w;
    // Under the internal lock (every writer of these words holds it): plain reads and writes, except the
    // generation's store, which waiters read without the lock.
    if (i32[w + BROKEN]) {
      this.#core.unlock();
      throw new BrokenBarrierError();
    }
    const gen = i32[w + GEN]!;
    const index = i32[w + ARRIVED]!;
    i32[w + ARRIVED] = index + 1;
    if (index + 1 < i32[w + PARTIES]!) {
      this.#core.unlock();
      return { gen, index, last: false };
    }
    try {
      this.#action?.();
    } catch (e) {
      this.breakLocked();
      this.#core.unlock();
      throw e;
    }
    i32[w + ARRIVED] = 0;
    Atomics.store(i32, w + GEN, (gen + 1) | 0);
    // Unlock before waking: a woken partner on this CPU may run at once, and must not find the lock taken.
    // (Sleepers of the next cycle woken by this are spurious wake-ups: they see their generation and sleep.)
    this.#core.unlock();
    if (Atomics.load(i32, w + SLEEPERS) > 0) futexWake(this._m, (w + GEN) << 2, WAKE_ALL);
    return { gen, index, last: true };
  }

  /** After the generation moved on: passed, or broken? */
  private outcome(gen: number, index: number): number {
    if (Atomics.load(this._i32, this._w + BROKEN_GEN) === ((gen + 1) | 0)) throw new BrokenBarrierError();
    return index;
  }

  private timedOut(gen: number): void {
    this.#core.acquireSync(Infinity);
    if (Atomics.load(this._i32, this._w + GEN) === gen) {
      this.breakLocked();
      this.#core.unlock();
      throw new BrokenBarrierError('The barrier timed out (and is now broken)');
    }
    this.#core.unlock();
  }

  /** Waits for all parties; returns this process's arrival index. */
  waitSync(timeout?: number): number {
    this._check();
    const ms = timeout == null ? this.#timeout : checkTimeout('timeout', timeout); // None: the barrier's default, as in Python
    this.#core.acquireSync(Infinity);
    const { gen, index, last } = this.arrive();
    if (last) return index;
    const i32 = this._i32;
    const w = this._w;
    // Spin a little before sleeping: with the partners on other CPUs the cycle usually completes within a
    // microsecond (a futex sleep and wake-up costs several). The budget adapts: halved when spinning did not
    // pay (partners on this CPU cannot run while we spin), doubled when it did.
    const budget = this.#spin;
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(i32, w + GEN) !== gen) {
        if (budget < BARRIER_SPIN_MAX) this.#spin = budget * 2;
        return this.outcome(gen, index);
      }
    }
    if (budget > BARRIER_SPIN_MIN) this.#spin = budget - (budget >> 3);
    const deadline = ms === Infinity ? Infinity : now() + ms;
    Atomics.add(i32, w + SLEEPERS, 1);
    try {
      while (Atomics.load(i32, w + GEN) === gen) {
        const left = ms === Infinity ? Infinity : deadline - now();
        if (left <= 0) {
          this.timedOut(gen);
          break;
        }
        futexWait(this._m, (w + GEN) << 2, gen, left);
      }
    } finally {
      Atomics.sub(i32, w + SLEEPERS, 1);
    }
    return this.outcome(gen, index);
  }

  /** wait, off the JS thread. */
  async wait(t?: number | WaitOptions): Promise<number> {
    this._check();
    const { timeout, signal } = parseWait(t ?? undefined, this.#timeout);
    if (signal?.aborted) throw aborted(signal);
    if (!this.#core.tryFast()) await this.#core.acquire(Infinity, undefined);
    const { gen, index, last } = this.arrive();
    if (last) return index;
    const i32 = this._i32;
    const w = this._w;
    const deadline = now() + timeout;
    Atomics.add(i32, w + SLEEPERS, 1);
    try {
      while (Atomics.load(i32, w + GEN) === gen) {
        const left = deadline - now();
        const r = left <= 0 ? 2 : await waitAsync(this._m, (w + GEN) << 2, gen, left, signal);
        this._check(); // closed meanwhile: its bytes may belong to another object now
        if (r === 3) {
          // An abandoned arrival would leave the count wrong for good: aborting a wait breaks the barrier.
          this.#core.acquireSync(Infinity);
          if (Atomics.load(i32, w + GEN) === gen) this.breakLocked();
          this.#core.unlock();
          throw aborted(signal!);
        }
        if (r === 2 && Atomics.load(i32, w + GEN) === gen && deadline - now() <= 0) {
          this.timedOut(gen);
          break;
        }
      }
    } finally {
      if (!this.closed) Atomics.sub(i32, w + SLEEPERS, 1);
    }
    return this.outcome(gen, index);
  }

  /** Breaks the barrier: current and later waiters get BrokenBarrierError until reset(). */
  abort(): void {
    this._check();
    this.#core.acquireSync(Infinity);
    this.breakLocked();
    this.#core.unlock();
  }

  /** Back to the initial state; processes waiting now get BrokenBarrierError. */
  reset(): void {
    this._check();
    this.#core.acquireSync(Infinity);
    if (Atomics.load(this._i32, this._w + ARRIVED) > 0) this.breakLocked();
    Atomics.store(this._i32, this._w + ARRIVED, 0);
    Atomics.store(this._i32, this._w + BROKEN, 0);
    this.#core.unlock();
  }
}

// ---------------------------------------------------------------------------------------------------------
// spawn: (fd, block handle) → the object in the child

/** What a sync object becomes on its way to a spawned child (its region's memfd travels as fds[0]). */
export interface SyncReduced {
  kind: 'Lock' | 'RLock' | 'Semaphore' | 'BoundedSemaphore' | 'Condition' | 'Event' | 'Barrier';
  block: BlockHandle;
  lock?: SyncReduced;
  lockIsR?: boolean;
  timeout?: number;
}

/** @internal Reduces a sync object to (fds, data) for a spawned child. */
export function reduceSync(obj: SyncObject): { fds: number[]; data: SyncReduced } {
  const { fd, block } = obj._handle();
  const kind = obj.constructor.name as SyncReduced['kind'];
  if (obj instanceof Condition) {
    const l = reduceSync(obj._lock);
    return { fds: [fd, ...l.fds], data: { kind: 'Condition', block, lock: l.data } };
  }
  if (obj instanceof Barrier) return { fds: [fd], data: { kind, block, timeout: obj._timeout === Infinity ? undefined : obj._timeout } };
  return { fds: [fd], data: { kind, block } };
}

/** @internal Rebuilds a sync object in a spawned child from the fds and data reduceSync made. */
export function rebuildSync(fds: number[], data: SyncReduced): SyncObject {
  const at = (): Attach => ({ [ATTACH]: attachBlock(fds[0]!, data.block) });
  switch (data.kind) {
    case 'Lock':
      return new Lock(at());
    case 'RLock':
      return new RLock(at());
    case 'Semaphore':
      return new Semaphore(at());
    case 'BoundedSemaphore':
      return new BoundedSemaphore(at());
    case 'Event':
      return new Event(at());
    case 'Barrier':
      return new Barrier(at(), { timeout: data.timeout });
    case 'Condition': {
      const own = at();
      const lock = rebuildSync(fds.slice(1), data.lock!) as Lock | RLock;
      return new Condition(own, lock);
    }
    default:
      throw typeError(`Unknown shared object kind ${String(data.kind)}`);
  }
}

/** @internal for lib/mp/shared/shared.ts */
export { ATTACH, type Attach, LockBase, SyncObject };

for (const cls of [Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier]) markNotSendable(cls);

// Spawned children get them in Process args: the region's memfd (and the offset) travel, the child maps it.
// One registration per base class (a subclass — BoundedSemaphore — is told apart by reduceSync).
for (const cls of [Lock, RLock, Semaphore, Condition, Event, Barrier] as const) {
  registerShareable(
    cls as { name: string; prototype: SyncObject },
    `multiproc.${cls.name}`,
    (o: SyncObject) => reduceSync(o),
    (fds: number[], data: SyncReduced) => rebuildSync(fds, data),
    import.meta.url,
  );
}

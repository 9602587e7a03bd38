// What every synchronisation object of the multiprocessing API is built on: a few int32 words in the shared
// arena, the lock word with its owner-death handling, and the way the objects reach spawned children.
//
// How they are built. Like CPython's SemLock, not as pthread wrappers: each object is a few int32 words in the
// shared arena (lib/mp/shared/arena.ts), changed with JS Atomics on an Int32Array over the mapping (real locked
// instructions, atomic across processes: test/sync.test.ts checks it with 8 processes). The uncontended paths
// (acquire of a free lock, release without sleepers, Event.isSet, ...) are a compare-and-swap in JS with no
// native call; only a process that must sleep calls futex(2) FUTEX_WAIT (posix.futexWaitRaw, or
// futexWaitAsyncRaw on a thread of the addon for the Promise forms: the JS thread stays free), and a release
// wakes sleepers only when a word says there are some. Each waiting operation is written once, as a generator
// of sleeps run by runSync or runAsync (lib/mp/core/wait.ts).
//
// Ownership is per process (as in Python): a lock word holds the owner's pid (and a "sleepers" bit); beside it
// the owner's start time (/proc/<pid>/stat field 22), so that a dead owner is recognised even after its pid
// was reused. A waiter sleeps in slices of OWNER_CHECK_MS; after each empty slice it checks that the owner is
// alive, and if it is not, takes the lock over: the acquisition succeeds, `ownerDied` is true on that handle
// until its next acquisition, and a process warning with code 'MULTIPROC_OWNER_DIED' is emitted
// (DESIGN.md "Owner death"). A dead owner never wedges the others.
//
// Lifetime: each object is an arena block; close() frees it in the creating process (see lib/mp/shared/arena.ts
// for the rule: keep it open while other processes use it); after close every call throws ERR_MULTIPROC_CLOSED.
// Sync objects travel by inheritance (fork, or Process args at start): putting one in a Pipe/Queue throws
// ERR_MULTIPROC_NOT_SENDABLE.
import { ArenaObject, attachBlock, type Block, type BlockHandle, blockHandle, myPid, myStartTime } from '../shared/arena.js';
import * as posix from '../../posix/index.js';
import { processAlive } from '../shared/users.js';
import { registerShareable } from '../core/reduction.js';
import { futexSleep, now, runAsync, runSync, TIMED_OUT, type Waits, abortReason } from '../core/wait.js';
import { typeError } from '../../posix/errors.js';
import { debug } from '../../posix/debug.js';

/** The "there may be sleepers" bit of a lock word. */
const W = 1 << 30;
/** The owner's pid in a lock word. */
export const PID_MASK = W - 1;
/** How often a waiter checks that the owner of the lock it waits for is alive. */
export const OWNER_CHECK_MS = 100;
/** Checks of a held lock word before a sync acquirer goes to sleep. */
const SPIN = 64;
/** futexWake's count for "all". */
export const WAKE_ALL = 0x7fffffff;
/** futex(2) FUTEX_WAKE without a wrapper frame. */
export const futexWake = posix.futexWakeRaw;

/** This process's start time as stored in a lock word (int32). */
const myStart = (): number => myStartTime() | 0;

/** Is the owner `pid` (whose start time, when `start` != 0, is `start`) alive? Zombies are dead. */
function ownerAlive(pid: number, start: number): boolean {
  return pid === myPid() || processAlive(pid, start);
}

const OWNER_DIED_MESSAGE =
  'A process died while holding a multiproc lock; this process has now acquired it. The data the lock ' +
  'protects may be half-updated: check it.';

// ---------------------------------------------------------------------------------------------------------
// the objects

/** What the constructors take to attach to an existing block (a spawned child's rebuild) instead of allocating. */
export const ATTACH = Symbol('attach');
/** @internal An existing block, for a constructor (see ATTACH). */
export type Attach = { [ATTACH]: Block };
/** @internal Is `x` an Attach (a constructor's "rebuild on this block" argument)? */
export function isAttach(x: unknown): x is Attach {
  return typeof x === 'object' && x !== null && ATTACH in x;
}

/** What a sync object becomes on its way to a spawned child (its region's memfd travels as fds[0]). */
export interface SyncReduced {
  kind: 'Lock' | 'RLock' | 'Semaphore' | 'BoundedSemaphore' | 'Condition' | 'Event' | 'Barrier';
  block: BlockHandle;
  /** A Condition's lock (its fds follow the Condition's). */
  lock?: SyncReduced;
  /** A Barrier's default timeout. */
  timeout?: number;
}

/** The common part of the sync objects: the block's words. */
export class SyncObject extends ArenaObject {
  /** @internal */ readonly _i32: Int32Array;
  /** @internal */ readonly _m: posix.Mapping;
  /** @internal index of the first word */ readonly _w: number;

  constructor(block: Block, what: string) {
    super(block, what);
    this._i32 = block.region.i32;
    this._m = block.region.mapping;
    this._w = block.offset >> 2;
  }

  /** @internal (fds, data) that rebuild this object in a spawned child (rebuildSync). Subclasses add to data. */
  _reduce(): { fds: number[]; data: SyncReduced } {
    this._check();
    return { fds: [this._block.region.fd], data: { kind: this.constructor.name as SyncReduced['kind'], block: blockHandle(this._block) } };
  }

  /**
   * @internal Sleeps on word `word` while it holds `value`, counted in word `sleepers` (wakers wake only when
   * it is > 0), until ready() is true (→ true) or `ms` elapsed (→ false). Wake-ups are re-checked.
   */
  *_sleepUntil(word: number, value: number, sleepers: number, ready: () => boolean, ms: number): Waits<boolean> {
    const i32 = this._i32;
    const deadline = now() + ms;
    Atomics.add(i32, sleepers, 1);
    try {
      for (;;) {
        if (ready()) return true;
        const left = deadline - now();
        if (left <= 0) return false;
        yield futexSleep(this._m, word << 2, value, left);
        this._check(); // closed meanwhile: its bytes may belong to another object now
      }
    } finally {
      if (!this.closed) Atomics.sub(i32, sleepers, 1);
    }
  }
}

type Rebuild = (at: Attach, fds: number[], data: SyncReduced) => SyncObject;
const rebuilders = new Map<string, Rebuild>();

/** @internal (fds, data) for a spawned child: see SyncObject._reduce. */
export function reduceSync(obj: SyncObject): { fds: number[]; data: SyncReduced } {
  return obj._reduce();
}

/** @internal Rebuilds a sync object in a spawned child from the fds and data reduceSync made. */
export function rebuildSync(fds: number[], data: SyncReduced): SyncObject {
  const rebuild = rebuilders.get(data.kind);
  if (!rebuild) throw typeError(`Unknown shared object kind ${String(data.kind)}`);
  return rebuild({ [ATTACH]: attachBlock(fds[0]!, data.block) }, fds, data);
}

/**
 * @internal Lets spawned children receive `cls` in Process args (lib/mp/core/reduction.ts): the region's memfd
 * and the offset travel, the child maps it. `url` is the registering module's import.meta.url (the child
 * imports it, which registers `rebuild` there too). A subclass (BoundedSemaphore) is registered too: its
 * instances are told apart by their kind.
 */
export function shareSync(cls: { name: string; prototype: SyncObject }, url: string, rebuild: Rebuild): void {
  rebuilders.set(cls.name, rebuild);
  registerShareable(cls, `multiproc.${cls.name}`, reduceSync, rebuildSync, url);
}

// ---------------------------------------------------------------------------------------------------------
// the lock word: [state (0 free, else owner pid | W), owner start time, owner pid echo, recursion count]

/** Bytes of a lock's block. */
export const LOCK_BYTES = 16;

/** A lock word and its owner-death handling (Lock, RLock, and a Barrier's internal lock). */
export class LockCore {
  ownerDied = false;
  /** Runs at each acquisition, before anything else can see it (RLock: count = 1). */
  onTook: (() => void) | undefined;
  /** Throws ERR_MULTIPROC_CLOSED once the object was closed (checked after every sleep: its bytes may
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
      debug("lock: process %d took over a dead owner's lock", me);
      process.emitWarning(OWNER_DIED_MESSAGE, { code: 'MULTIPROC_OWNER_DIED' });
    }
  }

  /** Takes a free lock with one CAS. */
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

  /**
   * The contended acquisition (after tryFast failed): sleeps in slices of OWNER_CHECK_MS, taking the lock
   * over from a dead owner; false when `ms` elapsed. `abortable` false: an AbortSignal does not end it.
   */
  *acquireWaits(ms: number, abortable = true): Waits<boolean> {
    const deadline = now() + ms;
    for (;;) {
      const c = this.attempt();
      if (c === 0) return true;
      const left = deadline - now();
      if (left <= 0) return this.stealIfDead(c);
      let r: number;
      try {
        r = yield futexSleep(this.m, this.w << 2, c, Math.min(left, OWNER_CHECK_MS), abortable);
      } catch (e) {
        futexWake(this.m, this.w << 2, 1); // pass on a wake-up this sleep may have taken
        throw e;
      }
      this.check();
      if (r === TIMED_OUT && this.stealIfDead(c)) return true;
    }
  }

  /** Blocks until acquired; false after `ms` (0: just try). */
  acquireSync(ms: number): boolean {
    if (this.tryFast() || (ms > 0 && this.spin())) return true;
    return runSync(this.acquireWaits(ms));
  }

  /** Resolves true once acquired, false after `ms`; aborting `signal` rejects (nothing held). */
  acquire(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.tryFast()) return Promise.resolve(true);
    return runAsync(this.acquireWaits(ms), signal);
  }

  /** Frees the lock (the caller checked ownership). */
  unlock(): void {
    if (Atomics.exchange(this.i32, this.w, 0) & W) futexWake(this.m, this.w << 2, 1);
  }
}

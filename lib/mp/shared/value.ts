// Value and RawValue (Python's multiprocessing.Value/RawValue, sharedctypes): one element in the shared arena
// (lib/mp/shared/arena.ts). Types, checked stores and the lock: typed.ts.
import { allocate } from './arena.js';
import { registerShareable } from '../core/reduction.js';
import type { Lock, RLock } from '../sync/index.js';
import {
  ATTACHED,
  type Attached,
  attachShared,
  checkElement,
  checkLockOption,
  isAttached,
  type LockOption,
  reduceShared,
  resolveType,
  SharedData,
  SharedLock,
  type SharedReduced,
  type TypeCode,
  type TypedArray,
  type TypedArrayCtor,
} from './typed.js';

/**
 * One shared value without a lock (Python's RawValue): one element in the shared arena. A read or a write
 * is one aligned load or store (atomic); a read-modify-write is not — use a {@link Value} and its lock.
 * @typeParam T number, or bigint for the 64-bit integer types
 */
export class RawValue<T extends number | bigint = number> extends SharedData {
  /** The readable type name ('int32', 'float64', …). */
  readonly typeCode: string;
  /** @internal */ readonly _view: TypedArray;

  /**
   * @param type a type code ('i', 'd', 'int64', … see TypeCode); 64-bit integer types hold bigints
   * @param init the initial value (default 0), checked as the type requires
   * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown type code; RangeError when `init` does not fit
   */
  constructor(type: TypeCode | Attached, init?: T) {
    if (isAttached(type)) {
      const a = type[ATTACHED];
      super(a.block, 'Value');
      this.typeCode = a.type;
      this._view = new (resolveType(a.type)[1])(a.block.region.mapping.buffer, a.block.offset, 1);
      return;
    }
    const [name, ctor] = resolveType(type);
    const initial = init === undefined ? undefined : checkElement(ctor, init, 'init');
    super(allocate(ctor.BYTES_PER_ELEMENT), 'Value');
    this.typeCode = name;
    this._view = new ctor(this._block.region.mapping.buffer, this._block.offset, 1);
    if (initial !== undefined) this._view[0] = initial as never;
  }

  /** The value (one aligned load). */
  get value(): T {
    this._check();
    return this._view[0] as T;
  }

  /** Stores `v`, checked as the type requires (a value that does not fit is an error, never wrapped). */
  set value(v: T) {
    this._check();
    this._view[0] = checkElement(this._view.constructor as TypedArrayCtor, v, 'value') as never;
  }
}

/**
 * One shared value with a lock (Python's Value; the default lock is a new RLock, as in Python). Unlike
 * Python's synchronized wrapper, `.value` does not take the lock itself: hold getLock() around a
 * read-modify-write such as `v.value++`.
 *
 * Like every shared object, it reaches other processes by inheritance (created before a fork, or passed in
 * Process args to a spawned child); its bytes are freed when the creating process closes it (or it is
 * garbage-collected there), so keep it open while children use it.
 * @example
 * ```ts
 * import { Process, Value } from 'multiproc';
 *
 * const counter = new Value('i', 0);       // Python's type codes, or 'int32', 'float64', …; 'q'/'int64' hold bigints
 * const work = () => { for (let i = 0; i < 1000; i++) counter.getLock().withLockSync(() => counter.value++); };
 * const ps = [1, 2, 3].map(() => new Process({ target: work }));
 * ps.forEach((p) => p.start());
 * for (const p of ps) await p.join();
 * console.log(counter.value);              // 3000
 * ```
 */
export class Value<T extends number | bigint = number> extends RawValue<T> {
  /**
   * @param type a type code (see RawValue)
   * @param init the initial value (default 0)
   * @param opts `lock`: whether it has a lock, or which
   * @param opts.lock true (default): a new RLock; false: none; or the Lock/RLock to use
   */
  constructor(type: TypeCode | Attached, init?: T, opts: { lock?: LockOption } = {}) {
    checkLockOption(opts?.lock);
    super(type, init);
    this._lock = new SharedLock(isAttached(type) ? type : opts.lock);
  }

  /** The lock to hold around read-modify-write (Python's get_lock()). */
  getLock(): Lock | RLock {
    return this._getLock('Value');
  }
}

// Spawned children get them in Process args (lib/mp/core/reduction.ts): the arena region's memfd plus the
// offset (and the lock's). Registering also makes them not sendable inside a message (a Value's class too).
registerShareable(
  RawValue,
  'multiproc.RawValue',
  (o: RawValue<number | bigint>) => reduceShared(o, o.typeCode, 1),
  (fds: number[], data: SharedReduced) => (data.kind === 'Value' ? new Value(attachShared(fds, data)) : new RawValue(attachShared(fds, data))),
  import.meta.url,
);

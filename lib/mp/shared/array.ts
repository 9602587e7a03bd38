// SharedArray and RawArray (Python's multiprocessing.Array/RawArray, sharedctypes): elements in the shared
// arena (lib/mp/shared/arena.ts), with a typed array over them as the fast path. Types, checked stores and the
// lock: typed.ts.
import { allocate } from './arena.js';
import { registerShareable } from '../core/reduction.js';
import type { Lock, RLock } from '../sync/index.js';
import { allocation, integer, invalidType, outOfRange } from '../../posix/errors.js';
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
 * A shared array without a lock (Python's RawArray). `view` is a typed array over the shared bytes.
 * @typeParam T number, or bigint for the 64-bit integer types
 */
export class RawArray<T extends number | bigint = number> extends SharedData {
  /** The readable type name ('int32', 'float64', …). */
  readonly typeCode: string;
  /** The number of elements. */
  readonly length: number;
  readonly #view: TypedArray;

  /**
   * @param type a type code ('i', 'd', 'int64', … see TypeCode); 64-bit integer types hold bigints
   * @param sizeOrValues the number of elements (zero-filled), or the initial values (each checked)
   * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown type code; RangeError for a value that does not
   *   fit, or a size larger than the machine can back
   */
  constructor(type: TypeCode | Attached, sizeOrValues?: number | Iterable<T>) {
    if (isAttached(type)) {
      const a = type[ATTACHED];
      super(a.block, 'SharedArray');
      this.typeCode = a.type;
      this.length = a.length;
      this.#view = new (resolveType(a.type)[1])(a.block.region.mapping.buffer, a.block.offset, a.length);
      return;
    }
    const [name, ctor] = resolveType(type);
    let values: (number | bigint)[] | undefined;
    let length: number;
    if (typeof sizeOrValues === 'number') {
      length = integer('size', sizeOrValues, 0);
      allocation('size', length * ctor.BYTES_PER_ELEMENT, `a ${new.target.name} of ${length} ${name}`);
    } else if (sizeOrValues !== null && typeof sizeOrValues === 'object' && Symbol.iterator in sizeOrValues) {
      values = [...sizeOrValues].map((v, i) => checkElement(ctor, v, `sizeOrValues[${i}]`));
      length = values.length;
    } else {
      throw invalidType('sizeOrValues', 'of type number or an iterable', sizeOrValues);
    }
    super(allocate(Math.max(1, length * ctor.BYTES_PER_ELEMENT)), 'SharedArray');
    this.typeCode = name;
    this.length = length;
    this.#view = new ctor(this._block.region.mapping.buffer, this._block.offset, length);
    if (values) this.#view.set(values as never);
  }

  /** A typed array over the shared bytes (the fast path). Detached (length 0) once the arena region is gone. */
  get view(): T extends bigint ? BigInt64Array | BigUint64Array : Exclude<TypedArray, BigInt64Array | BigUint64Array> {
    this._check();
    return this.#view as never;
  }

  /**
   * The element at `i` (RangeError outside 0 … length-1).
   * @param i the index
   */
  get(i: number): T {
    this._check();
    return this.#view[this.#index('index', i)] as T;
  }

  /**
   * Stores `v` at `i`, checked as the type requires (a value that does not fit is an error, never wrapped).
   * @param i the index (0 … length-1)
   * @param v the value
   */
  set(i: number, v: T): void {
    this._check();
    const at = this.#index('index', i);
    this.#view[at] = checkElement(this.#view.constructor as TypedArrayCtor, v, 'value') as never;
  }

  /**
   * Stores `v` (checked as set() does) in elements [start, end) (default: all), as TypedArray.fill.
   * @param v the value
   * @param start the first index (default 0)
   * @param end one past the last index (default: length)
   */
  fill(v: T, start = 0, end = this.length): this {
    this._check();
    const value = checkElement(this.#view.constructor as TypedArrayCtor, v, 'value');
    integer('start', start, 0, this.length);
    integer('end', end, 0, this.length);
    this.#view.fill(value as never, start, end);
    return this;
  }

  #index(name: string, i: unknown): number {
    if (this.length === 0) throw outOfRange(name, 'an index of an element, but the array is empty', i);
    return integer(name, i, 0, this.length - 1);
  }

  /** The elements, read one by one (each checked as get() does). */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** A copy of the elements as a plain array. */
  toArray(): T[] {
    this._check();
    return Array.from(this.#view as ArrayLike<number | bigint>) as T[];
  }
}

/**
 * A shared array with a lock (Python's Array, renamed so that it cannot hide JS's Array; the default lock
 * is a new RLock, as in Python). `view` is a typed array over the shared bytes: the fast path.
 * @example
 * ```ts
 * import { Process, SharedArray } from 'multiproc';
 *
 * const a = new SharedArray('d', 1000);    // 1000 float64, zero-filled; or new SharedArray('i', [1, 2, 3])
 * const p = new Process({ target: () => a.view.fill(0.5, 0, 500) });
 * p.start();
 * await p.join();
 * a.get(0);                                // 0.5: the child's writes, seen here
 * a.getLock().withLockSync(() => a.set(1, a.get(1) + 1));
 * ```
 */
export class SharedArray<T extends number | bigint = number> extends RawArray<T> {
  /**
   * @param type a type code (see RawArray)
   * @param sizeOrValues the number of elements, or the initial values
   * @param opts `lock`: whether it has a lock, or which
   * @param opts.lock true (default): a new RLock; false: none; or the Lock/RLock to use
   */
  constructor(type: TypeCode | Attached, sizeOrValues?: number | Iterable<T>, opts: { lock?: LockOption } = {}) {
    checkLockOption(opts?.lock);
    super(type, sizeOrValues);
    this._lock = new SharedLock(isAttached(type) ? type : opts.lock);
  }

  /** The lock to hold around read-modify-write (Python's get_lock()). */
  getLock(): Lock | RLock {
    return this._getLock('SharedArray');
  }
}

// Spawned children get them in Process args (lib/mp/core/reduction.ts): the arena region's memfd plus the
// offset (and the lock's). Registering also makes them not sendable inside a message (a SharedArray's class too).
registerShareable(
  RawArray,
  'multiproc.RawArray',
  (o: RawArray<number | bigint>) => reduceShared(o, o.typeCode, o.length),
  (fds: number[], data: SharedReduced) =>
    data.kind === 'SharedArray' ? new SharedArray(attachShared(fds, data)) : new RawArray(attachShared(fds, data)),
  import.meta.url,
);

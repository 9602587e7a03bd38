// What Value (value.ts) and SharedArray (array.ts) share: type codes, checked element stores, the optional
// lock, and how they reach a spawned child.
//
// Reads and writes of one element are single aligned loads/stores (atomic for every type here, 64-bit ones
// included, on x86-64 and arm64); a read-modify-write (`v.value += 1`) is not: hold getLock() around it, as in
// Python. Unlike Python's synchronized wrappers, `.value` does not take the lock by itself (it would make every
// access pay for it and still not make `+=` safe).
import { ArenaObject, attachBlock, type Block, type BlockHandle, blockHandle } from './arena.js';
import type { Reduced } from '../core/reduction.js';
import { Lock, rebuildSync, reduceSync, RLock, type SyncReduced } from '../sync/index.js';
import { invalidType, outOfRange, stateError, typeError } from '../../posix/errors.js';

/** A typed array of one of the element types. */
export type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
/** Its constructor. */
export type TypedArrayCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number };

/** Type codes: Python's array/ctypes codes and readable names. 64-bit integers are bigint. */
export type TypeCode =
  | 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

const TYPES: Record<string, [name: string, ctor: TypedArrayCtor]> = {
  b: ['int8', Int8Array],
  B: ['uint8', Uint8Array],
  h: ['int16', Int16Array],
  H: ['uint16', Uint16Array],
  i: ['int32', Int32Array],
  I: ['uint32', Uint32Array],
  l: ['int64', BigInt64Array], // C long on 64-bit Linux
  L: ['uint64', BigUint64Array],
  q: ['int64', BigInt64Array],
  Q: ['uint64', BigUint64Array],
  f: ['float32', Float32Array],
  d: ['float64', Float64Array],
};
for (const [, [name, ctor]] of Object.entries(TYPES)) TYPES[name] = [name, ctor];

/** The readable name and the typed-array constructor of a type code (TypeError ERR_INVALID_ARG_VALUE otherwise). */
export function resolveType(type: unknown): [string, TypedArrayCtor] {
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
    throw typeError(
      `Unknown type code ${JSON.stringify(type)}: expected one of ${Object.keys(TYPES).map((k) => `'${k}'`).join(', ')}`,
      'ERR_INVALID_ARG_VALUE',
    );
  }
  return TYPES[type]!;
}

// The range of each integer type, for the checks of stored values.
const RANGES = new Map<TypedArrayCtor, [number | bigint, number | bigint]>([
  [Int8Array, [-(2 ** 7), 2 ** 7 - 1]],
  [Uint8Array, [0, 2 ** 8 - 1]],
  [Int16Array, [-(2 ** 15), 2 ** 15 - 1]],
  [Uint16Array, [0, 2 ** 16 - 1]],
  [Int32Array, [-(2 ** 31), 2 ** 31 - 1]],
  [Uint32Array, [0, 2 ** 32 - 1]],
  [BigInt64Array, [-(2n ** 63n), 2n ** 63n - 1n]],
  [BigUint64Array, [0n, 2n ** 64n - 1n]],
]);

/**
 * A value to store in an element of type `ctor`, checked: nothing is stored silently wrong. Float types take
 * any number. Integer types take an integer in the type's range (RangeError otherwise: no wrapping, no
 * truncation); 64-bit ones a bigint, or a number that is a safe integer. Anything else is a TypeError.
 */
export function checkElement(ctor: TypedArrayCtor, v: unknown, name: string): number | bigint {
  const range = RANGES.get(ctor);
  if (!range) {
    if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
    return v;
  }
  const [min, max] = range;
  if (ctor === BigInt64Array || ctor === BigUint64Array) {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw outOfRange(name, `a bigint, or a safe integer, >= ${min} && <= ${max}`, v);
      v = BigInt(v);
    } else if (typeof v !== 'bigint') {
      throw invalidType(name, 'of type bigint (a 64-bit integer type)', v);
    }
    if ((v as bigint) < (min as bigint) || (v as bigint) > (max as bigint)) throw outOfRange(name, `>= ${min} && <= ${max}`, v);
    return v as bigint;
  }
  if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
  if (!Number.isInteger(v) || v < (min as number) || v > (max as number)) throw outOfRange(name, `an integer >= ${min} && <= ${max}`, v);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// the optional lock

/** The `lock` option of Value and SharedArray: true/undefined a new RLock, false none, or the lock to use. */
export type LockOption = boolean | Lock | RLock | undefined;

/** Checks the `lock` option (before anything is allocated). */
export function checkLockOption(opt: LockOption): void {
  if (opt === undefined || typeof opt === 'boolean' || opt instanceof Lock || opt instanceof RLock) return;
  throw invalidType('options.lock', 'a boolean, a Lock or an RLock', opt);
}

/** The lock of a Value or SharedArray: one it made (and closes with it), one it was given, or none. */
export class SharedLock {
  /** The lock (undefined: made with { lock: false }). */
  readonly lock: Lock | RLock | undefined;
  readonly #owns: boolean;

  /** From the `lock` option, or (a spawned child's rebuild) the lock it came with, which it then owns. */
  constructor(opt: LockOption | Attached) {
    if (typeof opt === 'object' && ATTACHED in opt) {
      this.lock = opt[ATTACHED].lock;
      this.#owns = true;
      return;
    }
    this.#owns = opt === undefined || opt === true;
    this.lock = opt === undefined || opt === true ? new RLock() : opt === false ? undefined : opt;
  }

  /** The lock (Python's get_lock()); ERR_MULTIPROC_NO_LOCK for one made with { lock: false }. */
  get(what: string): Lock | RLock {
    if (!this.lock) throw stateError('ERR_MULTIPROC_NO_LOCK', `This ${what} was created with { lock: false }: it has no lock`);
    return this.lock;
  }

  /** Closes the lock if it made it. */
  close(): void {
    if (this.#owns) this.lock?.close();
  }
}

/**
 * The base of RawValue and RawArray: an arena block and, for Value and SharedArray, the lock (set by their
 * constructors): closed with the object if it made it, and passed with it to a spawned child.
 */
export class SharedData extends ArenaObject {
  /** @internal Value/SharedArray: their lock (undefined in the Raw classes). */
  protected _lock: SharedLock | undefined;

  /** @internal The lock a spawned child gets with it. */
  _sharedLock(): Lock | RLock | undefined {
    return this._lock?.lock;
  }

  /** @internal getLock() of Value and SharedArray (`what` names the class in the no-lock error). */
  protected _getLock(what: string): Lock | RLock {
    this._check();
    return this._lock!.get(what);
  }

  override _onClose(): void {
    this._lock?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// spawned children

/** @internal What the constructors take to attach to an existing block (a spawned child's rebuild). */
export const ATTACHED = Symbol('attached');
/** @internal See ATTACHED. */
export type Attached = { [ATTACHED]: { block: Block; type: string; length: number; lock?: Lock | RLock } };

/** Is `x` an Attached (a constructor's "rebuild on this block" argument)? */
export function isAttached(x: unknown): x is Attached {
  return typeof x === 'object' && x !== null && ATTACHED in x;
}

/** What a Value/SharedArray becomes on its way to a spawned child (fds: its region's memfd, then the lock's). */
export interface SharedReduced {
  kind: 'Value' | 'RawValue' | 'SharedArray' | 'RawArray';
  type: string;
  length: number;
  block: BlockHandle;
  lock?: SyncReduced;
}

/** @internal (fds, data) for a spawned child: the block's region and offset, and the lock's. */
export function reduceShared(obj: SharedData, type: string, length: number): Reduced {
  obj._check();
  const data: SharedReduced = { kind: obj.constructor.name as SharedReduced['kind'], type, length, block: blockHandle(obj._block) };
  const fds = [obj._block.region.fd];
  const lock = obj._sharedLock();
  if (lock) {
    const l = reduceSync(lock);
    data.lock = l.data;
    fds.push(...l.fds);
  }
  return { fds, data };
}

/** @internal In a spawned child: the block (and the lock) reduceShared described, for a constructor. */
export function attachShared(fds: number[], data: SharedReduced): Attached {
  const block = attachBlock(fds[0]!, data.block);
  const lock = data.lock ? (rebuildSync(fds.slice(1), data.lock) as Lock | RLock) : undefined;
  return { [ATTACHED]: { block, type: data.type, length: data.length, lock } };
}

// Shared state of the multiprocessing API (Python's multiprocessing.sharedctypes and shared_memory):
// Value / RawValue, SharedArray / RawArray (bytes in the shared arena, lib/mp/shared/arena.ts) and SharedMemory (a named
// POSIX shared memory object, with a tracker for what crashed creators left behind).
//
// Reads and writes of one element are single aligned loads/stores (atomic for every type here, 64-bit ones
// included, on x86-64 and arm64); a read-modify-write (`v.value += 1`) is not: hold getLock() around it, as in
// Python. Unlike Python's synchronized wrappers, `.value` does not take the lock by itself (it would make every
// access pay for it and still not make `+=` safe).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { debuglog } from 'node:util';
import { allocate, ArenaObject, attachBlock, type Block, type BlockHandle, blockHandle } from './arena.js';
import * as posix from '../../posix/index.js';
import { registerShareable } from '../core/reduction.js';
import { register, unregister } from './tracker.js';
import { markNotSendable } from '../core/sendable.js';
import { Lock, reduceSync, rebuildSync, RLock, type SyncReduced } from '../sync/index.js';
import { allocation, integer, invalidType, outOfRange, stateError, typeError } from '../../posix/errors.js';

const debug = debuglog('multiproc');

type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
type TypedArrayCtor = { new (buffer: ArrayBuffer, byteOffset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number };

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

function resolveType(type: unknown): [string, TypedArrayCtor] {
  if (typeof type !== 'string' || !Object.hasOwn(TYPES, type)) {
    throw typeError(
      `Unknown type code ${JSON.stringify(type)}: expected one of ${Object.keys(TYPES).map((k) => `'${k}'`).join(', ')}`,
      'ERR_INVALID_ARG_VALUE',
    );
  }
  return TYPES[type]!;
}

function isBig(ctor: TypedArrayCtor): boolean {
  return ctor === BigInt64Array || ctor === BigUint64Array;
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
function checkElement(ctor: TypedArrayCtor, v: unknown, name: string): number | bigint {
  const range = RANGES.get(ctor);
  if (!range) {
    if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
    return v;
  }
  const [min, max] = range;
  if (isBig(ctor)) {
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

type LockOption = boolean | Lock | RLock | undefined;

function checkLockOption(opt: LockOption): void {
  if (opt === undefined || typeof opt === 'boolean' || opt instanceof Lock || opt instanceof RLock) return;
  throw invalidType('options.lock', 'a boolean, a Lock or an RLock', opt);
}

function makeLock(opt: LockOption): Lock | RLock | undefined {
  if (opt === undefined || opt === true) return new RLock();
  if (opt === false) return undefined;
  return opt;
}

function noLock(what: string): Error {
  return stateError('ERR_MULTIPROC_NO_LOCK', `This ${what} was created with { lock: false }: it has no lock`);
}

const ATTACHED = Symbol('attached');
type Attached = { [ATTACHED]: { block: Block; type: string; length: number; lock?: Lock | RLock } };

// ---------------------------------------------------------------------------------------------------------
// Value

/** One shared value without a lock (Python's RawValue). */
export class RawValue<T extends number | bigint = number> extends ArenaObject {
  readonly typeCode: string;
  /** @internal */ readonly _view: TypedArray;

  constructor(type: TypeCode | Attached, init?: T) {
    if (typeof type === 'object' && type !== null && ATTACHED in type) {
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

/** One shared value with a lock (Python's Value; the default lock is a new RLock, as in Python). */
export class Value<T extends number | bigint = number> extends RawValue<T> {
  readonly #lock: Lock | RLock | undefined;
  readonly #ownsLock: boolean;

  constructor(type: TypeCode | Attached, init?: T, opts: { lock?: LockOption } = {}) {
    checkLockOption(opts?.lock);
    super(type, init);
    if (typeof type === 'object') {
      this.#lock = type[ATTACHED].lock;
      this.#ownsLock = true;
      return;
    }
    this.#ownsLock = opts.lock === undefined || opts.lock === true;
    this.#lock = makeLock(opts.lock);
  }

  /** The lock to hold around read-modify-write (Python's get_lock()). */
  getLock(): Lock | RLock {
    this._check();
    if (!this.#lock) throw noLock('Value');
    return this.#lock;
  }

  override _onClose(): void {
    if (this.#ownsLock) this.#lock?.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// SharedArray

/** A shared array without a lock (Python's RawArray). `view` is a typed array over the shared bytes. */
export class RawArray<T extends number | bigint = number> extends ArenaObject {
  readonly typeCode: string;
  readonly length: number;
  readonly #view: TypedArray;

  constructor(type: TypeCode | Attached, sizeOrValues?: number | Iterable<T>) {
    if (typeof type === 'object' && type !== null && ATTACHED in type) {
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

  get(i: number): T {
    this._check();
    return this.#view[this.#index('index', i)] as T;
  }

  /** Stores `v` at `i`, checked as the type requires (a value that does not fit is an error, never wrapped). */
  set(i: number, v: T): void {
    this._check();
    const at = this.#index('index', i);
    this.#view[at] = checkElement(this.#view.constructor as TypedArrayCtor, v, 'value') as never;
  }

  /** Stores `v` (checked as set() does) in elements [start, end) (default: all), as TypedArray.fill. */
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

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  toArray(): T[] {
    this._check();
    return Array.from(this.#view as unknown as ArrayLike<T>);
  }
}

/** A shared array with a lock (Python's Array). */
export class SharedArray<T extends number | bigint = number> extends RawArray<T> {
  readonly #lock: Lock | RLock | undefined;
  readonly #ownsLock: boolean;

  constructor(type: TypeCode | Attached, sizeOrValues?: number | Iterable<T>, opts: { lock?: LockOption } = {}) {
    checkLockOption(opts?.lock);
    super(type, sizeOrValues);
    if (typeof type === 'object') {
      this.#lock = type[ATTACHED].lock;
      this.#ownsLock = true;
      return;
    }
    this.#ownsLock = opts.lock === undefined || opts.lock === true;
    this.#lock = makeLock(opts.lock);
  }

  getLock(): Lock | RLock {
    this._check();
    if (!this.#lock) throw noLock('SharedArray');
    return this.#lock;
  }

  override _onClose(): void {
    if (this.#ownsLock) this.#lock?.close();
  }
}

/** What a Value/SharedArray becomes on its way to a spawned child (fds: its region's memfd, then the lock's). */
export interface SharedReduced {
  kind: 'Value' | 'RawValue' | 'SharedArray' | 'RawArray';
  type: string;
  length: number;
  block: BlockHandle;
  lock?: SyncReduced;
}

/** @internal */
export function reduceShared(obj: RawValue<never> | RawArray<never>): { fds: number[]; data: SharedReduced } {
  obj._check();
  const kind = obj.constructor.name as SharedReduced['kind'];
  const data: SharedReduced = { kind, type: obj.typeCode, length: obj instanceof RawArray ? obj.length : 1, block: blockHandle(obj._block) };
  const fds = [obj._block.region.fd];
  const lock = obj instanceof Value || obj instanceof SharedArray ? (() => {
    try {
      return obj.getLock();
    } catch {
      return undefined;
    }
  })() : undefined;
  if (lock) {
    const l = reduceSync(lock);
    data.lock = l.data;
    fds.push(...l.fds);
  }
  return { fds, data };
}

/** @internal */
export function rebuildShared(fds: number[], data: SharedReduced): ArenaObject {
  const block = attachBlock(fds[0]!, data.block);
  const lock = data.lock ? (rebuildSync(fds.slice(1), data.lock) as Lock | RLock) : undefined;
  const a: Attached = { [ATTACHED]: { block, type: data.type, length: data.length, lock } };
  switch (data.kind) {
    case 'Value':
      return new Value(a);
    case 'RawValue':
      return new RawValue(a);
    case 'SharedArray':
      return new SharedArray(a);
    case 'RawArray':
      return new RawArray(a);
    default:
      throw new TypeError(`Unknown shared object kind ${String(data.kind)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// SharedMemory

// Every object SharedMemory creates starts with a header (HEADER bytes; .buf is what follows):
//   magic 'MPSHM\0v1' | creator pid (int32) | creator start time (int32, /proc/<pid>/stat field 22) |
//   size (float64) | flags (int32: 1 = tracked) | unlinked (int32)
// An object without the magic (made by another program) is attached as is: .buf is all of it, no tracking.
const HEADER = 64;
const MAGIC = Buffer.from('MPSHM\0v1', 'latin1');

export interface SharedMemoryOptions {
  /** '/name' or 'name' (a '/' is prepended). Default with create: a random name. */
  name?: string;
  /** Create it (exclusively: an existing name is EEXIST). Default: attach to an existing one. */
  create?: boolean;
  /** Bytes; needed with create. */
  size?: number;
  /**
   * With create: record it with the resource tracker (lib/mp/shared/tracker.ts), which unlinks it if this
   * process dies without unlinking it and no live process maps it any more, or at the latest when every
   * process of this process tree is gone (default true). false: it stays until someone unlinks it.
   */
  track?: boolean;
}

function randomName(): string {
  return `/mp-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function normalise(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidType('options.name', 'a non-empty string', name);
  return name.startsWith('/') ? name : `/${name}`;
}

/**
 * A named POSIX shared memory object (Python's multiprocessing.shared_memory.SharedMemory): create one, or
 * attach to it by name from any process. close() closes this handle; unlink() removes the name (once).
 */
export class SharedMemory {
  readonly name: string;
  readonly size: number;
  #mapping: posix.Mapping | undefined;
  #buf: Uint8Array;
  readonly #header: boolean;
  #hdr: Int32Array | undefined;

  constructor(opts: SharedMemoryOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw invalidType('options', 'of type object', opts);
    const create = opts.create ?? false;
    if (create) {
      const size = integer('options.size', opts.size, 1);
      allocation('options.size', size, `a SharedMemory of ${size} bytes`);
      const name = opts.name === undefined ? randomName() : normalise(opts.name);
      const fd = posix.shmOpen(name, { create: true, exclusive: true, size: size + HEADER });
      try {
        this.#mapping = posix.mmap(size + HEADER, { fd });
      } catch (e) {
        posix.shmUnlink(name);
        throw e;
      } finally {
        posix.close(fd);
      }
      const hdr = new Int32Array(this.#mapping.buffer, 0, HEADER / 4);
      new Uint8Array(this.#mapping.buffer).set(MAGIC);
      hdr[2] = posix.getpid();
      hdr[3] = (posix.processInfo(posix.getpid())?.startTime ?? 0) | 0;
      new Float64Array(this.#mapping.buffer, 16, 1)[0] = size;
      hdr[6] = opts.track === false ? 0 : 1;
      this.#hdr = hdr;
      this.#header = true;
      this.name = name;
      this.size = size;
      if (opts.track !== false) register('shared_memory', name);
      debug('SharedMemory: created %s (%d bytes)', name, size);
    } else {
      if (opts.name === undefined) throw typeError('SharedMemory: give a name to attach to (or create: true)');
      const name = normalise(opts.name);
      const fd = posix.shmOpen(name);
      try {
        const total = posix.fdSize(fd);
        if (total === 0) throw stateError('ERR_INVALID_STATE', `The shared memory object ${name} is empty`);
        this.#mapping = posix.mmap(total, { fd });
      } finally {
        posix.close(fd);
      }
      const bytes = new Uint8Array(this.#mapping.buffer);
      this.#header = bytes.length >= HEADER && Buffer.from(bytes.buffer, 0, 8).equals(MAGIC);
      this.name = name;
      if (this.#header) {
        this.#hdr = new Int32Array(this.#mapping.buffer, 0, HEADER / 4);
        this.size = Math.min(new Float64Array(this.#mapping.buffer, 16, 1)[0]!, bytes.length - HEADER);
      } else {
        this.size = bytes.length;
      }
    }
    this.#buf = new Uint8Array(this.#mapping.buffer, this.#header ? HEADER : 0, this.size);
  }

  /** The shared bytes. Throws ERR_MULTIPROC_CLOSED after close(). */
  get buf(): Uint8Array {
    if (!this.#mapping) throw stateError('ERR_MULTIPROC_CLOSED', 'The SharedMemory is closed');
    return this.#buf;
  }

  get closed(): boolean {
    return this.#mapping === undefined;
  }

  /** Unmaps this handle (the object and the name stay). Idempotent. */
  close(): void {
    if (!this.#mapping) return;
    this.#mapping.close();
    this.#mapping = undefined;
    this.#hdr = undefined;
  }

  /** Removes the name (shm_unlink); the memory goes once every handle is closed. Once: again is ENOENT. */
  unlink(): void {
    if (this.#hdr) Atomics.store(this.#hdr, 7, 1);
    posix.shmUnlink(this.name);
    unregister('shared_memory', this.name);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The tracker: unlinks the SharedMemory objects (ours: with the header) whose creator is dead — a crashed
 * process, or one that exited without unlink() — and that no live process maps or holds open (checked in
 * /proc/<pid>/maps and /proc/<pid>/fd of every process). Objects still in use are left alone (CPython's
 * gh-82300 mistake was to unlink those). Processes this one may not inspect (EACCES on /proc/<pid>/maps:
 * another user's, which cannot open these mode-0600 objects anyway, or a non-dumpable process of the same
 * user) are not seen: that is the tracker's blind spot. Each removal is reported as a process warning with code
 * 'MULTIPROC_SHM_REAPED'. Returns the names it removed. The resource tracker does this for the objects of its
 * own process tree as their creators die; this function is for objects left by other trees (a tracker that was
 * itself killed), and scans all of /dev/shm: call it when you want that.
 */
export function reapSharedMemory(): string[] {
  let names: string[];
  try {
    names = readdirSync('/dev/shm');
  } catch {
    return [];
  }
  const candidates: { name: string; pid: number }[] = [];
  const hdr = Buffer.alloc(HEADER);
  for (const entry of names) {
    if (entry.startsWith('sem.') || entry.startsWith('.')) continue;
    let fd = -1;
    try {
      fd = posix.shmOpen(`/${entry}`, { readOnly: true });
      if (posix.fdSize(fd) < HEADER) continue;
      if (posix.read(fd, hdr, 0, HEADER) !== HEADER || !hdr.subarray(0, 8).equals(MAGIC)) continue;
    } catch {
      continue;
    } finally {
      if (fd >= 0) posix.close(fd);
    }
    const pid = hdr.readInt32LE(8);
    const start = hdr.readInt32LE(12);
    const tracked = hdr.readInt32LE(24) === 1;
    if (!tracked) continue;
    const info = posix.processInfo(pid);
    const alive = info !== null && info.state !== 'zombie' && info.state !== 'dead' && (start === 0 || (info.startTime | 0) === start);
    if (!alive) candidates.push({ name: entry, pid });
  }
  if (candidates.length === 0) return [];
  const inUse = usersOf(new Set(candidates.map((c) => c.name)));
  const removed: string[] = [];
  for (const c of candidates) {
    if (inUse.has(c.name)) continue;
    try {
      posix.shmUnlink(`/${c.name}`);
    } catch {
      continue; // someone else removed it meanwhile
    }
    removed.push(`/${c.name}`);
    process.emitWarning(
      `multiproc: removed the shared memory object /${c.name}: its creator (process ${c.pid}) died without unlinking it and no process uses it`,
      { code: 'MULTIPROC_SHM_REAPED' },
    );
  }
  return removed;
}

/** The names (of `names`) that some live process maps or holds open. */
function usersOf(names: Set<string>): Set<string> {
  const used = new Set<string>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return names; // cannot tell: assume all are used
  }
  for (const pid of pids) {
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const i = line.indexOf('/dev/shm/');
        if (i < 0) continue;
        const n = line.slice(i + 9).replace(/ \(deleted\)$/, '');
        if (names.has(n)) used.add(n);
      }
    } catch {
      // Vanished (uses none), or one we may not inspect (EACCES: another user's, which cannot open these
      // mode-0600 objects, or a non-dumpable one: the tracker's blind spot, documented above).
      continue;
    }
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        let link = '';
        try {
          link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        if (link.startsWith('/dev/shm/') && names.has(link.slice(9))) used.add(link.slice(9));
      }
    } catch {
      /* as above */
    }
  }
  return used;
}

for (const cls of [RawValue, Value, RawArray, SharedArray, SharedMemory]) markNotSendable(cls);

// Spawned children get them in Process args (lib/mp/core/reduction.ts): Values and arrays as their arena region's
// memfd plus the offset (and their lock's), a SharedMemory by its name (the child attaches to it).
for (const cls of [RawValue, RawArray] as const) {
  registerShareable(
    cls as { name: string; prototype: ArenaObject },
    `multiproc.${cls.name}`,
    (o: ArenaObject) => reduceShared(o as RawValue<never>),
    (fds: number[], data: SharedReduced) => rebuildShared(fds, data),
    import.meta.url,
  );
}
registerShareable(
  SharedMemory,
  'multiproc.SharedMemory',
  (s: SharedMemory) => {
    if (s.closed) throw stateError('ERR_MULTIPROC_CLOSED', 'The SharedMemory is closed');
    return { fds: [], data: s.name };
  },
  (_fds: number[], name: string) => new SharedMemory({ name }),
  import.meta.url,
);

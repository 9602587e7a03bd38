// The arena every shared object (Value, SharedArray, Lock, Semaphore, Condition, Event, Barrier) takes its
// bytes from: memfd-backed MAP_SHARED regions with a small allocator, so that thousands of objects share a few
// mappings and fds. An object is (region, offset); it reaches a forked child with the memory (inheritance), and
// a spawned child as the region's memfd plus the offset (see shareable() below).
//
// Allocation: sizes are rounded up to 16 bytes (every object is 16-byte aligned, enough for float64, bigint64
// and the int32 futex words). Regions of REGION_BYTES serve the small objects (bump pointer plus a free list per
// rounded size); an object larger than a quarter of that gets a region of its own.
//
// Freeing — the rule: bytes are freed only in the process that created the object, when that object is
// closed (close() / using) or garbage-collected there. Other processes (forked or spawned children) never free
// or allocate in a region they did not create: a forked child starts regions of its own. So the creator must
// keep an object alive (not close it) while other processes use it, as in Python, where the parent holds the
// Value it passed to its children. A region is unmapped and its memfd closed when its last object is freed.
import * as posix from '../../posix/index.js';
import { closedError, integer } from '../../posix/errors.js';
import { debug } from '../../posix/debug.js';

export const REGION_BYTES = 64 * 1024;
const ALIGN = 16;
const MAX_SMALL = REGION_BYTES / 4;

let nextToken = 1;

/** One shared mapping of the arena. */
export class Region {
  readonly fd: number;
  readonly mapping: posix.Mapping;
  readonly size: number;
  /** The process that created it: only that process allocates and frees in it. */
  readonly pid: number;
  /** Identifies the region across processes ("pid.n"), so a child maps each region once. */
  readonly token: string;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  // allocator state (creator only)
  top = 0;
  readonly free = new Map<number, number[]>();
  /** Objects alive in it (allocations in the creator; attached objects elsewhere). */
  live = 0;
  closed = false;

  constructor(fd: number, mapping: posix.Mapping, size: number, pid: number, token: string) {
    this.fd = fd;
    this.mapping = mapping;
    this.size = size;
    this.pid = pid;
    this.token = token;
    this.i32 = new Int32Array(mapping.buffer);
    this.u8 = new Uint8Array(mapping.buffer);
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping.close();
    posix.close(this.fd);
    if (this.pid === myPid()) regions.delete(this);
    attached.delete(this.token);
    debug('arena: released region %s (%d bytes)', this.token, this.size);
  }
}

let pid = posix.getpid();
/** This process's pid, cached (refreshed in a forked child by the atFork hook below). */
export function myPid(): number {
  return pid;
}

let startPid = 0;
let startTime = 0;
/** This process's start time (field 22 of /proc/self/stat): with the pid, it names a process for good. */
export function myStartTime(): number {
  if (pid !== startPid) {
    startPid = pid;
    startTime = posix.processInfo(pid)?.startTime ?? 0;
  }
  return startTime;
}

/** Regions this process created (and may allocate from). */
const regions = new Set<Region>();
/** Regions of other processes this process mapped (spawned children), by token. */
const attached = new Map<string, Region>();

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function newRegion(size: number): Region {
  const fd = posix.memfdCreate('multiproc-arena');
  try {
    posix.ftruncate(fd, size);
    posix.fallocate(fd, 0, size);
    const mapping = posix.mmap(size, { fd });
    const pid = myPid();
    const r = new Region(fd, mapping, size, pid, `${pid}.${nextToken++}.${Date.now().toString(36)}`);
    regions.add(r);
    debug('arena: new region %s (%d bytes)', r.token, size);
    return r;
  } catch (e) {
    posix.close(fd);
    throw e;
  }
}

/** A block of the arena: where an object's bytes are. */
export interface Block {
  region: Region;
  offset: number;
  size: number;
}

/** Allocates `bytes` (zero-filled, 16-byte aligned) from this process's regions. */
export function allocate(bytes: number): Block {
  integer('bytes', bytes, 1);
  const size = roundUp(bytes, ALIGN);
  const me = myPid();
  if (size > MAX_SMALL) {
    const r = newRegion(roundUp(size, posix.pageSize));
    r.top = r.size;
    r.live = 1;
    return { region: r, offset: 0, size };
  }
  for (const r of regions) {
    if (r.pid !== me || r.size !== REGION_BYTES || r.closed) continue;
    const list = r.free.get(size);
    if (list && list.length > 0) {
      const offset = list.pop()!;
      r.u8.fill(0, offset, offset + size);
      r.live++;
      return { region: r, offset, size };
    }
    if (r.top + size <= r.size) {
      const offset = r.top;
      r.top += size;
      r.u8.fill(0, offset, offset + size); // may have been used before (top moves back on free)
      r.live++;
      return { region: r, offset, size };
    }
  }
  const r = newRegion(REGION_BYTES);
  r.top = size;
  r.live = 1;
  return { region: r, offset: 0, size };
}

/**
 * Gives a block back. In the creating process the bytes return to the arena (and the region goes when it is
 * empty); elsewhere this only drops an attached region's count. Idempotence is the caller's job.
 */
export function free(b: Block): void {
  const r = b.region;
  if (r.closed) return;
  if (r.pid !== myPid()) {
    // A forked child's copy of a parent's region: not ours to free into. A region attached from a memfd
    // (spawned child) is released with its last object.
    if (attached.get(r.token) === r && --r.live === 0) r.release();
    return;
  }
  r.live--;
  if (r.live === 0) {
    r.release();
    return;
  }
  if (b.offset + b.size === r.top) {
    r.top = b.offset;
  } else {
    let list = r.free.get(b.size);
    if (!list) r.free.set(b.size, (list = []));
    list.push(b.offset);
  }
}

/** What identifies a block in another process: the region's fd goes alongside (passed as an fd). */
export interface BlockHandle {
  token: string;
  regionSize: number;
  offset: number;
  size: number;
}

export function blockHandle(b: Block): BlockHandle {
  return { token: b.region.token, regionSize: b.region.size, offset: b.offset, size: b.size };
}

/**
 * In a spawned child: the block `h` of the region whose memfd is `fd` (mapped once per region; `fd` is
 * taken over — closed if the region was already mapped). Counted until free().
 */
export function attachBlock(fd: number, h: BlockHandle): Block {
  let r = attached.get(h.token);
  if (r && !r.closed) {
    posix.close(fd);
  } else {
    const size = posix.fdSize(fd);
    if (size !== h.regionSize || h.offset + h.size > size) {
      posix.close(fd);
      throw new RangeError(`The shared region ${h.token} has ${size} bytes, not the ${h.regionSize} expected`);
    }
    const mapping = posix.mmap(size, { fd });
    r = new Region(fd, mapping, size, Number(h.token.split('.')[0]), h.token);
    attached.set(h.token, r);
  }
  r.live++;
  return { region: r, offset: h.offset, size: h.size };
}

/**
 * Arena statistics of this process (tests, debugging): how much shared memory the Values, arrays and sync
 * objects it created take.
 */
export function arenaStats(): {
  /** The arena regions this process created (memfd mappings of 64 KiB, or one per large object). */
  regions: number;
  /** Regions of other processes this one mapped (a spawned child's view of its parent's objects). */
  attached: number;
  /** Objects alive in this process's regions. */
  liveObjects: number;
  /** The bytes of this process's regions. */
  bytes: number;
} {
  const me = myPid();
  let live = 0;
  let bytes = 0;
  let n = 0;
  for (const r of regions) {
    if (r.pid !== me || r.closed) continue;
    n++;
    live += r.live;
    bytes += r.size;
  }
  return { regions: n, attached: attached.size, liveObjects: live, bytes };
}

/** After fork the child allocates in regions of its own (the parent's stay mapped for inherited objects). */
posix.atFork({
  child() {
    pid = posix.getpid();
    regions.clear();
    attached.clear();
  },
});

// ---------------------------------------------------------------------------------------------------------
// objects

const registry = new FinalizationRegistry<{ block: Block; freed: boolean }>((cell) => {
  if (!cell.freed) {
    cell.freed = true;
    free(cell.block);
  }
});

/**
 * The part every arena object shares: its block, close() (frees the bytes in the creating process, see the
 * rule above), a finalizer that frees them if the object is collected, and the use-after-close check.
 */
export class ArenaObject {
  /** @internal */ readonly _block: Block;
  readonly #cell: { block: Block; freed: boolean };
  #closed = false;
  readonly #what: string;

  constructor(block: Block, what: string) {
    this._block = block;
    this.#what = what;
    this.#cell = { block, freed: false };
    registry.register(this, this.#cell, this.#cell);
  }

  /** true after close() (or once its arena region is gone). */
  get closed(): boolean {
    return this.#closed || this._block.region.closed;
  }

  /** @internal Throws ERR_MULTIPROC_CLOSED after close(). */
  _check(): void {
    if (this.#closed || this._block.region.closed) throw closedError(`The ${this.#what} is closed`);
  }

  /**
   * Closes this handle: in the process that created the object its bytes return to the arena (so do not
   * close it while other processes still use it); elsewhere only this handle is closed. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._onClose();
    registry.unregister(this.#cell);
    if (!this.#cell.freed) {
      this.#cell.freed = true;
      free(this.#cell.block);
    }
  }

  /** @internal Subclasses release what they own (a Value its lock). */
  _onClose(): void {}

  /** close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// SharedMemory (Python's multiprocessing.shared_memory.SharedMemory): a named POSIX shared memory object, and
// reapSharedMemory, which removes what crashed creators left behind (the resource tracker, tracker.ts, does it
// for its own process tree).
import { readdirSync } from 'node:fs';
import { myPid, myStartTime } from './arena.js';
import * as posix from '../../posix/index.js';
import { closedError } from '../core/errors.js';
import { registerShareable } from '../core/reduction.js';
import { register, unregister } from './tracker.js';
import { processAlive, shmUsers } from './users.js';
import { allocation, integer, invalidType, stateError, typeError } from '../../posix/errors.js';
import { debug } from '../../posix/debug.js';

// Every object SharedMemory creates starts with a header (HEADER bytes; .buf is what follows):
//   magic 'MPSHM\0v1' | creator pid (int32) | creator start time (int32, /proc/<pid>/stat field 22) |
//   size (float64) | flags (int32: 1 = tracked) | unlinked (int32)
// An object without the magic (made by another program) is attached as is: .buf is all of it, no tracking.
const HEADER = 64;
const MAGIC = Buffer.from('MPSHM\0v1', 'latin1');

/** Options of a SharedMemory. */
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
 * A created object is recorded with the resource tracker (unless `track: false`), which removes it if its
 * creator dies without unlinking it and no live process uses it.
 * @see [shm_overview(7)](https://man7.org/linux/man-pages/man7/shm_overview.7.html)
 * @example
 * ```ts
 * import { SharedMemory } from 'multiproc';
 *
 * const shm = new SharedMemory({ create: true, size: 4096 });
 * shm.buf.set([1, 2, 3]);
 * // in any process: const other = new SharedMemory({ name: shm.name });  other.buf[0] === 1
 * shm.close();    // this handle
 * shm.unlink();   // the name (once, by one process)
 * ```
 */
export class SharedMemory {
  /** Its name ('/mp-…'). */
  readonly name: string;
  /** Its size in bytes (of buf). */
  readonly size: number;
  #mapping: posix.Mapping | undefined;
  #buf: Uint8Array;
  readonly #header: boolean;
  #hdr: Int32Array | undefined;

  /**
   * Creates a new object (`create: true`, with `size`) or attaches to an existing one by `name`.
   * @param opts name, create, size and track; see {@link SharedMemoryOptions}
   * @throws Error EEXIST (create with a name that exists), ENOENT (attach to a name that does not);
   *   RangeError for a size larger than the machine can back; TypeError without a name to attach to
   */
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
      hdr[2] = myPid();
      hdr[3] = myStartTime() | 0;
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
    if (!this.#mapping) throw closedError('The SharedMemory is closed');
    return this.#buf;
  }

  /** Was this handle closed? */
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

  /** close(), for `using`. */
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
 * itself killed), and scans all of /dev/shm: call it when you want that. Objects created with
 * `track: false`, and objects other programs made, are never removed.
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
    if (!processAlive(pid, start)) candidates.push({ name: entry, pid });
  }
  if (candidates.length === 0) return [];
  const inUse = shmUsers(new Set(candidates.map((c) => c.name)));
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

// Spawned children get it in Process args by its name (the child attaches to it). Registering also makes it
// not sendable inside a message.
registerShareable(
  SharedMemory,
  'multiproc.SharedMemory',
  (s: SharedMemory) => {
    if (s.closed) throw closedError('The SharedMemory is closed');
    return { fds: [], data: s.name };
  },
  (_fds: number[], name: string) => new SharedMemory({ name }),
  import.meta.url,
);

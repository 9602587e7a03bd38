// The shm family of the posix layer: mmap(2) with MAP_SHARED, shm_open(3)/shm_unlink(3), memfd_create(2),
// ftruncate(2), posix_fallocate(3). A Mapping exposes the shared bytes as an ArrayBuffer without copying;
// Atomics on an Int32Array/BigInt64Array view are atomic across processes (but Atomics.wait/notify are not:
// V8 keeps its waiter lists per process — block through the sync family instead).
import { native } from '../binding/addon.js';
import { typeError } from './errors.js';

const C = native.shmConstants;

/**
 * A shared mapping, from {@link mmap}. Instances are the addon's own handles (type-tagged, so that native
 * functions recognise them without trusting JS), given this prototype. `new Mapping()` throws TypeError
 * ERR_ILLEGAL_CONSTRUCTOR. The sync family ({@link Semaphore.init}, {@link Mutex.init}…) and the futex
 * family place their objects in one at a byte offset.
 */
export class Mapping {
  /** The mapped bytes. After close() it is detached: byteLength 0, every view of it has length 0. */
  declare readonly buffer: ArrayBuffer;
  /** false for a read-only mapping: it is private copy-on-write, so this process's writes stay its own. */
  declare readonly shared: boolean;

  private constructor() {
    throw typeError('Mapping objects are created by mmap()', 'ERR_ILLEGAL_CONSTRUCTOR');
  }

  /** The mapped length in bytes (0 after close). */
  get length(): number {
    return native.mappingState(this)[0];
  }

  /** true after close(). */
  get closed(): boolean {
    return native.mappingState(this)[1];
  }

  /**
   * munmap(2), once; idempotent. Every ArrayBuffer view is detached first, so no JS code can touch unmapped
   * memory. Native objects still blocked inside the mapping keep it mapped until they return.
   */
  close(): void {
    native.mappingClose(this);
  }

  /**
   * msync(2) MS_SYNC of a range (file-backed mappings): writes the changed pages back to the file and waits.
   * @param offset the start of the range in the mapping (default 0)
   * @param length its length (default: to the end of the mapping)
   * @see [msync(2)](https://man7.org/linux/man-pages/man2/msync.2.html)
   */
  msync(offset?: number, length?: number): void {
    native.mappingMsync(this, offset, length);
  }

  /** close(), for `using m = mmap(…)`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of {@link mmap}. */
export interface MmapOptions {
  /** Map this file (a memfd, a shmOpen fd, a regular file) instead of anonymous shared memory. */
  fd?: number;
  /** Byte offset into the file (a multiple of the page size). */
  offset?: number;
  /** Map read-only (private copy-on-write: this process's writes are never seen by others). */
  readOnly?: boolean;
}

/**
 * mmap(2) with MAP_SHARED: anonymous shared memory (inherited by fork) or a file's pages. For a file the
 * range must lie within its size (beyond it a touch would be SIGBUS) and the space is reserved with
 * posix_fallocate first, so a full /dev/shm is an ENOSPC error, never a crash. A file opened read-only
 * is mapped read-only (private copy-on-write), as with `readOnly`.
 * @param length bytes to map (>= 1; for anonymous memory, no more than the machine can back)
 * @param opts the file, offset and protection; see {@link MmapOptions} (default: anonymous shared memory)
 * @returns the mapping; its `buffer` is the shared bytes, without a copy
 * @throws RangeError for a range past the end of the file or an offset that is not a multiple of
 *   {@link pageSize}; Error ENOMEM (with `requested` and `limit`) for more shared memory than the machine
 *   can back (RAM + swap, cgroup limits included); Error ENOSPC when a sized tmpfs (/dev/shm) is full
 * @see [mmap(2)](https://man7.org/linux/man-pages/man2/mmap.2.html)
 * @example
 * ```ts
 * import * as posix from 'multiproc/posix';
 *
 * using m = posix.mmap(4096);                        // MAP_SHARED | MAP_ANONYMOUS: shared with forked children
 * const counter = new Int32Array(m.buffer, 0, 1);    // Atomics on it are atomic across processes
 * const pid = posix.fork();
 * if (pid === 0) {
 *   Atomics.add(counter, 0, 1);
 *   posix.exit(0);
 * }
 * posix.waitpid(pid);
 * console.log(counter[0]);                           // 1: the child's write, seen by the parent
 * ```
 */
export function mmap(length: number, opts: MmapOptions = {}): Mapping {
  const handle = native.mmap(length, opts.fd ?? -1, opts.offset ?? 0, opts.readOnly ?? false);
  return Object.setPrototypeOf(handle, Mapping.prototype) as Mapping;
}

/** Options of {@link shmOpen}: shm_open(3)'s flags and mode, and an initial size. */
export interface ShmOpenOptions {
  /** O_CREAT: create it if it does not exist. */
  create?: boolean;
  /** O_EXCL: with create, fail (EEXIST) if it exists. */
  exclusive?: boolean;
  /** Permission bits when created (default 0o600). */
  mode?: number;
  /** ftruncate to this size and reserve the space (posix_fallocate). */
  size?: number;
  /** O_RDONLY instead of O_RDWR. */
  readOnly?: boolean;
}

/**
 * shm_open(3): an fd for the POSIX shared memory object `name` ('/name'), with FD_CLOEXEC. Map it with
 * {@link mmap} (`{ fd }`); the object (a file in /dev/shm) stays until {@link shmUnlink}.
 * @param name '/' followed by a name without '/' (at most 255 bytes)
 * @param opts O_CREAT, O_EXCL, O_RDONLY, the mode and an initial size; see {@link ShmOpenOptions}
 * @returns the file descriptor; if sizing fails, it is closed (and a name this call created is unlinked)
 * @throws Error ENOENT (no such object, without `create`), EEXIST (with `exclusive`), ENOSPC (/dev/shm full)
 * @see [shm_open(3)](https://man7.org/linux/man-pages/man3/shm_open.3.html), [shm_overview(7)](https://man7.org/linux/man-pages/man7/shm_overview.7.html)
 */
export function shmOpen(name: string, opts: ShmOpenOptions = {}): number {
  const flags =
    (opts.readOnly ? C.O_RDONLY : C.O_RDWR) | (opts.create ? C.O_CREAT : 0) | (opts.exclusive ? C.O_EXCL : 0);
  const fd = native.shmOpen(name, flags, opts.mode ?? 0o600);
  if (opts.size !== undefined) {
    try {
      native.ftruncate(fd, opts.size);
      if (opts.size > 0) native.fallocate(fd, 0, opts.size);
    } catch (e) {
      native.close(fd);
      if (opts.create) {
        try {
          native.shmUnlink(name);
        } catch {
          /* already gone */
        }
      }
      throw e;
    }
  }
  return fd;
}

/**
 * shm_unlink(3): removes the name; mappings and fds already open stay valid.
 * @param name the name given to {@link shmOpen}
 * @throws Error ENOENT when there is no such object
 * @see [shm_unlink(3)](https://man7.org/linux/man-pages/man3/shm_unlink.3.html)
 */
export function shmUnlink(name: string): void {
  native.shmUnlink(name);
}

/**
 * memfd_create(2) with MFD_CLOEXEC: an anonymous file in memory; size it with ftruncate. It has no name in
 * any directory: it goes with its last descriptor and mapping, so nothing can be left behind.
 * @param name a label for /proc/<pid>/fd and /proc/<pid>/maps ('memfd:name'); need not be unique
 * @param opts `allowSealing`: MFD_ALLOW_SEALING (default false)
 * @returns the file descriptor (0 bytes long)
 * @see [memfd_create(2)](https://man7.org/linux/man-pages/man2/memfd_create.2.html)
 */
export function memfdCreate(name: string, opts: { allowSealing?: boolean } = {}): number {
  return native.memfdCreate(name, opts.allowSealing ?? false);
}

/**
 * ftruncate(2): sets the file's size (new bytes read as zero). On shared memory (a memfd, a shmOpen fd) a
 * size larger than the machine can back is refused with ENOMEM before anything is committed.
 * @param fd the file's descriptor
 * @param size the new size in bytes
 * @see [ftruncate(2)](https://man7.org/linux/man-pages/man2/ftruncate.2.html)
 */
export function ftruncate(fd: number, size: number): void {
  native.ftruncate(fd, size);
}

/**
 * posix_fallocate(3): reserves [offset, offset + length) for real (ENOSPC now rather than SIGBUS later).
 * @param fd the file's descriptor
 * @param offset the start of the range
 * @param length its length in bytes (the file grows if the range ends past it)
 * @throws Error ENOSPC when the file system (a sized tmpfs such as /dev/shm) is full
 * @see [posix_fallocate(3)](https://man7.org/linux/man-pages/man3/posix_fallocate.3.html)
 */
export function fallocate(fd: number, offset: number, length: number): void {
  native.fallocate(fd, offset, length);
}

/**
 * fstat(2)'s st_size: the size of the file `fd` refers to, in bytes.
 * @param fd the file's descriptor
 * @see [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
 */
export function fdSize(fd: number): number {
  return native.fdSize(fd);
}

/** sysconf(_SC_PAGESIZE): the page size in bytes (4096 on x86-64); mmap offsets are multiples of it. */
export const pageSize: number = native.pageSize();

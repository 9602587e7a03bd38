// The shm family of the posix layer: mmap(2) with MAP_SHARED, shm_open(3)/shm_unlink(3), memfd_create(2),
// ftruncate(2), posix_fallocate(3). A Mapping exposes the shared bytes as an ArrayBuffer without copying;
// Atomics on an Int32Array/BigInt64Array view are atomic across processes (but Atomics.wait/notify are not:
// V8 keeps its waiter lists per process — block through the sync family instead).
import { native } from '../binding/addon.js';
import { typeError } from './errors.js';

const C = native.shmConstants;

/**
 * A shared mapping, from {@link mmap}. Instances are the addon's own handles (type-tagged, so that native
 * functions recognise them without trusting JS), given this prototype.
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

  /** msync(2) MS_SYNC of a range (file-backed mappings). */
  msync(offset?: number, length?: number): void {
    native.mappingMsync(this, offset, length);
  }

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
 * posix_fallocate first, so a full /dev/shm is an ENOSPC error, never a crash.
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

/** shm_open(3): an fd for the POSIX shared memory object `name` ('/name'), with FD_CLOEXEC. */
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

/** shm_unlink(3): removes the name; mappings and fds already open stay valid. */
export function shmUnlink(name: string): void {
  native.shmUnlink(name);
}

/** memfd_create(2) with MFD_CLOEXEC: an anonymous file in memory; size it with ftruncate. */
export function memfdCreate(name: string, opts: { allowSealing?: boolean } = {}): number {
  return native.memfdCreate(name, opts.allowSealing ?? false);
}

/** ftruncate(2). */
export function ftruncate(fd: number, size: number): void {
  native.ftruncate(fd, size);
}

/** posix_fallocate(3): reserves [offset, offset + length) for real (ENOSPC now rather than SIGBUS later). */
export function fallocate(fd: number, offset: number, length: number): void {
  native.fallocate(fd, offset, length);
}

/** fstat(2)'s st_size. */
export function fdSize(fd: number): number {
  return native.fdSize(fd);
}

/** sysconf(_SC_PAGESIZE). */
export const pageSize: number = native.pageSize();

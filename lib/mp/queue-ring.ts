// The ring of a Queue (lib/mp/queue.ts): how its shared mapping is laid out (control words, the robust mutexes
// and semaphores, the ring's bytes), how a record's bytes are copied in and out of the ring where they wrap,
// and the waits around it (a waiter counts itself, then sleeps on a semaphore in slices; a consumer spins a
// little first). Everything here is a function of the mapping's arrays: the Queue class holds the locks' order,
// the records' encodings and its own scratch buffers.
import * as posix from '../posix/index.js';
import { semSleep, type Waits } from './core/wait.js';
import { allocation, integer, outOfRange } from '../posix/errors.js';

// Control words (Int32 indexes into the first page).
export const W_MAGIC = 0;
export const W_CAPACITY = 1;
export const W_HEAD = 2; // bytes written (free-running u32), advanced by the wlock holder after the copy
export const W_TAIL = 3; // bytes read, advanced by the rlock holder
export const W_COUNT = 4; // items in the ring
export const W_MAXSIZE = 5; // 0 = unbounded
export const W_ITEM_WAITERS = 6;
export const W_SPACE_WAITERS = 7;
export const W_SEND_SEQ = 8; // side-channel sequence (wlock)
export const W_UNFINISHED = 9; // JoinableQueue
export const W_JOIN_WAITERS = 10;
export const MAGIC = 0x4d505131; // 'MPQ1'
// Sync objects in the first page (byte offsets): the two robust mutexes, then the three semaphores.
export const [OFF_WLOCK, OFF_RLOCK, OFF_ITEMS, OFF_SPACE, OFF_JOIN] = [256, 512, 768, 1024, 1280] as const;
/** Where the ring starts. */
export const DATA = 4096;

export const RECORD_HEADER = 5;
export const KIND_LARGE = 255;
export const LARGE_BODY = 13; // u32 seq, u8 kind, f64 length
/** Waits are cut in slices this long (ms): a wake-up lost to a dead process costs at most this much. */
const SLICE_MS = 100;
/** Checks of the ring before a consumer goes to sleep (~10 µs; a cross-CPU wake-up costs 60+ µs on this VM). */
const SPIN = 2000;

const DEFAULT_BUFFER = 2 ** 20;

/** Python's maxsize: an integer; 0 or less (or undefined) means unbounded. */
export function checkMaxsize(maxsize: unknown): number {
  if (maxsize === undefined) return 0;
  const n = integer('maxsize', maxsize, Number.MIN_SAFE_INTEGER, 2 ** 31 - 1, 'an integer <= 2147483647 (0 or less: unbounded)');
  return n <= 0 ? 0 : n;
}

/** bufferBytes: a power of two in [4096, 2^30], and no more than the machine can back. */
export function checkBufferBytes(v: unknown): number {
  if (v === undefined) return DEFAULT_BUFFER;
  const n = integer('options.bufferBytes', v, 4096, 2 ** 30, 'a power of two >= 4096 && <= 1073741824');
  if ((n & (n - 1)) !== 0) throw outOfRange('options.bufferBytes', 'a power of two >= 4096 && <= 1073741824', n);
  allocation('options.bufferBytes', n, 'a Queue ring buffer');
  return n;
}

// --- the ring's bytes (`ring`: the ring's Uint8Array, its length a power of two; positions free-running) ---

/** Copies the first n bytes of src into the ring at pos (wrapping at its end). */
export function copyIn(ring: Uint8Array, pos: number, src: Uint8Array, n: number): void {
  const mask = ring.length - 1;
  const at = pos & mask;
  const first = Math.min(n, ring.length - at);
  if (n <= 16) {
    for (let i = 0; i < n; i++) ring[(at + i) & mask] = src[i]!;
    return;
  }
  ring.set(src.subarray(0, first), at);
  if (first < n) ring.set(src.subarray(first, n), 0);
}

/** Copies n bytes of the ring at pos (wrapping at its end) to the start of dst. */
export function copyOut(ring: Uint8Array, pos: number, dst: Uint8Array, n: number): void {
  const mask = ring.length - 1;
  const at = pos & mask;
  const first = Math.min(n, ring.length - at);
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[i] = ring[(at + i) & mask]!;
    return;
  }
  dst.set(ring.subarray(at, at + first), 0);
  if (first < n) dst.set(ring.subarray(0, n - first), first);
}

/** The little-endian u32 at pos (a record's body length). */
export function peekU32(ring: Uint8Array, pos: number): number {
  const m = ring.length - 1;
  return (ring[pos & m]! | (ring[(pos + 1) & m]! << 8) | (ring[(pos + 2) & m]! << 16) | (ring[(pos + 3) & m]! << 24)) >>> 0;
}

// --- waits -------------------------------------------------------------------------------------------

/**
 * Sleeps on `sem` (one slice at most) counted in the waiters word `word` (a waker posts only when it is > 0),
 * unless ready() already: the waiter re-checks the queue after it counted itself.
 */
export function* sleepOn(w: Int32Array, word: number, sem: posix.Semaphore, ready: () => boolean, left: number): Waits<void> {
  Atomics.add(w, word, 1);
  try {
    if (!ready()) yield semSleep(sem, Math.min(SLICE_MS, left));
  } finally {
    if (w.length !== 0) Atomics.sub(w, word, 1); // (length 0: the queue was closed meanwhile, its mapping is gone)
  }
}

/** JoinableQueue: wakes the processes waiting in join() (the last unfinished task is done). */
export function wakeJoiners(w: Int32Array, joinSem: posix.Semaphore): void {
  const waiters = Atomics.load(w, W_JOIN_WAITERS);
  for (let i = 0; i < waiters; i++) joinSem.post();
}

/** JoinableQueue: a put that failed was not a task after all. */
export function putFailed(w: Int32Array, joinSem: posix.Semaphore): void {
  if (Atomics.sub(w, W_UNFINISHED, 1) === 1) wakeJoiners(w, joinSem);
}

/**
 * Before sleeping, watch the head for a few microseconds: a producer on the other CPU is usually about to
 * commit, and a sleep + wake-up costs tens of microseconds on both sides.
 */
export function spinForItem(w: Int32Array): boolean {
  if (!spinWorthIt()) return false;
  for (let i = 0; i < SPIN; i++) if (Atomics.load(w, W_HEAD) !== Atomics.load(w, W_TAIL)) return true;
  return false;
}

// Spinning only pays when the producer can run at the same time on another CPU: a process pinned to one CPU
// would only delay its partner there (measured: a same-CPU Queue ping-pong went from ~2 to 54 µs). The
// affinity is re-read every 256 spins (it can change; a syscall each time would cost more than it saves).
let spinChecks = 0;
let spinAllowed = true;
function spinWorthIt(): boolean {
  if ((spinChecks++ & 255) === 0) {
    try {
      spinAllowed = posix.getAffinity(0).length > 1;
    } catch {
      spinAllowed = true;
    }
  }
  return spinAllowed;
}

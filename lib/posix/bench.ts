// The bench family of the posix layer: loops run entirely in C (native/bench.cc, and fillBench of
// native/shm.cc), the native baselines that lib/tools/bench reports each figure beside. Each loop works on
// objects that JS placed in a shared Mapping (Semaphore.init & co.) or on fds it opened, pins the mapping for
// its duration (a Mapping.close() meanwhile cannot unmap it), and returns the elapsed nanoseconds
// (CLOCK_MONOTONIC) of the loop alone. The native layer checks every argument (iterations: 0 ..= 2^40).
// pingPongBench (pipes, sockets) is in lib/posix/fd.ts, mqPingPongBench in lib/posix/mqueue.ts.
import { native } from '../binding/addon.js';
import type { Mapping } from './shm.js';

/**
 * One side of a sem_post(3)/sem_wait(3) ping-pong on the semaphores at `pingOffset` and `pongOffset`: side 0
 * posts ping and waits for pong, side 1 waits for ping and posts pong; one round trip per iteration.
 */
export const semPingPongBench: (m: Mapping, pingOffset: number, pongOffset: number, iterations: number, side: 0 | 1) => number =
  native.semPingPongBench;

/** `iterations` × { sem_post(3); sem_wait(3) } on the semaphore at `offset`, in one process: the calls' own cost. */
export const semUncontendedBench: (m: Mapping, offset: number, iterations: number) => number = native.semUncontendedBench;

/** `iterations` × pthread_barrier_wait(3) on the barrier at `offset` (the other parties run the same loop). */
export const barrierBench: (m: Mapping, offset: number, iterations: number) => number = native.barrierBench;

/**
 * `iterations` × { pthread_mutex_lock(3); a plain increment of the int32 at `counterOffset`;
 * pthread_mutex_unlock(3) } on the mutex at `mutexOffset`.
 */
export const mutexBench: (m: Mapping, mutexOffset: number, counterOffset: number, iterations: number) => number = native.mutexBench;

/**
 * One side of a futex(2) ping-pong on the int32 word at `offset` (0: ping's turn, 1: pong's): side 0 sets 1,
 * wakes and waits while 1; side 1 waits while 0, sets 0 and wakes; one round trip per iteration.
 */
export const futexPingPongBench: (m: Mapping, offset: number, iterations: number, side: 0 | 1) => number = native.futexPingPongBench;

/**
 * Stream bandwidth over `fd` (a pipe or socket end): side 0 write(2)s `totalBytes` in chunks of `chunkBytes`,
 * side 1 read(2)s until it has them all.
 */
export const streamBench: (fd: number, totalBytes: number, chunkBytes: number, side: 0 | 1) => number = native.streamBench;

/**
 * `iterations` × { fork(2); the child _exit(2)s at once; waitpid(2) }, in C. The child runs nothing but
 * _exit, so the raw fork of this multi-threaded process is sound here (unlike a fork that runs JS: see fork()).
 */
export const forkWaitBench: (iterations: number) => number = native.forkWaitBench;

/** `iterations` × { posix_spawn(3) of `path` (no arguments); waitpid(2) }; each child must exit 0 (e.g. /bin/true). */
export const spawnWaitBench: (path: string, iterations: number) => number = native.spawnWaitBench;

/** `iterations` × memcpy(3) of `bytes` from a private buffer into the start of the mapping. */
export const copyBench: (m: Mapping, bytes: number, iterations: number) => number = native.copyBench;

/** `iterations` × memcpy(3) of `bytes` into the start of the mapping; returns nothing (the caller times it). */
export const fillBench: (m: Mapping, bytes: number, iterations: number) => void = native.fillBench;

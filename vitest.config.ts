import { defineConfig } from 'vitest/config';

// Test files run in child processes (pool 'forks'): fork() from a worker_thread is refused by design.
// One file at a time: each file's leak check looks at machine-wide namespaces (/dev/shm, /dev/mqueue), and
// fork/IPC-heavy files on a 2-core machine disturb each other's timeouts.
// test/stress runs a short version by default; MULTIPROC_STRESS=full runs the full counts.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});

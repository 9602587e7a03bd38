import { defineConfig } from 'vitest/config';

// Test files run in child processes (pool 'forks'): fork() from a worker_thread is refused by design.
// test/stress runs a short version by default; MULTIPROC_STRESS=full runs the full counts.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});

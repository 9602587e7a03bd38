// ≥ 10,000 forks whose children allocate, compile and get optimised: 0 hangs, 0 crashes.
// CI runs a shorter version; MULTIPROC_STRESS=full runs the full counts (npm run test:stress).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLeaks } from '../helpers/leaks.js';
import { forkStress } from './fork-loop.js';

checkLeaks();

const full = process.env.MULTIPROC_STRESS === 'full';
const here = path.dirname(fileURLToPath(import.meta.url));

describe(`fork stress (${full ? 'full' : 'CI'} counts)`, () => {
  it(`${full ? 10_000 : 1_000} forks from a busy parent: no hang, no crash`, async () => {
    const r = await forkStress(full ? 10_000 : 1_000);
    console.log(`fork stress: ${r.forks} forks in ${r.ms} ms, median fork() ${r.forkMsMedian.toFixed(2)} ms`, r);
    expect(r.hangs).toBe(0);
    expect(r.crashes).toEqual([]);
    expect(r.wrongCodes).toBe(0);
    expect(r.ok).toBe(r.forks);
  }, 900_000);

  it(`${full ? 1_000 : 100} forks from a parent with a 500 MB heap: no hang, no crash`, () => {
    const count = full ? 1_000 : 100;
    const run = spawnSync(
      process.execPath,
      ['--max-old-space-size=4096', '--import', 'tsx', path.join(here, 'big-heap-fork.ts'), String(count)],
      { encoding: 'utf8', timeout: 600_000, killSignal: 'SIGKILL', cwd: path.resolve(here, '../..') },
    );
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!);
    console.log(`big-heap fork stress: heap ${r.heapMB} MB, ${r.forks} forks in ${r.ms} ms, median fork() ${r.forkMsMedian.toFixed(2)} ms`);
    expect(r.heapMB).toBeGreaterThanOrEqual(500);
    expect(r.hangs).toBe(0);
    expect(r.crashes).toEqual([]);
    expect(r.ok).toBe(count);
  }, 900_000);
});

// Manager round-trip latency: a child process (forked, or spawned) sets and gets a key of a manager dict,
// through the async proxy methods (await d.set / await d.get) and through their …Sync twins (a blocking
// socket round trip each). Each figure is the median over the repetitions, in µs per call (one request and
// its reply); Python's multiprocessing.Manager dict (d[k] = v; d[k]) from a child is measured the same way
// when python3 is on the PATH, as the baseline a user would otherwise have.
//
// Run: npx tsx lib/tools/bench/manager.ts [--iterations N] [--reps N] [--spawn] [--json]   (--spawn: spawned children)
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { type DictProxy, Manager, type QueueProxy } from '../../mp/manager/index.js';
import { Process } from '../../mp/process/process.js';
import { median } from './core.js';

export interface ManagerLatency {
  /** Median µs per call, async (await d.set / await d.get alternating). */
  async: number;
  /** Median µs per call, Sync (d.setSync / d.getSync alternating). */
  sync: number;
  /** Median µs per call, Python's Manager dict from a child, or null without python3. */
  python: number | null;
  asyncRuns: number[];
  syncRuns: number[];
  iterations: number;
  serverStart: 'spawn';
  child: 'fork' | 'spawn';
  load: number[];
}


const PY = `
import sys, time
from multiprocessing import Manager, Process, Queue
def child(d, q, n):
    t = time.perf_counter()
    for i in range(n):
        d['k'] = i
        d['k']
    q.put((time.perf_counter() - t) * 1e6 / (2 * n))
if __name__ == '__main__':
    n, reps = int(sys.argv[1]), int(sys.argv[2])
    with Manager() as m:
        d = m.dict(); q = Queue(); out = []
        for _ in range(reps):
            p = Process(target=child, args=(d, q, n)); p.start(); out.append(q.get()); p.join()
        out.sort(); print(out[len(out) // 2])
`;

/** The child's side: n × (set + get), async then Sync; puts [async µs, Sync µs] per call on `results`. */
export async function measure(d: DictProxy<number>, results: QueueProxy<[number, number]>, n: number): Promise<void> {
  // connect (and authenticate) and warm up (JIT) outside the timed loops
  for (let i = 0; i < 1000; i++) {
    await d.set('k', i);
    await d.get('k');
    d.setSync('k', i);
    d.getSync('k');
  }
  let t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await d.set('k', i);
    await d.get('k');
  }
  const a = Number(process.hrtime.bigint() - t) / 1000 / (2 * n);
  t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    d.setSync('k', i);
    d.getSync('k');
  }
  const s = Number(process.hrtime.bigint() - t) / 1000 / (2 * n);
  await results.put([a, s]);
}

export async function benchManager(opts: { iterations?: number; reps?: number; child?: 'fork' | 'spawn' } = {}): Promise<ManagerLatency> {
  const child = opts.child ?? 'fork';
  const n = opts.iterations ?? 5000;
  const reps = opts.reps ?? 5;
  const m = await Manager.start();
  const asyncRuns: number[] = [];
  const syncRuns: number[] = [];
  try {
    const d = await m.dict<number>();
    const results = await m.Queue<[number, number]>();
    for (let r = 0; r < reps; r++) {
      const p =
        child === 'fork'
          ? new Process({ target: () => measure(d, results, n) })
          : new Process({ startMethod: 'spawn', module: import.meta.url, export: 'measure', args: [d, results, n] });
      p.start();
      const [a, s] = await results.get();
      await p.join();
      p.close();
      asyncRuns.push(a);
      syncRuns.push(s);
    }
  } finally {
    await m.shutdown();
  }
  let python: number | null = null;
  const py = spawnSync('python3', ['-c', PY, String(n), String(reps)], { encoding: 'utf8', timeout: 300_000 });
  if (py.status === 0) python = Number(py.stdout.trim());
  return { async: median(asyncRuns), sync: median(syncRuns), python, asyncRuns, syncRuns, iterations: n, serverStart: 'spawn', child, load: os.loadavg() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const r = await benchManager({ iterations: arg('--iterations'), reps: arg('--reps'), child: process.argv.includes('--spawn') ? 'spawn' : 'fork' });
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    const f = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} µs`);
    console.log(`Manager dict set/get from a ${r.child === 'fork' ? 'forked' : 'spawned'} child, ${r.iterations} × (set + get), median of ${r.asyncRuns.length}:`);
    console.log(`  async (await d.set / d.get)   ${f(r.async)} per call`);
    console.log(`  Sync  (d.setSync / d.getSync) ${f(r.sync)} per call`);
    console.log(`  Python Manager dict (d[k]=v; d[k]) ${f(r.python)} per call`);
    console.log(`  load average ${r.load.map((x) => x.toFixed(2)).join(' ')}`);
  }
}

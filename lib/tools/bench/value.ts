// The multiprocessing layer's sync costs (lib/mp/sync/, lib/mp/shared/) beside the C loops of native/bench.cc,
// from the same run:
//   - Value increments under its lock: 2 processes × n increments of one Value('i') under getLock() (an RLock,
//     Python's default) and under an explicit Lock; ns per increment over the wall time of both (first start to
//     last end). C: the same with a robust pthread mutex (mutexBench). Checks the total.
//   - Barrier(2) cycle between two processes: µs per cycle, JS Barrier (futex words) vs pthread_barrier_wait.
// Each figure with both processes on the same CPU and on different CPUs (sched_setaffinity), median of the
// trials, every trial in freshly forked processes. The JS loops are warmed up in the parent before it forks (a
// forked child cannot optimise code itself: see lib/tools/bench/sync.ts).
//
// Run: npx tsx lib/tools/bench/value.ts [--quick] [--reps N] [--json] [--only value,barrier]
import * as posix from '../../posix/index.js';
import { Value } from '../../mp/shared/index.js';
import { Barrier, Lock, type RLock } from '../../mp/sync/index.js';
import { scriptOptions, type Side, suiteSettings, type SyncResult, type SyncSuiteOptions, syncTable, trial } from './sync.js';
import { median } from './core.js';

const nb = posix; // the loops in C

export type Placement = 'same CPU' | 'different CPUs';

/** One figure: JS against the C loop, same placement, same run (the shape of lib/tools/bench/sync.ts's results). */
export type ValueBenchResult = Omit<SyncResult, 'placement'> & { placement: Placement };

const hr = () => Number(process.hrtime.bigint());

export function jsIncrements(v: Value, lock: Lock | RLock, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    v.value = v.value + 1;
    lock.release();
  }
  return hr() - t0;
}

export function jsBarrierCycles(b: Barrier, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) b.waitSync();
  return hr() - t0;
}

let warmed = false;
/** Optimises the JS loops in this process before any fork (one process: uncontended, barrier of 1). */
export async function warmUp(): Promise<void> {
  if (warmed) return;
  warmed = true;
  posix.mmap(4096).close(); // the first detach deoptimises typed-array code: get it over with first
  const v = new Value('i', 0);
  const l = new Lock();
  const b = new Barrier(1);
  for (let r = 0; r < 30; r++) {
    jsIncrements(v, v.getLock(), 50_000);
    jsIncrements(v, l, 50_000);
    jsBarrierCycles(b, 20_000);
    if (r % 10 === 9) await new Promise((res) => setTimeout(res, 50));
  }
  // kept open (closing the last arena object unmaps its region: a detach, which would deoptimise the loops)
  keep.push(v, l, b);
}
const keep: unknown[] = [];


// The trial mapping: ready/go semaphores, results; the C loops' mutex/barrier/counter.
const OFF = { ready: 0, go: 64, barrier: 128, mutex: 256, counter: 384, result: 512 } as const;

function withMapping<T>(setup: (m: posix.Mapping) => void, body: (m: posix.Mapping) => T): T {
  const m = posix.mmap(4096);
  posix.Semaphore.init(m, OFF.ready, 0);
  posix.Semaphore.init(m, OFF.go, 0);
  setup(m);
  try {
    return body(m);
  } finally {
    keep.push(m); // closed at the end (a detach deoptimises the warmed loops)
  }
}

const wall = (sides: Side[]) => Math.max(...sides.map((s) => s.end)) - Math.min(...sides.map((s) => s.start));

/** 2 × n increments: ns per increment (wall of both). `which`: the Value's own RLock, or a Lock. */
function valueIncrements(driver: 'js' | 'native', which: 'rlock' | 'lock', cpus: number[], n: number): number {
  if (driver === 'native') {
    return withMapping(
      (m) => posix.Mutex.init(m, OFF.mutex),
      (m) => {
        const sides = trial(m, cpus, () => nb.mutexBench(m, OFF.mutex, OFF.counter, n), OFF);
        const total = new Int32Array(m.buffer, OFF.counter, 1)[0];
        if (total !== 2 * n) throw new Error(`C increments: expected ${2 * n}, got ${total}`);
        return wall(sides) / (2 * n);
      },
    );
  }
  const v = new Value('i', 0);
  const lock = which === 'lock' ? new Lock() : v.getLock();
  try {
    return withMapping(
      () => {},
      (m) => {
        const sides = trial(m, cpus, () => jsIncrements(v, lock, n), OFF);
        if (v.value !== 2 * n) throw new Error(`Value increments: expected ${2 * n}, got ${v.value}`);
        return wall(sides) / (2 * n);
      },
    );
  } finally {
    keep.push(v, lock);
  }
}

function barrierCycles(driver: 'js' | 'native', cpus: number[], n: number): number {
  if (driver === 'native') {
    return withMapping(
      (m) => posix.Barrier.init(m, OFF.barrier, 2),
      (m) => trial(m, cpus, () => (nb.barrierBench(m, OFF.barrier, n / 10), nb.barrierBench(m, OFF.barrier, n)), OFF)[0]!.ns / n / 1000,
    );
  }
  const b = new Barrier(2);
  keep.push(b);
  return withMapping(
    () => {},
    (m) => trial(m, cpus, () => (jsBarrierCycles(b, n / 10), jsBarrierCycles(b, n)), OFF)[0]!.ns / n / 1000,
  );
}

/** The options of the Value suite: those of the sync suite but `cold`. */
export type ValueBenchOptions = Omit<SyncSuiteOptions, 'cold'>;

export async function measureValueSuite(opts: ValueBenchOptions = {}): Promise<ValueBenchResult[]> {
  const { quick, reps, log, want } = suiteSettings(opts, 5);
  await warmUp();
  const cpus = posix.getAffinity(0);
  const placements: Array<[Placement, number[]]> = [['same CPU', [cpus[0]!, cpus[0]!]]];
  if (cpus.length >= 2) placements.push(['different CPUs', [cpus[0]!, cpus[1]!]]);
  const out: ValueBenchResult[] = [];
  const pair = (name: string, placement: Placement, unit: 'ns' | 'µs', per: string, run: (d: 'js' | 'native') => number) => {
    const js: number[] = [];
    const nat: number[] = [];
    for (let r = 0; r < reps; r++) {
      nat.push(run('native'));
      js.push(run('js'));
    }
    const res = { name, placement, unit, per, js: median(js), native: median(nat), ratio: median(js) / median(nat), jsRuns: js, nativeRuns: nat };
    log(`${name} [${placement}]: js ${res.js.toFixed(3)} ${unit}, C ${res.native.toFixed(3)} ${unit}, ${res.ratio.toFixed(2)}×`);
    out.push(res);
  };
  const nInc = quick ? 200_000 : 1_000_000;
  const nBar = quick ? 20_000 : 100_000;
  for (const [placement, pc] of placements) {
    if (want('value')) {
      pair(`Value under getLock() (RLock), 2 × ${nInc.toLocaleString('en')}`, placement, 'ns', 'increment', (d) => valueIncrements(d, 'rlock', pc, nInc));
      pair(`Value under a Lock, 2 × ${nInc.toLocaleString('en')}`, placement, 'ns', 'increment', (d) => valueIncrements(d, 'lock', pc, nInc));
    }
    if (want('barrier')) pair('Barrier(2) cycle', placement, 'µs', 'cycle', (d) => barrierCycles(d, pc, nBar));
  }
  for (const k of keep.splice(0)) (k as { close(): void }).close();
  return out;
}

export function valueTable(results: ValueBenchResult[]): string {
  return syncTable(results, { native: 'C', ratioDigits: 2 });
}

if (process.argv[1] && /bench[/\\]value\.[tj]s$/.test(process.argv[1])) {
  const { json, ...opts } = scriptOptions(process.argv.slice(2)); // --cold is ignored: this suite always warms up
  const results = await measureValueSuite(opts);
  if (json) {
    process.stdout.write(JSON.stringify({ node: process.version, cpus: posix.getAffinity(0), results }, null, 2) + '\n');
  } else {
    process.stdout.write(`Node ${process.version}, CPUs ${posix.getAffinity(0).join(',')}\n${valueTable(results)}\n`);
  }
}

// Process-shared synchronisation costs, each figure driven from JavaScript through the addon beside the same
// loop run entirely in C inside the addon (native/bench.cc), from the same run:
//   - semaphore ping-pong between two processes (two semaphores in a shared mapping; µs per round trip)
//   - Barrier(2) cycle between two processes (µs per cycle)
//   - contended Mutex increments, 2 processes × 1,000,000 (ns per increment, wall time of both)
//   - uncontended sem_post + sem_wait in one process (ns per pair: the per-call cost of the binding)
// Each cross-process figure is measured with both processes pinned to the same CPU and to different CPUs
// (sched_setaffinity). Every trial runs in freshly forked processes; the figure is the median of the trials.
//
// JIT warm-up: the JS loops are module-level functions that the parent runs (in one process, on the same
// kinds of objects) before it forks, so the children start with optimised code — as a long-running program's
// would be. This matters: a forked child has no V8 platform worker threads, so code that was not optimised
// before fork() is never optimised in the child (concurrent TurboFan jobs have no thread to run on; measured:
// ~2.5× slower loops). --cold skips the warm-up to show that effect.
//
// Run: npx tsx lib/tools/bench/sync.ts [--quick] [--reps N] [--json] [--cold] [--only pingpong,barrier,mutex,calls]
// The `multiproc bench` suite can reuse measureSyncSuite().
import * as posix from '../../posix/index.js';
import { median } from './core.js';

const nb = posix; // the loops in C

export type Driver = 'js' | 'native';
export type Placement = 'same CPU' | 'different CPUs' | 'unpinned';

export interface SyncResult {
  name: string;
  placement: Placement;
  unit: 'µs' | 'ns';
  per: string;
  js: number;
  native: number;
  /** js / native */
  ratio: number;
  jsRuns: number[];
  nativeRuns: number[];
}

// ---- the JS-driven loops (module level, so that warming them in the parent warms them for the children) ----

function hr(): bigint {
  return process.hrtime.bigint();
}

/** n round trips on the ping side: post(ping); wait(pong). Returns elapsed ns. */
export function jsPing(ping: posix.Semaphore, pong: posix.Semaphore, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    ping.post();
    pong.wait();
  }
  return Number(hr() - t0);
}

/** n round trips on the pong side: wait(ping); post(pong). Returns elapsed ns. */
export function jsPong(ping: posix.Semaphore, pong: posix.Semaphore, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    ping.wait();
    pong.post();
  }
  return Number(hr() - t0);
}

export function jsBarrier(b: posix.Barrier, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) b.wait();
  return Number(hr() - t0);
}

export function jsMutex(mx: posix.Mutex, counter: Int32Array, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    mx.lock();
    counter[0] = counter[0]! + 1;
    mx.unlock();
  }
  return Number(hr() - t0);
}

export function jsUncontended(s: posix.Semaphore, n: number): number {
  const t0 = hr();
  for (let i = 0; i < n; i++) {
    s.post();
    s.wait();
  }
  return Number(hr() - t0);
}

let warmed = false;

/**
 * Runs every JS loop in this process (no partner needed) until V8 has optimised it: rounds of calls, with
 * pauses so that concurrent TurboFan jobs finish and get installed (at the next call) before anyone forks.
 *
 * First it closes a throwaway mapping: the first ArrayBuffer detach in a process (Mapping.close() detaches)
 * invalidates V8's "array buffer detaching" protector, which deoptimises all optimised code that reads typed
 * arrays — the warmed loops included, had it come after them (the parent re-optimises on the next call, a
 * child forked in between never does).
 */
export async function warmUp(): Promise<void> {
  if (warmed) return;
  warmed = true;
  posix.mmap(4096).close();
  const m = posix.mmap(4096);
  try {
    const s = posix.Semaphore.init(m, 0, 0);
    const b = posix.Barrier.init(m, 64, 1);
    const mx = posix.Mutex.init(m, 128);
    const counter = new Int32Array(m.buffer, 192, 1);
    for (let r = 0; r < 30; r++) {
      jsPing(s, s, 50_000); // post then wait on the same semaphore: never blocks
      s.post();
      jsPong(s, s, 50_000); // value 1: wait then post
      s.wait();
      jsBarrier(b, 50_000);
      jsMutex(mx, counter, 50_000);
      jsUncontended(s, 50_000);
      if (r % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    b.destroy();
    mx.destroy();
    s.destroy();
  } finally {
    m.close();
  }
}

// Layout of the trial mapping: 64-byte lines.
const OFF = { ping: 0, pong: 64, ready: 128, go: 192, barrier: 256, mutex: 320, counter: 384, result: 512 } as const;


export interface Side {
  /** What the side function returned: the elapsed ns of its timed loop. */
  ns: number;
  /** CLOCK_MONOTONIC ns (process.hrtime) around the side function: comparable between processes. */
  start: number;
  end: number;
}

/** Where a trial's mapping holds its ready and go semaphores and its results (a Float64Array, 3 per side). */
export interface TrialLayout {
  ready: number;
  go: number;
  result: number;
}

/**
 * Forks one child per entry of `cpus`, each pinned to its CPU (or unpinned), which signals ready, waits for
 * "go" and runs its side; returns what each side reported. The semaphores are at `at` in `m` (initialised).
 */
export function trial(m: posix.Mapping, cpus: Array<number | null>, side: (i: number) => number, at: TrialLayout = OFF): Side[] {
  const ready = posix.Semaphore.attach(m, at.ready);
  const go = posix.Semaphore.attach(m, at.go);
  const result = new Float64Array(m.buffer, at.result, 3 * cpus.length);
  const pids: number[] = [];
  for (let i = 0; i < cpus.length; i++) {
    const pid = posix.fork();
    if (pid === 0) {
      let code = 0;
      try {
        const cpu = cpus[i];
        if (cpu !== null && cpu !== undefined) posix.setAffinity(0, [cpu]);
        ready.post();
        go.wait();
        const start = Number(process.hrtime.bigint());
        const ns = side(i);
        result[3 * i] = ns;
        result[3 * i + 1] = start;
        result[3 * i + 2] = Number(process.hrtime.bigint());
      } catch (e) {
        process.stderr.write(`bench child failed: ${(e as Error)?.stack ?? String(e)}\n`);
        code = 1;
      }
      posix.exit(code);
    }
    pids.push(pid);
  }
  for (let i = 0; i < cpus.length; i++) {
    if (!ready.timedWait(30_000)) throw new Error('a benchmark child did not start');
  }
  for (let i = 0; i < cpus.length; i++) go.post();
  for (const pid of pids) {
    const st = posix.waitpid(pid);
    if (st.kind !== 'exited' || st.code !== 0) throw new Error(`benchmark child ${pid} failed: ${JSON.stringify(st)}`);
  }
  return cpus.map((_, i) => ({ ns: result[3 * i]!, start: result[3 * i + 1]!, end: result[3 * i + 2]! }));
}

function freshMapping(setup: (m: posix.Mapping) => void): posix.Mapping {
  const m = posix.mmap(4096);
  posix.Semaphore.init(m, OFF.ready, 0);
  posix.Semaphore.init(m, OFF.go, 0);
  setup(m);
  return m;
}

/**
 * One trial in a fresh mapping (`setup` places the objects there): each side takes its loop from `sideLoop`
 * and runs it `warmup` times untimed, then `n` times; returns the ns that the first side's timed run took.
 */
function warmTrial(
  setup: (m: posix.Mapping) => void,
  cpus: Array<number | null>,
  warmup: number,
  n: number,
  sideLoop: (m: posix.Mapping, side: number) => (count: number) => number,
): number {
  const m = freshMapping(setup);
  try {
    return trial(m, cpus, (side) => {
      const loop = sideLoop(m, side);
      loop(warmup);
      return loop(n);
    })[0]!.ns;
  } finally {
    m.close();
  }
}

/** Semaphore ping-pong: µs per round trip, measured on the ping side after `warmup` untimed round trips. */
function pingPong(driver: Driver, cpus: Array<number | null>, n: number, warmup: number): number {
  const setup = (m: posix.Mapping) => {
    posix.Semaphore.init(m, OFF.ping, 0);
    posix.Semaphore.init(m, OFF.pong, 0);
  };
  const ns = warmTrial(setup, cpus, warmup, n, (m, side) => {
    if (driver === 'native') return (k) => nb.semPingPongBench(m, OFF.ping, OFF.pong, k, side as 0 | 1);
    const ping = posix.Semaphore.attach(m, OFF.ping);
    const pong = posix.Semaphore.attach(m, OFF.pong);
    const loop = side === 0 ? jsPing : jsPong;
    return (k) => loop(ping, pong, k);
  });
  return ns / n / 1000;
}

/** Barrier(2): µs per cycle, measured in the first process after `warmup` untimed cycles. */
function barrierCycles(driver: Driver, cpus: Array<number | null>, n: number, warmup: number): number {
  const ns = warmTrial((m) => posix.Barrier.init(m, OFF.barrier, 2), cpus, warmup, n, (m) => {
    if (driver === 'native') return (k) => nb.barrierBench(m, OFF.barrier, k);
    const b = posix.Barrier.attach(m, OFF.barrier);
    return (k) => jsBarrier(b, k);
  });
  return ns / n / 1000;
}

/**
 * Contended Mutex: 2 processes × n locked increments of one int32 (plain read-modify-write under the lock);
 * ns per increment over the wall time of both (first start to last end: on one CPU a short loop may finish
 * within its time slice before the other process runs at all). Checks the total.
 */
function mutexIncrements(driver: Driver, cpus: Array<number | null>, n: number): number {
  const m = freshMapping((m) => posix.Mutex.init(m, OFF.mutex));
  try {
    const sides = trial(m, cpus, () => {
      if (driver === 'native') return nb.mutexBench(m, OFF.mutex, OFF.counter, n);
      return jsMutex(posix.Mutex.attach(m, OFF.mutex), new Int32Array(m.buffer, OFF.counter, 1), n);
    });
    const total = new Int32Array(m.buffer, OFF.counter, 1)[0];
    if (total !== 2 * n) throw new Error(`mutex increments: expected ${2 * n}, got ${total}`);
    const wall = Math.max(...sides.map((s) => s.end)) - Math.min(...sides.map((s) => s.start));
    return wall / (2 * n);
  } finally {
    m.close();
  }
}

/** Uncontended Mutex lock + increment + unlock in one (forked) process: ns per iteration (after n untimed). */
function uncontendedMutex(driver: Driver, n: number): number {
  const ns = warmTrial((m) => posix.Mutex.init(m, OFF.mutex), [null], n, n, (m) => {
    if (driver === 'native') return (k) => nb.mutexBench(m, OFF.mutex, OFF.counter, k);
    const mx = posix.Mutex.attach(m, OFF.mutex);
    const counter = new Int32Array(m.buffer, OFF.counter, 1);
    return (k) => jsMutex(mx, counter, k);
  });
  return ns / n;
}

/** Uncontended sem_post + sem_wait in one (forked) process: ns per pair (after n untimed). */
function uncontended(driver: Driver, n: number): number {
  const ns = warmTrial((m) => posix.Semaphore.init(m, OFF.ping, 0), [null], n, n, (m) => {
    if (driver === 'native') return (k) => nb.semUncontendedBench(m, OFF.ping, k);
    const s = posix.Semaphore.attach(m, OFF.ping);
    return (k) => jsUncontended(s, k);
  });
  return ns / n;
}

export interface SyncSuiteOptions {
  quick?: boolean;
  reps?: number;
  only?: string[];
  /** Skip the JIT warm-up in the parent (shows the cost of unoptimised code in forked children). */
  cold?: boolean;
  log?: (line: string) => void;
}

/**
 * What a suite's options come to: quick, the repetitions (`reps` unless given; 3 when quick), the log, and
 * want(name): whether --only lets the figure `name` run.
 */
export function suiteSettings(opts: Omit<SyncSuiteOptions, 'cold'>, reps: number) {
  const quick = opts.quick ?? false;
  return {
    quick,
    reps: opts.reps ?? (quick ? 3 : reps),
    log: opts.log ?? (() => {}),
    want: (name: string) => !opts.only || opts.only.length === 0 || opts.only.includes(name),
  };
}

/** Runs the suite; JS and native trials alternate so drift on a shared machine affects both alike. */
export async function measureSyncSuite(opts: SyncSuiteOptions = {}): Promise<SyncResult[]> {
  const { quick, reps, log, want } = suiteSettings(opts, 7);
  if (!opts.cold) await warmUp();
  const original = posix.getAffinity(0);
  const cpusAvail = original.length >= 2 ? original : null;
  const placements: Array<[Placement, Array<number | null>]> = [[`same CPU`, [original[0]!, original[0]!]]];
  if (cpusAvail) placements.push([`different CPUs`, [cpusAvail[0]!, cpusAvail[1]!]]);
  const out: SyncResult[] = [];
  const pair = (name: string, placement: Placement, unit: 'µs' | 'ns', per: string, run: (d: Driver) => number) => {
    const js: number[] = [];
    const nat: number[] = [];
    for (let r = 0; r < reps; r++) {
      nat.push(run('native'));
      js.push(run('js'));
    }
    const res: SyncResult = { name, placement, unit, per, js: median(js), native: median(nat), ratio: median(js) / median(nat), jsRuns: js, nativeRuns: nat };
    log(`${name} [${placement}]: js ${res.js.toFixed(3)} ${unit}, native ${res.native.toFixed(3)} ${unit}, ${res.ratio.toFixed(3)}×`);
    out.push(res);
  };
  const nPing = quick ? 20_000 : 100_000;
  const nBarrier = quick ? 20_000 : 100_000;
  const nMutex = quick ? 200_000 : 1_000_000;
  for (const [placement, cpus] of placements) {
    if (want('pingpong')) pair('semaphore ping-pong', placement, 'µs', 'round trip', (d) => pingPong(d, cpus, nPing, nPing / 10));
    if (want('barrier')) pair('Barrier(2) cycle', placement, 'µs', 'cycle', (d) => barrierCycles(d, cpus, nBarrier, nBarrier / 10));
    if (want('mutex')) pair(`contended Mutex, 2 × ${nMutex.toLocaleString('en')}`, placement, 'ns', 'increment', (d) => mutexIncrements(d, cpus, nMutex));
  }
  if (want('calls')) {
    const n = quick ? 1_000_000 : 5_000_000;
    pair('uncontended sem_post+sem_wait', 'unpinned', 'ns', 'pair', (d) => uncontended(d, n));
    pair('uncontended Mutex lock+inc+unlock', 'unpinned', 'ns', 'iteration', (d) => uncontendedMutex(d, n));
  }
  return out;
}

/** The JS-against-native table; `native` names the baseline column (value.ts says 'C'). */
export function syncTable(results: SyncResult[], labels: { native?: string; ratioDigits?: number } = {}): string {
  const nat = labels.native ?? 'native';
  const rows = results.map((r) => [
    r.name,
    r.placement,
    `${r.unit}/${r.per}`,
    r.js.toFixed(3),
    r.native.toFixed(3),
    `${r.ratio.toFixed(labels.ratioDigits ?? 3)}×`,
    `${Math.min(...r.jsRuns).toFixed(3)}–${Math.max(...r.jsRuns).toFixed(3)}`,
    `${Math.min(...r.nativeRuns).toFixed(3)}–${Math.max(...r.nativeRuns).toFixed(3)}`,
  ]);
  const head = ['benchmark', 'placement', 'unit', 'JS (median)', `${nat} (median)`, `JS/${nat}`, 'JS range', `${nat} range`];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i < 3 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

/**
 * The command line of a suite's script (`[--quick] [--reps N] [--only a,b] [--cold] [--json]`): the suite's
 * options, progress lines on stderr unless `json` (the results as JSON on stdout).
 */
export function scriptOptions(argv: string[]): SyncSuiteOptions & { json: boolean } {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const json = argv.includes('--json');
  const reps = value('--reps');
  return {
    json,
    quick: argv.includes('--quick'),
    reps: reps === undefined ? undefined : Number(reps),
    only: value('--only')?.split(','),
    cold: argv.includes('--cold'),
    log: json ? undefined : (line) => process.stderr.write(line + '\n'),
  };
}

if (process.argv[1] && /bench[/\\]sync\.[tj]s$/.test(process.argv[1])) {
  const opts = scriptOptions(process.argv.slice(2));
  const results = await measureSyncSuite(opts);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ node: process.version, cpus: posix.getAffinity(0), cold: opts.cold, results }, null, 2) + '\n');
  } else {
    process.stdout.write(`Node ${process.version}, CPUs available ${posix.getAffinity(0).join(',')}${opts.cold ? ', cold JIT (no warm-up before fork)' : ''}\n`);
    process.stdout.write(syncTable(results) + '\n');
  }
}

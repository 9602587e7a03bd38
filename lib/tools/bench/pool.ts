// Pool throughput and overhead (issue 6), beside Python's multiprocessing.Pool doing the same on the same
// machine in the same run (when python3 is there):
//   map-chunk1     Pool(2).map(x => x * x, 100,000 ints, { chunkSize: 1 })   per-task overhead, pipelined
//   map-default    the same with the default chunk size (ceil(n / (4 × processes)), as Python)
//   cold-map       new Pool(2) + the first map (default chunks) + terminate: includes starting the workers
//   speedup        a CPU-bound map (spin tasks) with 1 worker vs 2 workers: t(1) / t(2)
// Each figure is the median of the repetitions (after a warm-up); the load average is printed with it,
// since other work on the machine shifts these numbers.
//
// Run: npx tsx lib/tools/bench/pool.ts [--reps N] [--n N] [--method fork|spawn] [--no-python] [--quick] [--json]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from '../../mp/pool/pool.js';
import type { StartMethod } from '../../mp/process/process.js';

/** The task functions (also exports, for the spawn start method). */
export function square(x: number): number {
  return x * x;
}

/** CPU-bound: `n` million loop iterations (about 1–3 ms per million on a current core). */
export function spin(n: number): number {
  let acc = 0;
  for (let i = 0; i < n * 1e6; i++) acc = (acc + i * i) % 1000003;
  return acc;
}

export interface PoolFigure {
  name: string;
  method: StartMethod;
  /** Median ms over the repetitions. */
  median: number;
  runs: number[];
  /** µs per task (map figures). */
  perTaskUs?: number;
  /** Python's multiprocessing median for the same figure (ms), if measured. */
  python?: number;
  pythonRuns?: number[];
}

export interface PoolBenchResult {
  figures: PoolFigure[];
  speedup?: {
    oneWorkerMs: number;
    twoWorkersMs: number;
    speedup: number;
    tasks: number;
    spinMillions: number;
    /** CPU time the workers got per second of wall time: how many cores the machine's other load left us. */
    oneWorkerCores: number;
    twoWorkersCores: number;
  };
  loadBefore: number[];
  loadAfter: number[];
  cpus: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const here = fileURLToPath(import.meta.url);

/** utime + stime of these processes (/proc/<pid>/stat, clock ticks of 1/100 s), in seconds. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return ticks / 100;
}

function fnFor(method: StartMethod, name: 'square' | 'spin') {
  if (method === 'fork') return name === 'square' ? square : spin;
  return { module: here, export: name };
}

async function timeMap(pool: Pool, method: StartMethod, data: number[], chunkSize: number | undefined, reps: number): Promise<number[]> {
  const f = fnFor(method, 'square') as (x: number) => number;
  const opts = chunkSize === undefined ? {} : { chunkSize };
  for (let i = 0; i < 3; i++) await pool.map(f, data, opts); // warm-up (forking the workers that know f; the parent's JIT)
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = await pool.map(f, data, opts);
    runs.push(performance.now() - t0);
    if (r.length !== data.length || r[data.length - 1] !== (data.length - 1) ** 2) throw new Error('wrong results');
  }
  return runs;
}

const PY = String.raw`
import sys, time, json
from multiprocessing import get_context
def sq(x): return x * x
n, reps, which = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = get_context('fork')
data = list(range(n))
out = []
with ctx.Pool(2) as p:
    for i in range(reps + 1):
        t = time.perf_counter()
        if which == 'chunk1': p.map(sq, data, chunksize=1)
        else: p.map(sq, data)
        if i: out.append((time.perf_counter() - t) * 1000)
print(json.dumps(out))
`;

function python(n: number, reps: number, which: 'chunk1' | 'default'): number[] | undefined {
  const r = spawnSync('python3', ['-c', PY, String(n), String(reps), which], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout.trim()) as number[];
  } catch {
    return undefined;
  }
}

export async function measurePoolSuite(
  opts: { n?: number; reps?: number; methods?: StartMethod[]; python?: boolean; speedup?: boolean; spinMillions?: number; spinTasks?: number } = {},
): Promise<PoolBenchResult> {
  const n = opts.n ?? 100_000;
  const reps = opts.reps ?? 5;
  const methods = opts.methods ?? ['fork'];
  const data = Array.from({ length: n }, (_, i) => i);
  const loadBefore = os.loadavg();
  const figures: PoolFigure[] = [];
  for (const method of methods) {
    const pool = new Pool({ processes: 2, startMethod: method });
    try {
      const c1 = await timeMap(pool, method, data, 1, reps);
      figures.push({ name: 'map-chunk1', method, median: median(c1), runs: c1, perTaskUs: (median(c1) * 1000) / n });
      const cd = await timeMap(pool, method, data, undefined, reps);
      figures.push({ name: 'map-default', method, median: median(cd), runs: cd, perTaskUs: (median(cd) * 1000) / n });
    } finally {
      await pool.terminate();
    }
    const cold: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const p = new Pool({ processes: 2, startMethod: method });
      await p.map(fnFor(method, 'square') as (x: number) => number, data);
      cold.push(performance.now() - t0);
      await p.terminate();
    }
    figures.push({ name: 'cold-map', method, median: median(cold), runs: cold });
  }
  if (opts.python !== false) {
    for (const f of figures) {
      if (f.method !== 'fork' || f.name === 'cold-map') continue;
      const py = python(n, reps, f.name === 'map-chunk1' ? 'chunk1' : 'default');
      if (py) {
        f.python = median(py);
        f.pythonRuns = py;
      }
    }
  }
  let speedup: PoolBenchResult['speedup'];
  if (opts.speedup !== false) {
    const spinM = opts.spinMillions ?? 10;
    const tasks = opts.spinTasks ?? 16;
    const work = new Array(tasks).fill(spinM);
    const time = async (processes: number): Promise<[ms: number, cores: number]> => {
      const pool = new Pool({ processes, startMethod: 'fork' });
      try {
        await pool.map(spin, [1, 1, 1, 1], { chunkSize: 1 }); // workers up, JIT warm
        const runs: number[] = [];
        const cores: number[] = [];
        for (let i = 0; i < Math.max(3, Math.ceil(reps / 2)); i++) {
          const pids = pool.pids;
          const c0 = cpuSeconds(pids);
          const t0 = performance.now();
          await pool.map(spin, work, { chunkSize: 1 });
          const ms = performance.now() - t0;
          runs.push(ms);
          cores.push((cpuSeconds(pids) - c0) / (ms / 1000));
        }
        return [median(runs), median(cores)];
      } finally {
        await pool.terminate();
      }
    };
    const [one, oneCores] = await time(1);
    const [two, twoCores] = await time(2);
    speedup = { oneWorkerMs: one, twoWorkersMs: two, speedup: one / two, tasks, spinMillions: spinM, oneWorkerCores: oneCores, twoWorkersCores: twoCores };
  }
  return { figures, speedup, loadBefore, loadAfter: os.loadavg(), cpus: os.cpus().length };
}

function report(r: PoolBenchResult): void {
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`Pool benchmark — ${r.cpus} CPUs; load average before: ${load(r.loadBefore)}, after: ${load(r.loadAfter)}`);
  for (const f of r.figures) {
    const py = f.python === undefined ? '' : `   Python ${f.python.toFixed(1)} ms (ours / Python = ${(f.median / f.python).toFixed(2)})`;
    const per = f.perTaskUs === undefined ? '' : ` (${f.perTaskUs.toFixed(2)} µs/task)`;
    console.log(`  ${f.name.padEnd(12)} ${f.method.padEnd(6)} median ${f.median.toFixed(1)} ms${per}  runs ${f.runs.map((x) => x.toFixed(0)).join(' ')}${py}`);
  }
  if (r.speedup) {
    const s = r.speedup;
    console.log(
      `  speedup      fork   ${s.tasks} × spin(${s.spinMillions}M): 1 worker ${s.oneWorkerMs.toFixed(0)} ms (${s.oneWorkerCores.toFixed(2)} cores' CPU time), ` +
        `2 workers ${s.twoWorkersMs.toFixed(0)} ms (${s.twoWorkersCores.toFixed(2)} cores) → ${s.speedup.toFixed(2)}×`,
    );
  }
}

if (process.argv[1] && /bench[/\\]pool\.[tj]s$/.test(process.argv[1])) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const quick = process.argv.includes('--quick');
  const method = arg('--method');
  const r = await measurePoolSuite({
    n: Number(arg('--n') ?? (quick ? 20_000 : 100_000)),
    reps: Number(arg('--reps') ?? (quick ? 3 : 7)),
    methods: method ? [method as StartMethod] : ['fork', 'spawn'],
    python: !process.argv.includes('--no-python'),
    spinMillions: quick ? 3 : 10,
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else report(r);
}

// Process-creation costs measured from Node, each beside the baseline a user would otherwise use
// (child_process.spawn of a tiny script). Run: npx tsx lib/tools/bench/fork.ts [--heap-mb N] [--json]
// The `multiproc bench` creation suite (suite-process.ts) times the same process bodies.
import { spawn } from 'node:child_process';
import v8 from 'node:v8';
import * as posix from '../../posix/index.js';

export interface Sample {
  name: string;
  unit: 'ms';
  runs: number;
  median: number;
  min: number;
  max: number;
  p99: number;
}

function summarize(name: string, xs: number[]): Sample {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { name, unit: 'ms', runs: s.length, median: at(0.5), min: s[0]!, max: s[s.length - 1]!, p99: at(0.99) };
}

async function timeIt(runs: number, warmup: number, fn: () => Promise<void> | void): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** fork + _exit(0) in the child + waitpid in the parent. */
export function forkExitWait(): void {
  const pid = posix.fork();
  if (pid === 0) posix.exit(0);
  posix.waitpid(pid);
}

/** fork + a child that runs a little JavaScript (allocates and computes) + waitpid; the child must exit 0. */
export function forkJsBody(): void {
  const pid = posix.fork();
  if (pid === 0) {
    const a = Array.from({ length: 10_000 }, (_, i) => i * 2);
    posix.exit(a.reduce((x, y) => (x + y) & 0x7f, 0) === 999 ? 1 : 0);
  }
  const st = posix.waitpid(pid);
  if (st.kind !== 'exited' || st.code !== 0) throw new Error(`child ended with ${JSON.stringify(st)}`);
}

/** fork + _exit + waitpidAsync (pidfd through the reactor) instead of the blocking waitpid. */
async function forkExitWaitAsync(): Promise<void> {
  const pid = posix.fork();
  if (pid === 0) posix.exit(0);
  await posix.waitpidAsync(pid);
}

/** child_process.spawn of `node -e 0`: what Node offers for a new process. */
function spawnNode(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.on('exit', () => resolve());
    c.on('error', reject);
  });
}

/** child_process.spawn of /bin/true: the cost of a process without a Node runtime. */
function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('/bin/true', [], { stdio: 'ignore' });
    c.on('exit', () => resolve());
    c.on('error', reject);
  });
}

export async function measureForkSuite(opts: { runs?: number } = {}): Promise<Sample[]> {
  const runs = opts.runs ?? 200;
  const samples: Sample[] = [];
  samples.push(summarize('fork+_exit+waitpid', await timeIt(runs, 20, forkExitWait)));
  const quiesce: number[] = [];
  const remark: number[] = [];
  for (let i = 0; i < Math.min(runs, 100); i++) {
    forkExitWait();
    const s = posix.forkStats();
    quiesce.push(s.quiesceNs / 1e6);
    remark.push(s.remarkNs / 1e6);
  }
  samples.push(summarize('  of which: quiesce V8 workers', quiesce));
  samples.push(summarize('  of which: MADV_DOFORK re-mark', remark));
  samples.push(summarize('fork+JS body+waitpid', await timeIt(runs, 20, forkJsBody)));
  samples.push(summarize('fork+_exit+waitpidAsync', await timeIt(runs, 20, forkExitWaitAsync)));
  samples.push(summarize('child_process.spawn(/bin/true)', await timeIt(Math.min(runs, 100), 5, spawnTrue)));
  samples.push(summarize('child_process.spawn(node -e 0)', await timeIt(Math.min(runs, 30), 3, spawnNode)));
  return samples;
}

function table(samples: Sample[], baseline: string): string {
  const base = samples.find((s) => s.name === baseline)?.median ?? NaN;
  const rows = samples.map((s) => [
    s.name,
    s.median.toFixed(3),
    s.min.toFixed(3),
    s.max.toFixed(3),
    s.p99.toFixed(3),
    String(s.runs),
    s.name.startsWith(' ') ? '' : `${(s.median / base).toFixed(3)}×`,
  ]);
  const head = ['mechanism', 'median ms', 'min', 'max', 'p99', 'runs', `vs ${baseline}`];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

if (process.argv[1] && /bench[/\\]fork\.[tj]s$/.test(process.argv[1])) {
  const i = process.argv.indexOf('--heap-mb');
  const heapMB = i > 0 ? Number(process.argv[i + 1]) : 0;
  const keep: object[] = [];
  while (v8.getHeapStatistics().used_heap_size < heapMB * 2 ** 20) keep.push(Array.from({ length: 10_000 }, (_, k) => ({ k })));
  const used = Math.round(v8.getHeapStatistics().used_heap_size / 2 ** 20);
  const samples = await measureForkSuite({ runs: heapMB >= 200 ? 50 : 200 });
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ node: process.version, heapMB: used, samples }, null, 2) + '\n');
  } else {
    process.stdout.write(`Node ${process.version}, JS heap ${used} MB, ${keep.length} retained chunks\n`);
    process.stdout.write(table(samples, 'child_process.spawn(node -e 0)') + '\n');
  }
}

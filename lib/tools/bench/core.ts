// The bench framework: result records, statistics, placements, time budgets and the process harnesses that
// every suite (lib/tools/bench/suite-*.ts) shares. A suite runs in a fresh process (lib/tools/bench/index.ts spawns
// `multiproc bench --child --suite NAME`); inside it, every trial forks fresh processes.
import * as posix from '../../posix/index.js';

/** How a figure was obtained: the three ways of one mechanism, plus the comparisons. */
export type Way = 'native' | 'js' | 'api' | 'node' | 'python';
export const WAY_LABEL: Record<Way, string> = {
  native: 'C loop in the addon',
  js: 'JS through the addon',
  api: 'high-level API',
  node: 'Node built-in',
  python: 'Python multiprocessing',
};

export type PlacementName = 'same CPU' | 'different CPUs' | 'unpinned' | 'one process';

export interface Placement {
  name: PlacementName;
  /** The CPU of the first process (the initiator), or null: not pinned. */
  a: number | null;
  /** The CPU of the second process, or null. */
  b: number | null;
}

export type Unit = 'µs' | 'ns' | 'MB/s' | 'msg/s';

/** One figure: a mechanism driven one way in one placement, with every sample. */
export interface Result {
  suite: string;
  /** The mechanism, e.g. "pipe ping-pong"; results of one group compare with each other. */
  group: string;
  way: Way;
  /** What exactly ran, e.g. "posix.read/posix.write, 1 byte". */
  label: string;
  placement: PlacementName;
  unit: Unit;
  /** What one figure is per, e.g. "round trip". */
  per: string;
  better: 'lower' | 'higher';
  /** Every sample (each: the mean over `opsPerSample` operations), in `unit`. */
  samples: number[];
  opsPerSample: number;
  median: number;
  min: number;
  max: number;
  /** The 99th percentile of the samples, when there are at least 20 (latency and process creation). */
  p99?: number;
  /** The group whose native loop is this figure's reference when its own group has none. */
  ref?: string;
  note?: string;
}

/** A part of a suite that could not run: an API that is missing, a tool not installed, a failure. */
export interface Absent {
  suite: string;
  what: string;
  reason: string;
}

export interface SuiteOutput {
  results: Result[];
  absent: Absent[];
}

export interface BenchOptions {
  quick: boolean;
  /** Target wall time of one figure (all its repetitions), ms. */
  budgetMs: number;
  /** Repetitions: fresh processes per figure. */
  reps: number;
  /** Placements for two-process latencies. */
  placements: Placement[];
  /** Restrict groups within suites (substring match), empty: all. */
  only: string[];
}

export interface Suite {
  name: string;
  title: string;
  /** Runs in --quick too. */
  quick: boolean;
  /** null when it can run here, else the reason it cannot. */
  available(): Promise<string | null>;
  run(ctx: Ctx): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// statistics

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

export function summarize(samples: number[], latency: boolean): Pick<Result, 'median' | 'min' | 'max' | 'p99'> {
  const s = [...samples].sort((x, y) => x - y);
  const out: Pick<Result, 'median' | 'min' | 'max' | 'p99'> = { median: quantile(s, 0.5), min: s[0]!, max: s[s.length - 1]! };
  if (latency) out.p99 = quantile(s, 0.99);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// the context a suite runs with

export class Ctx {
  readonly results: Result[] = [];
  readonly absent: Absent[] = [];
  constructor(
    readonly suite: string,
    readonly opts: BenchOptions,
    readonly log: (line: string) => void,
  ) {}

  want(group: string): boolean {
    return this.opts.only.length === 0 || this.opts.only.some((o) => group.toLowerCase().includes(o.toLowerCase()));
  }

  add(r: Omit<Result, 'suite' | 'median' | 'min' | 'max' | 'p99'>): Result {
    const samples = r.samples.filter((x) => Number.isFinite(x) && x > 0);
    if (samples.length !== r.samples.length || samples.length === 0) {
      throw new Error(`${r.group} / ${r.label}: non-positive or non-finite samples ${JSON.stringify(r.samples.slice(0, 8))}`);
    }
    // p99 where there are enough samples for it to mean something (latency: one sample per batch)
    const full: Result = { suite: this.suite, ...r, ...summarize(samples, samples.length >= 20 && r.better === 'lower') };
    this.results.push(full);
    const fmt = formatValue(full.median, full.unit);
    this.log(`  ${full.group} · ${full.way} · ${full.placement}: ${fmt} ${unitText(full)}  (${full.label})`);
    return full;
  }

  missing(what: string, reason: string): void {
    this.absent.push({ suite: this.suite, what, reason });
    this.log(`  ${what}: not available (${reason})`);
  }

  /** Runs one figure's measurement; a failure is recorded as absent (with its reason) and the suite goes on. */
  async attempt(what: string, fn: () => Promise<void> | void): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.missing(what, `failed: ${(e as Error)?.message ?? String(e)}`);
    }
  }
}

/** The unit as shown: µs/round trip, ns/increment, MB/s. */
export function unitText(r: Pick<Result, 'unit' | 'per' | 'better'>): string {
  return r.better === 'higher' ? r.unit : `${r.unit}/${r.per}`;
}

export function formatValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'MB/s' || unit === 'msg/s') return v >= 100 ? Math.round(v).toLocaleString('en') : v.toPrecision(3);
  if (v >= 1000) return Math.round(v).toLocaleString('en');
  if (v >= 100) return v.toFixed(1);
  if (v >= 10) return v.toFixed(2);
  return v.toFixed(3);
}

// ---------------------------------------------------------------------------------------------------------
// placements

/** same CPU, different CPUs (when two are allowed) and unpinned, from this process's allowed CPUs. */
export function defaultPlacements(): Placement[] {
  const cpus = posix.getAffinity(0);
  const out: Placement[] = [{ name: 'same CPU', a: cpus[0]!, b: cpus[0]! }];
  if (cpus.length > 1) out.push({ name: 'different CPUs', a: cpus[0]!, b: cpus[1]! });
  out.push({ name: 'unpinned', a: null, b: null });
  return out;
}

export const UNPINNED: Placement = { name: 'unpinned', a: null, b: null };

/** Pins this thread to `cpu` (null: leaves it) and returns the restore function. */
export function pinSelf(cpu: number | null): () => void {
  if (cpu === null) return () => {};
  const saved = posix.getAffinity(0);
  posix.setAffinity(0, [cpu]);
  return () => posix.setAffinity(0, saved);
}

// ---------------------------------------------------------------------------------------------------------
// time budgets

export const nowNs = (): number => Number(process.hrtime.bigint());

/** Ops per sample so that `samples` samples take about `ms` in all, from a pilot estimate of ns per op. */
export function sizeTo(ms: number, samples: number, nsPerOp: number, min = 1, max = 10_000_000): number {
  const n = Math.floor((ms * 1e6) / samples / Math.max(nsPerOp, 1));
  return Math.max(min, Math.min(max, n));
}

// ---------------------------------------------------------------------------------------------------------
// the two-process harness

/**
 * A two-process loop. open() runs in the parent before each fork; the child side runs `total` rounds in one
 * call; the parent side runs `n` rounds and returns elapsed ns. inChild/inParent close what the side must not
 * keep (so that EOF works); close() releases everything in the parent after the child is reaped.
 */
export interface PairLoop<C> {
  open(): C;
  inChild?(c: C): void;
  inParent?(c: C): void;
  child(c: C, total: number): void;
  parent(c: C, n: number): number;
  close(c: C): void;
}

/** Kills (SIGKILL) and reaps a child of ours that may still run; quiet when it is already gone. */
export function killAndReap(pid: number): void {
  try {
    posix.kill(pid, 'SIGKILL');
  } catch {
    /* already reaped */
  }
  try {
    posix.waitpid(pid);
  } catch {
    /* already reaped */
  }
}

function childMain(body: () => void): never {
  let code = 0;
  try {
    posix.setParentDeathSignal('SIGKILL'); // a partner blocked on a semaphore must not outlive its suite process
    body();
  } catch (e) {
    process.stderr.write(`bench child ${process.pid}: ${(e as Error)?.stack ?? String(e)}\n`);
    code = 1;
  }
  posix.exit(code);
}

/**
 * One trial: forks the child (pinned to placement.b), pins this process to placement.a, runs `warmup`
 * untimed rounds, then `batches` timed batches of `n` rounds. Returns ns per round for each batch.
 */
export function pairTrial<C>(loop: PairLoop<C>, placement: Placement, warmup: number, batches: number, n: number): number[] {
  const c = loop.open();
  let pid = -1;
  try {
    pid = posix.fork();
    if (pid === 0) {
      childMain(() => {
        if (placement.b !== null) posix.setAffinity(0, [placement.b]);
        loop.inChild?.(c);
        loop.child(c, warmup + batches * n);
      });
    }
    loop.inParent?.(c);
    const restore = pinSelf(placement.a);
    const out: number[] = [];
    try {
      if (warmup > 0) loop.parent(c, warmup);
      for (let b = 0; b < batches; b++) out.push(loop.parent(c, n) / n);
    } finally {
      restore();
    }
    const st = posix.waitpid(pid);
    pid = -1;
    if (st.kind !== 'exited' || st.code !== 0) throw new Error(`the partner process ended with ${JSON.stringify(st)}`);
    return out;
  } finally {
    if (pid > 0) killAndReap(pid);
    loop.close(c);
  }
}

/**
 * A latency figure: a pilot trial sizes the batches to the budget, then `reps` trials (fresh child each)
 * of `batches` batches. Samples are µs per round trip, one per batch.
 */
export function pairLatency<C>(ctx: Ctx, loop: PairLoop<C>, placement: Placement): { samples: number[]; opsPerSample: number } {
  const { budgetMs, reps, quick } = ctx.opts;
  const batches = quick ? 10 : 20;
  const pilot = pairTrial(loop, placement, quick ? 50 : 500, 1, quick ? 200 : 2000)[0]!;
  const n = sizeTo(budgetMs, reps * batches, pilot, 20);
  const warmup = Math.max(20, Math.floor(n / 4));
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) samples.push(...pairTrial(loop, placement, warmup, batches, n).map((ns) => ns / 1000));
  return { samples, opsPerSample: n };
}

// ---------------------------------------------------------------------------------------------------------
// the team harness: k processes that start together and run the same loop (contention)

/**
 * Forks one child per placement CPU (null: unpinned), each waits for "go", runs body(i) and reports its start
 * and end (CLOCK_MONOTONIC ns); returns the wall time from the first start to the last end.
 */
export function teamWall(cpus: Array<number | null>, body: (i: number) => void): number {
  const m = posix.mmap(4096);
  const pids: number[] = [];
  try {
    const ready = posix.Semaphore.init(m, 0, 0);
    const go = posix.Semaphore.init(m, 64, 0);
    const times = new Float64Array(m.buffer, 128, 2 * cpus.length);
    for (let i = 0; i < cpus.length; i++) {
      const pid = posix.fork();
      if (pid === 0) {
        childMain(() => {
          const cpu = cpus[i];
          if (cpu !== null && cpu !== undefined) posix.setAffinity(0, [cpu]);
          ready.post();
          go.wait();
          times[2 * i] = nowNs();
          body(i);
          times[2 * i + 1] = nowNs();
        });
      }
      pids.push(pid);
    }
    for (let i = 0; i < cpus.length; i++) if (!ready.timedWait(30_000)) throw new Error('a benchmark child did not start');
    for (let i = 0; i < cpus.length; i++) go.post();
    while (pids.length) {
      const pid = pids[0]!;
      const st = posix.waitpid(pid);
      pids.shift();
      if (st.kind !== 'exited' || st.code !== 0) throw new Error(`benchmark child ${pid} ended with ${JSON.stringify(st)}`);
    }
    let start = Infinity;
    let end = 0;
    for (let i = 0; i < cpus.length; i++) {
      start = Math.min(start, times[2 * i]!);
      end = Math.max(end, times[2 * i + 1]!);
    }
    return end - start;
  } finally {
    for (const pid of pids) killAndReap(pid);
    m.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// per-operation timing in one process (process creation)

/** Times `fn` once per sample after `warmup` calls, until `ms` have passed (at least minSamples, at most max). */
export async function timeEach(
  fn: () => Promise<void> | void,
  opts: { ms: number; warmup: number; minSamples: number; maxSamples: number },
): Promise<number[]> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const out: number[] = [];
  const t0 = performance.now();
  while (out.length < opts.maxSamples && (out.length < opts.minSamples || performance.now() - t0 < opts.ms)) {
    const s = nowNs();
    await fn();
    out.push((nowNs() - s) / 1000);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// the native loops of native/bench.cc, fd.cc and mqueue.cc

/** The loops in C (the native baselines), from the posix layer. */
export const nb = posix;

/** The multiprocessing API (the package's public index), for suites that measure it. */
export async function optionalModule(_rel: string): Promise<Record<string, unknown> | null> {
  return (await import('../../index.js')) as Record<string, unknown>;
}

/** This module's sibling file (.ts under tsx, .js in dist). */
export function sibling(name: string): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, import.meta.url).pathname;
}

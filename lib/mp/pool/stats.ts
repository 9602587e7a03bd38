// A Pool's figures: what stats() returns, the counts it keeps (Tally), and the ring of recent samples its times
// are summarised from.
import { performance } from 'node:perf_hooks';

/** A summary of recent samples, in milliseconds. */
export interface TimeSummary {
  /** Samples taken in all (mean, min and max are over all of them). */
  count: number;
  /** The mean of all samples. */
  mean: number;
  /** The smallest sample. */
  min: number;
  /** The largest sample. */
  max: number;
  /** The median of the recent samples (the last 4096). */
  p50: number;
  /** The 90th percentile of the recent samples. */
  p90: number;
  /** The 99th percentile of the recent samples. */
  p99: number;
}

/** What Pool.stats() returns: counts since the Pool was made, and the state now. */
export interface PoolStats {
  /** The Pool's `processes`: how many workers it keeps. */
  processes: number;
  /** Worker processes alive now (retiring ones included). */
  workers: number;
  /** Tasks (items) that completed. */
  completed: number;
  /**
   * Tasks that threw (their whole chunk), were lost with a dead worker, or were dropped because their call
   * ended first (aborted, failed, terminated; a lazy input's unread rest is not counted).
   */
  failed: number;
  /** Chunks (messages of tasks) whose results or error came back. */
  chunks: number;
  /** Tasks waiting for a worker (known ones: the unread rest of a lazy imap input is not counted). */
  queueLength: number;
  /** Tasks held by workers now. */
  inFlight: number;
  /** Workers that died while holding tasks. */
  workerDeaths: number;
  /** Workers started in all. */
  workersStarted: number;
  /** Per-task run time in the worker (each chunk's time divided by its items; last 4096 chunks). */
  runTime: TimeSummary;
  /**
   * Per-task wait: from being queued (a map's call, or an imap item read from its input) to its result
   * arriving, minus its run time in the worker (last 4096 chunks).
   */
  waitTime: TimeSummary;
}

const RING = 4096;

/** Samples of a time: all of them counted, the last RING kept for percentiles. */
export class Samples {
  readonly #ring = new Float64Array(RING);
  #n = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /** Adds a sample (ms). */
  add(v: number): void {
    this.#ring[this.#n % RING] = v;
    this.#n++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** The summary now (all zeros before the first sample). */
  summary(): TimeSummary {
    if (this.#n === 0) return { count: 0, mean: 0, min: 0, max: 0, p50: 0, p90: 0, p99: 0 };
    const recent = Float64Array.from(this.#ring.subarray(0, Math.min(this.#n, RING))).sort();
    const q = (p: number): number => recent[Math.min(recent.length - 1, Math.floor(p * recent.length))]!;
    return { count: this.#n, mean: this.#sum / this.#n, min: this.#min, max: this.#max, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
  }
}

/** A Pool's counts since it was made and its time samples: all of stats() but the state now. */
export class Tally {
  /** Tasks that completed. */
  completed = 0;
  /** Tasks that failed (see {@link PoolStats.failed}). */
  failed = 0;
  /** Chunks whose results or error came back. */
  chunks = 0;
  /** Workers that died while holding tasks. */
  deaths = 0;
  readonly #runTime = new Samples();
  readonly #waitTime = new Samples();

  /** A chunk of `size` tasks came back after `ms` in its worker; it was queued at `queuedAt` (performance.now()). */
  answered(size: number, ms: number, queuedAt: number): void {
    this.chunks++;
    const perTask = ms / Math.max(1, size);
    this.#runTime.add(perTask);
    this.#waitTime.add(Math.max(0, (performance.now() - queuedAt - ms) / Math.max(1, size)));
  }

  /** What stats() returns: these figures with the state now. */
  stats(now: Pick<PoolStats, 'processes' | 'workers' | 'queueLength' | 'inFlight' | 'workersStarted'>): PoolStats {
    return {
      processes: now.processes,
      workers: now.workers,
      completed: this.completed,
      failed: this.failed,
      chunks: this.chunks,
      queueLength: now.queueLength,
      inFlight: now.inFlight,
      workerDeaths: this.deaths,
      workersStarted: now.workersStarted,
      runTime: this.#runTime.summary(),
      waitTime: this.#waitTime.summary(),
    };
  }
}

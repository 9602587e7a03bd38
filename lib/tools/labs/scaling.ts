// Lab: scaling and load balancing, the course text's "Scalability" and "Load Balancing" measured. One
// CPU-bound job — a serial part (about 10 %: preparing the input, done by the lab itself) and 24 independent
// tasks of uneven size (task i costs i units) — is run:
//   • over k = 1 … cpus+1 worker processes (a Pool, one task at a time), and over k worker threads;
//   • on one async event loop (the tasks interleaved, one after another: concurrency without parallelism);
//   • with static chunks (each of the workers gets one contiguous block of tasks) and dynamically (a worker
//     takes the next task when it is free), on as many processes as there are CPUs.
// Speed-up S = T1 / Tk and efficiency S / k are set against Amdahl's law for the measured serial fraction.
// Every run computes the same checksum; the timings depend on the machine and its load, and are reported as
// measured (never asserted by the tests).
import { Worker } from 'node:worker_threads';
import { cpuCount } from '../../mp/process/context.js';
import { Pool } from '../../mp/pool/pool.js';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, loadAverage } from './common.js';
import { pages } from './pages.js';
import { amdahl, type BalanceRun, renderScalingSvg, type ScalingRun, type TaskRun } from './plot.js';
import { nowMs } from './timeline.js';

const TASKS = 24; // task i (1 … 24) costs i units
const UNIT_MS = 1; // one unit: about this long on one free CPU (calibrated)
const SERIAL_UNITS = 30; // the serial part: 30 of 330 units, about 9 %

/** A fixed amount of CPU work: `n` rounds of integer arithmetic. Self-contained: also sent to worker threads as source. */
function work(n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + i) | 0;
  return h;
}

/**
 * Rounds of work() per millisecond here and now (measured in the lab before any worker exists): after a
 * warm-up that lets the JIT optimise it, the fastest of five timings (slower ones met other programs).
 */
function calibrate(): number {
  for (let i = 0; i < 3; i++) work(1e6);
  const n = 2e6;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = nowMs();
    work(n);
    best = Math.min(best, nowMs() - t);
  }
  return Math.max(1e4, Math.round(n / Math.max(0.01, best)));
}

const cost = (i: number) => i; // units of task i
const checksumOf = (results: number[]) => results.reduce((a, r) => (a + r) | 0, 0);

interface TaskResult {
  i: number;
  r: number;
  pid: number;
  thread: number;
  start: number;
  end: number;
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out } = ctx;
  const cpus = cpuCount();
  const K = cpus + 1;
  const perMs = calibrate();
  const unit = Math.round(perMs * UNIT_MS);
  const serialRounds = SERIAL_UNITS * unit;
  const tasks = Array.from({ length: TASKS }, (_, j) => j + 1);
  const totalUnits = SERIAL_UNITS + tasks.reduce((a, i) => a + cost(i), 0);
  const pools: Pool[] = [];
  ctx.defer(() => {
    for (const p of pools) {
      for (const pid of p.pids) {
        try {
          posix.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
  out.step(`The job: a serial part (${SERIAL_UNITS} units, run by the lab) + ${TASKS} tasks, task i costs i units (${totalUnits} units ≈ ${totalUnits * UNIT_MS} ms on one CPU)`);
  out.say(`${cpus} CPU${cpus === 1 ? '' : 's'} here (this process's affinity), load average ${loadAverage()} (other programs use them too); measured ${perMs.toLocaleString('en-US')} rounds of work per ms.`);

  // The task, as the pool runs it: which process, which thread, when.
  const task = (i: number): TaskResult => {
    const start = nowMs();
    const r = work(cost(i) * unit);
    return { i, r, pid: posix.getpid(), thread: 0, start, end: nowMs() };
  };

  // ---- the sequential baseline: the whole job in the lab, twice (the faster counts: the first may warm up) ----
  const sequential = () => {
    const t0 = nowMs();
    work(serialRounds);
    const serialMs = nowMs() - t0;
    const results = tasks.map(task);
    return { ms: nowMs() - t0, serialMs, checksum: checksumOf(results.map((x) => x.r)) };
  };
  const seqRuns = [sequential(), sequential()];
  const seq = seqRuns[0]!.ms <= seqRuns[1]!.ms ? seqRuns[0]! : seqRuns[1]!;
  const t1 = seq.ms;
  const serialFraction = Math.min(1, seq.serialMs / t1);
  out.say(`T1, the job run sequentially in the lab: ${seqRuns.map((r) => `${r.ms.toFixed(0)} ms`).join(', ')} (the faster counts); its serial part took ${seq.serialMs.toFixed(0)} ms = ${(serialFraction * 100).toFixed(1)} %.`);

  // ---- processes ----
  const procRuns: (ScalingRun & { checksum: number; pids: number[]; serialMs: number })[] = [];
  const balance: BalanceRun[] = [];
  const poolRun = async (k: number, chunkSize: number, hold = false): Promise<{ ms: number; serialMs: number; results: TaskResult[]; mapStart: number }> => {
    const pool = new Pool({ processes: k });
    pools.push(pool);
    try {
      await pool.map(task, Array.from({ length: k }, () => 1), { chunkSize: 1 }); // start the workers (and warm them) first
      for (const pid of pool.pids) if (!ctx.created.includes(pid)) ctx.created.push(pid);
      const t0 = nowMs();
      work(serialRounds); // the serial part
      const serialMs = nowMs() - t0;
      const mapStart = nowMs();
      const results = await pool.map(task, tasks, { chunkSize });
      const ms = nowMs() - t0;
      return { ms, serialMs, results, mapStart };
    } finally {
      if (hold) await ctx.hold(`${k} pool workers idle`, pool.pids);
      pool.close();
      await pool.join();
    }
  };
  out.step(`1. Processes: Pool({ processes: k }).map(task, tasks, { chunkSize: 1 }), k = 1 … ${K}`);
  for (let k = 1; k <= K; k++) {
    const r = await poolRun(k, 1, k === K);
    procRuns.push({ k, ms: r.ms, serialMs: r.serialMs, checksum: checksumOf(r.results.map((x) => x.r)), pids: [...new Set(r.results.map((x) => x.pid))] });
  }

  // ---- static vs dynamic ----
  const kb = Math.max(2, cpus);
  const staticChunk = Math.ceil(TASKS / kb);
  out.step(`2. Load balancing on ${kb} processes: static chunks (chunkSize ${staticChunk}: one block each) vs dynamic (chunkSize 1)`);
  const balanceFacts = [];
  for (const [mode, chunkSize] of [
    ['static', staticChunk],
    ['dynamic', 1],
  ] as const) {
    const r = await poolRun(kb, chunkSize);
    const tasksRel: TaskRun[] = r.results.map((x) => ({ i: x.i, units: cost(x.i), pid: x.pid, start: x.start - r.mapStart, end: x.end - r.mapStart }));
    const makespanMs = Math.max(...tasksRel.map((t) => t.end)); // from the map's start to the end of its last task
    balance.push({ mode, chunkSize, makespanMs, tasks: tasksRel });
    const byPid = [...new Set(tasksRel.slice().sort((a, b) => a.start - b.start).map((t) => t.pid))].map((pid) => {
      const mine = tasksRel.filter((t) => t.pid === pid);
      return {
        pid,
        tasks: mine.map((t) => t.i).sort((a, b) => a - b),
        units: mine.reduce((a, t) => a + t.units, 0),
        busyMs: +mine.reduce((a, t) => a + (t.end - t.start), 0).toFixed(1),
        lastEndMs: +Math.max(...mine.map((t) => t.end)).toFixed(1),
      };
    });
    const units = byPid.map((p) => p.units);
    const imbalance = Math.max(...units) / (units.reduce((a, u) => a + u, 0) / kb);
    balanceFacts.push({ mode, chunkSize, wallMs: +r.ms.toFixed(1), makespanMs: +makespanMs.toFixed(1), checksum: checksumOf(r.results.map((x) => x.r)), imbalance: +imbalance.toFixed(3), workers: byPid });
    out.printTable(
      [`${mode.toUpperCase()} WORKER`, 'TASKS', 'UNITS', 'BUSY', 'LAST TASK ENDS'],
      byPid.map((p) => [String(p.pid), compactRanges(p.tasks), String(p.units), `${p.busyMs.toFixed(0)} ms`, `${p.lastEndMs.toFixed(0)} ms`]),
      ['r', 'l', 'r', 'r', 'r'],
    );
    out.say(`makespan ${makespanMs.toFixed(0)} ms; the busiest worker has ${imbalance.toFixed(2)}× the mean units`);
  }

  // ---- threads ----
  out.step(`3. Worker threads: the same tasks on k = 1 … ${K} worker_threads (each takes the next task when free)`);
  const threadRuns: (ScalingRun & { checksum: number; threads: number[]; pid: number })[] = [];
  for (let k = 1; k <= K; k++) {
    const r = await threadRun(k, tasks, unit, serialRounds);
    threadRuns.push({ k, ms: r.ms, checksum: checksumOf(r.results.map((x) => x.r)), threads: [...new Set(r.results.map((x) => x.thread))], pid: r.results[0]!.pid });
  }

  // ---- one async loop ----
  out.step('4. One async event loop: the tasks as async functions, yielding to the loop between them');
  out.say('await Promise.all(tasks.map(async (i) => { await turnOfTheLoop(); return task(i); }))   — with a 5 ms timer ticking meanwhile');
  const ticks: number[] = [];
  const ticker = setInterval(() => ticks.push(nowMs()), 5);
  const ta = nowMs();
  work(serialRounds);
  const asyncResults = await Promise.all(
    tasks.map(async (i) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return task(i);
    }),
  );
  const asyncMs = nowMs() - ta;
  clearInterval(ticker);
  const asyncThread = asyncResults.every((x) => x.pid === process.pid && x.thread === 0);

  // ---- the numbers ----
  out.step('Speed-up S = T1 / Tk, efficiency S / k, and Amdahl\'s law for the measured serial part');
  const speed = (ms: number) => t1 / ms;
  const rows = [];
  for (let k = 1; k <= K; k++) {
    const p = procRuns[k - 1]!;
    const t = threadRuns[k - 1]!;
    rows.push([String(k), `${p.ms.toFixed(0)} ms`, `${speed(p.ms).toFixed(2)}×`, `${((speed(p.ms) / k) * 100).toFixed(0)} %`, `${t.ms.toFixed(0)} ms`, `${speed(t.ms).toFixed(2)}×`, `${((speed(t.ms) / k) * 100).toFixed(0)} %`, `${amdahl(serialFraction, k).toFixed(2)}×`]);
  }
  rows.push(['1 loop', `${asyncMs.toFixed(0)} ms`, `${speed(asyncMs).toFixed(2)}×`, '', '', '', '', '']);
  out.printTable(['k', 'PROCESSES', 'S', 'E', 'THREADS', 'S', 'E', 'AMDAHL'], rows, ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']);
  const kc = Math.min(cpus, K);
  const sc = speed(procRuns[kc - 1]!.ms);
  const karpFlatt = kc >= 2 ? (1 / sc - 1 / kc) / (1 - 1 / kc) : null;
  out.say(`serial part f = ${(serialFraction * 100).toFixed(1)} % of T1 → Amdahl: at most ${amdahl(serialFraction, kc).toFixed(2)}× on ${kc} workers, never more than ${(1 / serialFraction).toFixed(1)}×.`);
  if (karpFlatt !== null) {
    out.say(
      `Karp–Flatt serial fraction from the measured ${sc.toFixed(2)}× on ${kc} processes: ${(karpFlatt * 100).toFixed(1)} % ` +
        (karpFlatt < 0 ? '(below 0: this run beat a perfect split of T1 — noise from other programs on the machine)' : '(what Amdahl would need to explain the measurement: start-up, communication, other load)'),
    );
  }
  out.say(`one async loop: ${asyncMs.toFixed(0)} ms (${speed(asyncMs).toFixed(2)}×): all tasks ran in this thread, one after another, and the 5 ms timer ran ${ticks.length}× in that time: async functions share one thread, CPU work blocks it.`);

  const checksums = [seq.checksum, ...procRuns.map((r) => r.checksum), ...threadRuns.map((r) => r.checksum), checksumOf(asyncResults.map((x) => x.r)), ...balanceFacts.map((b) => b.checksum)];
  const sameResult = checksums.every((c) => c === checksums[0]);
  const procShape = procRuns.every((r) => r.pids.length >= 1 && r.pids.length <= r.k && !r.pids.includes(ctx.pid));
  const threadShape = threadRuns.every((r) => r.pid === ctx.pid && r.threads.length >= 1 && r.threads.length <= r.k && !r.threads.includes(0));
  const st = balanceFacts[0]!;
  const staticShape = st.workers.every((w) => w.tasks.length > 0 && w.tasks[w.tasks.length - 1]! - w.tasks[0]! === w.tasks.length - 1 && w.tasks.length % staticChunk === 0);
  if (sameResult) out.ok(`the same checksum (${checksums[0]}) in all ${checksums.length} runs`);
  else out.bad(`different checksums: ${checksums.join(', ')}`);
  if (staticShape) out.ok(`static chunks: every worker got whole blocks of ${staticChunk} consecutive tasks`);
  const ok = sameResult && procShape && threadShape && asyncThread && staticShape;
  return {
    ok,
    svg: renderScalingSvg({
      title: 'multiproc demo scaling',
      subtitle: pages.scaling.claim,
      cpus,
      serialFraction,
      processes: procRuns.map(({ k, ms }) => ({ k, ms })),
      threads: threadRuns.map(({ k, ms }) => ({ k, ms })),
      asyncMs,
      t1,
      load: loadAverage(),
      balance,
    }),
    facts: {
      cpus,
      tasks: TASKS,
      units: { total: totalUnits, serial: SERIAL_UNITS, roundsPerUnit: unit },
      serialFraction: +serialFraction.toFixed(4),
      t1Ms: +t1.toFixed(1),
      sequential: seqRuns.map((r) => ({ ms: +r.ms.toFixed(1), serialMs: +r.serialMs.toFixed(1), checksum: r.checksum })),
      processes: procRuns.map((r) => ({ k: r.k, ms: +r.ms.toFixed(1), speedup: +speed(r.ms).toFixed(3), efficiency: +(speed(r.ms) / r.k).toFixed(3), checksum: r.checksum, pids: r.pids })),
      threads: threadRuns.map((r) => ({ k: r.k, ms: +r.ms.toFixed(1), speedup: +speed(r.ms).toFixed(3), efficiency: +(speed(r.ms) / r.k).toFixed(3), checksum: r.checksum, threadIds: r.threads, pid: r.pid })),
      async: { ms: +asyncMs.toFixed(1), speedup: +speed(asyncMs).toFixed(3), checksum: checksumOf(asyncResults.map((x) => x.r)), oneThread: asyncThread, loopTurns: ticks.length },
      amdahl: Array.from({ length: K }, (_, j) => ({ k: j + 1, predicted: +amdahl(serialFraction, j + 1).toFixed(3) })),
      karpFlatt: karpFlatt === null ? null : +karpFlatt.toFixed(4),
      balance: balanceFacts,
      sameResult,
    },
  };
}

/** Runs the job on k worker threads: each gets the next task when it is free. */
async function threadRun(k: number, tasks: number[], unit: number, serialRounds: number): Promise<{ ms: number; results: TaskResult[] }> {
  const src = `
    const { parentPort, threadId } = require('node:worker_threads');
    const work = ${work.toString()};
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    parentPort.on('message', (i) => {
      const start = now();
      const r = work(i * ${unit});
      parentPort.postMessage({ i, r, pid: process.pid, thread: threadId, start, end: now() });
    });`;
  const workers = Array.from({ length: k }, () => new Worker(src, { eval: true }));
  try {
    // Started and warmed before timing: one small task each.
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.postMessage(1);
    })));
    const results: TaskResult[] = [];
    const t0 = nowMs();
    work(serialRounds);
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      const give = (w: Worker) => {
        if (next < tasks.length) w.postMessage(tasks[next++]);
      };
      for (const w of workers) {
        w.on('message', (m: TaskResult) => {
          results.push(m);
          if (results.length === tasks.length) resolve();
          else give(w);
        });
        w.on('error', reject);
        give(w);
      }
    });
    return { ms: nowMs() - t0, results };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** [1,2,3,5,6] → "1–3, 5–6". */
function compactRanges(xs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? String(xs[i]) : `${xs[i]}–${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

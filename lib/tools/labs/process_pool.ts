// Lab: a process pool. Pool.map hands the items to a fixed set of worker processes; each result says which
// worker pid computed it. The same map is then timed with one worker and with one per CPU: the speed-up is
// measured (and depends on how many CPUs are free right now).
import { cpuCount } from '../../mp/process/context.js';
import { Pool } from '../../mp/pool/pool.js';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, loadAverage } from './common.js';
import { nowMs } from './timeline.js';

const ITEMS = 12;
const WORK_MS = 40;

/** A fixed amount of CPU work: `n` rounds of integer arithmetic (the same work whoever runs it). */
function work(n: number): number {
  let h = 0;
  for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + i) | 0;
  return h;
}

/** How many rounds take about `ms` here and now (measured once, in the lab, before any worker starts). */
function calibrate(ms: number): number {
  work(1e5); // warm up (let the JIT compile it)
  const n = 2e6;
  const t = nowMs();
  work(n);
  return Math.max(1e5, Math.round((n * ms) / Math.max(0.01, nowMs() - t)));
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const workers = Math.max(2, cpuCount());
  const items = Array.from({ length: ITEMS }, (_, i) => i + 1);
  const rounds = calibrate(WORK_MS); // every task does exactly this much work, so the timings compare
  const pools: Pool[] = [];
  ctx.defer(() => {
    // Interrupted: the workers die with the lab (kill by pid); the pools are not used again.
    for (const p of pools) for (const pid of p.pids) {
      try {
        posix.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  // The task: square x after a fixed amount of CPU work; say who did it. (x < 0: a warm-up call.)
  const square = (x: number) => {
    if (x < 0) return { x, result: 0, pid: posix.getpid() };
    tl.mark(posix.getpid(), `item ${x}`);
    work(rounds);
    return { x, result: x * x, pid: posix.getpid() };
  };
  const runMap = async (processes: number, label: string) => {
    const pool = new Pool({ processes });
    pools.push(pool);
    // Start the workers (and give them the function) before timing: the timing is the map alone.
    await pool.map(square, Array.from({ length: processes }, () => -1), { chunkSize: 1 });
    const t = nowMs();
    const results = await pool.map(square, items, { chunkSize: 1 });
    const ms = nowMs() - t;
    const pids = [...new Set(results.map((r) => r.pid))];
    for (const pid of pids) {
      ctx.created.push(pid);
      tl.lane(pid, `${label} worker`);
    }
    if (processes > 1) await ctx.hold('pool workers idle', pool.pids);
    pool.close();
    await pool.join();
    return { results, ms, pids };
  };

  out.step(`with Pool({ processes: ${workers} }) as p: p.map(square, [1..${ITEMS}])  (each call: the same CPU work, ~${WORK_MS} ms on one free CPU)`);
  const many = await runMap(workers, 'pool');
  out.printTable(
    ['ITEM', 'RESULT', 'COMPUTED BY PID'],
    many.results.map((r) => [String(r.x), String(r.result), String(r.pid)]),
    ['r', 'r', 'r'],
  );
  out.say(`results in input order: [${many.results.map((r) => r.result).join(', ')}]`);
  const perWorker = many.pids.map((pid) => `${pid}: ${many.results.filter((r) => r.pid === pid).length} items`);
  out.say(`work per worker: ${perWorker.join(', ')}`);

  out.step('The same map with one worker, for comparison');
  const one = await runMap(1, 'single');
  const speedup = one.ms / many.ms;
  out.printTable(
    ['WORKERS', 'WALL TIME', 'SPEED-UP'],
    [
      ['1', `${one.ms.toFixed(0)} ms`, '1.00×'],
      [String(workers), `${many.ms.toFixed(0)} ms`, `${speedup.toFixed(2)}×`],
    ],
    ['r', 'r', 'r'],
  );
  out.say(`${cpuCount()} CPUs here; the speed-up is at most that, less when other programs are busy (load average ${loadAverage()}).`);

  const inOrder = many.results.every((r, i) => r.x === items[i] && r.result === r.x * r.x);
  const ok = inOrder && many.pids.length >= 1 && many.pids.every((pid) => pid !== ctx.pid) && one.pids.length === 1;
  if (ok) out.ok(`${ITEMS} results in order, computed by ${many.pids.length} worker processes (pids ${many.pids.join(', ')})`);
  return {
    ok,
    facts: {
      workers,
      items: many.results.map((r) => ({ x: r.x, result: r.result, pid: r.pid })),
      workerPids: many.pids,
      timing: { oneWorkerMs: +one.ms.toFixed(1), poolMs: +many.ms.toFixed(1), speedup: +speedup.toFixed(2), cpus: cpuCount() },
    },
  };
}

// Lab: a semaphore limits how many processes are inside at once. Five processes start together and each
// wants to spend a while "inside" (a shared resource with two slots). A Semaphore (in shared memory) with
// value 2 lets at most two in; the others sleep in sem_wait until one leaves. Each process timestamps its
// entry and exit; the lab draws the timeline and counts, at every instant, how many were inside.
import * as posix from '../../posix/index.js';
import { Barrier, Semaphore } from '../../mp/sync/index.js';
import { type LabContext, type LabResult, spin } from './common.js';
import { nowMs } from './timeline.js';

const PROCS = 5;
const SLOTS = 2;
const INSIDE_MS = 120;

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const OFF = { words: 0, times: 64 };
  const m = ctx.shared(OFF.times + PROCS * 3 * 8); // what the workers record
  const sem = new Semaphore(SLOTS);
  const start = new Barrier(PROCS);
  ctx.defer(() => {
    sem.close();
    start.close();
  });
  const words = new Int32Array(m.buffer, OFF.words, 2); // [inside now, most inside ever (seen by the processes)]
  const times = new Float64Array(m.buffer, OFF.times, PROCS * 3); // per process: ready, enter, leave

  out.step(`sem = new Semaphore(${SLOTS}); ${PROCS} processes start together; each: sem.acquire(); inside ${INSIDE_MS} ms; sem.release()`);
  const pids = ctx.forkEach(
    PROCS,
    'worker',
    (k) => {
      const me = posix.getpid();
      start.waitSync();
      times[k * 3] = nowMs();
      tl.state(me, 'blocked');
      sem.acquireSync();
      times[k * 3 + 1] = nowMs();
      tl.state(me, 'running');
      tl.mark(me, 'enters');
      const now = Atomics.add(words, 0, 1) + 1;
      for (let seen = Atomics.load(words, 1); now > seen; seen = Atomics.load(words, 1)) {
        if (Atomics.compareExchange(words, 1, seen, now) === seen) break;
      }
      spin(INSIDE_MS); // "using the resource" (CPU-bound: R in /proc)
      Atomics.sub(words, 0, 1);
      times[k * 3 + 2] = nowMs();
      tl.mark(me, 'leaves');
      sem.release();
      return 0;
    },
    { title: 'sem-worker' },
  );
  const statuses = await ctx.reapAll(pids);

  // Intervals from the timestamps each process took; the most that overlapped at any instant.
  const iv = pids.map((pid, k) => ({ k, pid, ready: times[k * 3]!, enter: times[k * 3 + 1]!, leave: times[k * 3 + 2]! }));
  const points = iv.flatMap((x) => [
    { t: x.enter, d: +1 },
    { t: x.leave, d: -1 },
  ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d); // a leave before an enter at the same instant
  let inside = 0;
  let maxInside = 0;
  for (const p of points) maxInside = Math.max(maxInside, (inside += p.d));

  out.step('Timeline (each process timestamped its own wait, entry and exit)');
  const t0 = Math.min(...iv.map((x) => x.ready));
  const t1 = Math.max(...iv.map((x) => x.leave));
  const COLS = 64;
  const rows = iv.map((x) => {
    const cells = Array.from({ length: COLS }, (_, c) => {
      const mid = t0 + ((c + 0.5) / COLS) * (t1 - t0);
      if (mid >= x.enter && mid < x.leave) return '█';
      if (mid >= x.ready && mid < x.enter) return '·';
      return ' ';
    });
    return [`worker ${x.k + 1}`, String(x.pid), out.paint('green', cells.join('').replace(/·+/g, (d) => out.paint('yellow', d)))];
  });
  const count = Array.from({ length: COLS }, (_, c) => {
    const mid = t0 + ((c + 0.5) / COLS) * (t1 - t0);
    return String(iv.filter((x) => mid >= x.enter && mid < x.leave).length);
  }).join('');
  rows.push(['inside', '', count]);
  out.printTable(['PROCESS', 'PID', `${'0 ms'.padEnd(COLS - 8)}${Math.round(t1 - t0)} ms`], rows, ['l', 'r', 'l']);
  out.say(`${out.paint('green', '█')} inside   ${out.paint('yellow', '·')} waiting in acquire() (sleeping)`);
  out.say(`most inside at any instant: ${out.paint('bold', String(maxInside))} (from the timestamps); ${Atomics.load(words, 1)} (counted by the processes themselves)`);
  const ok = maxInside === SLOTS && Atomics.load(words, 1) <= SLOTS && statuses.every((s) => s.kind === 'exited' && s.code === 0);
  if (ok) out.ok(`never more than ${SLOTS} inside, and the ${SLOTS} slots were used`);
  return {
    ok,
    facts: {
      slots: SLOTS,
      processes: PROCS,
      maxInside,
      maxInsideCounted: Atomics.load(words, 1),
      intervals: iv.map((x) => ({ pid: x.pid, waitedMs: +(x.enter - x.ready).toFixed(3), enterMs: +(x.enter - t0).toFixed(3), leaveMs: +(x.leave - t0).toFixed(3) })),
    },
  };
}

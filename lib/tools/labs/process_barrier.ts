// Lab: a barrier. Four processes work in three phases, each phase taking a different, random time per
// process. After each phase every process waits on a process-shared barrier; none starts phase k+1 before
// all have finished phase k. Each process timestamps its phase starts and its arrivals at the barrier, and
// the barrier's action (which runs in the last process to arrive, before anyone is released) timestamps the
// opening; the lab checks the rule on those times and draws the phases, each opening where it happened.
import * as posix from '../../posix/index.js';
import { Barrier } from '../../mp/sync/index.js';
import { type LabContext, type LabResult, spin } from './common.js';
import { nowMs } from './timeline.js';

const PROCS = 4;
const PHASES = 3;

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const m = ctx.shared(PROCS * PHASES * 2 * 8 + PHASES * 8 + 64);
  // per process, per phase: [start, arrive]; per phase: when the barrier opened, and in which process
  const times = new Float64Array(m.buffer, 0, PROCS * PHASES * 2);
  const opened = new Float64Array(m.buffer, PROCS * PHASES * 2 * 8, PHASES);
  const openers = new Int32Array(m.buffer, PROCS * PHASES * 2 * 8 + PHASES * 8, PHASES + 1); // [cycle, pid per phase]
  const at = (k: number, ph: number, which: 0 | 1) => k * PHASES * 2 + ph * 2 + which;
  // The action runs in the process whose arrival completes the cycle, under the barrier's lock, before any
  // waiter is released: the moment the barrier opens.
  const barrier = new Barrier(PROCS, {
    action: () => {
      const cycle = Atomics.add(openers, 0, 1);
      opened[cycle] = nowMs();
      Atomics.store(openers, cycle + 1, posix.getpid());
      tl.record('sync', posix.getpid(), { label: `barrier ${cycle + 1} opens` });
    },
  });
  ctx.defer(() => barrier.close());

  out.step(`barrier = new Barrier(${PROCS}); each process: for phase in 1..${PHASES}: work (random 20–150 ms); barrier.wait()`);
  const pids = ctx.forkEach(
    PROCS,
    'worker',
    (k) => {
      const me = posix.getpid();
      for (let ph = 0; ph < PHASES; ph++) {
        times[at(k, ph, 0)] = nowMs();
        tl.state(me, 'running');
        tl.mark(me, `phase ${ph + 1}`);
        spin(20 + Math.floor(Math.random() * 130)); // the work of this phase (CPU-bound: R in /proc)
        times[at(k, ph, 1)] = nowMs();
        tl.state(me, 'blocked');
        barrier.waitSync();
      }
      tl.state(me, 'running');
      return 0;
    },
    { title: 'barrier-worker' },
  );
  const statuses = await ctx.reapAll(pids);

  // The rule, checked on the processes' own timestamps.
  const checks = [];
  for (let ph = 0; ph + 1 < PHASES; ph++) {
    const lastArrival = Math.max(...pids.map((_, k) => times[at(k, ph, 1)]!));
    const firstNextStart = Math.min(...pids.map((_, k) => times[at(k, ph + 1, 0)]!));
    const opens = opened[ph]!;
    const openedBy = pids.indexOf(openers[ph + 1]!);
    checks.push({ phase: ph + 1, lastArrival, opens, openedBy, firstNextStart, ok: lastArrival <= opens && opens <= firstNextStart });
  }
  const t0 = Math.min(...pids.map((_, k) => times[at(k, 0, 0)]!));
  const t1 = Math.max(...pids.map((_, k) => times[at(k, PHASES - 1, 1)]!));
  const COLS = 66;
  const rows = pids.map((pid, k) => {
    const cells = Array.from({ length: COLS }, (_, c) => {
      const mid = t0 + ((c + 0.5) / COLS) * (t1 - t0);
      for (let ph = PHASES - 1; ph >= 0; ph--) {
        if (mid >= times[at(k, ph, 0)]!) return mid < times[at(k, ph, 1)]! ? String(ph + 1) : '·';
      }
      return ' ';
    });
    return [`worker ${k + 1}`, String(pid), cells.join('').replace(/·+/g, (d) => out.paint('yellow', d)).replace(/[0-9]+/g, (d) => out.paint('green', d))];
  });
  // Barrier openings (timed by the barrier's action), marked under the lanes.
  const marks = Array.from({ length: COLS }, () => ' ');
  for (const c of checks) marks[Math.max(0, Math.min(COLS - 1, Math.floor(((c.opens - t0) / (t1 - t0)) * COLS)))] = '▲';
  rows.push(['barrier', '', marks.join('')]);
  out.step('Timeline (digits: working in that phase; · waiting at the barrier; ▲ the barrier opens)');
  out.printTable(['PROCESS', 'PID', `${'0 ms'.padEnd(COLS - 8)}${Math.round(t1 - t0)} ms`], rows, ['l', 'r', 'l']);
  out.printTable(
    ['PHASE', 'LAST ARRIVAL', 'BARRIER OPENS', 'OPENED BY', 'FIRST START OF NEXT PHASE', 'RULE'],
    checks.map((c) => [
      String(c.phase),
      `${(c.lastArrival - t0).toFixed(2)} ms`,
      `${(c.opens - t0).toFixed(2)} ms`,
      `worker ${c.openedBy + 1}`,
      `${(c.firstNextStart - t0).toFixed(2)} ms`,
      c.ok ? out.paint('green', 'kept') : out.paint('red', 'BROKEN'),
    ]),
    ['r', 'r', 'r', 'l', 'r', 'l'],
  );
  out.say('The opening is timed by the barrier\'s action: it runs in the last process to arrive, before any waiter is released.');
  const ok = checks.every((c) => c.ok) && statuses.every((s) => s.kind === 'exited' && s.code === 0) && Atomics.load(openers, 0) === PHASES;
  if (ok) out.ok('every process reached each barrier before it opened, and it opened before any process started the next phase');
  return {
    ok,
    facts: {
      processes: PROCS,
      phases: PHASES,
      checks: checks.map((c) => ({
        phase: c.phase,
        lastArrivalMs: +(c.lastArrival - t0).toFixed(3),
        opensMs: +(c.opens - t0).toFixed(3),
        openedBy: pids[c.openedBy] ?? null,
        firstNextStartMs: +(c.firstNextStart - t0).toFixed(3),
        ok: c.ok,
      })),
      openings: Array.from({ length: Atomics.load(openers, 0) }, (_, ph) => ({ phase: ph + 1, opensMs: +(opened[ph]! - t0).toFixed(3), openedBy: openers[ph + 1]! })),
      perProcess: pids.map((pid, k) => ({
        pid,
        phases: Array.from({ length: PHASES }, (_, ph) => ({ startMs: +(times[at(k, ph, 0)]! - t0).toFixed(3), arriveMs: +(times[at(k, ph, 1)]! - t0).toFixed(3) })),
      })),
    },
  };
}

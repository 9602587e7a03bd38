// Lab: a barrier. Four processes work in three phases, each phase taking a different, random time per
// process. After each phase every process waits on a process-shared barrier; none starts phase k+1 before
// all have finished phase k. Each process timestamps its phase starts and its arrivals at the barrier; the
// lab checks the rule on those times and draws the phases.
import * as posix from '../posix/index.js';
import { Barrier } from '../sync.js';
import { type Lab, type LabContext, spin } from './common.js';
import { nowMs } from './timeline.js';

const PROCS = 4;
const PHASES = 3;

const lab: Lab = {
  name: 'process_barrier',
  summary: 'a barrier: 4 processes, 3 phases; nobody starts phase k+1 before all finished phase k',
  claim: 'every process reaches the barrier after phase k before any process starts phase k+1',
  async run(ctx: LabContext) {
    const { out, timeline: tl } = ctx;
    const m = ctx.shared(PROCS * PHASES * 2 * 8);
    const barrier = new Barrier(PROCS);
    ctx.defer(() => barrier.close());
    // per process, per phase: [start, arrive]
    const times = new Float64Array(m.buffer, 0, PROCS * PHASES * 2);
    const at = (k: number, ph: number, which: 0 | 1) => k * PHASES * 2 + ph * 2 + which;

    out.step(`barrier = new Barrier(${PROCS}); each process: for phase in 1..${PHASES}: work (random 20–150 ms); barrier.wait()`);
    const pids: number[] = [];
    for (let k = 0; k < PROCS; k++) {
      pids.push(
        ctx.fork(
          `worker ${k + 1}`,
          () => {
            const me = posix.getpid();
            for (let ph = 0; ph < PHASES; ph++) {
              times[at(k, ph, 0)] = nowMs();
              tl.state(me, 'running');
              tl.mark(me, `phase ${ph + 1}`);
              spin(20 + Math.floor(Math.random() * 130)); // the work of this phase (CPU-bound: R in /proc)
              times[at(k, ph, 1)] = nowMs();
              tl.state(me, 'blocked');
              if (barrier.waitSync() === 0) tl.record('sync', me, { label: `barrier ${ph + 1} opens` }); // index 0: one process per cycle
            }
            tl.state(me, 'running');
            return 0;
          },
          { title: `barrier-worker-${k + 1}` },
        ),
      );
    }
    const statuses: posix.WaitStatus[] = [];
    for (const p of pids) statuses.push(await ctx.reap(p));

    // The rule, checked on the processes' own timestamps.
    const checks = [];
    for (let ph = 0; ph + 1 < PHASES; ph++) {
      const lastArrival = Math.max(...pids.map((_, k) => times[at(k, ph, 1)]!));
      const firstNextStart = Math.min(...pids.map((_, k) => times[at(k, ph + 1, 0)]!));
      checks.push({ phase: ph + 1, lastArrival, firstNextStart, ok: lastArrival <= firstNextStart });
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
    // Barrier openings: the first start of the next phase, marked under the lanes.
    const marks = Array.from({ length: COLS }, () => ' ');
    for (const c of checks) marks[Math.min(COLS - 1, Math.floor(((c.firstNextStart - t0) / (t1 - t0)) * COLS))] = '▲';
    rows.push(['barrier', '', marks.join('')]);
    out.step('Timeline (digits: working in that phase; · waiting at the barrier; ▲ the barrier opens)');
    out.printTable(['PROCESS', 'PID', `${'0 ms'.padEnd(COLS - 8)}${Math.round(t1 - t0)} ms`], rows, ['l', 'r', 'l']);
    out.printTable(
      ['PHASE', 'LAST ARRIVAL AT BARRIER', 'FIRST START OF NEXT PHASE', 'RULE'],
      checks.map((c) => [String(c.phase), `${(c.lastArrival - t0).toFixed(2)} ms`, `${(c.firstNextStart - t0).toFixed(2)} ms`, c.ok ? out.paint('green', 'kept') : out.paint('red', 'BROKEN')]),
      ['r', 'r', 'r', 'l'],
    );
    const ok = checks.every((c) => c.ok) && statuses.every((s) => s.kind === 'exited' && s.code === 0);
    if (ok) out.ok('every process reached each barrier before any process started the next phase');
    return {
      ok,
      facts: {
        processes: PROCS,
        phases: PHASES,
        checks: checks.map((c) => ({ phase: c.phase, lastArrivalMs: +(c.lastArrival - t0).toFixed(3), firstNextStartMs: +(c.firstNextStart - t0).toFixed(3), ok: c.ok })),
        perProcess: pids.map((pid, k) => ({
          pid,
          phases: Array.from({ length: PHASES }, (_, ph) => ({ startMs: +(times[at(k, ph, 0)]! - t0).toFixed(3), arriveMs: +(times[at(k, ph, 1)]! - t0).toFixed(3) })),
        })),
      },
    };
  },
};

export default lab;

// Lab: the deadlock. Process A takes R1 then R2; process B takes R2 then R1. Both hold their first lock
// (a barrier makes sure of it) and block on the second: a cycle in the wait-for graph. Every process
// records in shared memory what it holds and what it waits for, so the lab builds the real graph and finds
// the cycle (no timeout guessing), confirms in /proc that both sleep in the kernel (futex), breaks the cycle
// by killing one process (its robust mutex passes to the waiter), and then runs the fix: one global lock
// order, which completes.
import * as posix from '../../posix/index.js';
import { beside, type LabContext, type LabResult, printProcTable, procRow, until, wchan } from './common.js';

const RES = ['R1', 'R2'] as const;

// Per-process record in shared memory (Int32 words): pid, holds (bit mask of RES), wants (0 none, i+1), done.
const REC = 4;
const PID = 0;
const HOLDS = 1;
const WANTS = 2;
const DONE = 3;

interface Edge {
  from: string;
  fromPid: number;
  to: string;
  toPid: number;
  resource: string;
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const { SIZEOF } = posix;
  // layout: R1, R2 (mutexes), a barrier, then the fix's two mutexes and barrier, then the records
  const off = { r1: 0, r2: 64, bar: 128, f1: 256, f2: 320, fbar: 384, rec: 512 };
  if (SIZEOF.mutex > 64 || SIZEOF.barrier > 128) throw new Error('unexpected pthread object sizes');
  const m = ctx.shared(4096);
  const w = new Int32Array(m.buffer, off.rec, 2 * REC);
  const locks = [posix.Mutex.init(m, off.r1), posix.Mutex.init(m, off.r2)];
  const start = posix.Barrier.init(m, off.bar, 2);
  ctx.defer(() => {
    for (const l of locks) l.destroy();
    start.destroy();
  });

  out.step('Two processes, two locks, opposite order');
  out.say('Process A: lock(R1) … lock(R2)        Process B: lock(R2) … lock(R1)');
  out.say('Each records in shared memory what it holds and what it waits for, before and after every lock call.');

  const worker = (slot: number, first: number, second: number) => () => {
    const me = posix.getpid();
    const rec = slot * REC;
    Atomics.store(w, rec + PID, me);
    Atomics.store(w, rec + WANTS, first + 1);
    locks[first]!.lock();
    Atomics.store(w, rec + WANTS, 0);
    Atomics.or(w, rec + HOLDS, 1 << first);
    tl.mark(me, `holds ${RES[first]}`);
    tl.state(me, 'blocked');
    start.wait(); // both now hold their first lock
    tl.state(me, 'running');
    Atomics.store(w, rec + WANTS, second + 1);
    tl.state(me, 'blocked');
    process.removeAllListeners('warning'); // the owner-died warning: reported below instead
    locks[second]!.lock(); // blocks: the other process holds it
    tl.state(me, 'running');
    const inherited = locks[second]!.ownerDied;
    Atomics.store(w, rec + WANTS, 0);
    Atomics.or(w, rec + HOLDS, 1 << second);
    tl.mark(me, `got ${RES[second]}${inherited ? ' (owner died)' : ''}`);
    locks[second]!.unlock();
    locks[first]!.unlock();
    Atomics.store(w, rec + HOLDS, 0);
    Atomics.store(w, rec + DONE, inherited ? 2 : 1);
    return 0;
  };
  const names = ['Process A', 'Process B'];
  const a = ctx.fork(names[0]!, worker(0, 0, 1), { title: 'deadlock-A' });
  const b = ctx.fork(names[1]!, worker(1, 1, 0), { title: 'deadlock-B' });
  const pids = [a, b];
  out.say(`Process A = pid ${a}, Process B = pid ${b}`);

  // ---- detection: build the wait-for graph from what the processes recorded ----
  const graph = (): Edge[] => {
    const edges: Edge[] = [];
    for (let i = 0; i < 2; i++) {
      const wants = Atomics.load(w, i * REC + WANTS);
      if (!wants) continue;
      const r = wants - 1;
      for (let j = 0; j < 2; j++) {
        if (j !== i && Atomics.load(w, j * REC + HOLDS) & (1 << r)) {
          edges.push({ from: names[i]!, fromPid: pids[i]!, to: names[j]!, toPid: pids[j]!, resource: RES[r]! });
        }
      }
    }
    return edges;
  };
  const findCycle = (edges: Edge[]): Edge[] | null => {
    // follow "waits for" edges from each node; a node seen twice closes a cycle
    for (const e0 of edges) {
      const path: Edge[] = [];
      const seen = new Set<number>();
      let e: Edge | undefined = e0;
      while (e && !seen.has(e.fromPid)) {
        seen.add(e.fromPid);
        path.push(e);
        const next: number = e.toPid;
        e = edges.find((x) => x.fromPid === next);
      }
      if (e) return path.slice(path.findIndex((x) => x.fromPid === e!.fromPid));
    }
    return null;
  };
  out.step('The lab watches the wait-for graph');
  let cycle: Edge[] | null = null;
  const found = await until(() => (cycle = findCycle(graph())) !== null, 5000);
  // Both must really be asleep in the kernel on the lock (a futex wait), not about to call it.
  const asleep =
    found && (await until(() => pids.every((p) => posix.processInfo(p)?.state === 'sleeping' && /futex|^$/.test(wchan(p) ?? '')), 3000));
  if (found && cycle) {
    for (const e of cycle as Edge[]) tl.record('waitfor', e.fromPid, { peer: e.toPid, label: e.resource });
    tl.mark(ctx.pid, 'cycle detected');
  }
  // Let it stand a moment: nobody makes progress (the records do not change).
  const snapshot = Array.from(w).join();
  await ctx.pause(300);
  const noProgress = Array.from(w).join() === snapshot;
  const rows = [procRow(a, 'Process A'), procRow(b, 'Process B')];
  const stillCycle = findCycle(graph());
  if (!found || !cycle || !stillCycle) {
    out.bad('no cycle appeared in the wait-for graph');
    return { ok: false, facts: { cycleFound: false } };
  }
  const cyc: Edge[] = cycle;
  tl.mark(ctx.pid, noProgress ? 'no progress in 300 ms' : 'progress (!)');
  printProcTable(out, rows, 'Both processes in /proc:');
  out.say(`Wait-for edges (from the shared records): ${cyc.map((e) => `${e.from} → ${e.to} (wants ${e.resource})`).join(', ')}`);
  out.line();
  const hold = (i: number) => RES.filter((_, r) => Atomics.load(w, i * REC + HOLDS) & (1 << r)).join(', ');
  const want = (i: number) => RES[Atomics.load(w, i * REC + WANTS) - 1] ?? '-';
  const card = (i: number) => out.box([`${names[i]} ${pids[i]}`, `Holds ${hold(i)}`, `Waiting: ${want(i)}`]);
  out.block(beside([card(0), card(1)], '', ['', '', '', ' <──────> ', '']));
  out.line();
  out.say(out.paint(['bold', 'red'], `DEADLOCK: ${cyc[0]!.from}${cyc.map((e) => ` ─waits for ${e.resource}─▶ ${e.to}`).join('')}  (a cycle of ${cyc.length})`));
  out.say('All four conditions hold: mutual exclusion, hold and wait, no preemption, circular wait.');
  out.say(`In the 300 ms the lab watched, neither process made progress: ${noProgress ? 'nothing in the records changed' : 'the records changed (!)'}.`);
  await ctx.hold('deadlocked', pids);

  // ---- recovery: kill one process of the cycle; its robust mutex passes to the waiter ----
  out.step('Breaking the cycle: the lab kills one process in it (B)');
  tl.record('signal', ctx.pid, { peer: b, label: 'SIGKILL' });
  posix.kill(b, 'SIGKILL');
  const sb = await ctx.reap(b);
  const sa = await ctx.reap(a);
  const aDone = Atomics.load(w, 0 * REC + DONE);
  out.say(`kill(${b}, SIGKILL) → B: ${sb.kind === 'signaled' ? `killed by ${sb.signal}` : sb.kind}`);
  out.say(`The kernel released B's robust mutex R2 (EOWNERDEAD): A acquired it${aDone === 2 ? ', saw ownerDied = true,' : ''} finished and ${sa.kind === 'exited' ? `exited ${sa.code}` : sa.kind}.`);
  const broken = sb.kind === 'signaled' && sa.kind === 'exited' && sa.code === 0 && aDone === 2;

  // ---- the fix: a global lock order (always R1 before R2) ----
  out.step('The fix: every process takes the locks in one global order (R1, then R2)');
  const fixLocks = [posix.Mutex.init(m, off.f1), posix.Mutex.init(m, off.f2)];
  const fixStart = posix.Barrier.init(m, off.fbar, 2);
  ctx.defer(() => {
    for (const l of fixLocks) l.destroy();
    fixStart.destroy();
  });
  const ROUNDS = 2000;
  const ordered = (label: string) => () => {
    const me = posix.getpid();
    fixStart.wait();
    tl.mark(me, `${ROUNDS}× lock R1, R2`);
    for (let k = 0; k < ROUNDS; k++) {
      fixLocks[0]!.lock();
      fixLocks[1]!.lock();
      fixLocks[1]!.unlock();
      fixLocks[0]!.unlock();
    }
    tl.mark(me, `${label} done`);
    return 0;
  };
  const fa = ctx.fork("Process A'", ordered("A'"), { title: 'ordered-A' });
  const fb = ctx.fork("Process B'", ordered("B'"), { title: 'ordered-B' });
  const [sfa, sfb] = [await ctx.reap(fa, 10_000), await ctx.reap(fb, 10_000)];
  const fixed = sfa.kind === 'exited' && sfa.code === 0 && sfb.kind === 'exited' && sfb.code === 0;
  out.say(`A' (pid ${fa}) and B' (pid ${fb}) each took R1 then R2 ${ROUNDS} times, contending: both ${fixed ? 'exited 0' : 'did NOT finish'}.`);
  out.say('With one order nobody can hold a later lock while waiting for an earlier one: no cycle is possible.');

  if (found && asleep) out.ok('the cycle was found in the wait-for graph while both slept on the locks');
  if (broken) out.ok('killing one process of the cycle let the other finish');
  if (fixed) out.ok('with a global lock order both processes finished');
  return {
    ok: Boolean(found && asleep && broken && fixed),
    facts: {
      processes: [
        { name: 'A', pid: a, order: ['R1', 'R2'] },
        { name: 'B', pid: b, order: ['R2', 'R1'] },
      ],
      cycleFound: true,
      cycle: cyc.map((e) => ({ from: e.fromPid, to: e.toPid, waitsFor: e.resource })),
      procStates: rows.map((r) => ({ pid: r.pid, state: r.state, wchan: r.wchan ?? null })),
      bothAsleep: asleep,
      noProgressFor300ms: noProgress,
      victim: b,
      victimStatus: sb,
      survivorStatus: sa,
      survivorSawOwnerDied: aDone === 2,
      fix: { order: ['R1', 'R2'], rounds: ROUNDS, statuses: [sfa, sfb], completed: fixed },
    },
  };
}

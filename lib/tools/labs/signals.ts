// Lab: signals, the course text's "simple notifications sent to a process". Four children, one per lesson:
//   1. handlers — a child installs handlers with sigaction: SIGUSR1 caught (a handler runs per delivery, and
//      sees who sent it), SIGTERM ignored (SIG_IGN: nothing happens), SIGUSR2 caught once (SA_RESETHAND: the
//      second SIGUSR2 meets the default action and kills it). /proc shows the dispositions (SigCgt, SigIgn).
//   2. stop and continue — SIGSTOP freezes a busy child: state T in /proc and ps, waitpid(WUNTRACED) reports
//      it stopped, its work counter stands still; SIGCONT resumes it (waitpid(WCONTINUED)).
//   3. blocked signals — a child blocks SIGUSR1 and SIGRTMIN (sigprocmask); the lab sends each three times.
//      They wait as pending (sigpending, ShdPnd in /proc); when the child unblocks them they are delivered
//      inside that sigprocmask call: SIGUSR1 once (a standard signal is one pending bit), SIGRTMIN three times
//      in order, with the values sigqueue sent (real-time signals queue).
//   4. SIGCHLD — a parent blocks SIGCHLD, forks five children, lets three exit at once while SIGCHLD is still
//      blocked and the other two later, and sleeps in sigsuspend; each time its handler has run it reaps with
//      waitpid(WNOHANG) until nothing is left to reap. The three exits made one SIGCHLD: signals do not count.
// The handlers are the posix layer's native recording handler: a JS function cannot run inside a signal
// handler; the child reads what was recorded (signal, sender, si_code, value, time) after the fact.
// A forked child has one thread, so its signal mask is the process's, as in C.
import { readdirSync } from 'node:fs';
import * as posix from '../../posix/index.js';
import { describeStatus, type LabContext, type LabResult, printProcTable, procRow, ps, psCommand, sleep, sleepSync, spin, until } from './common.js';
import { nowMs } from './timeline.js';

// shared words
const H_READY = 0;
const H_DONE = 1;
const S_COUNT = 2;
const S_DONE = 3;
const B_READY = 4;
const B_GO = 5;
const P_KIDS = 6; // how many pids follow at P_KID0
const P_KID0 = 8;
const H_COUNT = 16; // + signal number: deliveries the handler child has seen, per signal
// mailbox slots
const M_HANDLER = 0;
const M_BLOCKED = 1;
const M_SIGCHLD = 2;

const P_GO = 7; // the SIGCHLD children may exit
const CHILD_DELAYS = [0, 0, 0, 60, 120]; // ms after the go before each SIGCHLD child exits; the first three together

interface Delivery {
  signal: string;
  code: string;
  pid: number;
  value: number;
  time: number;
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const w = new Int32Array(ctx.shared(4096).buffer);
  const mail = ctx.mailbox(3);
  const watchdog = ctx.watchdogMs;
  ctx.becomeSubreaper(); // SIGCHLD's grandchildren come to the lab if their parent dies first (Ctrl-C)
  const signalOnPicture = (to: number, label: string) => tl.record('signal', ctx.pid, { peer: to, label });

  // ---- 1. handlers ----
  out.step('1. Handlers: sigaction() in a child — SIGUSR1 caught, SIGTERM ignored, SIGUSR2 caught once (SA_RESETHAND)');
  const h = ctx.fork(
    'handlers',
    () => {
      const me = posix.getpid();
      posix.sigaction('SIGUSR1', 'record', { restart: true });
      posix.sigaction('SIGTERM', 'ignore');
      posix.sigaction('SIGUSR2', 'record', { resetHand: true });
      Atomics.store(w, H_READY, 1);
      tl.state(me, 'sleeping');
      const deliveries: Delivery[] = [];
      let seq = 0;
      const start = Date.now();
      while (Atomics.load(w, H_DONE) === 0 && Date.now() - start < watchdog) {
        posix.sigsuspend([], 50); // asleep (S) until a handler has run
        for (const r of posix.signalRecords(seq)) {
          deliveries.push({ signal: r.signal, code: r.code, pid: r.pid, value: r.value, time: r.time });
          tl.mark(me, `handler: ${r.signal} (${r.code}${r.value ? ` ${r.value}` : ''})`, r.time);
          Atomics.add(w, H_COUNT + posix.signalNumber(r.signal), 1);
        }
        seq = posix.signalSeq();
        mail.put(M_HANDLER, deliveries);
      }
      return 0;
    },
    { title: 'signals-handlers' },
  );
  if (!(await until(() => Atomics.load(w, H_READY) === 1))) throw new Error('the handler child did not start');
  const masks0 = posix.signalMasks(h)!;
  out.say(`child ${h}: /proc/${h}/status SigCgt (caught) = ${masks0.caught.join(' ')}`);
  out.say(`${' '.repeat(String(h).length + 8)}SigIgn (ignored) = ${masks0.ignored.join(' ')}`);
  const nodes = masks0.caught.filter((x) => x !== 'SIGUSR1' && x !== 'SIGUSR2');
  if (nodes.length) out.say(out.paint('dim', `(${nodes.join(', ')}: Node's and the C library's own handlers, inherited through fork)`));
  const seen = (sig: string) => Atomics.load(w, H_COUNT + posix.signalNumber(sig));
  const send = async (how: 'kill' | 'sigqueue', sig: string, value = 0): Promise<boolean> => {
    const before = seen(sig);
    signalOnPicture(h, how === 'kill' ? sig : `${sig} (value ${value})`);
    if (how === 'kill') posix.kill(h, sig);
    else posix.sigqueue(h, sig, value);
    return until(() => seen(sig) > before, 3000);
  };
  const usr1a = await send('kill', 'SIGUSR1');
  const usr1b = await send('sigqueue', 'SIGUSR1', 42);
  signalOnPicture(h, 'SIGTERM (ignored)');
  posix.kill(h, 'SIGTERM');
  await sleep(100);
  const afterTerm = procRow(h, 'handlers');
  const usr2a = await send('kill', 'SIGUSR2');
  const masks1 = posix.signalMasks(h)!;
  signalOnPicture(h, 'SIGUSR2 again');
  posix.kill(h, 'SIGUSR2');
  const hs = await ctx.reap(h);
  const deliveries = mail.get<Delivery[]>(M_HANDLER) ?? [];
  out.printTable(
    ['SENT BY THE LAB', 'WHAT THE CHILD RECORDED'],
    [
      ['kill(SIGUSR1)', usr1a ? describeDelivery(deliveries[0]) : out.paint('red', 'nothing')],
      ['sigqueue(SIGUSR1, 42)', usr1b ? describeDelivery(deliveries[1]) : out.paint('red', 'nothing')],
      ['kill(SIGTERM)', afterTerm.state === 'gone' ? out.paint('red', 'it died') : `nothing: ignored; the child is still there (${afterTerm.stat})`],
      ['kill(SIGUSR2)', usr2a ? `${describeDelivery(deliveries[2])}; SIGUSR2 now ${masks1.caught.includes('SIGUSR2') ? 'still caught (!)' : 'back to its default action'}` : out.paint('red', 'nothing')],
      ['kill(SIGUSR2) again', `the default action: ${describeStatus(hs)}`],
    ],
  );
  const handlersOk =
    usr1a && usr1b && usr2a && afterTerm.state !== 'gone' && !masks1.caught.includes('SIGUSR2') &&
    hs.kind === 'signaled' && hs.signal === 'SIGUSR2' &&
    masks0.caught.includes('SIGUSR1') && masks0.caught.includes('SIGUSR2') && masks0.ignored.includes('SIGTERM') &&
    deliveries[0]?.pid === ctx.pid && deliveries[0]?.code === 'user' && deliveries[1]?.code === 'queue' && deliveries[1]?.value === 42;

  // ---- 2. stop and continue ----
  out.step('2. SIGSTOP and SIGCONT: a busy child stopped (T) and resumed');
  const s = ctx.fork(
    'busy child',
    () => {
      const start = Date.now();
      while (Atomics.load(w, S_DONE) === 0 && Date.now() - start < watchdog) {
        spin(2);
        Atomics.add(w, S_COUNT, 1);
      }
      return 0;
    },
    { title: 'signals-busy' },
  );
  await until(() => Atomics.load(w, S_COUNT) > 5, 5000);
  signalOnPicture(s, 'SIGSTOP');
  posix.kill(s, 'SIGSTOP');
  let stopStatus = { kind: 'running', pid: s } as posix.WaitStatus;
  await until(() => (stopStatus = posix.waitpid(s, { untraced: true, noHang: true })).kind === 'stopped', 5000);
  tl.state(s, 'stopped');
  const c1 = Atomics.load(w, S_COUNT);
  const stopped = procRow(s, 'busy child (stopped)');
  const psStopped = ps([s]);
  printProcTable(out, [stopped], `waitpid(${s}, WUNTRACED) → ${stopStatus.kind}${stopStatus.kind === 'stopped' ? ` by ${stopStatus.signal}` : ''}; /proc:`);
  if (psStopped) out.say(`ps -o stat -p ${s} → ${psStopped[0]?.stat ?? '(gone)'}`);
  await ctx.hold('stopped (T)', [s], [psCommand([s]), `grep State /proc/${s}/status`, `kill -CONT ${s}   # resumes it; the lab notices`]);
  await sleep(150);
  const c2 = Atomics.load(w, S_COUNT);
  const resumedByUser = Atomics.load(w, S_COUNT) !== c1 || posix.processInfo(s)?.state !== 'stopped';
  out.say(`work counter while stopped: ${c1} → ${c2} ${c2 === c1 ? '(no progress: it gets no CPU time)' : resumedByUser ? '(someone sent SIGCONT)' : ''}`);
  signalOnPicture(s, 'SIGCONT');
  posix.kill(s, 'SIGCONT');
  let contStatus = { kind: 'running', pid: s } as posix.WaitStatus;
  await until(() => (contStatus = posix.waitpid(s, { continued: true, noHang: true })).kind === 'continued', 5000);
  tl.state(s, 'running');
  const progressed = await until(() => Atomics.load(w, S_COUNT) > c2 + 3, 5000);
  const resumed = procRow(s, 'busy child (resumed)');
  out.say(`kill(${s}, SIGCONT); waitpid(${s}, WCONTINUED) → ${contStatus.kind}; state now ${resumed.stat} (${resumed.state}); counter moving again: ${Atomics.load(w, S_COUNT)}`);
  Atomics.store(w, S_DONE, 1);
  const ss = await ctx.reap(s);
  const stopOk =
    stopStatus.kind === 'stopped' && stopStatus.signal === 'SIGSTOP' && stopped.state === 'stopped' && stopped.stat === 'T' &&
    (psStopped === null || psStopped[0]?.stat.startsWith('T') === true) && (c2 === c1 || resumedByUser) &&
    contStatus.kind === 'continued' && progressed && ss.kind === 'exited';

  // ---- 3. blocked, pending, delivered on unblock ----
  out.step('3. A blocked signal waits (pending) and is delivered when unblocked');
  const b = ctx.fork(
    'blocks signals',
    () => {
      const me = posix.getpid();
      posix.sigaction('SIGUSR1', 'record');
      posix.sigaction('SIGRTMIN', 'record');
      posix.sigprocmask('block', ['SIGUSR1', 'SIGRTMIN']);
      Atomics.store(w, B_READY, 1);
      tl.state(me, 'sleeping');
      const start = Date.now();
      while (Atomics.load(w, B_GO) === 0 && Date.now() - start < watchdog) sleepSync(1);
      tl.state(me, 'running');
      const pending = posix.sigpending();
      const before = { SIGUSR1: posix.signalCount('SIGUSR1'), SIGRTMIN: posix.signalCount('SIGRTMIN') };
      const seq = posix.signalSeq();
      const t0 = nowMs();
      posix.sigprocmask('unblock', ['SIGUSR1', 'SIGRTMIN']);
      const t1 = nowMs();
      tl.mark(me, 'sigprocmask(SIG_UNBLOCK)', t0);
      const records = posix.signalRecords(seq);
      for (const r of records) tl.mark(me, `handler: ${r.signal}${r.value ? ` value ${r.value}` : ''}`, r.time);
      mail.put(M_BLOCKED, {
        pending,
        before,
        after: { SIGUSR1: posix.signalCount('SIGUSR1'), SIGRTMIN: posix.signalCount('SIGRTMIN') },
        records: records.map((r) => ({ signal: r.signal, code: r.code, value: r.value, time: r.time })),
        unblockStart: t0,
        unblockEnd: t1,
        threads: readdirSync('/proc/self/task').length,
      });
      return 0;
    },
    { title: 'signals-blocked' },
  );
  if (!(await until(() => Atomics.load(w, B_READY) === 1))) throw new Error('the blocking child did not start');
  signalOnPicture(b, 'SIGUSR1 ×3');
  for (let i = 0; i < 3; i++) posix.kill(b, 'SIGUSR1');
  signalOnPicture(b, 'SIGRTMIN ×3 (values 1, 2, 3)');
  for (let i = 1; i <= 3; i++) posix.sigqueue(b, 'SIGRTMIN', i);
  await sleep(20);
  const masksB = posix.signalMasks(b)!;
  out.say(`sent to ${b}: kill(SIGUSR1) ×3, sigqueue(SIGRTMIN, 1), (…, 2), (…, 3)`);
  out.say(`/proc/${b}/status: SigBlk (blocked) = ${masksB.blocked.join(' ')}; ShdPnd (pending) = ${masksB.pendingProcess.join(' ')}`);
  Atomics.store(w, B_GO, 1);
  const bs = await ctx.reap(b);
  const rep = mail.get<{
    pending: string[];
    before: Record<string, number>;
    after: Record<string, number>;
    records: { signal: string; code: string; value: number; time: number }[];
    unblockStart: number;
    unblockEnd: number;
    threads: number;
  }>(M_BLOCKED);
  if (!rep) throw new Error('the blocking child did not report');
  const rtValues = rep.records.filter((r) => r.signal === 'SIGRTMIN').map((r) => r.value);
  const delivered = { SIGUSR1: rep.after.SIGUSR1! - rep.before.SIGUSR1!, SIGRTMIN: rep.after.SIGRTMIN! - rep.before.SIGRTMIN! };
  const duringUnblock = rep.records.length > 0 && rep.records.every((r) => r.time >= rep.unblockStart && r.time <= rep.unblockEnd);
  out.printTable(
    ['SIGNAL', 'SENT', 'PENDING (sigpending)', 'HANDLER RAN', 'VALUES'],
    [
      ['SIGUSR1', '3', rep.pending.includes('SIGUSR1') ? 'yes' : 'no', `${delivered.SIGUSR1}×`, '-'],
      ['SIGRTMIN', '3', rep.pending.includes('SIGRTMIN') ? 'yes' : 'no', `${delivered.SIGRTMIN}×`, rtValues.join(', ')],
    ],
    ['l', 'r', 'l', 'r', 'l'],
  );
  out.say(`All ${rep.records.length} handler runs happened inside the sigprocmask(SIG_UNBLOCK) call (${((rep.unblockEnd - rep.unblockStart) * 1000).toFixed(0)} µs): ${duringUnblock ? 'yes' : 'NO'}.`);
  out.say(`A standard signal is one pending bit: three SIGUSR1 make one delivery. Real-time signals queue, in order, each with its value.`);
  out.say(`(The child has ${rep.threads} thread${rep.threads === 1 ? '' : 's'}: its mask is the process's, as in C.)`);
  const blockedOk =
    bs.kind === 'exited' && bs.code === 0 && rep.pending.includes('SIGUSR1') && rep.pending.includes('SIGRTMIN') &&
    masksB.pendingProcess.includes('SIGUSR1') && masksB.blocked.includes('SIGUSR1') &&
    rep.before.SIGUSR1 === 0 && rep.before.SIGRTMIN === 0 && delivered.SIGUSR1 === 1 && delivered.SIGRTMIN === 3 &&
    rtValues.join() === '1,2,3' && duringUnblock;

  // ---- 4. SIGCHLD-driven reaping ----
  out.step(`4. SIGCHLD: a parent reaps ${CHILD_DELAYS.length} children when told, not by blocking in wait()`);
  out.say('parent: sigaction(SIGCHLD, handler); block SIGCHLD; fork ×5; loop { sigsuspend(old mask); while waitpid(…, WNOHANG) reaps: note it }');
  const p = ctx.fork(
    'SIGCHLD parent',
    () => {
      const me = posix.getpid();
      posix.sigaction('SIGCHLD', 'record', { noChildStop: true, restart: true });
      const oldMask = posix.sigprocmask('block', ['SIGCHLD']);
      const start = Date.now();
      const kids = CHILD_DELAYS.map((d, i) => {
        const kid = posix.forkAndRun(() => {
          posix.setParentDeathSignal('SIGKILL');
          const k = posix.getpid();
          tl.state(k, 'sleeping');
          while (Atomics.load(w, P_GO) === 0 && Date.now() - start < watchdog) sleepSync(1);
          if (d > 0) sleepSync(d);
          tl.record('exit', k, { value: i + 1 });
          posix.exit(i + 1);
        });
        tl.record('fork', me, { peer: kid });
        return kid;
      });
      kids.forEach((k, i) => Atomics.store(w, P_KID0 + i, k));
      Atomics.store(w, P_KIDS, kids.length);
      // Let them go, and wait (SIGCHLD still blocked) until the first three have exited: their three
      // SIGCHLDs arrive while one is already pending.
      Atomics.store(w, P_GO, 1);
      const together = kids.filter((_, i) => CHILD_DELAYS[i] === 0);
      while (!together.every((k) => posix.processInfo(k)?.state === 'zombie') && Date.now() - start < 5000) sleepSync(1);
      const pendingBefore = posix.sigpending();
      tl.state(me, 'sleeping');
      const live = new Set(kids);
      const reaps: { pid: number; code: number; wakeup: number; time: number }[] = [];
      let wakeups = 0;
      let seq = 0;
      while (live.size > 0 && Date.now() - start < watchdog) {
        if (!posix.sigsuspend(oldMask, 1000)) continue; // SIGCHLD can only arrive in here
        wakeups++;
        for (const r of posix.signalRecords(seq)) {
          if (r.signal === 'SIGCHLD') tl.record('signal', r.pid, { peer: me, label: 'SIGCHLD', at: r.time });
        }
        seq = posix.signalSeq();
        tl.state(me, 'running');
        for (const k of [...live]) {
          const st = posix.waitpid(k, { noHang: true });
          if (st.kind === 'running') continue;
          live.delete(k);
          reaps.push({ pid: k, code: st.kind === 'exited' ? st.code : -1, wakeup: wakeups, time: nowMs() });
          tl.record('reap', me, { peer: k, label: describeStatus(st) });
        }
        tl.state(me, 'sleeping');
      }
      mail.put(M_SIGCHLD, { kids, wakeups, handlerRuns: posix.signalCount('SIGCHLD'), reaps, left: [...live], pendingBefore, together: together.length });
      return live.size === 0 ? 0 : 1;
    },
    { title: 'signals-sigchld' },
  );
  if (!(await until(() => Atomics.load(w, P_KIDS) === CHILD_DELAYS.length, 5000))) throw new Error('the SIGCHLD parent did not fork its children');
  const kids = CHILD_DELAYS.map((_, i) => Atomics.load(w, P_KID0 + i));
  kids.forEach((k, i) => ctx.adopt(k, `child ${i + 1} (${CHILD_DELAYS[i] ? `exits ${CHILD_DELAYS[i]} ms later` : 'exits at the go'})`));
  const psStatus = await ctx.reap(p);
  const chld = mail.get<{
    kids: number[];
    wakeups: number;
    handlerRuns: number;
    reaps: { pid: number; code: number; wakeup: number }[];
    left: number[];
    pendingBefore: string[];
    together: number;
  }>(M_SIGCHLD);
  if (!chld) throw new Error('the SIGCHLD parent did not report');
  for (const r of chld.reaps) ctx.reaped(r.pid, null, p);
  out.say(`The first ${chld.together} exited together while SIGCHLD was blocked: sigpending() then = ${chld.pendingBefore.join(' ') || '(nothing)'}.`);
  out.printTable(
    ['CHILD', 'PID', 'EXITS', 'REAPED WITH STATUS', 'AFTER WAKE-UP #'],
    chld.reaps
      .slice()
      .sort((x, y) => kids.indexOf(x.pid) - kids.indexOf(y.pid))
      .map((r) => {
        const d = CHILD_DELAYS[kids.indexOf(r.pid)]!;
        return [String(kids.indexOf(r.pid) + 1), String(r.pid), d ? `${d} ms after the go` : 'at the go', String(r.code), String(r.wakeup)];
      }),
    ['r', 'r', 'l', 'r', 'r'],
  );
  out.say(`${kids.length} children exited; the SIGCHLD handler ran ${chld.handlerRuns}× and woke sigsuspend ${chld.wakeups}×.`);
  if (chld.handlerRuns < kids.length) out.say('Fewer handler runs than children: a SIGCHLD that arrives while one is pending merges with it. The waitpid loop reaped them all anyway.');
  const sigchldOk =
    psStatus.kind === 'exited' && psStatus.code === 0 && chld.left.length === 0 && chld.reaps.length === kids.length &&
    chld.handlerRuns >= 1 && chld.handlerRuns < kids.length && chld.pendingBefore.includes('SIGCHLD') &&
    chld.reaps.filter((r) => r.wakeup === 1).length >= chld.together &&
    kids.every((k, i) => chld.reaps.find((r) => r.pid === k)?.code === i + 1);

  if (handlersOk) out.ok('handlers: caught, ignored, caught once then the default action');
  else out.bad('handlers: not as expected (see the table)');
  if (stopOk) out.ok('SIGSTOP: T in /proc and ps, no progress; SIGCONT: running again');
  else out.bad('stop/continue: not as expected');
  if (blockedOk) out.ok('blocked signals stayed pending and were delivered on unblock: SIGUSR1 once, SIGRTMIN three times in order');
  else out.bad('blocked signals: not as expected');
  if (sigchldOk) out.ok(`every child reaped after a SIGCHLD (${chld.handlerRuns} handler runs for ${kids.length} children)`);
  else out.bad('SIGCHLD reaping: not as expected');
  return {
    ok: handlersOk && stopOk && blockedOk && sigchldOk,
    facts: {
      handlers: {
        pid: h,
        caught: masks0.caught,
        ignored: masks0.ignored,
        deliveries: deliveries.map(({ signal, code, pid, value }) => ({ signal, code, pid, value })),
        sigtermIgnored: afterTerm.state !== 'gone',
        caughtAfterOneShot: masks1.caught,
        end: hs,
      },
      stop: {
        pid: s,
        stopStatus,
        procState: stopped.state,
        stat: stopped.stat,
        psStat: psStopped?.[0]?.stat ?? null,
        progressWhileStopped: c2 - c1,
        contStatus,
        stateAfterCont: resumed.state,
        progressedAfterCont: progressed,
      },
      blocked: {
        pid: b,
        sent: { SIGUSR1: 3, SIGRTMIN: 3 },
        pendingInChild: rep.pending,
        procBlocked: masksB.blocked,
        procPending: masksB.pendingProcess,
        countsBefore: rep.before,
        delivered,
        rtValues,
        duringUnblock,
        threads: rep.threads,
      },
      sigchld: {
        parent: p,
        children: kids,
        exitedTogether: chld.together,
        pendingWhileBlocked: chld.pendingBefore,
        handlerRuns: chld.handlerRuns,
        wakeups: chld.wakeups,
        reaps: chld.reaps.map(({ pid, code, wakeup }) => ({ pid, code, wakeup })),
      },
    },
  };
}

function describeDelivery(d: Delivery | undefined): string {
  if (!d) return 'nothing recorded';
  return `handler ran: ${d.signal}, si_code ${d.code}, from pid ${d.pid}${d.code === 'queue' ? `, value ${d.value}` : ''}`;
}

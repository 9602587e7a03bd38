// Lab: the orphan. A parent process forks a child and exits first. The kernel re-parents the child: to the
// nearest ancestor that is a "child subreaper" (prctl PR_SET_CHILD_SUBREAPER), else to PID 1 (init). The lab
// makes itself a subreaper, so the orphan comes to the lab (also in containers, where PID 1 may never reap),
// watches the re-parenting happen, and reaps the orphan itself.
import * as posix from '../../posix/index.js';
import { beside, type LabContext, type LabResult, printProcTable, procRow, sleepSync, until } from './common.js';

// shared words
const CHILD_PID = 0;
const PPID_BEFORE = 1;
const PPID_AFTER = 2;
const PARENT_MAY_EXIT = 3;
const CHILD_MAY_EXIT = 4;
const CHILD_SAW = 5; // milliseconds the child waited to see its new parent (×1000, µs)

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  ctx.becomeSubreaper();
  out.step('The lab makes itself a child subreaper');
  out.say(`prctl(PR_SET_CHILD_SUBREAPER, 1) in the lab (pid ${ctx.pid}) → isSubreaper() = ${posix.isSubreaper()}`);
  out.say('Orphans below the lab now come to the lab instead of to PID 1 (init), which in a container');
  out.say('may be a program that never reaps.');

  const m = ctx.shared(64);
  const w = new Int32Array(m.buffer);

  out.step('The lab forks the Parent Process, which forks a Child Process');
  const parent = ctx.fork(
    'Parent Process',
    () => {
      const me = posix.getpid();
      const child = posix.forkAndRun(() => {
        // The orphan-to-be: no parent-death signal (it must outlive its parent).
        const self = posix.getpid();
        tl.state(self, 'running');
        Atomics.store(w, PPID_BEFORE, posix.getppid());
        tl.state(self, 'sleeping');
        const start = Date.now();
        while (posix.getppid() === me && Date.now() - start < 10_000) sleepSync(1);
        const now = posix.getppid();
        Atomics.store(w, PPID_AFTER, now);
        Atomics.store(w, CHILD_SAW, Math.round((Date.now() - start) * 1000));
        tl.record('reparent', self, { peer: now });
        tl.mark(self, `getppid() = ${now}`);
        // Adopted: from now on die with the lab if it is killed (and check it is still there).
        posix.setParentDeathSignal('SIGKILL');
        if (posix.getppid() !== now) posix.exit(1);
        while (Atomics.load(w, CHILD_MAY_EXIT) === 0 && Date.now() - start < 20_000) sleepSync(1);
        tl.state(self, 'running');
        tl.record('exit', self, { value: 0 });
        posix.exit(0);
      });
      tl.record('fork', me, { peer: child });
      Atomics.store(w, CHILD_PID, child);
      tl.state(me, 'sleeping');
      const start = Date.now();
      while (Atomics.load(w, PARENT_MAY_EXIT) === 0 && Date.now() - start < 10_000) sleepSync(1);
      tl.state(me, 'running');
      tl.mark(me, 'exits without waiting');
      return 0; // exits, leaving its child behind
    },
    { title: 'orphan-parent' },
  );
  if (!(await until(() => Atomics.load(w, PPID_BEFORE) !== 0 && Atomics.load(w, CHILD_PID) !== 0, 5000))) throw new Error('the child did not start');
  const child = Atomics.load(w, CHILD_PID);
  ctx.adopt(child, 'Child Process (orphan)');
  out.say(`Parent Process = pid ${parent}, Child Process = pid ${child}; the child's getppid() = ${Atomics.load(w, PPID_BEFORE)}`);

  const beforeRows = [procRow(ctx.pid, 'lab (subreaper)'), procRow(parent, 'Parent Process'), procRow(child, 'Child Process')];
  printProcTable(out, beforeRows, 'Initial state (/proc):');

  out.step('The Parent Process exits without waiting for its child');
  Atomics.store(w, PARENT_MAY_EXIT, 1);
  const ps = await ctx.reap(parent);
  out.say(`The lab reaps the Parent Process: waitpid(${parent}) → ${ps.kind === 'exited' ? `exited ${ps.code}` : ps.kind}`);
  const adopted = await until(() => posix.processInfo(child)?.ppid === ctx.pid && Atomics.load(w, PPID_AFTER) !== 0, 5000);
  const afterRows = [procRow(ctx.pid, 'lab (subreaper)'), procRow(parent, 'Parent Process'), procRow(child, 'Child Process (orphan)')];
  printProcTable(out, afterRows, 'After the parent exited (/proc):');
  const ppidAfter = Atomics.load(w, PPID_AFTER);
  out.say(`The child, polling getppid() every millisecond, saw it change ${Atomics.load(w, PPID_BEFORE)} → ${ppidAfter}.`);

  out.step("The course text's picture, with the real pids");
  out.block(
    beside(
      [
        ['Original hierarchy:', '', ...out.box([`Parent Process ${parent}`]), '       │', '       ▼', ...out.box([`Child Process ${child}`])],
        [
          'After the parent terminates:',
          '',
          ...out.box([`lab ${ctx.pid} (subreaper)`]),
          '       │  adopts',
          '       ▼',
          ...out.box([`Orphan ${child}, ppid ${afterRows[2]!.ppid ?? '?'}`]),
        ],
      ],
      '      ',
    ),
  );
  out.say(`(Without a subreaper the adopter would be PID 1, "init". Parent ${parent} in /proc now: ${afterRows[1]!.state}.)`);
  await ctx.hold('orphan adopted', [child]);

  out.step('The adopter reaps the orphan');
  Atomics.store(w, CHILD_MAY_EXIT, 1);
  const cs = await ctx.reap(child);
  out.say(`waitpid(${child}) in the lab → ${cs.kind === 'exited' ? `exited ${cs.code}` : cs.kind} (only a parent can wait for a process: the lab is its parent now)`);
  const gone = posix.processInfo(child) === null;

  const ok = adopted && ppidAfter === ctx.pid && beforeRows[2]!.ppid === parent && cs.kind === 'exited' && gone;
  if (ok) out.ok(`the orphan's parent changed from ${parent} to the lab (${ctx.pid}), and the lab reaped it`);
  else out.bad('the re-parenting was not seen as expected');
  return {
    ok,
    facts: {
      subreaper: true,
      labPid: ctx.pid,
      parent: { pid: parent, status: ps },
      child: {
        pid: child,
        ppidBefore: Atomics.load(w, PPID_BEFORE),
        procPpidBefore: beforeRows[2]!.ppid,
        ppidAfter,
        procPpidAfter: afterRows[2]!.ppid,
        status: cs,
        goneAfterWait: gone,
      },
      adoptedBy: ppidAfter,
    },
  };
}

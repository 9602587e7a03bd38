// Lab: the zombie. Two children exit at once; the parent does not wait for them, so the kernel keeps their
// entries (pid, exit status) in the process table: state Z in /proc and in `ps`. waitpid() collects the
// status and the entries disappear.
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, printProcTable, procRow, ps, until } from './common.js';

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  out.step('The parent forks two children; each exits at once');
  const names = ['Child Process A', 'Child Process B'];
  const pids = names.map((name, i) =>
    ctx.fork(name, () => [0, 3][i] /* exit statuses the zombies keep until the parent collects them */, { title: `zombie-child-${'AB'[i]}` }),
  );
  out.say(`fork() → ${pids.map((p, i) => `${names[i]} = pid ${p}`).join(', ')}`);
  out.say(`The parent (pid ${ctx.pid}) goes on without calling wait().`);

  const allZombies = await until(() => pids.every((p) => posix.processInfo(p)?.state === 'zombie'), 5000);
  for (const p of pids) tl.state(p, 'zombie');
  tl.mark(ctx.pid, 'reads /proc and runs ps');

  out.step('The process table now (read from /proc/[pid]/stat)');
  const before = [procRow(ctx.pid, 'Parent Process'), ...pids.map((p, i) => procRow(p, names[i]!))];
  printProcTable(out, before);
  const psBefore = ps([ctx.pid, ...pids]);
  out.step('And as `ps -o pid,ppid,stat,comm` shows it');
  if (psBefore) {
    out.printTable(
      ['PID', 'PPID', 'STAT', 'COMMAND'],
      psBefore.map((r) => [String(r.pid), String(r.ppid), r.stat.startsWith('Z') ? out.state('zombie', r.stat) : r.stat, r.comm]),
      ['r', 'r'],
    );
  } else out.say('(ps is not installed here; /proc above is what ps reads)');

  out.step("The course text's picture, filled in with what happened");
  out.block(
    out.table(
      ['PID', 'Process Name', 'Status'],
      before.map((r) => [String(r.pid), r.role, out.state(r.state, cap(r.state))]),
      ['r'],
    ),
  );
  out.say('A zombie uses no memory or CPU: only its process-table slot, which holds its exit status');
  out.say('until the parent asks for it. Enough of them exhaust the pid space (see /proc/sys/kernel/pid_max).');
  await ctx.hold('zombies present', pids);

  out.step('The parent calls waitpid() for each child');
  const statuses: posix.WaitStatus[] = [];
  for (const p of pids) {
    const s = await ctx.reap(p);
    statuses.push(s);
    out.say(`waitpid(${p}) → ${s.kind === 'exited' ? `exited, status ${s.code}` : s.kind}`);
  }
  const after = pids.map((p, i) => procRow(p, names[i]!));
  const psAfter = ps(pids);
  printProcTable(out, after, 'After waitpid (/proc):');
  out.say(`ps -o stat -p ${pids.join(',')} → ${psAfter === null ? '(no ps)' : psAfter.length === 0 ? 'no such processes' : JSON.stringify(psAfter)}`);

  const children = pids.map((pid, i) => ({
    name: names[i],
    pid,
    ppid: before[i + 1]!.ppid,
    procState: before[i + 1]!.state,
    procStat: before[i + 1]!.stat,
    psStat: psBefore?.find((r) => r.pid === pid)?.stat ?? null,
    status: statuses[i],
    afterWait: after[i]!.state,
    psAfter: psAfter === null ? null : (psAfter.find((r) => r.pid === pid)?.stat ?? 'gone'),
  }));
  const zombieSeen = allZombies && children.every((c) => c.procState === 'zombie' && c.ppid === ctx.pid && (c.psStat === null || c.psStat.startsWith('Z')));
  const gone = children.every((c) => c.afterWait === 'gone' && (c.psAfter === null || c.psAfter === 'gone'));
  if (zombieSeen) out.ok('both children were zombies (Z) while unwaited');
  else out.bad('the children were not seen as zombies');
  if (gone) out.ok('after waitpid they are gone from the process table');
  else out.bad('a child is still in the process table after waitpid');
  return { ok: zombieSeen && gone, facts: { parentPid: ctx.pid, psAvailable: psBefore !== null, zombieSeen, goneAfterWait: gone, children } };
}

const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

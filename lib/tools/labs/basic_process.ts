// Lab: a basic process. The course text's first programs: start a Process that prints its pid, join it and
// read its exit code; then start a long task and terminate() it (exit code -15: killed by SIGTERM).
import { Process } from '../../mp/process/process.js';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, printProcTable, procRow, sleepSync, until } from './common.js';

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const [reader, writer] = ctx.pipe();

  out.step('Creating a process: new Process({ target: printMessage, args: [...] }).start()');
  const p = new Process({
    name: 'Process-1',
    target: (message: string) => {
      tl.state(process.pid, 'running');
      const line = `Process ID: ${posix.getpid()} - ${message}`;
      writer.send({ pid: posix.getpid(), ppid: posix.getppid(), line });
      tl.record('exit', process.pid, { value: 0 });
    },
    args: ['Hello from the child process!'],
  });
  p.start();
  ctx.adoptProcess(p, 'Process-1');
  out.say(`start() forked pid ${p.pid}; the parent (pid ${ctx.pid}) goes on at once.`);
  const report = (await reader.recv(10_000)) as { pid: number; ppid: number; line: string };
  out.say(`The child printed: ${out.paint('bold', report.line)}`);
  await p.join();
  ctx.reaped(p.pid!, `exit code ${p.exitCode}`);
  out.say(`join() returned; exitCode = ${p.exitCode}. Main process finished.`);
  out.printTable(
    ['', 'PID', 'PPID', 'EXIT CODE'],
    [
      ['parent', String(ctx.pid), String(process.ppid), '-'],
      ['child', String(report.pid), String(report.ppid), String(p.exitCode)],
    ],
    ['l', 'r', 'r', 'r'],
  );

  out.step('Terminating a process: a 5-second task, terminate()d after 300 ms');
  const q = new Process({
    name: 'Process-2',
    target: () => {
      tl.state(process.pid, 'running');
      tl.mark(process.pid, 'Starting long task...');
      tl.state(process.pid, 'sleeping');
      sleepSync(5000); // time.sleep(5)
      tl.mark(process.pid, 'Task completed.');
    },
  });
  q.start();
  ctx.adoptProcess(q, 'Process-2 (long task)');
  await until(() => posix.processInfo(q.pid!)?.state === 'sleeping', 3000);
  await ctx.pause(300);
  printProcTable(out, [procRow(ctx.pid, 'parent'), procRow(q.pid!, 'Process-2 (long task)')], 'While the long task runs (/proc):');
  await ctx.hold('long task running', [q.pid!]);
  tl.record('signal', ctx.pid, { peer: q.pid!, label: 'SIGTERM' });
  q.terminate();
  await q.join();
  ctx.reaped(q.pid!, `exit code ${q.exitCode}`);
  out.say(`terminate() sent SIGTERM; join(); "Process terminated with exit code ${q.exitCode}."`);
  out.say('A negative exit code -N means "killed by signal N" (15 = SIGTERM), as in Python.');

  const ok = report.ppid === ctx.pid && report.pid === p.pid && p.exitCode === 0 && q.exitCode === -15;
  if (ok) out.ok("the child ran with its own pid and the lab's pid as parent; exit codes 0 and -15 were collected");
  return {
    ok,
    facts: {
      parentPid: ctx.pid,
      child: { pid: p.pid, reportedPid: report.pid, ppid: report.ppid, printed: report.line, exitCode: p.exitCode },
      terminated: { pid: q.pid, exitCode: q.exitCode },
    },
  };
}

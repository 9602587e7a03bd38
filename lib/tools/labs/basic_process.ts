// Lab: a basic process. The course text's first programs: start a Process that prints its pid, join it and
// read its exit code; then start a long task and terminate() it (exit code -15: killed by SIGTERM).
import { Pipe } from '../../mp/connection.js';
import { Process } from '../../mp/process/process.js';
import * as posix from '../../posix/index.js';
import { type Lab, type LabContext, printProcTable, procRow, sleepSync, until } from './common.js';

const lab: Lab = {
  name: 'basic_process',
  summary: 'start a Process, join it, read its exit code; terminate a long task (exit code -15)',
  claim: "a child has its own pid and the parent's pid as ppid; join() collects exit code 0; terminate() gives -15",
  guide: {
    lookFor: [
      'The child\'s pid differs from the lab\'s, and its ppid is the lab\'s pid: fork made a new process whose parent is the caller.',
      'join() returns when the child has exited; exitCode is 0 for a normal return.',
      'terminate() sends SIGTERM: exitCode -15 (negative: killed by signal 15), as in Python.',
      'The picture: fork arrows, the child\'s short run, and the SIGTERM arrow into the long task.',
    ],
    hold: 'Pauses while the long task runs: ps shows it sleeping (S) with the lab as its parent, before terminate() ends it.',
    strace: {
      command: 'strace -f -e trace=clone,exit_group,kill,pidfd_open,waitid multiproc demo basic_process',
      lines: [
        '<lab> clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, …) = <child>   ← fork()',
        '<child> exit_group(0) = ?   then in the lab: waitid(P_PIDFD, <fd>, {si_code=CLD_EXITED, si_status=0, …}, WEXITED|WNOHANG, NULL)',
        '<lab> kill(<long task>, SIGTERM) = 0   … waitid(…, {si_code=CLD_KILLED, si_status=SIGTERM, …})',
      ],
    },
    questions: [
      'fork() returns twice. What does each process get back, and how does the child learn its parent\'s pid?',
      'Why is the exit code of the terminated task -15 and not 143, as a shell would print?',
      'What would the child be between its exit and the lab\'s join()? Which lab shows that state?',
    ],
  },
  async run(ctx: LabContext) {
    const { out, timeline: tl } = ctx;
    const [reader, writer] = Pipe(false);
    ctx.defer(() => {
      reader.close();
      writer.close();
    });

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
  },
};

export default lab;

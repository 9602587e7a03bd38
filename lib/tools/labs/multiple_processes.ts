// Lab: multiple processes on one task. The sum of i² for i = 1..N is split into ranges, one per process;
// each child computes its part and sends it through a pipe; the parent combines the parts and checks the
// total against the closed form N(N+1)(2N+1)/6.
import { Process } from '../../mp/process/process.js';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, printProcTable, procRow, until } from './common.js';

const WORKERS = 4;
const N = 3_000_000;

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const [reader, writer] = ctx.pipe();
  out.step(`The task: sum of i² for i = 1..${N.toLocaleString('en-US')}, split into ${WORKERS} ranges`);
  const ranges = Array.from({ length: WORKERS }, (_, k) => [Math.floor((k * N) / WORKERS) + 1, Math.floor(((k + 1) * N) / WORKERS)] as const);
  const procs = ranges.map(
    ([lo, hi], k) =>
      new Process({
        name: `worker-${k + 1}`,
        target: () => {
          tl.state(process.pid, 'running');
          let sum = 0n;
          let acc = 0; // exact in a double up to 2^53; flush into the bigint before that
          for (let i = lo; i <= hi; i++) {
            acc += i * i;
            if (acc > 2 ** 52) {
              sum += BigInt(acc);
              acc = 0;
            }
          }
          sum += BigInt(acc);
          writer.send({ k, pid: posix.getpid(), ppid: posix.getppid(), partial: sum.toString() });
          tl.record('send', process.pid, { peer: ctx.pid, value: k, label: `part ${k + 1}` });
          tl.record('exit', process.pid, { value: 0 });
        },
      }),
  );
  for (const p of procs) {
    p.start();
    ctx.adoptProcess(p);
  }
  out.say(`Started ${procs.map((p) => `${p.name} = pid ${p.pid}`).join(', ')}.`);
  // The course text's parent/child diagram, with the real processes.
  const cards = procs.map((p, k) => [`Child Proc (${p.name})`, `pid ${p.pid}, range ${ranges[k]![0]}..${ranges[k]![1]}`]);
  const cw = Math.max(...cards.flat().map((l) => l.length));
  out.block(out.box(cards.flatMap((c) => out.box(c.map((l) => l.padEnd(cw)))), `Parent Process ${ctx.pid}`));
  await until(() => procs.some((p) => posix.processInfo(p.pid!)?.state === 'running'), 500);
  printProcTable(out, [procRow(ctx.pid, 'parent'), ...procs.map((p) => procRow(p.pid!, p.name))], 'While they compute (/proc):');

  const parts: { k: number; pid: number; ppid: number; partial: string }[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const r = (await reader.recv(20_000)) as (typeof parts)[number];
    tl.record('recv', ctx.pid, { peer: r.pid, value: r.k, label: `part ${r.k + 1}` });
    parts.push(r);
  }
  for (const p of procs) {
    await p.join();
    ctx.reaped(p.pid!, `exit code ${p.exitCode}`);
  }
  parts.sort((x, y) => x.k - y.k);
  const total = parts.reduce((s, r) => s + BigInt(r.partial), 0n);
  const n = BigInt(N);
  const expected = (n * (n + 1n) * (2n * n + 1n)) / 6n;

  out.step('What each process did');
  out.printTable(
    ['PROCESS', 'PID', 'PPID', 'RANGE', 'PARTIAL SUM', 'EXIT'],
    parts.map((r) => [
      procs[r.k]!.name,
      String(r.pid),
      String(r.ppid),
      `${ranges[r.k]![0].toLocaleString('en-US')}..${ranges[r.k]![1].toLocaleString('en-US')}`,
      BigInt(r.partial).toLocaleString('en-US'),
      String(procs[r.k]!.exitCode),
    ]),
    ['l', 'r', 'r', 'r', 'r', 'r'],
  );
  out.say(`combined: ${total.toLocaleString('en-US')}`);
  out.say(`expected: ${expected.toLocaleString('en-US')}  (N(N+1)(2N+1)/6)`);
  const ok = total === expected && parts.every((r) => r.ppid === ctx.pid) && procs.every((p) => p.exitCode === 0) && new Set(parts.map((r) => r.pid)).size === WORKERS;
  if (ok) out.ok('four distinct processes, each a child of the lab, exit code 0; the combined sum is exact');
  return {
    ok,
    facts: {
      parentPid: ctx.pid,
      n: N,
      workers: parts.map((r) => ({ pid: r.pid, ppid: r.ppid, range: ranges[r.k], partial: r.partial, exitCode: procs[r.k]!.exitCode })),
      total: total.toString(),
      expected: expected.toString(),
    },
  };
}

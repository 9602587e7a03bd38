// Lab: a manager. Manager.start() runs a server process that owns a dict and a list; every process talks to
// those objects through proxies (each call is a request over a Unix socket to the server). Three worker
// processes write into the dict and the list; the parent reads back what they wrote.
import path from 'node:path';
import { rmSync } from 'node:fs';
import { Manager } from '../../mp/manager/index.js';
import { Process } from '../../mp/process/process.js';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, printProcTable, procRow } from './common.js';

const WORKERS = 3;

interface Wrote {
  name: string;
  pid: number;
  key: string;
  value: { pid: number; square: number };
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  out.step('manager = await Manager.start(): a server process that owns the shared objects');
  tl.mark(ctx.pid, 'Manager.start()');
  tl.state(ctx.pid, 'sleeping'); // until the server listens
  const manager = await Manager.start();
  tl.state(ctx.pid, 'running');
  const serverPid = manager.pid!;
  ctx.created.push(serverPid);
  tl.lane(serverPid, 'Manager server');
  tl.state(serverPid, 'running'); // from when start() returned: the server was started (spawned) before
  tl.mark(serverPid, 'listening');
  let shutDown = false;
  ctx.defer(() => {
    // Interrupted: stop the server by pid (Process's own exit hook reaps it) and remove its socket directory.
    if (shutDown) return;
    try {
      posix.kill(serverPid, 'SIGKILL');
    } catch {
      /* gone */
    }
    rmSync(path.dirname(manager.address), { recursive: true, force: true });
  });
  const dict = await manager.dict<{ pid: number; square: number }>();
  const list = await manager.list<number>();
  out.say(`server pid ${serverPid}, listening on ${manager.address}`);
  out.say('d = await manager.dict(); l = await manager.list()');

  const [reader, writer] = ctx.pipe();
  out.step(`${WORKERS} worker processes: d.set(name, { pid, square }); l.push(pid)`);
  const procs = Array.from(
    { length: WORKERS },
    (_, k) =>
      new Process({
        name: `worker-${k + 1}`,
        target: async () => {
          const me = posix.getpid();
          const key = `worker-${k + 1}`;
          const value = { pid: me, square: (k + 1) * (k + 1) };
          await dict.set(key, value);
          tl.record('send', me, { peer: serverPid, value: k * 2 + 1, label: `d['${key}'] = …` });
          await list.push(me);
          tl.record('send', me, { peer: serverPid, value: k * 2 + 2, label: `l.push(${me})` });
          writer.send({ name: key, pid: me, key, value } satisfies Wrote);
          tl.record('exit', me, { value: 0 });
        },
      }),
  );
  for (const p of procs) {
    p.start();
    ctx.adoptProcess(p);
  }
  printProcTable(
    out,
    [procRow(ctx.pid, 'lab (parent)'), procRow(serverPid, 'Manager server'), ...procs.map((p) => procRow(p.pid!, p.name))],
    'The processes (/proc): the server and the workers are all children of the lab',
  );
  out.say(out.paint('dim', '(a worker that has already finished shows Z, a zombie, until the lab joins it)'));
  const wrote: Wrote[] = [];
  for (let i = 0; i < WORKERS; i++) wrote.push((await reader.recv(20_000)) as Wrote);
  for (const p of procs) {
    await p.join();
    ctx.reaped(p.pid!, `exit code ${p.exitCode}`);
  }

  out.step('The parent reads the dict and the list through its own proxies');
  const entries = new Map(await dict.entries());
  const items = await list.toArray();
  tl.mark(ctx.pid, 'reads d and l');
  wrote.sort((a, b) => a.key.localeCompare(b.key));
  out.printTable(
    ['KEY', 'WRITTEN BY', 'WROTE', 'PARENT READS'],
    wrote.map((w) => [w.key, `pid ${w.pid}`, JSON.stringify(w.value), JSON.stringify(entries.get(w.key))]),
  );
  out.say(`l.toArray() → [${items.join(', ')}]  (in the order the workers' requests reached the server)`);

  await ctx.hold('manager running', [serverPid]);
  const dictOk = wrote.every((w) => JSON.stringify(entries.get(w.key)) === JSON.stringify(w.value)) && entries.size === WORKERS;
  const listOk = [...items].sort((a, b) => a - b).join() === wrote.map((w) => w.pid).sort((a, b) => a - b).join();
  await manager.shutdown();
  shutDown = true;
  tl.record('reap', ctx.pid, { peer: serverPid, label: 'shutdown' });
  out.say(`manager.shutdown(): the server (pid ${serverPid}) exited; in /proc now: ${procRow(serverPid, '').state}`);
  const ok = dictOk && listOk && procs.every((p) => p.exitCode === 0);
  if (ok) out.ok('the parent read back exactly what each worker wrote');
  return {
    ok,
    facts: {
      serverPid,
      written: wrote.map((w) => ({ key: w.key, pid: w.pid, value: w.value })),
      dictRead: Object.fromEntries(entries),
      listRead: items,
      exitCodes: procs.map((p) => p.exitCode),
    },
  };
}

// Lab: a lock around output. Several processes print lines into one pipe; each line is written in three
// pieces (three write() calls), so without a lock pieces of different processes can interleave inside a
// line. With a Lock (process-shared, in shared memory) around the whole line, every line arrives whole. The parent reads the
// pipe and checks every line.
import * as posix from '../../posix/index.js';
import { Lock } from '../../mp/sync/index.js';
import { type LabContext, type LabResult, readToEnd, spin } from './common.js';

const PROCS = 3;
const LINES = 40;

interface Check {
  lines: number;
  broken: number;
  sample: string[];
}

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const lock = new Lock(); // in shared memory: the forked printers share it
  ctx.defer(() => lock.close());

  const round = async (withLock: boolean): Promise<Check & { statuses: posix.WaitStatus[] }> => {
    const [rfd, wfd] = posix.pipe();
    let rOpen = true;
    let wOpen = true;
    const pids: number[] = [];
    try {
      for (let k = 0; k < PROCS; k++) {
        const tag = String.fromCharCode(65 + k); // A, B, C
        pids.push(
          ctx.fork(
            `${withLock ? 'printer' : 'unlocked'} ${tag}`,
            () => {
              posix.close(rfd);
              const me = posix.getpid();
              for (let i = 1; i <= LINES; i++) {
                if (withLock) lock.acquireSync();
                // one line, three write() calls: "[A 1234] Message 7: " "part two of A " "end A\n"
                posix.write(wfd, `[${tag} ${me}] Message ${i}: `);
                spin(0.05);
                posix.write(wfd, `middle ${tag} `);
                spin(0.05);
                posix.write(wfd, `end ${tag}\n`);
                if (withLock) lock.release();
              }
              tl.mark(me, `${LINES} lines`);
              return 0;
            },
            { title: `printer-${tag}` },
          ),
        );
      }
      posix.close(wfd);
      wOpen = false;
      const text = (await readToEnd(rfd)).toString('utf8');
      const statuses = await ctx.reapAll(pids);
      return { ...check(text), statuses };
    } finally {
      // each fd closed exactly once: a second close could hit an fd number reused meanwhile
      if (rOpen) posix.close(rfd);
      if (wOpen) posix.close(wfd);
      rOpen = wOpen = false;
    }
  };

  out.step(`${PROCS} processes print ${LINES} lines each into one pipe, each line in three write() calls, NO lock`);
  const without = await round(false);
  if (without.broken > 0) {
    out.say(`${without.lines} lines read; ${out.paint(['bold', 'red'], String(without.broken))} broken by pieces of another process. Some of them:`);
    out.block(without.sample.slice(0, 4).map((l) => out.paint('red', l)));
  } else {
    out.say(`${without.lines} lines read; this time none happened to be broken (the processes did not overlap).`);
  }

  out.step('The same with a lock around each line: with lock: print(message)');
  const withLock = await round(true);
  out.say(`${withLock.lines} lines read; ${withLock.broken === 0 ? out.paint(['bold', 'green'], 'none broken') : out.paint('red', `${withLock.broken} broken`)}. The first ones:`);
  out.block(withLock.sample.slice(0, 4));
  out.say('The lock makes the three writes of a line one critical section: no other process can write in between.');

  const exited = (ss: posix.WaitStatus[]) => ss.every((s) => s.kind === 'exited' && s.code === 0);
  const ok = withLock.broken === 0 && withLock.lines === PROCS * LINES && exited(withLock.statuses) && exited(without.statuses);
  if (ok) out.ok(`with the lock all ${withLock.lines} lines are whole`);
  return {
    ok,
    facts: {
      processes: PROCS,
      linesEach: LINES,
      withLock: { lines: withLock.lines, interleaved: withLock.broken },
      withoutLock: { lines: without.lines, interleaved: without.broken, sample: without.sample.slice(0, 4) },
    },
  };
}

/** A whole line is "[T pid] Message i: middle T end T" with the same T throughout. */
function check(text: string): Check {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const whole = /^\[([A-Z]) \d+\] Message \d+: middle \1 end \1$/;
  const bad = lines.filter((l) => !whole.test(l));
  return { lines: lines.length, broken: bad.length, sample: (bad.length ? bad : lines).slice(0, 6) };
}

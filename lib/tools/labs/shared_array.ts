// Lab: a shared array. The parent creates a SharedArray of doubles (shared memory, mmap MAP_SHARED); the
// forked child sees the same physical pages, writes into them, and the parent reads what the child wrote:
// no copy, no message. (A private copy, as fork gives every other variable, is shown too.)
import * as posix from '../../posix/index.js';
import { SharedArray } from '../../mp/shared/index.js';
import { type LabContext, type LabResult } from './common.js';

const LEN = 10;

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const arr = new SharedArray<number>('d', LEN); // 'd': float64, in shared memory
  ctx.defer(() => arr.close());
  const shared = arr.view; // a Float64Array over the shared bytes
  const plain = new Float64Array(LEN);
  for (let i = 0; i < LEN; i++) shared[i] = plain[i] = i;
  const before = Array.from(shared);
  const [reader, writer] = ctx.pipe();

  out.step('The parent creates a SharedArray, fills it with 0..9 and forks a child');
  out.say(`arr = new SharedArray('d', ${LEN}): ${LEN * 8} bytes of shared memory (MAP_SHARED), seen as a Float64Array (arr.view); a plain Float64Array beside it.`);
  const child = ctx.fork(
    'child (writer)',
    () => {
      for (let i = 0; i < LEN; i++) {
        shared[i] = shared[i]! * shared[i]! + 0.5; // arr[i] = arr[i]² + ½
        plain[i] = -1; // only this process's copy changes
      }
      tl.mark(process.pid, 'writes arr[i] = arr[i]² + ½');
      writer.send({ pid: posix.getpid(), wrote: Array.from(shared), plain: Array.from(plain) });
      return 0;
    },
    { title: 'array-writer' },
  );
  const report = (await reader.recv(10_000)) as { pid: number; wrote: number[]; plain: number[] };
  const status = await ctx.reap(child);
  const parentReads = Array.from(shared);
  const parentPlain = Array.from(plain);
  tl.mark(ctx.pid, 'reads the array');

  out.step(`The child (pid ${child}) wrote arr[i] = arr[i]² + ½ and exited; the parent reads`);
  out.printTable(
    ['i', 'BEFORE', 'CHILD WROTE', 'PARENT READS (shared)', 'PARENT READS (plain array)'],
    before.map((b, i) => [
      String(i),
      String(b),
      String(report.wrote[i]),
      parentReads[i] === report.wrote[i] ? out.paint('green', String(parentReads[i])) : out.paint('red', String(parentReads[i])),
      `${parentPlain[i]}  (child's copy: ${report.plain[i]})`,
    ]),
    ['r', 'r', 'r', 'r', 'l'],
  );
  const same = parentReads.every((v, i) => v === report.wrote[i]);
  const privateStayed = parentPlain.every((v, i) => v === before[i]);
  out.say('fork() gives the child a copy-on-write copy of the parent: its writes to ordinary memory stay its own.');
  out.say('MAP_SHARED pages are the same physical pages in both: the parent sees every write.');
  const ok = same && privateStayed && status.kind === 'exited' && status.code === 0;
  if (ok) out.ok('the parent read exactly what the child wrote into the shared array');
  return {
    ok,
    facts: { child: report.pid, before, childWrote: report.wrote, parentRead: parentReads, plainArrayInParent: parentPlain, status },
  };
}

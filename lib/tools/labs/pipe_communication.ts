// Lab: pipes. First the course text's C program with the posix layer (pipe(), fork(), write() in one
// process, read() in the other, each closing the end it does not use); then messages over a Pipe():
// the child writes 1, 2, 3, … and the parent reads them in order.
import { Pipe } from '../../mp/connection.js';
import * as posix from '../../posix/index.js';
import { beside, type LabContext, type LabResult, readToEnd } from './common.js';

const MESSAGES = [1, 2, 3, 4, 5, 'done'];

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;

  out.step('pipe() and fork(): the child writes, the parent reads (the C program, in the posix layer)');
  const [rfd, wfd] = posix.pipe();
  let rOpen = true;
  let wOpen = true;
  ctx.defer(() => {
    if (rOpen) posix.close(rfd);
    if (wOpen) posix.close(wfd);
  });
  const text = 'Hello from the child through a pipe';
  const writerPid = ctx.fork(
    'child (writer)',
    () => {
      posix.close(rfd); // close the read end it does not use
      const n = posix.write(wfd, text);
      tl.record('send', process.pid, { peer: ctx.pid, value: 0, label: `"${text.slice(0, 16)}…"` });
      posix.close(wfd);
      return n === Buffer.byteLength(text) ? 0 : 1;
    },
    { title: 'pipe-writer' },
  );
  posix.close(wfd); // the parent only reads: close its write end, so read() sees EOF when the child is done
  wOpen = false;
  out.block(
    beside(
      [
        out.box([`parent ${ctx.pid}`, `(read fd ${rfd})`]),
        out.box([`child ${writerPid}`, `(write fd ${wfd})`]),
      ],
      '',
      ['', ' <─── pipe ──── ', ''],
    ),
  );
  const bytes = await readToEnd(rfd, (asleep) => tl.state(ctx.pid, asleep ? 'sleeping' : 'running'));
  tl.record('recv', ctx.pid, { peer: writerPid, value: 0, label: 'read()' });
  posix.close(rfd);
  rOpen = false;
  const got = bytes.toString('utf8');
  const ws = await ctx.reap(writerPid);
  out.say(`child wrote : "${text}"`);
  out.say(`parent read : "${got}"  (${Buffer.byteLength(got)} bytes, then EOF: read() returned 0 once the child closed its end)`);
  out.say(`child ${writerPid}: ${ws.kind === 'exited' ? `exited ${ws.code}` : ws.kind}`);
  const rawOk = got === text && ws.kind === 'exited' && ws.code === 0;

  out.step('Pipe(): framed messages; the child (Process A) writes 1, 2, 3, …; the parent (Process B) reads');
  const [parentEnd, childEnd] = Pipe();
  ctx.defer(() => {
    parentEnd.close();
    childEnd.close();
  });
  const sender = ctx.fork(
    'Process A (writer)',
    () => {
      parentEnd.close();
      MESSAGES.forEach((msg, i) => {
        childEnd.send({ seq: i, msg, from: posix.getpid() });
        tl.record('send', process.pid, { peer: ctx.pid, value: i + 1, label: String(msg) });
      });
      childEnd.close();
      return 0;
    },
    { title: 'pipe-sender' },
  );
  childEnd.close();
  const received: unknown[] = [];
  const rows: string[][] = [];
  for (;;) {
    const m = (await parentEnd.recv(10_000)) as { seq: number; msg: unknown; from: number };
    tl.record('recv', ctx.pid, { peer: sender, value: m.seq + 1, label: String(m.msg) });
    received.push(m.msg);
    if (m.msg === 'done') break;
  }
  const ss = await ctx.reap(sender);
  // The real order of events, by the time each process took when it wrote or read.
  const evs = tl.events().filter((e) => (e.kind === 'send' && e.pid === sender) || (e.kind === 'recv' && e.pid === ctx.pid && e.peer === sender));
  for (const e of evs) {
    const msg = JSON.stringify(MESSAGES[e.value - 1]);
    rows.push([
      e.t.toFixed(3),
      e.kind === 'send' ? `Process A (${sender}) writes ${msg}` : '',
      e.kind === 'recv' ? `Process B (${ctx.pid}) reads ${msg}` : '',
    ]);
  }
  out.printTable(['TIME (ms)', 'WRITER (child)', 'READER (parent)'], rows, ['r']);
  out.say(out.paint('dim', 'Times are taken in each process on the same monotonic clock. The pipe buffers what is written'));
  out.say(out.paint('dim', 'until it is read, so the writer may run ahead of the reader: the order within each side is kept.'));
  out.say(`sent    : ${JSON.stringify(MESSAGES)}`);
  out.say(`received: ${JSON.stringify(received)}`);
  const msgOk = JSON.stringify(received) === JSON.stringify(MESSAGES) && ss.kind === 'exited' && ss.code === 0;
  out.say('Final state: both ends closed; the pipe is gone with its last fd.');
  if (rawOk && msgOk) out.ok('the parent read exactly what the child wrote, in order');
  return {
    ok: rawOk && msgOk,
    facts: {
      raw: { writer: writerPid, wrote: text, read: got, status: ws },
      messages: { writer: sender, sent: MESSAGES, received, status: ss },
    },
  };
}

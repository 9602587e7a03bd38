// Lab: a queue between processes. The course text's producer/consumer: a producer process puts messages
// into a Queue, a consumer process gets them. The queue lives in shared memory, so neither needs to know
// the other; the consumer reports what it got to the parent, which compares it with what was put.
import { Process } from '../../mp/process/process.js';
import * as posix from '../../posix/index.js';
import { Queue } from '../../mp/queue.js';
import { beside, type LabContext, type LabResult } from './common.js';

const COUNT = 8;

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const queue = new Queue<{ seq: number; text: string; from: number }>();
  const [reader, writer] = ctx.pipe();
  ctx.defer(() => queue.close());

  out.step('queue = new Queue(); a producer and a consumer process share it');
  let consumerPid = 0; // known before the producer is forked
  const producer = new Process({
    name: 'producer',
    target: async () => {
      const me = posix.getpid();
      for (let seq = 0; seq < COUNT; seq++) {
        const text = seq === 0 ? 'Hello from producer' : `message ${seq}`;
        await queue.put({ seq, text, from: me });
        tl.record('send', me, { peer: consumerPid, value: seq + 1, label: text });
      }
      tl.record('exit', me, { value: 0 });
    },
  });
  // The consumer is started first: it blocks in get() until the producer puts something.
  const consumer = new Process({
    name: 'consumer',
    target: async () => {
      const me = posix.getpid();
      const got: { seq: number; text: string; from: number }[] = [];
      tl.state(me, 'sleeping');
      for (let i = 0; i < COUNT; i++) {
        const m = await queue.get({ timeout: 10_000 });
        tl.state(me, 'running');
        tl.record('recv', me, { peer: m.from, value: m.seq + 1, label: m.text });
        got.push(m);
      }
      writer.send({ pid: me, got });
      tl.record('exit', me, { value: 0 });
    },
  });
  consumer.start();
  consumerPid = consumer.pid!;
  ctx.adoptProcess(consumer);
  producer.start();
  ctx.adoptProcess(producer);
  out.block(
    beside(
      [out.box(['Producer', `(pid ${producer.pid})`]), out.box(['Message Queue', '(shared memory)']), out.box(['Consumer', `(pid ${consumer.pid})`])],
      '',
      ['', ' ──────▶ ', ''],
    ),
  );
  const report = (await reader.recv(20_000)) as { pid: number; got: { seq: number; text: string; from: number }[] };
  await producer.join();
  ctx.reaped(producer.pid!, `exit code ${producer.exitCode}`);
  await consumer.join();
  ctx.reaped(consumer.pid!, `exit code ${consumer.exitCode}`);

  const sent = Array.from({ length: COUNT }, (_, seq) => (seq === 0 ? 'Hello from producer' : `message ${seq}`));
  const got = report.got.map((m) => m.text);
  out.step('What the consumer got, in the order it got it');
  const evs = tl.events();
  const when = (kind: 'send' | 'recv', pid: number, seq: number) => evs.find((e) => e.kind === kind && e.pid === pid && e.value === seq + 1)?.t;
  const ms = (t: number | undefined) => (t === undefined ? '?' : `${t.toFixed(3)} ms`);
  out.printTable(
    ['#', 'PUT BY', 'PUT AT', 'GOT BY', 'GOT AT', 'MESSAGE'],
    report.got.map((m, i) => [String(i + 1), `producer ${m.from}`, ms(when('send', m.from, m.seq)), `consumer ${report.pid}`, ms(when('recv', report.pid, m.seq)), m.text]),
    ['r', 'l', 'r', 'l', 'r'],
  );
  out.say(out.paint('dim', '(times taken by each process on the same monotonic clock, from the start of the lab)'));
  out.say(`Consumer received: ${got[0]}`);
  const ok = JSON.stringify(got) === JSON.stringify(sent) && report.got.every((m) => m.from === producer.pid) && producer.exitCode === 0 && consumer.exitCode === 0;
  if (ok) out.ok(`all ${COUNT} messages arrived, first in first out`);
  return { ok, facts: { producer: producer.pid, consumer: consumer.pid, sent, received: got, exitCodes: [producer.exitCode, consumer.exitCode] } };
}

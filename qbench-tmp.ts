import { Queue, Process } from './lib/index.js';
import * as posix from './lib/posix/index.js';
const N = Number(process.argv[2] ?? 1_000_000);
const kinds: Record<string, (i: number) => unknown> = {
  number: (i) => i,
  'short string': (i) => `item-${i}`,
  'small object': (i) => ({ id: i, name: 'x', tags: ['a'] }),
};
for (const [name, make] of Object.entries(kinds)) {
  const n = name === 'small object' ? N / 5 : N;
  const q = new Queue<unknown>(10000);
  const done = new Queue<number>();
  const p = new Process({ target: () => { const t0 = performance.now(); for (let i = 0; i < n; i++) q.getSync(); done.putSync(performance.now() - t0); } });
  p.start();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) q.putSync(make(i));
  const tc = await done.get();
  const t = performance.now() - t0;
  await p.join();
  console.log(`${name.padEnd(14)} ${n} items: ${(n / t * 1000 / 1e6).toFixed(2)} M items/s (producer wall ${t.toFixed(0)} ms, consumer ${tc.toFixed(0)} ms)`);
  q.close(); done.close();
}

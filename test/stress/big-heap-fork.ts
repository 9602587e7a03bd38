// Run by fork.stress.test.ts in a fresh node (--max-old-space-size=4096): builds a ~500 MB JS heap, then
// runs the fork stress loop from that parent and prints the result as JSON on stdout.
import v8 from 'node:v8';
import { forkStress } from './fork-loop.js';

const count = Number(process.argv[2] ?? 100);
const keep: object[][] = [];
while (v8.getHeapStatistics().used_heap_size < 500 * 2 ** 20) {
  keep.push(Array.from({ length: 10_000 }, (_, k) => ({ k, s: `s${k}` })));
}
const heapMB = Math.round(v8.getHeapStatistics().used_heap_size / 2 ** 20);
const result = await forkStress(count, 2, 60_000);
process.stdout.write(JSON.stringify({ heapMB, kept: keep.length, ...result }) + '\n');

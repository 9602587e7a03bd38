// multiple_processes.ts: split one task over several processes and combine their results.
// Run: npx tsx examples/multiple_processes.ts
//
// The sum of i*i for i = 1..N is cut into ranges; each child sums its range and sends the part back
// through a pipe; the parent adds the parts.
import { Pipe, Process } from 'multiproc';

const N = 2_000_000;
const WORKERS = 4;
const [reader, writer] = Pipe(false); // one-way: children write, the parent reads

function sumOfSquares(lo: number, hi: number): void {
  let sum = 0n;
  for (let i = lo; i <= hi; i++) sum += BigInt(i * i);
  writer.send({ lo, hi, sum }); // a structured clone of the object travels through the pipe
}

const workers: Process[] = [];
for (let k = 0; k < WORKERS; k++) {
  const lo = Math.floor((k * N) / WORKERS) + 1;
  const hi = Math.floor(((k + 1) * N) / WORKERS);
  const p = new Process({ target: sumOfSquares, args: [lo, hi], name: `worker-${k + 1}` });
  p.start();
  workers.push(p);
}

let total = 0n;
for (let k = 0; k < WORKERS; k++) {
  const part = (await reader.recv()) as { lo: number; hi: number; sum: bigint };
  console.log(`part ${part.lo}..${part.hi} = ${part.sum}`);
  total += part.sum;
}
for (const p of workers) {
  await p.join();
  console.log(`${p.name} (pid ${p.pid}) exited with code ${p.exitCode}`);
}
reader.close();
writer.close();

const n = BigInt(N);
console.log(`total    = ${total}`);
console.log(`expected = ${(n * (n + 1n) * (2n * n + 1n)) / 6n}`);

import { Process } from './dist/index.js';
import * as posix from './dist/posix/index.js';
const med = (a) => { a.sort((x, y) => x - y); return a[a.length >> 1]; };
const N = Number(process.argv[2] ?? 200);
const f = [];
for (let i = 0; i < N; i++) {
  const t = process.hrtime.bigint();
  const pid = posix.fork();
  if (pid === 0) posix.exit(0);
  posix.waitpid(pid);
  f.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const p = [];
for (let i = 0; i < N / 2; i++) {
  const t = process.hrtime.bigint();
  const pr = new Process({ target: () => {} });
  pr.start(); await pr.join();
  p.push(Number(process.hrtime.bigint() - t) / 1e6);
}
console.log(JSON.stringify({ node: process.version, forkExitWaitMs: +med(f).toFixed(2), processStartJoinMs: +med(p).toFixed(2), stats: posix.forkStats() }));

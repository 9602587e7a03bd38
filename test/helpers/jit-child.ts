// Run with --allow-natives-syntax: does fresh hot code get optimised (TurboFan) in the parent, in a forked
// child, and in a grandchild? Prints V8's optimisation status bits as JSON.
import * as posix from '../../lib/posix/index.js';

const status = new Function('f', 'return %GetOptimizationStatus(f)') as (f: unknown) => number;

// Each process compiles its own source (different text): code written in that process.
function hot(seed: number): number {
  const f = new Function('x', `let s = ${seed}; for (let i = 0; i < 1000; i++) s = (s + i * x) | 0; return s;`) as (x: number) => number;
  let acc = 0;
  for (let k = 0; k < 20_000; k++) acc = (acc + f(k)) | 0;
  return status(f);
}

function inChild(body: () => string): string {
  const [r, w] = posix.pipe();
  const pid = posix.fork();
  if (pid === 0) {
    posix.close(r);
    posix.writeAll(w, body());
    posix.exit(0);
  }
  posix.close(w);
  const buf = Buffer.alloc(4096);
  let out = '';
  for (let n; (n = posix.read(r, buf)) > 0; ) out += buf.toString('utf8', 0, n);
  posix.close(r);
  posix.waitpid(pid);
  return out;
}

const parent = hot(1);
const child = JSON.parse(inChild(() => JSON.stringify({ child: hot(2), grandchild: Number(inChild(() => String(hot(3)))) })));
process.stdout.write(JSON.stringify({ parent, ...child }) + '\n');

// The fork stress loop, shared by the stress test (in the vitest worker) and big-heap-fork.ts (in a parent
// with a 500 MB JS heap). Children run JavaScript that allocates, compiles and gets optimised; half of them
// are started with fork(), half with forkAndRun() and an async entry. The parent keeps its own GC busy
// between forks. A watchdog turns a hung child into a counted failure.
import * as posix from '../../lib/posix/index.js';

export interface StressResult {
  forks: number;
  ok: number;
  hangs: number;
  crashes: string[];
  wrongCodes: number;
  ms: number;
  forkMsMedian: number;
}

function childBody(i: number): number {
  // Allocation (scavenges), a string build, fresh code (compile), and a hot loop (optimisation).
  const objs = Array.from({ length: 4000 }, (_, k) => ({ k, s: `v${k}` }));
  let text = '';
  for (let k = 0; k < 2000; k++) text += String.fromCharCode(97 + (k % 26));
  const f = new Function('x', `return (x * ${i % 97} + ${text.length}) | 0;`) as (x: number) => number;
  let acc = 0;
  for (let k = 0; k < 20_000; k++) acc = (acc + f(k) + objs[k % objs.length]!.k) | 0;
  return 20 + (i % 200);
}

export async function forkStress(count: number, concurrency = 2, watchdogMs = 20_000): Promise<StressResult> {
  const start = Date.now();
  const result: StressResult = { forks: 0, ok: 0, hangs: 0, crashes: [], wrongCodes: 0, ms: 0, forkMsMedian: 0 };
  const forkTimes: number[] = [];
  let garbage: unknown[] = [];
  let next = 0;

  async function one(i: number): Promise<void> {
    const t0 = performance.now();
    // Every other child through forkAndRun with an async entry (called here, after awaits: the microtask path).
    const pid =
      i % 2 === 1
        ? posix.forkAndRun(async () => {
            const code = childBody(i);
            await new Promise((r) => setImmediate(r));
            posix.exit(code);
          })
        : posix.fork();
    if (pid === 0) {
      try {
        posix.exit(childBody(i));
      } catch {
        posix.exit(1);
      }
    }
    forkTimes.push(performance.now() - t0);
    result.forks++;
    // The parent's own churn: allocation while children come and go keeps V8's background threads busy.
    garbage.push(Array.from({ length: 500 }, (_, k) => ({ k })));
    if (garbage.length > 200) garbage = [];
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('hang')), watchdogMs);
    try {
      const st = await posix.waitpidAsync(pid, { signal: ac.signal });
      if (st.kind === 'exited' && st.code === 20 + (i % 200)) result.ok++;
      else if (st.kind === 'exited') result.wrongCodes++;
      else result.crashes.push(JSON.stringify(st));
    } catch {
      result.hangs++;
      try {
        posix.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      posix.waitpid(pid);
    } finally {
      clearTimeout(timer);
    }
  }

  async function lane(): Promise<void> {
    while (next < count) await one(next++);
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  result.ms = Date.now() - start;
  forkTimes.sort((a, b) => a - b);
  result.forkMsMedian = forkTimes[Math.floor(forkTimes.length / 2)] ?? 0;
  return result;
}

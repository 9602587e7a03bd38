// The other side of the Node built-in benchmarks (lib/tools/bench/suite-node.ts). As a child_process.fork child
// (argv: cpu or -1): pins itself, says ready, echoes every IPC message until disconnected. As a worker thread
// (workerData { mode, cpu, sab, total }): pins its thread, then echoes postMessage messages ('echo') or runs
// `total` Atomics.wait/notify round trips on sab[0] ('atomics'; the same protocol as futexPingPongBench).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as posix from '../../posix/index.js';

function pin(cpu: number): string | null {
  if (cpu < 0) return null;
  try {
    posix.setAffinity(0, [cpu]); // this thread
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

if (isMainThread && process.send) {
  const err = pin(Number(process.argv[2] ?? -1));
  process.on('message', (m) => process.send!(m));
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true, pinError: err });
} else if (!isMainThread && parentPort) {
  const d = workerData as { mode: 'echo' | 'atomics'; cpu: number; sab?: SharedArrayBuffer; total?: number };
  const err = pin(d.cpu);
  const port = parentPort;
  if (d.mode === 'echo') {
    port.on('message', (m) => port.postMessage(m));
    port.postMessage({ ready: true, pinError: err });
  } else {
    const w = new Int32Array(d.sab!);
    port.postMessage({ ready: true, pinError: err });
    for (let i = 0; i < d.total!; i++) {
      while (Atomics.load(w, 0) === 0) Atomics.wait(w, 0, 0);
      Atomics.store(w, 0, 0);
      Atomics.notify(w, 0, 1);
    }
    port.close();
  }
}

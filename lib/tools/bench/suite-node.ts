// What Node offers for the same round trip: child_process IPC (json and advanced serialization),
// worker_threads postMessage, and SharedArrayBuffer + Atomics.wait between threads. Each trial starts a
// fresh peer (lib/tools/bench/node-peer.ts), pinned like the two-process latencies (the peer pins itself; this
// process pins its main thread).
import { type ChildProcess, fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { type Ctx, nowNs, type Placement, pinSelf, sibling, sizeTo, type Suite } from './core.js';

interface Peer {
  /** n round trips, returns elapsed ns. */
  roundTrips(n: number): Promise<number>;
  close(): Promise<void>;
  pinError: string | null;
}

function once<T>(subscribe: (cb: (v: T) => void) => void): Promise<T> {
  return new Promise((resolve) => subscribe(resolve));
}

/** n ping messages, each awaited until the peer's echo arrives; returns the elapsed ns. */
function echoRoundTrips(peer: { on(event: 'message', f: () => void): unknown }, send: (m: object) => void): (n: number) => Promise<number> {
  let next: (() => void) | null = null;
  peer.on('message', () => next?.());
  const msg = { i: 0, op: 'ping' };
  return async (n) => {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) {
      msg.i = i;
      const got = once<void>((cb) => (next = cb));
      send(msg);
      await got;
    }
    return nowNs() - t0;
  };
}

async function childPeer(serialization: 'json' | 'advanced', cpu: number | null): Promise<Peer> {
  const c: ChildProcess = fork(sibling('node-peer'), [String(cpu ?? -1)], { serialization, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
  const ready = await new Promise<{ pinError: string | null }>((resolve, reject) => {
    c.once('message', (m) => resolve(m as { pinError: string | null }));
    c.once('error', reject);
    c.once('exit', (code, sig) => reject(new Error(`the child ended (${sig ?? code}) before it was ready`)));
  });
  return {
    pinError: ready.pinError,
    roundTrips: echoRoundTrips(c, (m) => c.send(m)),
    async close() {
      c.disconnect();
      await exited;
    },
  };
}

async function workerPeer(cpu: number | null): Promise<Peer> {
  const w = new Worker(sibling('node-peer'), { workerData: { mode: 'echo', cpu: cpu ?? -1 } });
  const ready = await new Promise<{ pinError: string | null }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return {
    pinError: ready.pinError,
    roundTrips: echoRoundTrips(w, (m) => w.postMessage(m)),
    async close() {
      await w.terminate();
    },
  };
}

/** n round trips through Atomics.wait/notify with a worker that runs exactly `total` of them. */
async function atomicsTrial(cpu: number | null, total: number, run: (rt: (n: number) => number) => void): Promise<string | null> {
  const sab = new SharedArrayBuffer(64);
  const word = new Int32Array(sab);
  const w = new Worker(sibling('node-peer'), { workerData: { mode: 'atomics', cpu: cpu ?? -1, sab, total } });
  const exited = new Promise<void>((resolve, reject) => {
    w.once('exit', () => resolve());
    w.once('error', reject);
  });
  const ready = await new Promise<{ pinError: string | null }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  run((n) => {
    const t0 = nowNs();
    for (let i = 0; i < n; i++) {
      Atomics.store(word, 0, 1);
      Atomics.notify(word, 0, 1);
      while (Atomics.load(word, 0) === 1) {
        if (Atomics.wait(word, 0, 1, 30_000) === 'timed-out') throw new Error('the worker stopped answering');
      }
    }
    return nowNs() - t0;
  });
  await exited;
  return ready.pinError;
}

async function peerLatency(ctx: Ctx, make: (cpu: number | null) => Promise<Peer>, placement: Placement): Promise<{ samples: number[]; opsPerSample: number; pinError: string | null }> {
  const { quick, reps, budgetMs } = ctx.opts;
  const batches = quick ? 10 : 20;
  const trial = async (warmup: number, nb: number, n: number) => {
    const peer = await make(placement.b);
    const restore = pinSelf(placement.a);
    try {
      await peer.roundTrips(warmup);
      const out: number[] = [];
      for (let b = 0; b < nb; b++) out.push((await peer.roundTrips(n)) / n);
      return { out, pinError: peer.pinError };
    } finally {
      restore();
      await peer.close();
    }
  };
  const pilot = (await trial(quick ? 50 : 300, 1, quick ? 100 : 500)).out[0]!;
  const n = sizeTo(budgetMs, reps * batches, pilot, 10);
  const samples: number[] = [];
  let pinError: string | null = null;
  for (let r = 0; r < reps; r++) {
    const t = await trial(Math.max(50, n >> 2), batches, n);
    pinError ??= t.pinError;
    samples.push(...t.out.map((ns) => ns / 1000));
  }
  return { samples, opsPerSample: n, pinError };
}

export const nodeSuite: Suite = {
  name: 'node',
  title: "Node's built-ins for the same round trip: child_process IPC, worker postMessage, Atomics.wait",
  quick: true,
  available: async () => null,
  async run(ctx) {
    const ref = 'pipe ping-pong';
    const figures: Array<{ group: string; label: string; make: (cpu: number | null) => Promise<Peer>; ref?: string }> = [
      { group: 'child_process IPC round trip', label: "child_process.fork, serialization 'json', send/'message' of { i, op }", make: (cpu) => childPeer('json', cpu), ref },
      { group: 'child_process IPC round trip', label: "child_process.fork, serialization 'advanced'", make: (cpu) => childPeer('advanced', cpu), ref },
      { group: 'worker postMessage round trip', label: 'worker_threads postMessage/message of { i, op } (threads)', make: workerPeer, ref },
    ];
    for (const placement of ctx.opts.placements) {
      for (const f of ctx.opts.quick ? figures.slice(0, 1) : figures) {
        if (!ctx.want(f.group)) continue;
        await ctx.attempt(`${f.group} · node · ${placement.name}`, async () => {
          const { samples, opsPerSample, pinError } = await peerLatency(ctx, f.make, placement);
          ctx.add({ group: f.group, way: 'node', label: f.label, placement: placement.name, unit: 'µs', per: 'round trip', better: 'lower', samples, opsPerSample, ...(f.ref ? { ref: f.ref } : {}), ...(pinError ? { note: `peer not pinned: ${pinError}` } : {}) });
        });
      }
      const group = 'futex / Atomics.wait ping-pong';
      if (ctx.opts.quick || !ctx.want(group)) continue;
      await ctx.attempt(`${group} · node · ${placement.name}`, async () => {
        const { reps, budgetMs } = ctx.opts;
        const batches = 20;
        let pilot = 0;
        await atomicsTrial(placement.b, 1300, (rt) => {
          rt(300);
          pilot = rt(1000) / 1000;
        });
        const n = sizeTo(budgetMs, reps * batches, pilot, 20);
        const samples: number[] = [];
        let pinError: string | null = null;
        for (let r = 0; r < reps; r++) {
          const warm = Math.max(20, n >> 2);
          pinError ??= await atomicsTrial(placement.b, warm + batches * n, (rt) => {
            const restore = pinSelf(placement.a);
            try {
              rt(warm);
              for (let b = 0; b < batches; b++) samples.push(rt(n) / n / 1000);
            } finally {
              restore();
            }
          });
        }
        ctx.add({ group, way: 'node', label: 'SharedArrayBuffer + Atomics.wait/notify between two threads (main + worker)', placement: placement.name, unit: 'µs', per: 'round trip', better: 'lower', samples, opsPerSample: n, ...(pinError ? { note: `worker not pinned: ${pinError}` } : {}) });
      });
    }
  },
};

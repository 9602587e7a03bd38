// The high-level APIs that mirror Python's multiprocessing: Queue, Value + lock, Pool. Each suite checks that
// its module is in this build (they are optional here so that the benchmark runs on any build); a missing one
// is reported as "not available", never replaced by something else.
import { type Ctx, nowNs, optionalModule, type Suite } from './core.js';
import { latencyGroup } from './suite-latency.js';
import { contentionGroup, rateFigure } from './suite-process.js';

interface QueueLike {
  putSync(v: unknown): void;
  getSync(): unknown;
  close(): void;
}
type QueueCtor = new (maxsize?: number) => QueueLike;

/** The class `name` of the multiprocessing API, or why this build lacks it (`file`: where it would be). */
async function apiClass<C>(name: string, file: string): Promise<C | string> {
  const m = await optionalModule(file);
  if (!m) return `${file} (${name}) is not in this build`;
  if (typeof m[name] !== 'function') return `${file} exports no ${name}`;
  return m[name] as C;
}

/**
 * A suite that measures the class `cls` of the multiprocessing API (from `file`): not available when this
 * build lacks it; `run` gets the class.
 */
function apiSuite<C>(cls: string, file: string, suite: { name: string; title: string; run(ctx: Ctx, ctor: C): Promise<void> }): Suite {
  const probe = () => apiClass<C>(cls, file);
  return {
    name: suite.name,
    title: suite.title,
    quick: false,
    available: async () => {
      const c = await probe();
      return typeof c === 'string' ? c : null;
    },
    run: async (ctx) => suite.run(ctx, (await probe()) as C),
  };
}

export const queueSuite = apiSuite<QueueCtor>('Queue', 'lib/mp/queue.ts', {
  name: 'queue',
  title: 'multiproc Queue: ping-pong latency (two queues) and one-way message rate',
  async run(ctx, Queue) {
    await latencyGroup(
      ctx,
      'Queue ping-pong',
      'round trip',
      [
        {
          way: 'api',
          label: 'Queue.putSync/getSync of a small int, two queues',
          loop: {
            open: () => [new Queue(), new Queue()] as [QueueLike, QueueLike],
            child: (q: [QueueLike, QueueLike], total: number) => {
              for (let i = 0; i < total; i++) q[1].putSync(q[0].getSync());
            },
            parent: (q: [QueueLike, QueueLike], n: number) => {
              const t0 = nowNs();
              for (let i = 0; i < n; i++) {
                q[0].putSync(i);
                if (q[1].getSync() !== i) throw new Error('Queue ping-pong: wrong value');
              }
              return nowNs() - t0;
            },
            close: (q: [QueueLike, QueueLike]) => q.forEach((x) => x.close()),
          },
        },
      ],
      'pipe ping-pong',
    );
    await rateFigure(
      ctx,
      'Queue, small messages one way',
      'api',
      'Queue.putSync in the child, getSync in the parent, small ints',
      {
        open: () => new Queue(),
        child: (q: QueueLike, total: number) => {
          for (let i = 0; i < total; i++) q.putSync(i);
        },
        parent: (q: QueueLike, n: number) => {
          const t0 = nowNs();
          for (let i = 0; i < n; i++) q.getSync();
          return nowNs() - t0;
        },
        close: (q: QueueLike) => q.close(),
      },
      8,
      'msg/s',
      'pipe, 64-byte messages',
    );
  },
});

interface ValueLike {
  value: number;
  getLock(): { acquireSync(): boolean; release(): void };
  close?(): void;
}
type ValueCtor = new (type: string, init?: number, opts?: { lock?: boolean }) => ValueLike;

export const valueSuite = apiSuite<ValueCtor>('Value', 'lib/mp/shared/value.ts', {
  name: 'value',
  title: "multiproc Value + its lock: 2 processes increment one Value('i') under getLock()",
  async run(ctx, Value) {
    await contentionGroup(ctx, 'contended increment', [
      {
        way: 'api',
        label: "Value('i').getLock() acquireSync/release + value += 1",
        make: () => {
          const v = new Value('i', 0);
          const lock = v.getLock();
          return {
            body: (n: number) => {
              for (let i = 0; i < n; i++) {
                lock.acquireSync();
                v.value += 1;
                lock.release();
              }
            },
            total: () => v.value,
            close: () => v.close?.(),
          };
        },
      },
    ]);
  },
});

interface PoolLike {
  map(fn: (x: number) => number, items: number[], opts?: { chunkSize?: number }): Promise<number[]>;
  close(): void;
  join(): Promise<void>;
  terminate(): Promise<void>;
}
type PoolCtor = new (opts: { processes?: number }) => PoolLike;

const double = (x: number): number => x * 2;

export const poolSuite = apiSuite<PoolCtor>('Pool', 'lib/mp/pool/pool.ts', {
  name: 'pool',
  title: 'multiproc Pool.map: per-task overhead of a trivial function (2 worker processes)',
  async run(ctx, Pool) {
    for (const chunkSize of [1, 64]) {
      const group = 'Pool.map per task';
      if (!ctx.want(group)) continue;
      await ctx.attempt(`${group} · api · chunkSize ${chunkSize}`, async () => {
        const pool = new Pool({ processes: 2 });
        try {
          const items = (n: number) => Array.from({ length: n }, (_, i) => i);
          const check = (out: number[], n: number) => {
            if (out.length !== n || out[n - 1] !== 2 * (n - 1)) throw new Error('Pool.map returned wrong results');
          };
          check(await pool.map(double, items(200), { chunkSize }), 200); // workers started and warm
          let t0 = nowNs();
          check(await pool.map(double, items(1000), { chunkSize }), 1000);
          const pilot = (nowNs() - t0) / 1000;
          const n = Math.max(200, Math.min(1_000_000, Math.floor((ctx.opts.budgetMs * 1e6) / (ctx.opts.reps * 5) / pilot)));
          const samples: number[] = [];
          const input = items(n);
          for (let r = 0; r < ctx.opts.reps * 5; r++) {
            t0 = nowNs();
            check(await pool.map(double, input, { chunkSize }), n);
            samples.push((nowNs() - t0) / n / 1000);
          }
          ctx.add({ group, way: 'api', label: `pool.map(x => x * 2, ${n} ints, { chunkSize: ${chunkSize} }), Pool({ processes: 2 })`, placement: 'unpinned', unit: 'µs', per: 'task', better: 'lower', samples, opsPerSample: n });
          pool.close();
          await pool.join();
        } catch (e) {
          await pool.terminate();
          throw e;
        }
      });
    }
  },
});

// Suites measured mostly inside one process or with one-directional streams: contention (a contended
// process-shared mutex), process creation, message throughput and bandwidth.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { Connection, Pipe } from '../../mp/connection.js';
import { Process } from '../../mp/process/process.js';
import { stopForkserver } from '../../mp/process/start/forkserver.js';
import * as posix from '../../posix/index.js';
import { type Ctx, nb, nowNs, type PairLoop, pairTrial, sibling, sizeTo, type Suite, teamWall, timeEach, UNPINNED, type Way } from './core.js';
import { forkExitWait, forkJsBody } from './fork.js';

// ---------------------------------------------------------------------------------------------------------
// contention

export function jsMutexIncrements(mx: posix.Mutex, counter: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    mx.lock();
    counter[0] = counter[0]! + 1;
    mx.unlock();
  }
}

/**
 * Two processes × n locked increments of one counter, started together; samples: ns per increment over the
 * wall time of both (first start to last end), one per repetition. The total is checked.
 */
export async function contentionGroup(
  ctx: Ctx,
  group: string,
  ways: Array<{ way: Way; label: string; make: () => { body: (n: number) => void; total: () => number; close: () => void } }>,
): Promise<void> {
  if (!ctx.want(group)) return;
  const { reps, budgetMs, quick } = ctx.opts;
  for (const placement of ctx.opts.placements) {
    for (const w of ways) {
      await ctx.attempt(`${group} · ${w.way} · ${placement.name}`, () => {
        const trial = (n: number): number => {
          const x = w.make();
          try {
            const wall = teamWall([placement.a, placement.b], () => x.body(n));
            const total = x.total();
            if (total !== 2 * n) throw new Error(`expected ${2 * n} increments, counted ${total}`);
            return wall / (2 * n);
          } finally {
            x.close();
          }
        };
        const pilot = trial(quick ? 2_000 : 20_000);
        const n = sizeTo(budgetMs, reps, pilot * 2, 1000, 50_000_000);
        const samples: number[] = [];
        for (let r = 0; r < Math.max(reps, 3); r++) samples.push(trial(n));
        ctx.add({ group, way: w.way, label: w.label, placement: placement.name, unit: 'ns', per: 'increment', better: 'lower', samples, opsPerSample: 2 * n });
      });
    }
  }
}

function mutexWay(way: 'native' | 'js') {
  return () => {
    const m = posix.mmap(4096);
    const mx = posix.Mutex.init(m, 0);
    const counter = new Int32Array(m.buffer, 256, 1);
    return {
      body: (n: number) => (way === 'native' ? void nb.mutexBench(m, 0, 256, n) : jsMutexIncrements(mx, counter, n)),
      total: () => counter[0]!,
      close: () => m.close(),
    };
  };
}

export const contentionSuite: Suite = {
  name: 'contention',
  title: 'Contended process-shared mutex: 2 processes increment one counter under the lock',
  quick: false,
  available: async () => null,
  async run(ctx) {
    await contentionGroup(ctx, 'contended increment', [
      { way: 'native', label: 'pthread_mutex_lock/unlock + increment, loop in C (robust, pshared)', make: mutexWay('native') },
      { way: 'js', label: 'posix.Mutex lock/unlock + Int32Array increment', make: mutexWay('js') },
    ]);
  },
};

// ---------------------------------------------------------------------------------------------------------
// process creation

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`child ended with ${signal ?? code}`))));
  });
}

const TRUE_BIN = '/bin/true';

export const creationSuite: Suite = {
  name: 'creation',
  title: 'Process creation: start a child that exits at once, and wait for it (µs per process)',
  quick: true,
  available: async () => null,
  async run(ctx) {
    const { quick, budgetMs } = ctx.opts;
    const figure = async (group: string, way: Way, label: string, fn: () => Promise<void> | void, o: { slow?: boolean; ref?: string } = {}) => {
      if (!ctx.want(group)) return;
      await ctx.attempt(`${group} · ${way}`, async () => {
        const samples = await timeEach(fn, {
          ms: o.slow ? budgetMs * 2 : budgetMs,
          warmup: quick ? 2 : o.slow ? 3 : 10,
          minSamples: quick ? 5 : o.slow ? 10 : 30,
          maxSamples: quick ? 30 : 2000,
        });
        ctx.add({ group, way, label, placement: 'unpinned', unit: 'µs', per: 'process', better: 'lower', samples, opsPerSample: 1, ...(o.ref ? { ref: o.ref } : {}) });
      });
    };
    await figure('fork + exit + wait', 'native', 'fork(); _exit(0); waitpid — in C inside this Node process', () => void nb.forkWaitBench(1));
    await figure('fork + exit + wait', 'js', 'posix.fork(); posix.exit(0); posix.waitpid', forkExitWait);
    await figure('fork + exit + wait', 'api', "new Process({ target }).start(); joinSync() (start method 'fork')", () => {
      const p = new Process({ target: () => {} });
      p.start();
      p.joinSync();
      if (p.exitCode !== 0) throw new Error(`Process ended with ${p.exitCode}`);
      p.close();
    });
    await figure('forkserver start + join', 'api', "new Process({ startMethod: 'forkserver', module, export }).start(); joinSync()", () => {
      const p = new Process({ startMethod: 'forkserver', module: sibling('noop'), export: 'default' });
      p.start();
      p.joinSync();
      if (p.exitCode !== 0) throw new Error(`Process ended with ${p.exitCode}`);
      p.close();
    }, { ref: 'fork + exit + wait' });
    stopForkserver();
    if (quick) return;
    await figure('fork + JS body + wait', 'js', 'posix.fork(); child builds a 10k-element array; posix.exit; waitpid', forkJsBody, { ref: 'fork + exit + wait' });
    await figure('posix_spawn /bin/true + wait', 'native', 'posix_spawn(/bin/true); waitpid — in C', () => void nb.spawnWaitBench(TRUE_BIN, 1));
    await figure('posix_spawn /bin/true + wait', 'js', "posix.spawn('/bin/true'); posix.waitpid", () => {
      const st = posix.waitpid(posix.spawn(TRUE_BIN, ['true']));
      if (st.kind !== 'exited' || st.code !== 0) throw new Error(`/bin/true ended with ${JSON.stringify(st)}`);
    });
    await figure('posix_spawn /bin/true + wait', 'node', "child_process.spawn('/bin/true'), await 'exit'", () => exitOf(spawn(TRUE_BIN, [], { stdio: 'ignore' })));
    const ref = 'posix_spawn /bin/true + wait';
    await figure(
      'spawn a fresh runtime child',
      'api',
      "new Process({ startMethod: 'spawn', module, export }).start(); await join()",
      async () => {
        const p = new Process({ startMethod: 'spawn', module: sibling('noop'), export: 'default' });
        p.start();
        await p.join();
        if (p.exitCode !== 0) throw new Error(`Process ended with ${p.exitCode}`);
        p.close();
      },
      { slow: true, ref },
    );
    await figure('spawn a fresh runtime child', 'node', "child_process.spawn(node, ['-e', '0'])", () => exitOf(spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })), { slow: true, ref });
    await figure(
      'spawn a fresh runtime child',
      'node',
      'child_process.fork(module) (IPC channel)',
      () => exitOf(fork(sibling('noop'), [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })),
      { slow: true, ref },
    );
  },
};

// ---------------------------------------------------------------------------------------------------------
// one-directional streams: message rate (small messages) and bandwidth (big chunks)

interface Stream {
  r: number;
  w: number;
  conns?: [Connection, Connection];
}

/** A stream from the child (writer) to the parent (reader); `n` chunks per batch; ns per chunk. */
function streamLoop(kind: 'pipe' | 'socketpair', way: 'native' | 'js' | 'api', chunk: number): PairLoop<Stream> {
  const buf = new Uint8Array(chunk).fill(0x5a);
  const rbuf = new Uint8Array(chunk);
  return {
    open: () => {
      if (way === 'api') {
        const [a, b] = kind === 'pipe' ? Pipe(false) : Pipe(true);
        return { r: a.fileno(), w: b.fileno(), conns: [a, b] };
      }
      if (kind === 'pipe') {
        const [r, w] = posix.pipe();
        return { r, w };
      }
      const [r, w] = posix.socketpair('stream');
      return { r, w };
    },
    inChild: (s) => (s.conns ? s.conns[0].close() : posix.close(s.r)),
    inParent: (s) => (s.conns ? s.conns[1].close() : posix.close(s.w)),
    child: (s, total) => {
      if (way === 'native') nb.streamBench(s.w, total * chunk, chunk, 0);
      else if (way === 'api') for (let i = 0; i < total; i++) s.conns![1].sendBytes(buf);
      else for (let i = 0; i < total; i++) posix.writeAll(s.w, buf);
    },
    parent: (s, n) => {
      if (way === 'native') return nb.streamBench(s.r, n * chunk, chunk, 1);
      const t0 = nowNs();
      if (way === 'api') {
        for (let i = 0; i < n; i++) if (s.conns![0].recvBytesSync().length !== chunk) throw new Error('short message');
      } else {
        let left = n * chunk;
        while (left > 0) {
          const k = posix.read(s.r, rbuf, 0, Math.min(chunk, left));
          if (k === 0) throw new Error('the writer closed early');
          left -= k;
        }
      }
      return nowNs() - t0;
    },
    close: (s) => {
      if (s.conns) s.conns.forEach((c) => c.closed || c.close());
      else
        for (const fd of [s.r, s.w]) {
          try {
            posix.close(fd);
          } catch {
            /* closed after fork */
          }
        }
    },
  };
}

/** A rate figure from a pair loop: samples in msg/s or MB/s (one per batch), unpinned. */
export async function rateFigure(ctx: Ctx, group: string, way: Way, label: string, loop: PairLoop<any>, bytesPerOp: number, unit: 'msg/s' | 'MB/s', ref?: string): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!ctx.want(group)) return;
  await ctx.attempt(`${group} · ${way}`, () => {
    const { budgetMs, reps, quick } = ctx.opts;
    const batches = quick ? 5 : 10;
    const pilot = pairTrial(loop, UNPINNED, 10, 1, quick ? 50 : 200)[0]!;
    const n = sizeTo(budgetMs, reps * batches, pilot, 4);
    const samples: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (const nsPerOp of pairTrial(loop, UNPINNED, Math.max(4, n >> 2), batches, n)) {
        samples.push(unit === 'msg/s' ? 1e9 / nsPerOp : (bytesPerOp / nsPerOp) * 1e3); // bytes/ns × 1e3 = MB/s
      }
    }
    ctx.add({ group, way, label, placement: 'unpinned', unit, per: unit === 'msg/s' ? 'second' : 'second', better: 'higher', samples, opsPerSample: n, ...(ref ? { ref } : {}) });
  });
}

export const throughputSuite: Suite = {
  name: 'throughput',
  title: 'Message rate: small messages streamed one way (child writes, parent reads)',
  quick: false,
  available: async () => null,
  async run(ctx) {
    const g = 'pipe, 64-byte messages';
    await rateFigure(ctx, g, 'native', 'write(2)/read(2) of 64 B, loops in C', streamLoop('pipe', 'native', 64), 64, 'msg/s');
    await rateFigure(ctx, g, 'js', 'posix.writeAll/posix.read of 64 B', streamLoop('pipe', 'js', 64), 64, 'msg/s');
    await rateFigure(ctx, g, 'api', 'Connection.sendBytes/recvBytesSync of 64 B over Pipe(false)', streamLoop('pipe', 'api', 64), 64, 'msg/s');
  },
};

export const bandwidthSuite: Suite = {
  name: 'bandwidth',
  title: 'Bandwidth: bulk bytes one way between two processes, and into shared memory',
  quick: true,
  available: async () => null,
  async run(ctx) {
    const chunk = 64 * 1024;
    const big = 1024 * 1024;
    for (const kind of ['pipe', 'socketpair'] as const) {
      const g = `${kind} bandwidth`;
      await rateFigure(ctx, g, 'native', `write(2)/read(2) of 64 KiB, loops in C`, streamLoop(kind, 'native', chunk), chunk, 'MB/s');
      await rateFigure(ctx, g, 'js', `posix.writeAll/posix.read of 64 KiB`, streamLoop(kind, 'js', chunk), chunk, 'MB/s');
      if (ctx.opts.quick) return;
      await rateFigure(ctx, g, 'api', `Connection.sendBytes/recvBytesSync of 1 MiB over ${kind === 'pipe' ? 'Pipe(false)' : 'Pipe()'}`, streamLoop(kind, 'api', big), big, 'MB/s');
    }
    const g = 'shared memory write';
    if (!ctx.want(g)) return;
    const bytes = 1 << 20;
    const m = posix.mmap(bytes);
    try {
      const dst = new Uint8Array(m.buffer);
      const src = new Uint8Array(bytes).fill(0x5a);
      dst.fill(1); // first touch before timing: faults are not what this measures
      const perRep = Math.max(4, Math.floor((ctx.opts.budgetMs / ctx.opts.reps / 2 / 10) * 1e6 / (bytes / 4))); // ~4 GB/s guess
      const js: number[] = [];
      const nat: number[] = [];
      for (let r = 0; r < ctx.opts.reps * 5; r++) {
        let t0 = nowNs();
        for (let i = 0; i < perRep; i++) {
          src[0] = i;
          dst.set(src);
        }
        js.push(((bytes * perRep) / (nowNs() - t0)) * 1e3);
        if (dst[0] !== ((perRep - 1) & 0xff)) throw new Error('the copy did not land');
        nat.push(((bytes * perRep) / nb.copyBench(m, bytes, perRep)) * 1e3);
      }
      ctx.add({ group: g, way: 'native', label: 'memcpy of 1 MiB into a MAP_SHARED mapping, in C', placement: 'one process', unit: 'MB/s', per: 'second', better: 'higher', samples: nat, opsPerSample: perRep });
      ctx.add({ group: g, way: 'js', label: 'Uint8Array.set of 1 MiB into Mapping.buffer', placement: 'one process', unit: 'MB/s', per: 'second', better: 'higher', samples: js, opsPerSample: perRep });
    } finally {
      m.close();
    }
  },
};

// Latency suites: ping-pong round trips between two processes over byte channels (pipe, socketpair, FIFO,
// POSIX message queue) and through process-shared synchronisation (semaphore, futex, barrier), each way that
// makes sense: the C loop in the addon, the same loop in JS through the addon, the high-level API.
import { unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Pipe } from '../../mp/connection.js';
import * as posix from '../../posix/index.js';
import { type Ctx, nb, nowNs, optionalModule, type PairLoop, pairLatency, type Suite, type Way } from './core.js';

// ---- the JS loops (module level: the parent's pilot trial warms them before the measured forks) ----

/** n round trips of one byte; the initiator writes first. Returns elapsed ns. */
export function jsBytePingPong(read: number, write: number, n: number, initiator: boolean): number {
  const buf = new Uint8Array(1);
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    if (initiator) posix.write(write, buf);
    if (posix.read(read, buf) === 0) throw new Error('ping-pong: the other side closed its end');
    if (!initiator) posix.write(write, buf);
  }
  return nowNs() - t0;
}

export function jsMqPingPong(receive: posix.MessageQueue, send: posix.MessageQueue, n: number, initiator: boolean): number {
  const msg = new Uint8Array(1);
  const buf = new Uint8Array(receive.messageSize);
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    if (initiator) send.send(msg);
    receive.receive(buf);
    if (!initiator) send.send(msg);
  }
  return nowNs() - t0;
}

export function connPingPong(receive: Connection, send: Connection, n: number, initiator: boolean): number {
  const msg = new Uint8Array(1);
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    if (initiator) send.sendBytes(msg);
    receive.recvBytesSync();
    if (!initiator) send.sendBytes(msg);
  }
  return nowNs() - t0;
}

/** The same with send/recvSync of a small integer (the compact encoding): what most code sends. */
export function connValuePingPong(receive: Connection, send: Connection, n: number, initiator: boolean): number {
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    if (initiator) send.send(i);
    const v = receive.recvSync();
    if (!initiator) send.send(v);
    else if (v !== i) throw new Error('Connection ping-pong: wrong value');
  }
  return nowNs() - t0;
}

export function jsSemPingPong(mine: posix.Semaphore, theirs: posix.Semaphore, n: number, initiator: boolean): number {
  const t0 = nowNs();
  for (let i = 0; i < n; i++) {
    if (initiator) theirs.post();
    mine.wait();
    if (!initiator) theirs.post();
  }
  return nowNs() - t0;
}

export function jsBarrierCycles(b: posix.Barrier, n: number): number {
  const t0 = nowNs();
  for (let i = 0; i < n; i++) b.wait();
  return nowNs() - t0;
}

// ---- channels ----

interface Ends {
  read: number;
  write: number;
}
interface FdChannel {
  parent: Ends;
  child: Ends;
  all: number[];
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      posix.close(fd);
    } catch {
      /* closed already */
    }
  }
}

function pipeChannel(): FdChannel {
  const [toChildR, toChildW] = posix.pipe();
  const [toParentR, toParentW] = posix.pipe();
  return { parent: { read: toParentR, write: toChildW }, child: { read: toChildR, write: toParentW }, all: [toChildR, toChildW, toParentR, toParentW] };
}

function socketChannel(): FdChannel {
  const [a, b] = posix.socketpair('stream');
  return { parent: { read: a, write: a }, child: { read: b, write: b }, all: [a, b] };
}

/** Two FIFOs in the temp dir, opened O_RDWR (never blocks on open) and unlinked at once. */
function fifoChannel(): FdChannel {
  const base = path.join(os.tmpdir(), `multiproc-bench-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fds: number[] = [];
  for (const suffix of ['a', 'b']) {
    const p = `${base}-${suffix}`;
    posix.mkfifo(p, 0o600);
    try {
      fds.push(posix.open(p, { access: 'readwrite' }));
    } finally {
      unlinkSync(p);
    }
  }
  const [toChild, toParent] = fds as [number, number];
  // Both processes hold both fds (O_RDWR); each only reads its own FIFO and writes the other's.
  return { parent: { read: toParent, write: toChild }, child: { read: toChild, write: toParent }, all: [toChild, toParent] };
}

function fdLoop(make: () => FdChannel, way: 'native' | 'js', splitEnds: boolean): PairLoop<FdChannel> {
  const drop = (c: FdChannel, keep: Ends) => (splitEnds ? closeAll(c.all.filter((fd) => fd !== keep.read && fd !== keep.write)) : undefined);
  return {
    open: make,
    inChild: (c) => drop(c, c.child),
    child: (c, total) => {
      if (way === 'native') posix.pingPongBench(c.child.read, c.child.write, total, false);
      else jsBytePingPong(c.child.read, c.child.write, total, false);
    },
    parent: (c, n) => (way === 'native' ? posix.pingPongBench(c.parent.read, c.parent.write, n, true) : jsBytePingPong(c.parent.read, c.parent.write, n, true)),
    close: (c) => closeAll(c.all),
  };
}

/** Connection ping-pong: duplex (a socketpair, Pipe()) or two one-way pipes (Pipe(false) × 2). */
function connLoop(duplex: boolean, values = false): PairLoop<{ parent: [Connection, Connection]; child: [Connection, Connection]; all: Connection[] }> {
  return {
    open: () => {
      if (duplex) {
        const [a, b] = Pipe(true);
        return { parent: [a, a], child: [b, b], all: [a, b] };
      }
      const [r1, w1] = Pipe(false); // parent → child
      const [r2, w2] = Pipe(false); // child → parent
      return { parent: [r2, w1], child: [r1, w2], all: [r1, w1, r2, w2] };
    },
    inChild: (c) => c.all.filter((x) => !c.child.includes(x)).forEach((x) => x.close()),
    child: (c, total) => void (values ? connValuePingPong : connPingPong)(c.child[0], c.child[1], total, false),
    parent: (c, n) => (values ? connValuePingPong : connPingPong)(c.parent[0], c.parent[1], n, true),
    close: (c) => c.all.forEach((x) => x.closed || x.close()),
  };
}

function mqLoop(way: 'native' | 'js'): PairLoop<[posix.MessageQueue, posix.MessageQueue]> {
  return {
    open: () => {
      const names = [1, 2].map((i) => `/multiproc-bench-${process.pid}-${i}-${Math.random().toString(36).slice(2)}`);
      const qs = names.map((name) => posix.mqOpen(name, { create: true, exclusive: true, maxMessages: 1, messageSize: 8 }));
      for (const name of names) posix.mqUnlink(name); // the descriptors keep them alive: nothing to clean up
      return qs as [posix.MessageQueue, posix.MessageQueue];
    },
    // parent → child on q[0], child → parent on q[1]
    child: (q, total) => {
      if (way === 'native') posix.mqPingPongBench(q[0], q[1], total, false);
      else jsMqPingPong(q[0], q[1], total, false);
    },
    parent: (q, n) => (way === 'native' ? posix.mqPingPongBench(q[1], q[0], n, true) : jsMqPingPong(q[1], q[0], n, true)),
    close: (q) => q.forEach((x) => x.close()),
  };
}

// ---- shared-memory synchronisation ----

interface SemPair {
  m: posix.Mapping;
  ping: posix.Semaphore;
  pong: posix.Semaphore;
}

function semLoop(way: 'native' | 'js'): PairLoop<SemPair> {
  return {
    open: () => {
      const m = posix.mmap(4096);
      return { m, ping: posix.Semaphore.init(m, 0, 0), pong: posix.Semaphore.init(m, 64, 0) };
    },
    child: (s, total) => {
      if (way === 'native') nb.semPingPongBench(s.m, 0, 64, total, 1);
      else jsSemPingPong(s.ping, s.pong, total, false);
    },
    parent: (s, n) => (way === 'native' ? nb.semPingPongBench(s.m, 0, 64, n, 0) : jsSemPingPong(s.pong, s.ping, n, true)),
    close: (s) => s.m.close(),
  };
}

const futexLoop: PairLoop<posix.Mapping> = {
  open: () => posix.mmap(4096),
  child: (m, total) => void nb.futexPingPongBench(m, 0, total, 1),
  parent: (m, n) => nb.futexPingPongBench(m, 0, n, 0),
  close: (m) => m.close(),
};

function barrierLoop(way: 'native' | 'js'): PairLoop<{ m: posix.Mapping; b: posix.Barrier }> {
  return {
    open: () => {
      const m = posix.mmap(4096);
      return { m, b: posix.Barrier.init(m, 0, 2) };
    },
    child: (x, total) => void (way === 'native' ? nb.barrierBench(x.m, 0, total) : jsBarrierCycles(x.b, total)),
    parent: (x, n) => (way === 'native' ? nb.barrierBench(x.m, 0, n) : jsBarrierCycles(x.b, n)),
    close: (x) => x.m.close(),
  };
}

// ---- running a group ----

export interface WayLoop {
  way: Way;
  label: string;
  loop: PairLoop<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Every way of a group in every placement; ways alternate within a placement so drift hits them alike. */
export async function latencyGroup(ctx: Ctx, group: string, per: string, ways: WayLoop[], ref?: string): Promise<void> {
  if (!ctx.want(group)) return;
  for (const placement of ctx.opts.placements) {
    for (const w of ways) {
      await ctx.attempt(`${group} · ${w.way} · ${placement.name}`, () => {
        const { samples, opsPerSample } = pairLatency(ctx, w.loop, placement);
        ctx.add({ group, way: w.way, label: w.label, placement: placement.name, unit: 'µs', per, better: 'lower', samples, opsPerSample, ...(ref ? { ref } : {}) });
      });
      await new Promise((r) => setImmediate(r));
    }
  }
}

export const channelsSuite: Suite = {
  name: 'channels',
  title: 'Ping-pong latency over byte channels (1 byte or 1 message each way)',
  quick: true,
  available: async () => null,
  async run(ctx) {
    await latencyGroup(ctx, 'pipe ping-pong', 'round trip', [
      { way: 'native', label: 'read(2)/write(2) loop in C', loop: fdLoop(pipeChannel, 'native', true) },
      { way: 'js', label: 'posix.read/posix.write, 1 byte', loop: fdLoop(pipeChannel, 'js', true) },
      { way: 'api', label: 'Connection.sendBytes/recvBytesSync over Pipe(false) × 2', loop: connLoop(false) },
    ]);
    if (ctx.opts.quick) return;
    await latencyGroup(ctx, 'socketpair ping-pong', 'round trip', [
      { way: 'native', label: 'read(2)/write(2) loop in C, AF_UNIX stream', loop: fdLoop(socketChannel, 'native', true) },
      { way: 'js', label: 'posix.read/posix.write, 1 byte', loop: fdLoop(socketChannel, 'js', true) },
      { way: 'api', label: 'Connection.sendBytes/recvBytesSync over Pipe() (duplex)', loop: connLoop(true) },
      { way: 'api', label: 'Connection.send/recvSync of a small int over Pipe() (duplex)', loop: connLoop(true, true) },
    ]);
    await latencyGroup(ctx, 'FIFO ping-pong', 'round trip', [
      { way: 'native', label: 'read(2)/write(2) loop in C, two mkfifo FIFOs', loop: fdLoop(fifoChannel, 'native', false) },
      { way: 'js', label: 'posix.read/posix.write, 1 byte', loop: fdLoop(fifoChannel, 'js', false) },
    ]);
    await latencyGroup(ctx, 'POSIX mq ping-pong', 'round trip', [
      { way: 'native', label: 'mq_send/mq_receive loop in C', loop: mqLoop('native') },
      { way: 'js', label: 'MessageQueue.send/receive, 1 byte', loop: mqLoop('js') },
    ]);
  },
};

export const syncSuite: Suite = {
  name: 'sync',
  title: 'Ping-pong latency through process-shared synchronisation in a shared mapping',
  quick: true,
  available: async () => null,
  async run(ctx) {
    const hl = await optionalModule('sync');
    const HSem = hl?.Semaphore as (new (v?: number) => { acquireSync(t?: number): boolean; release(): void; close?(): void }) | undefined;
    const HBarrier = hl?.Barrier as (new (parties: number) => { waitSync(): number; close?(): void }) | undefined;
    const semWays: WayLoop[] = [
      { way: 'native', label: 'sem_post/sem_wait loop in C', loop: semLoop('native') },
      { way: 'js', label: 'posix.Semaphore post/wait', loop: semLoop('js') },
    ];
    if (HSem) {
      semWays.push({
        way: 'api',
        label: 'Semaphore acquireSync/release (multiproc)',
        loop: {
          open: () => ({ ping: new HSem(0), pong: new HSem(0) }),
          child: (s: { ping: InstanceType<typeof HSem>; pong: InstanceType<typeof HSem> }, total: number) => {
            for (let i = 0; i < total; i++) {
              s.ping.acquireSync();
              s.pong.release();
            }
          },
          parent: (s: { ping: InstanceType<typeof HSem>; pong: InstanceType<typeof HSem> }, n: number) => {
            const t0 = nowNs();
            for (let i = 0; i < n; i++) {
              s.ping.release();
              s.pong.acquireSync();
            }
            return nowNs() - t0;
          },
          close: (s: { ping: InstanceType<typeof HSem>; pong: InstanceType<typeof HSem> }) => {
            s.ping.close?.();
            s.pong.close?.();
          },
        },
      });
    } else if (!ctx.opts.quick) ctx.missing('semaphore ping-pong · api', 'the high-level Semaphore (lib/mp/sync/) is not in this build');
    await latencyGroup(ctx, 'semaphore ping-pong', 'round trip', semWays);
    if (ctx.opts.quick) return;
    await latencyGroup(ctx, 'futex / Atomics.wait ping-pong', 'round trip', [{ way: 'native', label: 'FUTEX_WAIT/FUTEX_WAKE loop in C, shared mapping', loop: futexLoop }]);
    const barrierWays: WayLoop[] = [
      { way: 'native', label: 'pthread_barrier_wait loop in C, count 2', loop: barrierLoop('native') },
      { way: 'js', label: 'posix.Barrier.wait, count 2', loop: barrierLoop('js') },
    ];
    if (HBarrier) {
      barrierWays.push({
        way: 'api',
        label: 'Barrier(2).waitSync (multiproc)',
        loop: {
          open: () => new HBarrier(2),
          child: (b: InstanceType<typeof HBarrier>, total: number) => {
            for (let i = 0; i < total; i++) b.waitSync();
          },
          parent: (b: InstanceType<typeof HBarrier>, n: number) => {
            const t0 = nowNs();
            for (let i = 0; i < n; i++) b.waitSync();
            return nowNs() - t0;
          },
          close: (b: InstanceType<typeof HBarrier>) => b.close?.(),
        },
      });
    } else ctx.missing('barrier cycle · api', 'the high-level Barrier (lib/mp/sync/) is not in this build');
    await latencyGroup(ctx, 'barrier cycle', 'cycle', barrierWays);
  },
};

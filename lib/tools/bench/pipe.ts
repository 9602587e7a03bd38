// Ping-pong latency between two processes: one byte (or one 1-byte message) back and forth, driven from JS
// through the posix layer (blocking posix.read/posix.write, MessageQueue.send/receive) against the same loop
// run entirely in C inside the addon (posix.pingPongBench, posix.mqPingPongBench), with both processes
// pinned to the same CPU and to different CPUs (sched_setaffinity). Every trial forks a fresh child; JS and
// native trials alternate so that drift (other load on the machine) hits both alike; each figure is the
// median over the repetitions, in µs per round trip, and the ratio JS / native is from the same run.
//
// Run: npx tsx lib/tools/bench/pipe.ts [pipe] [socketpair] [mqueue] [--iterations N] [--reps N] [--quick] [--json]
import os from 'node:os';
import * as posix from '../../posix/index.js';
import { median } from './core.js';

export type Transport = 'pipe' | 'socketpair' | 'mqueue';
export type Driver = 'js' | 'native';

export interface Placement {
  name: string;
  parent: number;
  child: number;
}

export interface PingPongResult {
  transport: Transport;
  placement: string;
  /** Median µs per round trip, JS-driven. */
  js: number;
  /** Median µs per round trip, native loop. */
  native: number;
  /** js / native. */
  ratio: number;
  /** Every repetition (µs per round trip), for the spread. */
  jsRuns: number[];
  nativeRuns: number[];
  iterations: number;
}

/** One process's view of a channel: where it reads and where it writes. */
interface Ends {
  read: number;
  write: number;
}

/** A channel between the parent and a child, with the ends each side must close after fork. */
interface Channel {
  parent: Ends;
  child: Ends;
  /** In the child: close the parent's ends (so EOF and EPIPE work); in the parent: the child's. */
  keepOnly(side: 'parent' | 'child'): void;
  close(): void;
}

function fdChannel(transport: 'pipe' | 'socketpair'): Channel {
  if (transport === 'pipe') {
    const [toChildR, toChildW] = posix.pipe();
    const [toParentR, toParentW] = posix.pipe();
    const parent = { read: toParentR, write: toChildW };
    const child = { read: toChildR, write: toParentW };
    let open = [toChildR, toChildW, toParentR, toParentW];
    return {
      parent,
      child,
      keepOnly(side) {
        const drop = side === 'parent' ? child : parent;
        for (const fd of [drop.read, drop.write]) posix.close(fd);
        open = open.filter((fd) => fd !== drop.read && fd !== drop.write);
      },
      close() {
        for (const fd of open) posix.close(fd);
        open = [];
      },
    };
  }
  const [a, b] = posix.socketpair();
  let open = [a, b];
  return {
    parent: { read: a, write: a },
    child: { read: b, write: b },
    keepOnly(side) {
      const drop = side === 'parent' ? b : a;
      posix.close(drop);
      open = open.filter((fd) => fd !== drop);
    },
    close() {
      for (const fd of open) posix.close(fd);
      open = [];
    },
  };
}

/** The JS-driven loop, the same for both sides: the initiator writes first, the other side answers. */
function jsPingPong(read: number, write: number, iterations: number, initiator: boolean): void {
  const buf = new Uint8Array(1);
  for (let i = 0; i < iterations; i++) {
    if (initiator) posix.write(write, buf);
    if (posix.read(read, buf) === 0) throw new Error('ping-pong: the other side closed its end');
    if (!initiator) posix.write(write, buf);
  }
}

function jsMqPingPong(receive: posix.MessageQueue, send: posix.MessageQueue, iterations: number, initiator: boolean): void {
  const msg = new Uint8Array(1);
  const buf = new Uint8Array(receive.messageSize);
  for (let i = 0; i < iterations; i++) {
    if (initiator) send.send(msg);
    receive.receive(buf);
    if (!initiator) send.send(msg);
  }
}

/** Runs the JS loops in this process on loopback channels so that the child inherits optimised code. */
function warmUp(): void {
  const [r, w] = posix.pipe();
  jsPingPong(r, w, 20_000, true); // write, then read back the same byte
  posix.write(w, 'x');
  jsPingPong(r, w, 20_000, false); // read the byte, write it back
  posix.close(r);
  posix.close(w);
  const name = `/multiproc-bench-warm-${process.pid}`;
  const q = posix.mqOpen(name, { create: true, maxMessages: 1, messageSize: 8 });
  posix.mqUnlink(name);
  try {
    jsMqPingPong(q, q, 20_000, true);
    q.send('x');
    jsMqPingPong(q, q, 20_000, false);
  } finally {
    q.close();
  }
}

/** One trial in a fresh child: µs per round trip measured in the parent (the initiator). */
function trial(transport: Transport, driver: Driver, placement: Placement, iterations: number, warmup: number): number {
  let queues: [posix.MessageQueue, posix.MessageQueue] | undefined;
  let channel: Channel | undefined;
  if (transport === 'mqueue') {
    const names = [1, 2].map((i) => `/multiproc-bench-${process.pid}-${i}-${Math.random().toString(36).slice(2)}`);
    queues = names.map((name) => posix.mqOpen(name, { create: true, exclusive: true, maxMessages: 1, messageSize: 8 })) as [
      posix.MessageQueue,
      posix.MessageQueue,
    ];
    for (const name of names) posix.mqUnlink(name); // the descriptors keep them alive; nothing to clean up
  } else {
    channel = fdChannel(transport);
  }
  const run = (side: 'parent' | 'child', n: number): void => {
    const initiator = side === 'parent';
    if (queues) {
      // parent → child on queues[0], child → parent on queues[1]
      const [receive, send] = initiator ? [queues[1], queues[0]] : [queues[0], queues[1]];
      if (driver === 'js') jsMqPingPong(receive, send, n, initiator);
      else posix.mqPingPongBench(receive, send, n, initiator);
    } else {
      const ends = channel![side];
      if (driver === 'js') jsPingPong(ends.read, ends.write, n, initiator);
      else posix.pingPongBench(ends.read, ends.write, n, initiator);
    }
  };

  const pid = posix.fork();
  if (pid === 0) {
    let code = 0;
    try {
      posix.setAffinity(0, [placement.child]);
      channel?.keepOnly('child');
      run('child', warmup + iterations);
    } catch (e) {
      process.stderr.write(`ping-pong child: ${(e as Error)?.stack ?? String(e)}\n`);
      code = 1;
    }
    posix.exit(code);
  }
  const saved = posix.getAffinity(0);
  try {
    channel?.keepOnly('parent');
    posix.setAffinity(0, [placement.parent]);
    run('parent', warmup);
    const t0 = process.hrtime.bigint();
    run('parent', iterations);
    const ns = Number(process.hrtime.bigint() - t0);
    return ns / iterations / 1000;
  } finally {
    posix.setAffinity(0, saved);
    channel?.close();
    for (const q of queues ?? []) q.close();
    const status = posix.waitpid(pid);
    if (status.kind !== 'exited' || status.code !== 0) throw new Error(`ping-pong child ended with ${JSON.stringify(status)}`);
  }
}


/** The placements this machine allows: same CPU always; different CPUs when two are available. */
export function placements(): Placement[] {
  const cpus = posix.getAffinity(0);
  const out: Placement[] = [{ name: 'same CPU', parent: cpus[0]!, child: cpus[0]! }];
  if (cpus.length > 1) out.push({ name: 'different CPUs', parent: cpus[0]!, child: cpus[1]! });
  return out;
}

export async function measurePingPongSuite(
  opts: { transports?: Transport[]; iterations?: number; reps?: number; onResult?: (r: PingPongResult) => void } = {},
): Promise<PingPongResult[]> {
  const transports = opts.transports ?? ['pipe', 'socketpair', 'mqueue'];
  const iterations = opts.iterations ?? 20_000;
  const reps = opts.reps ?? 7;
  const warmup = Math.max(200, Math.floor(iterations / 10));
  warmUp();
  const results: PingPongResult[] = [];
  for (const transport of transports) {
    for (const placement of placements()) {
      const jsRuns: number[] = [];
      const nativeRuns: number[] = [];
      for (let i = 0; i < reps; i++) {
        // alternate the order so that neither driver always runs first
        const order: Driver[] = i % 2 ? ['native', 'js'] : ['js', 'native'];
        for (const driver of order) (driver === 'js' ? jsRuns : nativeRuns).push(trial(transport, driver, placement, iterations, warmup));
        await new Promise((r) => setImmediate(r));
      }
      const js = median(jsRuns);
      const native = median(nativeRuns);
      const result = { transport, placement: placement.name, js, native, ratio: js / native, jsRuns, nativeRuns, iterations };
      opts.onResult?.(result);
      results.push(result);
    }
  }
  return results;
}

export function formatTable(results: PingPongResult[]): string {
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  const head = ['transport', 'placement', 'JS µs/rt', 'native µs/rt', 'JS/native', 'JS range', 'native range'];
  const rows = results.map((r) => [
    r.transport,
    r.placement,
    r.js.toFixed(2),
    r.native.toFixed(2),
    `${r.ratio.toFixed(3)}×`,
    spread(r.jsRuns),
    spread(r.nativeRuns),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [head, ...rows].map((row) => row.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

if (process.argv[1] && /bench[/\\]pipe\.[tj]s$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const quick = args.includes('--quick');
  const transports = (['pipe', 'socketpair', 'mqueue'] as const).filter((t) => args.includes(t));
  const opts = {
    transports: transports.length ? [...transports] : undefined,
    iterations: value('--iterations') ?? (quick ? 5_000 : 20_000),
    reps: value('--reps') ?? (quick ? 3 : 7),
  };
  const json = args.includes('--json');
  if (!json) {
    process.stdout.write(
      `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), Linux ${os.release()}; ` +
        `${opts.iterations} round trips per trial, median of ${opts.reps} trials, a fresh child per trial\n`,
    );
  }
  const results = await measurePingPongSuite({
    ...opts,
    transports: opts.transports,
    onResult: json ? undefined : (r) => process.stderr.write(`  ${r.transport} / ${r.placement}: JS ${r.js.toFixed(2)} µs, native ${r.native.toFixed(2)} µs\n`),
  });
  if (json) process.stdout.write(JSON.stringify({ node: process.version, cpus: os.cpus().length, results }, null, 2) + '\n');
  else process.stdout.write(formatTable(results) + '\n');
}

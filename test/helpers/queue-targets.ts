// Queue producers/consumers for test/queue.test.ts: passed as functions with fork, imported by name with spawn.
// Items are producer * 1e6 + k (k = 0, 1, …): a consumer checks each producer's items arrive in order and
// reports count and checksums on the results queue.
import type { Queue } from '../../lib/index.js';

export function produce(q: Queue<number | null>, producer: number, n: number, sentinels: number): void {
  for (let k = 0; k < n; k++) q.putSync(producer * 1e6 + k);
  for (let i = 0; i < sentinels; i++) q.putSync(null);
}

export interface Tally {
  count: number;
  sum: number;
  sumSq: number; // mod 1e9+7
  outOfOrder: number;
}

export function consume(q: Queue<number | null>, results: Queue<Tally>, producers: number): void {
  const last = new Array<number>(producers).fill(-1);
  const t: Tally = { count: 0, sum: 0, sumSq: 0, outOfOrder: 0 };
  let ended = 0;
  while (ended < 1) {
    const v = q.getSync();
    if (v === null) {
      ended++;
      continue;
    }
    const p = Math.floor(v / 1e6);
    const k = v % 1e6;
    if (k <= last[p]!) t.outOfOrder++;
    last[p] = k;
    t.count++;
    t.sum += v;
    t.sumSq = (t.sumSq + ((v % 1_000_000_007) * (v % 1_000_000_007)) % 1_000_000_007) % 1_000_000_007;
  }
  results.putSync(t);
}

export async function echoTypes(q: Queue<unknown>, back: Queue<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await back.put(await q.get());
}

/** Takes items for ever, marking each in `seen` (a shared Uint8Array of flags) as soon as get() returns. */
export function takeForever(q: Queue<number>, seen: Uint8Array): void {
  for (;;) {
    const v = q.getSync();
    seen[v] = (seen[v] ?? 0) + 1;
  }
}

export function doTasks(q: import('../../lib/index.js').JoinableQueue<number>, out: Queue<number>): void {
  for (;;) {
    const v = q.getSync();
    if (v < 0) {
      q.taskDone();
      return;
    }
    out.putSync(v * 2);
    q.taskDone();
  }
}

/** Echoes what arrives on a Connection (passed in Process args) until null. */
export async function echoConnection(c: import('../../lib/index.js').Connection): Promise<void> {
  for (;;) {
    const m = await c.recv();
    c.send(m === null ? 'bye' : m);
    if (m === null) return;
  }
}

// Lab: a shared value and the data race. A counter (a Value) lives in shared memory. Incremented under its lock, the
// total is exact (5 processes × 1, then N × M). Without the lock, `counter = counter + 1` is a read and a
// write: two processes that read the same value both write value + 1 and one increment is lost. The
// processes start together on a barrier and each logs the value it read, so the lab can point at the lost
// updates, not just at a wrong total.
import * as posix from '../posix/index.js';
import { RawValue, Value } from '../shared.js';
import { Barrier } from '../sync.js';
import { type Lab, type LabContext } from './common.js';

const N = 4;
const M_LOCKED = 25_000;
const M_RACE = 1_000_000;
const MAX_ATTEMPTS = 6;

const lab: Lab = {
  name: 'shared_value',
  summary: 'a counter in shared memory: exact with a lock, lost updates without one (counted and shown)',
  claim: 'with the lock 5 → 5 and N×M increments are exact; without it increments are lost (the count is shown)',
  async run(ctx: LabContext) {
    const { out, timeline: tl } = ctx;
    // Each racer logs the values it read: plain shared memory beside the Values.
    const m = ctx.shared(N * M_RACE * 4);
    const sharedValue = new Value<number>('i', 0); // 'i': a C int, in shared memory, with its own lock
    const big = new Value<number>('i', 0);
    const racy = new RawValue<number>('i', 0); // no lock at all (Python's RawValue)
    ctx.defer(() => {
      sharedValue.close();
      big.close();
      racy.close();
    });

    const runAll = async (name: string, count: number, body: (k: number) => void): Promise<posix.WaitStatus[]> => {
      const pids = Array.from({ length: count }, (_, k) => ctx.fork(`${name} ${k + 1}`, () => body(k), { title: `${name}-${k + 1}` }));
      const statuses: posix.WaitStatus[] = [];
      for (const pid of pids) statuses.push(await ctx.reap(pid, 20_000));
      return statuses;
    };
    const allOk = (ss: posix.WaitStatus[]) => ss.every((s) => s.kind === 'exited' && s.code === 0);

    // ---- 1. the course text's program ----
    out.step('Five processes each add 1 to a shared value, under its lock');
    out.say("shared_value = new Value('i', 0); each: with shared_value.getLock(): shared_value.value += 1");
    const s1 = await runAll('inc', 5, () => {
      sharedValue.getLock().withLockSync(() => {
        sharedValue.value += 1;
      });
    });
    const v1 = sharedValue.value;
    out.say(`Shared value: ${out.paint('bold', String(v1))}   (expected 5)`);

    // ---- 2. bigger: N × M under the lock ----
    out.step(`${N} processes × ${M_LOCKED.toLocaleString('en-US')} increments each, under the lock`);
    let t = Date.now();
    const s2 = await runAll('locked', N, () => {
      const lock = big.getLock();
      for (let i = 0; i < M_LOCKED; i++) {
        lock.acquireSync();
        big.value += 1;
        lock.release();
      }
    });
    const v2 = big.value;
    out.say(`value: ${out.paint('bold', v2.toLocaleString('en-US'))}   expected ${(N * M_LOCKED).toLocaleString('en-US')}   (${Date.now() - t} ms)`);

    // ---- 3. no lock: lost updates ----
    out.step(`${N} processes × ${M_RACE.toLocaleString('en-US')} increments each of a RawValue: NO lock`);
    out.say('They wait on a barrier so that they start at the same moment; each logs the value it read.');
    let attempt = 0;
    let lost = 0;
    let v3 = 0;
    let s3: posix.WaitStatus[] = [];
    const logs = Array.from({ length: N }, (_, k) => new Int32Array(m.buffer, k * M_RACE * 4, M_RACE));
    while (attempt < MAX_ATTEMPTS && lost === 0) {
      attempt++;
      racy.value = 0;
      const barrier = new Barrier(N);
      t = Date.now();
      s3 = await runAll(`racer${attempt > 1 ? `#${attempt}` : ''}`, N, (k) => {
        const log = logs[k]!;
        barrier.waitSync();
        tl.mark(process.pid, 'go');
        for (let i = 0; i < M_RACE; i++) {
          const v = racy.value; // read
          log[i] = v;
          racy.value = v + 1; // write: whatever another process wrote in between is overwritten
        }
      });
      barrier.close();
      v3 = racy.value;
      lost = N * M_RACE - v3;
      out.say(`attempt ${attempt}: value ${v3.toLocaleString('en-US')} of ${(N * M_RACE).toLocaleString('en-US')} → ${lost > 0 ? out.paint(['bold', 'red'], `${lost.toLocaleString('en-US')} updates lost`) : 'none lost this time (the processes did not overlap)'}  (${Date.now() - t} ms)`);
    }

    // Evidence: values read by more than one process (each such pair wrote the same value + 1).
    let example: { value: number; readers: number[] } | null = null;
    let duplicateReads = 0;
    if (lost > 0) {
      // who read each value: -1 nobody yet, k the one reader so far
      const reader = new Int8Array(N * M_RACE + 1).fill(-1);
      for (let k = 0; k < N; k++) {
        const log = logs[k]!;
        for (let i = 0; i < M_RACE; i++) {
          const v = log[i]!;
          const first = reader[v]!;
          if (first === -1) reader[v] = k;
          else if (first !== k) {
            duplicateReads++;
            if (!example) example = { value: v, readers: [first, k] };
          }
        }
      }
    }
    if (example) {
      const [a, b] = example.readers as [number, number];
      const v = example.value;
      out.say('');
      out.say(`One of them, from the logs: racer ${a + 1} and racer ${b + 1} both read ${v} and both wrote ${v + 1}:`);
      out.printTable(
        ['', `racer ${a + 1}`, `racer ${b + 1}`, 'counter'],
        [
          ['read', `reads ${v}`, `reads ${v}`, `${v}`],
          ['add', `${v} + 1 = ${v + 1}`, `${v} + 1 = ${v + 1}`, `${v}`],
          ['write', `writes ${v + 1}`, `writes ${v + 1}`, `${v + 1}  (two increments, +1)`],
        ],
      );
      out.say(`In all, ${duplicateReads.toLocaleString('en-US')} reads saw a value another process had also read.`);
    }

    const lockedOk = v1 === 5 && allOk(s1) && v2 === N * M_LOCKED && allOk(s2);
    const raceOk = lost > 0 && allOk(s3);
    if (lockedOk) out.ok(`with the lock: 5 of 5 and ${v2.toLocaleString('en-US')} of ${(N * M_LOCKED).toLocaleString('en-US')}, exact`);
    if (raceOk) out.ok(`without the lock: ${lost.toLocaleString('en-US')} lost updates (attempt ${attempt} of at most ${MAX_ATTEMPTS})`);
    else out.bad(`no lost update in ${attempt} attempts: the processes never overlapped (a single free CPU?)`);
    return {
      ok: lockedOk && raceOk,
      facts: {
        withLock: { processes: 5, value: v1, expected: 5 },
        withLockBig: { processes: N, increments: M_LOCKED, value: v2, expected: N * M_LOCKED },
        withoutLock: { processes: N, increments: M_RACE, attempts: attempt, value: v3, expected: N * M_RACE, lost, duplicateReads, example },
      },
    };
  },
};

export default lab;

// Lab: a shared value and the data race. A counter (a Value) lives in shared memory. Incremented under its lock, the
// total is exact (5 processes × 1, then N × M). Without the lock, `counter = counter + 1` is a read and a
// write: two processes that read the same value both write value + 1 and one increment is lost. The
// processes start together on a barrier and each logs the value it read, so the lab can point at the lost
// updates, not just at a wrong total. The picture shows the course program's five processes taking the lock
// in turn (each holds it a moment, so that it can be seen), and then the race slowed down: two processes
// that read, wait 10 ms, and write, without the lock — each write that overwrites another's is marked lost.
import * as posix from '../../posix/index.js';
import { RawArray, RawValue, Value } from '../../mp/shared/index.js';
import { Barrier } from '../../mp/sync/index.js';
import { type LabContext, type LabResult, sleepSync } from './common.js';

const N = 4;
const M_LOCKED = 25_000;
const M_RACE = 1_000_000;
const MAX_ATTEMPTS = 6;
const HOLD_MS = 15; // the course program's processes hold the lock this long (for the picture)
const SLOW = { racers: 2, increments: 3, windowMs: 25 }; // the race, slowed down to be seen

export async function run(ctx: LabContext): Promise<LabResult> {
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

  const runAll = (name: string, count: number, body: (k: number) => void, picture = false): Promise<posix.WaitStatus[]> =>
    ctx.reapAll(ctx.forkEach(count, name, body, { title: name, picture }), 20_000);
  const allOk = (ss: posix.WaitStatus[]) => ss.every((s) => s.kind === 'exited' && s.code === 0);

  // ---- 1. the course text's program ----
  out.step('Five processes each add 1 to a shared value, under its lock');
  out.say("shared_value = new Value('i', 0); each: with shared_value.getLock(): shared_value.value += 1");
  out.say(out.paint('dim', `(they start together, and each holds the lock ${HOLD_MS} ms so that the picture can show it)`));
  const together = new Barrier(5);
  const s1 = await runAll(
    'inc',
    5,
    () => {
      const me = posix.getpid();
      together.waitSync();
      tl.state(me, 'blocked'); // waiting for the lock
      // The states are recorded while the lock is held (after acquiring, before releasing), so that two
      // processes' 'critical' stretches on the picture never overlap: each lies inside the real hold.
      sharedValue.getLock().withLockSync(() => {
        tl.state(me, 'critical');
        const v = sharedValue.value;
        sleepSync(HOLD_MS);
        sharedValue.value = v + 1;
        tl.mark(me, `${v} → ${v + 1}`);
        tl.state(me, 'running');
      });
    },
    true,
  );
  together.close();
  const v1 = sharedValue.value;
  out.say(`Shared value: ${out.paint('bold', String(v1))}   (expected 5)`);

  // ---- 2. the race, slowed down to be seen: read, wait, write ----
  out.step(`The race slowed down: ${SLOW.racers} processes × ${SLOW.increments} increments, each read → wait ${SLOW.windowMs} ms → write, no lock`);
  // One shared int. The write is an atomic exchange: still a blind overwrite (the race is the same), but it
  // also returns exactly what it overwrote, so a write that loses an update is always caught.
  const slow = new RawArray('i', 1);
  ctx.defer(() => slow.close());
  const slowStart = new Barrier(SLOW.racers);
  const slowLog = new Int32Array(m.buffer, 0, SLOW.racers * SLOW.increments * 3); // per increment: read, wrote, found
  const s4 = await runAll(
    'slow racer',
    SLOW.racers,
    (k) => {
      const me = posix.getpid();
      slowStart.waitSync();
      for (let i = 0; i < SLOW.increments; i++) {
        const v = slow.view[0]!; // read
        tl.mark(me, `reads ${v}`);
        tl.state(me, 'sleeping');
        sleepSync(SLOW.windowMs); // the window in which another process can cut in
        tl.state(me, 'running');
        const found = Atomics.exchange(slow.view as Int32Array, 0, v + 1); // write v + 1; what it overwrote
        tl.mark(me, found === v ? `writes ${v + 1}` : `writes ${v + 1} over ${found}: an update lost`);
        slowLog.set([v, v + 1, found], (k * SLOW.increments + i) * 3);
      }
    },
    true,
  );
  slowStart.close();
  const slowValue = slow.view[0]!;
  const slowWrites = Array.from({ length: SLOW.racers * SLOW.increments }, (_, j) => ({ racer: Math.floor(j / SLOW.increments) + 1, read: slowLog[j * 3]!, wrote: slowLog[j * 3 + 1]!, found: slowLog[j * 3 + 2]! }));
  const slowLost = SLOW.racers * SLOW.increments - slowValue;
  out.say(`value ${slowValue} after ${SLOW.racers * SLOW.increments} increments: ${slowLost} lost; ${slowWrites.filter((x) => x.found !== x.read).length} writes overwrote a value another process had written meanwhile.`);

  tl.record('end', ctx.pid, { label: 'the bigger runs follow in the narrative only' });

  // ---- 3. bigger: N × M under the lock ----
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

  // ---- 4. no lock: lost updates ----
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
  const raceOk = lost > 0 && allOk(s3) && allOk(s4);
  if (lockedOk) out.ok(`with the lock: 5 of 5 and ${v2.toLocaleString('en-US')} of ${(N * M_LOCKED).toLocaleString('en-US')}, exact`);
  if (raceOk) out.ok(`without the lock: ${lost.toLocaleString('en-US')} lost updates (attempt ${attempt} of at most ${MAX_ATTEMPTS})`);
  else out.bad(`no lost update in ${attempt} attempts: the processes never overlapped (a single free CPU?)`);
  return {
    ok: lockedOk && raceOk,
    facts: {
      withLock: { processes: 5, value: v1, expected: 5 },
      withLockBig: { processes: N, increments: M_LOCKED, value: v2, expected: N * M_LOCKED },
      withoutLock: { processes: N, increments: M_RACE, attempts: attempt, value: v3, expected: N * M_RACE, lost, duplicateReads, example },
      slowRace: { processes: SLOW.racers, increments: SLOW.increments, windowMs: SLOW.windowMs, value: slowValue, expected: SLOW.racers * SLOW.increments, lost: slowLost, writes: slowWrites },
    },
  };
}

// A fresh `node` process (spawned, not forked) that uses the sync objects its parent placed in a memfd, which
// it received as fd 3. Used by test/posix/sync.test.ts:
//   node --import tsx test/helpers/sync-child.ts <task> '<json>'
// json: { length, ready, go, ...task offsets }. The child attaches to `ready`/`go` (two semaphores), posts
// `ready`, waits for `go` (so both processes start their loops together), runs the task and prints one JSON
// line with its result. Any failure is an exception: exit code 1 and a stack on stderr.
import * as posix from '../../lib/posix/index.js';
import { type CountLockKind, countUnder, lockAt } from './sync-count.js';

interface Args {
  length: number;
  ready: number;
  go: number;
  n?: number;
  kind?: CountLockKind;
  lock?: number;
  sem?: number;
  counter?: number;
  done?: number;
}

const [task, json] = process.argv.slice(2);
const a = JSON.parse(json ?? '{}') as Args;
const m = posix.mmap(a.length, { fd: 3 });
posix.close(3);
const ready = posix.Semaphore.attach(m, a.ready);
const go = posix.Semaphore.attach(m, a.go);
const view = new Int32Array(m.buffer);

async function run(): Promise<unknown> {
  switch (task) {
    case 'count': {
      const lock = lockAt(a.kind!, m, a.lock!);
      ready.post();
      if (!go.timedWait(30_000)) throw new Error('no go');
      countUnder(lock, view, a.counter! / 4, a.n!);
      return { task, n: a.n };
    }
    case 'sem-async': {
      // waitAsync in a process that never forked: its own threads and thread-safe function.
      const s = posix.Semaphore.attach(m, a.sem!);
      const done = posix.Semaphore.attach(m, a.done!);
      const pending = s.waitAsync(30_000);
      ready.post();
      const got = await pending;
      done.post();
      return { task, got, pending: posix.pendingAsyncWaits() };
    }
    default:
      throw new Error(`unknown task ${String(task)}`);
  }
}

run().then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    m.close();
  },
  (e) => {
    process.stderr.write(`sync-child ${process.pid} failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);

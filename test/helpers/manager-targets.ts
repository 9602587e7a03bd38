// Targets of the Manager tests' children: called directly with the fork start method, imported by name
// ({ module: this file, export }) with spawn. Proxies arrive as proxies (fork: inherited; spawn: rebuilt from
// Process args) or as their ProxyData (rebuilt here).
import { writeFileSync } from 'node:fs';
import { BaseProxy, type DictProxy, type LockProxy, type Manager, type ProxyData, type QueueProxy, rebuildProxy } from '../../lib/index.js';
import * as posix from '../../lib/posix/index.js';

function asProxy<P extends BaseProxy>(x: BaseProxy | ProxyData): P {
  return (x instanceof BaseProxy ? x : rebuildProxy(x)) as P;
}

/**
 * `n` read-modify-write increments of d.count under the lock (exact only if the lock excludes), plus one key
 * of its own per step; `sync` uses the …Sync twins, otherwise the async forms.
 */
export async function counter(dx: DictProxy | ProxyData, lx: LockProxy | ProxyData, who: number, n: number, sync: boolean): Promise<void> {
  const d = asProxy<DictProxy<number>>(dx);
  const lock = asProxy<LockProxy>(lx);
  for (let j = 0; j < n; j++) {
    if (sync) {
      lock.withLockSync(() => d.setSync('count', (d.getSync('count') ?? 0) + 1));
      d.setSync(`p${who}-${j}`, j);
    } else {
      await lock.withLock(async () => d.set('count', ((await d.get('count')) ?? 0) + 1));
      await d.set(`p${who}-${j}`, j);
    }
  }
}

/** Takes the lock and dies holding it (no release, no clean exit path). */
export function lockAndDie(lx: LockProxy | ProxyData): void {
  const lock = asProxy<LockProxy>(lx);
  if (!lock.acquireSync()) posix.exit(3);
  posix.kill(posix.getpid(), 'SIGKILL');
}

/**
 * The lock is held by the parent: this process is another owner, so it may neither release it nor take it
 * within 50 ms. Writes what it saw to `file`.
 */
export async function notOwner(lx: LockProxy | ProxyData, file: string): Promise<void> {
  const lock = asProxy<LockProxy>(lx);
  let releaseError = '';
  try {
    await lock.release();
  } catch (e) {
    releaseError = (e as NodeJS.ErrnoException).code ?? String(e);
  }
  let syncReleaseError = '';
  try {
    lock.releaseSync();
  } catch (e) {
    syncReleaseError = (e as NodeJS.ErrnoException).code ?? String(e);
  }
  const got = await lock.acquire(50);
  const gotSync = lock.acquireSync(50);
  writeFileSync(file, JSON.stringify({ releaseError, syncReleaseError, got, gotSync }));
}

/**
 * Waits until its parent's main thread has been seen asleep (state S) in 5 samples in a row — the parent is
 * blocked in a …Sync call, not spinning — then puts `item`. Exits 2 if that was never seen within 10 s.
 */
export async function putWhenParentSleeps(qx: QueueProxy | ProxyData, item: unknown): Promise<void> {
  const q = asProxy<QueueProxy>(qx);
  const ppid = posix.getppid();
  const end = Date.now() + 10_000;
  let asleep = 0;
  while (asleep < 5 && Date.now() < end) {
    asleep = posix.processInfo(ppid)?.state === 'sleeping' ? asleep + 1 : 0;
    await new Promise((r) => setTimeout(r, 10));
  }
  await q.put(item);
  if (asleep < 5) posix.exit(2);
}

/** Blocks in getSync until the parent puts, then answers on another queue with what it got, doubled. */
export function echoDouble(inx: QueueProxy | ProxyData, outx: QueueProxy | ProxyData): void {
  const qin = asProxy<QueueProxy<number>>(inx);
  const qout = asProxy<QueueProxy<number>>(outx);
  qout.putSync(qin.getSync() * 2);
}

/** Uses a Manager it was given (inherited, or rebuilt from Process args): creates a dict, reports its id. */
export async function useManager(m: Manager, file: string): Promise<void> {
  const d = await m.dict<number>();
  await d.set('from', process.pid);
  writeFileSync(file, JSON.stringify({ id: d.id, pid: process.pid }));
  m.close();
}

/** Blocks in getSync; the test kills the server: exits 0 when that is ERR_MULTIPROC_CLOSED (never a hang). */
export function getSyncUntilServerDies(qx: QueueProxy | ProxyData): void {
  const q = asProxy<QueueProxy>(qx);
  try {
    q.getSync();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MULTIPROC_CLOSED') process.stderr.write(`getSyncUntilServerDies: ${(e as Error).stack}\n`);
    posix.exit((e as NodeJS.ErrnoException).code === 'ERR_MULTIPROC_CLOSED' ? 0 : 5);
  }
  posix.exit(6);
}

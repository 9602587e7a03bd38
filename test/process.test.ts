// Process, written once and run for both start methods (as CPython's test_multiprocessing_fork/_spawn).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { activeChildren, currentProcess, getContext, parentProcess, Process, cpuCount, processCpuCount, type StartMethod } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { childExecArgv } from '../lib/mp/process/process.js';
import { readAll, reap, until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';
import * as targets from './helpers/targets.js';
import { helper, tmpDir } from './helpers/files.js';
import { asSubreaper, reapAdopted, spawnReporter, type TargetOptions, targetProcess } from './helpers/process.js';

checkLeaks();

const targetsFile = helper('targets.ts');
const { file: tmpFile } = tmpDir('process');
const parentPid = process.pid;
/** What test/helpers/daemon-parent.ts reports: the pids of its daemon child and its other child. */
type Report = { daemon: number; worker: number };

type TargetName = keyof typeof targets;

/** Runs `body` with this process's fd 2 sent to a pipe (children inherit it); returns what was written. */
async function captureStderr(body: () => Promise<void>): Promise<string> {
  const [r, w] = posix.pipe();
  const saved = posix.dup(2);
  posix.dup2(w, 2);
  posix.close(w);
  try {
    await body();
  } finally {
    posix.dup2(saved, 2);
    posix.close(saved);
  }
  const out = await readAll(r);
  posix.close(r);
  return out.toString();
}

for (const method of ['fork', 'spawn', 'forkserver'] as const satisfies readonly StartMethod[]) {
  describe(`Process (${method})`, () => {
    const make = (exp: TargetName, args: unknown[] = [], extra: TargetOptions = {}) => targetProcess(method, targets, targetsFile, exp, args, extra);

    it('runs the target (awaited when async) with its args; join; exitCode 0; identity in the child', async () => {
      const file = tmpFile();
      const p = make('report', [file, 'a', 2], { name: 'reporter' });
      expect(p.exitCode).toBeNull();
      expect(p.isAlive()).toBe(false);
      p.start();
      expect(p.pid).toBeGreaterThan(0);
      expect(p.isAlive()).toBe(true);
      expect(activeChildren()).toContain(p);
      await p.join();
      expect(p.exitCode).toBe(0);
      expect(p.isAlive()).toBe(false);
      expect(activeChildren()).not.toContain(p);
      const r = JSON.parse(readFileSync(file, 'utf8'));
      expect(r.me).toMatchObject({ name: 'reporter', pid: p.pid, daemon: false });
      expect(r.parent).toEqual({ pid: process.pid, name: 'MainProcess' });
      expect(r.pid).toBe(p.pid);
      expect(r.ppid).toBe(process.pid);
      expect(r.rest).toEqual(['a', 2]);
      p.close();
      expect(() => p.isAlive()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_CLOSED' }));
    });

    it('args are structured-cloned: Map, Date, typed arrays, nested objects', async () => {
      const file = tmpFile();
      const args = [new Map([['k', 1]]), new Date(86_400_000), new Float64Array([1.5, 2.5]), { deep: { list: [1, 'two', null] } }, 10n];
      const p = make('echoArgs', [file, ...args]);
      p.start();
      p.joinSync();
      expect(p.exitCode).toBe(0);
      expect(v8.deserialize(readFileSync(file))).toEqual(args);
    });

    it('an exception: exitCode 1, "Process <name>:" and the stack on stderr (sync and async)', async () => {
      let p1!: Process, p2!: Process;
      const err = await captureStderr(async () => {
        p1 = make('fail', ['boom sync'], { name: 'failing-1' });
        p2 = make('failLater', ['boom async'], { name: 'failing-2' });
        p1.start();
        p2.start();
        await Promise.all([p1.join(), p2.join()]);
      });
      expect(p1.exitCode).toBe(1);
      expect(p2.exitCode).toBe(1);
      expect(err).toContain('Process failing-1:\nError: boom sync');
      expect(err).toContain('Process failing-2:\nError: boom async');
    });

    it('process.exit(n) in the target: exitCode n', async () => {
      const p = make('exitWith', [42]);
      p.start();
      await p.join();
      expect(p.exitCode).toBe(42);
    });

    it('terminate → -SIGTERM, kill → -SIGKILL; join(timeout) returns while it still runs', async () => {
      const a = make('forever');
      const b = make('forever');
      a.start();
      b.start();
      const t0 = Date.now();
      await a.join(100);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
      expect(a.exitCode).toBeNull();
      b.joinSync(50);
      expect(b.exitCode).toBeNull();
      expect(() => a.close()).toThrow(/still running/);
      a.terminate();
      b.kill();
      await a.join();
      b.joinSync();
      expect(a.exitCode).toBe(-15);
      expect(b.exitCode).toBe(-9);
      a.terminate(); // already ended: nothing happens
    });

    it('join with an AbortSignal rejects with its reason; the child can still be joined', async () => {
      const p = make('sleep', [200]);
      p.start();
      const ac = new AbortController();
      const joining = p.join({ signal: ac.signal });
      ac.abort(new Error('gave up'));
      await expect(joining).rejects.toThrow('gave up');
      await p.join();
      expect(p.exitCode).toBe(0);
    });

    it('the child reads end-of-file from stdin (/dev/null), as in Python', async () => {
      const file = tmpFile();
      const before = targets.devNullFds();
      const p = make('stdinIsEmpty', [file]);
      p.start();
      await p.join();
      const got = JSON.parse(readFileSync(file, 'utf8')) as { n: number; extraNull: string[] };
      expect(got.n).toBe(0);
      // A forked child has this process's fds: the /dev/null it got its stdin from (opened by the parent
      // before fork) is closed in both, nothing more.
      if (method === 'fork') expect(got.extraNull).toEqual(before);
      expect(targets.devNullFds()).toEqual(before);
    });

    it('a daemon child dies with its parent even when the parent is SIGKILLed', async () => {
      // the orphaned daemon is re-parented to us, and we reap it
      await asSubreaper(async () => {
        const { pid: parent, report } = await spawnReporter<Report>('daemon-parent.ts', [method, 'sigkill-wait']);
        const { daemon, worker } = report;
        posix.kill(parent, 'SIGKILL');
        expect(await reap(parent)).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
        await until(() => posix.processInfo(daemon)?.ppid === process.pid || posix.processInfo(daemon) === null, 'the daemon to be adopted');
        expect(await reap(daemon, 10_000)).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
        expect(await reap(worker, 10_000)).toMatchObject({ kind: 'exited', code: 0 }); // non-daemon: finishes its work
      });
    });

    it('at a normal exit the parent terminates its daemon children and waits for the others', async () => {
      const { pid: parent, report } = await spawnReporter<Report>('daemon-parent.ts', [method, 'exit']);
      const { daemon, worker } = report;
      expect(await reap(parent, 20_000)).toMatchObject({ kind: 'exited', code: 0 });
      expect(posix.processInfo(daemon)).toBeNull(); // reaped by its parent, not left behind
      expect(posix.processInfo(worker)).toBeNull();
    });

    it('Ctrl-C (SIGINT to the process group) leaves no child running or unreaped', async () => {
      await asSubreaper(async (before) => {
        const { pid: parent, report } = await spawnReporter<Report>('daemon-parent.ts', [method, 'wait-forever'], true);
        const { daemon, worker } = report;
        posix.kill(-parent, 'SIGINT'); // what the terminal does: the whole foreground group
        expect(await reap(parent)).toMatchObject({ kind: 'signaled', signal: 'SIGINT' });
        for (const pid of [daemon, worker]) {
          await until(() => posix.processInfo(pid)?.ppid === process.pid || posix.processInfo(pid) === null, 'adoption');
          expect(await reap(pid, 10_000)).toMatchObject({ kind: 'signaled' });
        }
        await reapAdopted(before);
        expect(posix.allProcesses().filter((p) => p.pgid === parent)).toEqual([]);
      });
    });
  });
}

describe('fork start method only', () => {
  it('the target may be a closure: it sees the parent\'s state at the fork', async () => {
    const file = tmpFile();
    const secret = { value: 41 };
    const p = new Process({ target: () => targets.writeJson(file, secret.value + 1) });
    secret.value = 41;
    p.start();
    secret.value = 0; // after the fork: the child does not see it
    await p.join();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toBe(42);
  });

  for (const site of ['setTimeout', 'setImmediate', 'a .then'] as const) {
    it(`started from ${site}: microtasks and nextTicks the parent queued before start() never run in the child`, async () => {
      const file = tmpFile();
      const ran: number[] = [];
      const ticked: number[] = [];
      const warned: number[] = [];
      const onWarning = (w: Error) => {
        if (w.message === 'parent warning') warned.push(process.pid);
      };
      const inChild = (w: Error) => {
        if (w.message === 'parent warning' && process.pid !== parentPid) targets.writeJson(file, 'warning emitted in the child');
      };
      process.on('warning', onWarning);
      const p = await new Promise<Process>((resolve) => {
        const body = () => {
          // the parent's continuations, queued before the fork: they must run in the parent only
          void Promise.resolve().then(() => {
            ran.push(process.pid);
            if (process.pid !== parentPid) targets.writeJson(file, 'continuation ran in the child');
          });
          process.nextTick(() => {
            ticked.push(process.pid);
            if (process.pid !== parentPid) targets.writeJson(file, 'nextTick ran in the child');
          });
          process.emitWarning('parent warning'); // Node emits it from a nextTick: printed by the parent only
          // (the 'warning' listener is the parent's and is kept in the child: it would record the child's pid)
          process.on('warning', inChild);
          const child = new Process({ target: () => targets.writeJson(file, 'target ran') });
          child.start();
          resolve(child);
        };
        if (site === 'setTimeout') setTimeout(body, 1);
        else if (site === 'setImmediate') setImmediate(body);
        else void Promise.resolve().then(body);
      });
      await p.join();
      process.off('warning', onWarning).off('warning', inChild);
      expect(p.exitCode).toBe(0);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toBe('target ran');
      expect(ran).toEqual([parentPid]);
      expect(ticked).toEqual([parentPid]);
      expect(warned).toEqual([parentPid]);
    });
  }
});

describe('spawn start method only', () => {
  it('args that cannot be structured-cloned are a clear error at start()', () => {
    const p = new Process({ startMethod: 'spawn', module: targetsFile, export: 'sleep', args: [() => 1] });
    expect(() => p.start()).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_NOT_CLONEABLE' }));
  });

  it('a missing export fails the child with a message naming the module and its exports', async () => {
    let p!: Process;
    const err = await captureStderr(async () => {
      p = new Process({ startMethod: 'spawn', module: targetsFile, export: 'nope' });
      p.start();
      await p.join();
    });
    expect(p.exitCode).toBe(1);
    expect(err).toMatch(/has no exported function "nope" \(exports: .*report/);
  });

  it('the child gets the parent\'s execArgv minus inspector flags and -e code', () => {
    const saved = process.execArgv;
    try {
      Object.defineProperty(process, 'execArgv', { value: ['--inspect=9229', '--max-old-space-size=100', '-e', 'code()', '--inspect-brk', '--enable-source-maps'], configurable: true });
      const argv = childExecArgv();
      const loader = argv.findIndex((a) => a.includes('tsx'));
      if (loader > 0 && argv[loader - 1] === '--import') argv.splice(loader - 1, 2); // added when running from .ts sources
      expect(argv).toEqual(['--max-old-space-size=100', '--enable-source-maps']);
    } finally {
      Object.defineProperty(process, 'execArgv', { value: saved, configurable: true });
    }
  });

  it('spawn requires a module; fork requires a target function', () => {
    expect(() => new Process({ startMethod: 'spawn' })).toThrow(/module/);
    expect(() => new Process({})).toThrow(/"options.target" property must be of type function/);
    expect(() => new Process({ target: () => 1, startMethod: 'thread' as StartMethod })).toThrow(/must be 'fork', 'spawn' or 'forkserver'. Received 'thread'/);
  });
});

describe('context and process-wide queries', () => {
  it('getContext(method).Process uses that method; currentProcess/parentProcess in the main process', () => {
    expect(new (getContext('spawn').Process)({ module: targetsFile, export: 'sleep' }).startMethod).toBe('spawn');
    expect(new (getContext('fork').Process)({ target: () => 1 }).startMethod).toBe('fork');
    expect(currentProcess()).toEqual({ name: 'MainProcess', pid: process.pid, daemon: false });
    expect(parentProcess()).toBeNull();
    expect(cpuCount()).toBe(os.cpus().length);
    expect(processCpuCount()).toBe(posix.getAffinity(0).length);
  });
});

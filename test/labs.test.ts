// The course labs (lib/labs), each run as `multiproc demo <lab> --json` in its own process: exit status 0,
// the facts it reports, and nothing left behind. The zombie, orphan and deadlock labs are also held at
// their key moment (MULTIPROC_LAB_HOLD_MS) so that this test looks with the real `ps`, then interrupted
// with SIGINT, after which none of their processes may exist.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as posix from '../lib/posix/index.js';
import { until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliArgs = (...args: string[]) => ['--import', 'tsx', path.join(root, 'lib/cli.ts'), ...args];

interface Report {
  lab: string;
  ok: boolean;
  claim: string;
  leftovers: number[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  facts: Record<string, any> & { labPid: number; created: number[]; timeline: { kind: string; pid: number; peer: number; value: number; label: string; t: number; by: number }[] };
}

function runLab(name: string, ...extra: string[]): Report {
  const r = spawnSync(process.execPath, cliArgs('demo', name, '--json', ...extra), {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  expect(r.status, `demo ${name} exit status; stderr:\n${r.stderr}`).toBe(0);
  const report = JSON.parse(r.stdout) as Report;
  expect(report.lab).toBe(name);
  expect(report.ok).toBe(true);
  expect(report.leftovers).toEqual([]);
  // Every process the lab created is gone (reaped, not re-parented somewhere).
  for (const pid of report.facts.created) expect(posix.processInfo(pid), `pid ${pid} of ${name}`).toBeNull();
  return report;
}

/** Real ps: `ps -o <field>= -p <pid>`, trimmed ('' when there is no such process). */
function psField(pid: number, field: string): string {
  const r = spawnSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8' });
  return r.stdout.trim();
}
const havePs = spawnSync('ps', ['-p', String(process.pid)]).status === 0;

describe('multiproc demo (list)', () => {
  it('lists the labs, one line each; --json lists them as data; an unknown lab is an error without a stack', () => {
    const list = spawnSync(process.execPath, cliArgs('demo'), { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(list.status).toBe(0);
    for (const name of ['zombie', 'orphan', 'deadlock', 'shared_value', 'process_barrier']) expect(list.stdout).toMatch(new RegExp(`^\\s+${name}\\s{2,}\\S`, 'm'));
    expect(list.stdout).not.toMatch(/\x1b\[/);
    const json = spawnSync(process.execPath, cliArgs('demo', '--json'), { cwd: root, encoding: 'utf8' });
    const labs = JSON.parse(json.stdout) as { name: string; summary: string }[];
    expect(labs.map((l) => l.name)).toContain('zombie');
    const bad = spawnSync(process.execPath, cliArgs('demo', 'nosuchlab'), { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/no lab named 'nosuchlab'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('output', () => {
  it('a reader that goes away (| head): no EPIPE error, no stack trace', () => {
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" --import tsx lib/cli.ts demo zombie | head -2`], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.stdout.split('\n').slice(0, 2).join('\n')).toMatch(/^multiproc demo zombie: /);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});

describe('the labs, via --json', () => {
  it('zombie: Z in /proc and in ps while unwaited, gone after waitpid', () => {
    const r = runLab('zombie');
    expect(r.facts.children).toHaveLength(2);
    for (const c of r.facts.children) {
      expect(c.ppid).toBe(r.facts.labPid);
      expect(c.procState).toBe('zombie');
      expect(c.procStat).toBe('Z');
      if (r.facts.psAvailable) expect(c.psStat).toMatch(/^Z/);
      expect(c.afterWait).toBe('gone');
      expect(c.status.kind).toBe('exited');
    }
    expect(r.facts.children.map((c: { status: { code: number } }) => c.status.code)).toEqual([0, 3]);
    // the timeline holds each child's exit (recorded in the child) before the lab's reap of it
    for (const c of r.facts.children) {
      const exit = r.facts.timeline.find((e) => e.kind === 'exit' && e.pid === c.pid);
      const reap = r.facts.timeline.find((e) => e.kind === 'reap' && e.peer === c.pid);
      expect(exit?.by).toBe(c.pid);
      expect(reap?.by).toBe(r.facts.labPid);
      expect(exit!.t).toBeLessThan(reap!.t);
    }
  });

  it('orphan: re-parented to the lab (a subreaper), then reaped by it', () => {
    const r = runLab('orphan');
    const { child, parent, labPid } = r.facts as Record<string, any>;
    expect(r.facts.subreaper).toBe(true);
    expect(child.ppidBefore).toBe(parent.pid);
    expect(child.procPpidBefore).toBe(parent.pid);
    expect(child.ppidAfter).toBe(labPid);
    expect(child.procPpidAfter).toBe(labPid);
    expect(child.status).toMatchObject({ kind: 'exited', code: 0 });
    expect(parent.status).toMatchObject({ kind: 'exited', code: 0 });
    expect(r.facts.timeline.some((e) => e.kind === 'reparent' && e.pid === child.pid && e.peer === labPid && e.by === child.pid)).toBe(true);
  });

  it('deadlock: the wait-for cycle, both asleep on futexes, broken by killing one; the ordered fix completes', () => {
    const r = runLab('deadlock');
    const [a, b] = r.facts.processes.map((p: { pid: number }) => p.pid);
    expect(r.facts.cycleFound).toBe(true);
    expect(r.facts.cycle).toEqual(
      expect.arrayContaining([
        { from: a, to: b, waitsFor: 'R2' },
        { from: b, to: a, waitsFor: 'R1' },
      ]),
    );
    expect(r.facts.cycle).toHaveLength(2);
    expect(r.facts.bothAsleep).toBe(true);
    for (const s of r.facts.procStates) expect(s.state).toBe('sleeping');
    expect(r.facts.noProgressFor300ms).toBe(true);
    expect(r.facts.victimStatus).toMatchObject({ kind: 'signaled', signal: 'SIGKILL' });
    expect(r.facts.survivorStatus).toMatchObject({ kind: 'exited', code: 0 });
    expect(r.facts.survivorSawOwnerDied).toBe(true);
    expect(r.facts.fix.completed).toBe(true);
    expect(r.facts.timeline.filter((e) => e.kind === 'waitfor')).toHaveLength(2);
  });

  it('shared_value: exact with the lock, lost updates without it', () => {
    const r = runLab('shared_value');
    expect(r.facts.withLock).toEqual({ processes: 5, value: 5, expected: 5 });
    expect(r.facts.withLockBig.value).toBe(r.facts.withLockBig.expected);
    const w = r.facts.withoutLock;
    expect(w.lost).toBeGreaterThan(0);
    expect(w.lost).toBe(w.expected - w.value);
    expect(w.attempts).toBeLessThanOrEqual(6);
    expect(w.duplicateReads).toBeGreaterThan(0);
    expect(w.example.readers[0]).not.toBe(w.example.readers[1]);
  });

  it('shared_array: the parent reads what the child wrote; a plain array stays private', () => {
    const r = runLab('shared_array');
    expect(r.facts.parentRead).toEqual(r.facts.childWrote);
    expect(r.facts.childWrote).toEqual(r.facts.before.map((v: number) => v * v + 0.5));
    expect(r.facts.plainArrayInParent).toEqual(r.facts.before);
  });

  it('pipe_communication: bytes and messages arrive as written, in order', () => {
    const r = runLab('pipe_communication');
    expect(r.facts.raw.read).toBe(r.facts.raw.wrote);
    expect(r.facts.messages.received).toEqual(r.facts.messages.sent);
  });

  it('queue_communication: the consumer gets what the producer put, in order', () => {
    const r = runLab('queue_communication');
    expect(r.facts.received).toEqual(r.facts.sent);
    expect(r.facts.sent).toHaveLength(8);
    expect(r.facts.exitCodes).toEqual([0, 0]);
    // every put is on the timeline as recorded by the producer, every get as recorded by the consumer
    const ev = r.facts.timeline;
    for (let seq = 1; seq <= 8; seq++) {
      const put = ev.find((e) => e.kind === 'send' && e.pid === r.facts.producer && e.value === seq);
      const got = ev.find((e) => e.kind === 'recv' && e.pid === r.facts.consumer && e.value === seq);
      expect(put?.by).toBe(r.facts.producer);
      expect(got?.by).toBe(r.facts.consumer);
    }
  });

  it('process_pool: results in order, each with the pid of the worker that computed it', () => {
    const r = runLab('process_pool');
    expect(r.facts.items.map((i: { result: number }) => i.result)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) ** 2));
    for (const i of r.facts.items) expect(r.facts.workerPids).toContain(i.pid);
    expect(r.facts.workerPids).not.toContain(r.facts.labPid);
    expect(r.facts.timing.speedup).toBeGreaterThan(0); // measured and reported; its size depends on the machine's load
  });

  it('manager: the parent reads back what the workers wrote through the proxies', () => {
    const r = runLab('manager');
    expect(r.facts.written).toHaveLength(3);
    for (const w of r.facts.written) expect(r.facts.dictRead[w.key]).toEqual(w.value);
    expect([...r.facts.listRead].sort()).toEqual(r.facts.written.map((w: { pid: number }) => w.pid).sort());
    expect(r.facts.exitCodes).toEqual([0, 0, 0]);
  });

  it('process_lock: with the lock no line is broken', () => {
    const r = runLab('process_lock');
    expect(r.facts.withLock).toEqual({ lines: r.facts.processes * r.facts.linesEach, interleaved: 0 });
    expect(r.facts.withoutLock.lines).toBe(r.facts.processes * r.facts.linesEach);
  });

  it('process_semaphore: never more than N inside, and N reached', () => {
    const r = runLab('process_semaphore');
    expect(r.facts.maxInside).toBe(r.facts.slots);
    expect(r.facts.maxInsideCounted).toBeLessThanOrEqual(r.facts.slots);
    // recheck the overlap from the reported intervals
    const iv = r.facts.intervals as { enterMs: number; leaveMs: number }[];
    for (const x of iv) expect(iv.filter((y) => y.enterMs <= x.enterMs && x.enterMs < y.leaveMs).length).toBeLessThanOrEqual(r.facts.slots);
  });

  it('process_barrier: everyone reaches barrier k before anyone starts phase k+1', () => {
    const r = runLab('process_barrier');
    const per = r.facts.perProcess as { phases: { startMs: number; arriveMs: number }[] }[];
    for (let ph = 0; ph + 1 < r.facts.phases; ph++) {
      const lastArrival = Math.max(...per.map((p) => p.phases[ph]!.arriveMs));
      const firstStart = Math.min(...per.map((p) => p.phases[ph + 1]!.startMs));
      expect(lastArrival).toBeLessThanOrEqual(firstStart);
    }
    expect(r.facts.timeline.filter((e) => e.kind === 'sync')).toHaveLength(r.facts.phases);
  });

  it('basic_process: own pid, the lab as parent, exit codes 0 and -15', () => {
    const r = runLab('basic_process');
    expect(r.facts.child.ppid).toBe(r.facts.parentPid);
    expect(r.facts.child.reportedPid).toBe(r.facts.child.pid);
    expect(r.facts.child.exitCode).toBe(0);
    expect(r.facts.terminated.exitCode).toBe(-15);
  });

  it('multiple_processes: four children, the parts combine into the exact total', () => {
    const r = runLab('multiple_processes');
    expect(r.facts.total).toBe(r.facts.expected);
    expect(new Set(r.facts.workers.map((w: { pid: number }) => w.pid)).size).toBe(4);
    for (const w of r.facts.workers) expect(w).toMatchObject({ ppid: r.facts.parentPid, exitCode: 0 });
  });

  it('--svg draws a lane per process with the zombie interval', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(path.join(tmpdir(), 'multiproc-labs-'));
    try {
      const file = path.join(dir, 'zombie.svg');
      const r = runLab('zombie', '--svg', file);
      const svg = readFileSync(file, 'utf8');
      expect(svg).toMatch(/^<svg /);
      for (const c of r.facts.children) expect(svg).toContain(`pid ${c.pid}`);
      expect(svg).toMatch(/>zombie</);
      expect(svg).toMatch(/wait: exited 3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Starts a lab held at its key moment; resolves with the lab's pid and the pids it printed. */
async function holdLab(name: string): Promise<{ lab: ReturnType<typeof spawn>; pids: number[]; exit: Promise<number | null>; stderr: () => string }> {
  const lab = spawn(process.execPath, cliArgs('demo', name, '--json'), {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', MULTIPROC_LAB_HOLD_MS: '20000' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exit = new Promise<number | null>((resolve) => lab.on('exit', (code) => resolve(code)));
  let stderr = '';
  const pids = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not reach its hold point:\n${stderr}`)), 30_000);
    lab.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /lab holding: .* pids=([\d,]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.split(',').map(Number));
      }
    });
    lab.on('exit', () => reject(new Error(`${name} exited early:\n${stderr}`)));
  });
  return { lab, pids, exit, stderr: () => stderr };
}

describe('Ctrl-C (SIGINT) at the key moment leaves nothing behind', () => {
  it.skipIf(!havePs)('zombie: ps shows Z; after SIGINT the zombies are reaped', async () => {
    const { lab, pids, exit } = await holdLab('zombie');
    for (const pid of pids) {
      expect(psField(pid, 'stat')).toMatch(/^Z/);
      expect(Number(psField(pid, 'ppid'))).toBe(lab.pid);
    }
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    for (const pid of pids) expect(psField(pid, 'stat')).toBe('');
  });

  it.skipIf(!havePs)('orphan: ps shows the lab as the adopted child’s parent; after SIGINT the orphan is gone', async () => {
    const { lab, pids, exit } = await holdLab('orphan');
    const [orphan] = pids as [number];
    expect(Number(psField(orphan, 'ppid'))).toBe(lab.pid);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    await until(() => posix.processInfo(orphan) === null, 'the orphan to be gone', 3000);
  });

  it('basic_process: a Process child killed and joined through its Process object; no stack trace', async () => {
    const { lab, pids, exit, stderr } = await holdLab('basic_process');
    expect(posix.processInfo(pids[0]!)?.ppid).toBe(lab.pid);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(posix.processInfo(pids[0]!)).toBeNull();
    expect(stderr()).toMatch(/SIGINT: stopping the lab's processes/);
    expect(stderr()).not.toMatch(/\n\s+at /);
  });

  for (const name of ['process_pool', 'manager']) {
    it(`${name}: the pool's workers / the manager's server are gone after SIGINT`, async () => {
      const { lab, pids, exit } = await holdLab(name);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) expect(posix.processInfo(pid)?.ppid).toBe(lab.pid);
      lab.kill('SIGINT');
      expect(await exit).toBe(130);
      await until(() => pids.every((pid) => posix.processInfo(pid) === null), `${name}'s processes to be gone`, 3000);
    });
  }

  it.skipIf(!havePs)('deadlock: ps shows both asleep; after SIGINT both are gone', async () => {
    const { lab, pids, exit } = await holdLab('deadlock');
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(psField(pid, 'stat')).toMatch(/^S/);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    for (const pid of pids) expect(posix.processInfo(pid)).toBeNull();
  });
});

if (!havePs) console.log('labs.test: `ps` is not installed; the SIGINT tests that compare with real ps are skipped');

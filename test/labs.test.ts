// The labs (lib/tools/labs), each run as `multiproc demo <lab> --json --svg FILE` in its own process: exit status 0,
// the facts it reports, nothing left behind, and a picture whose labels do not overlap (checked on the SVG's
// geometry). The zombie, orphan, deadlock, signals, namespaces and scaling labs are also held at their key
// moment (--hold / MULTIPROC_LAB_HOLD_MS) so that this test looks with the real `ps`, then interrupted with
// SIGINT, after which none of their processes may exist.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labsMarkdown } from '../lib/tools/labs/guide.js';
import { renderSvg } from '../lib/tools/labs/svg.js';
import type { TimelineEvent } from '../lib/tools/labs/timeline.js';
import * as posix from '../lib/posix/index.js';
import { until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';
import { problems } from './helpers/svg-geometry.js';
import { tmpDir } from './helpers/files.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliArgs = (...args: string[]) => ['--import', 'tsx', path.join(root, 'lib/tools/cli.ts'), ...args];
const { dir: pictures } = tmpDir('labs');

interface Report {
  lab: string;
  ok: boolean;
  claim: string;
  leftovers: number[];
  notShown: string[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  facts: Record<string, any> & { labPid: number; created: number[]; timeline: { kind: string; pid: number; peer: number; value: number; label: string; t: number; by: number }[] };
}

/** Runs a lab with --json and --svg; checks its status, report, leftovers and its picture's geometry. */
function runLab(name: string, opts: { wrapper?: string[] } = {}): Report & { svg: string } {
  const svgFile = path.join(pictures, `${name}.svg`);
  const args = cliArgs('demo', name, '--json', '--svg', svgFile);
  const [cmd, ...argv] = [...(opts.wrapper ?? []), process.execPath, ...args];
  const r = spawnSync(cmd!, argv, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 90_000,
  });
  expect(r.status, `demo ${name} exit status; stderr:\n${r.stderr}`).toBe(0);
  const report = JSON.parse(r.stdout) as Report;
  expect(report.lab).toBe(name);
  expect(report.ok).toBe(true);
  expect(report.leftovers).toEqual([]);
  // Every process the lab created is gone (reaped, not re-parented somewhere).
  for (const pid of report.facts.created) expect(posix.processInfo(pid), `pid ${pid} of ${name}`).toBeNull();
  const svg = readFileSync(svgFile, 'utf8');
  expect(svg).toMatch(/^<svg /);
  expect(problems(svg), `${name}: the picture's labels`).toEqual([]);
  return { ...report, svg };
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
    for (const name of ['zombie', 'orphan', 'deadlock', 'shared_value', 'process_barrier', 'signals', 'namespaces', 'scaling']) expect(list.stdout).toMatch(new RegExp(`^\\s+${name}\\s{2,}\\S`, 'm'));
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
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" --import tsx lib/tools/cli.ts demo zombie | head -2`], {
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

  it('shared_value: exact with the lock, lost updates without it; the picture shows the lock held in turn', () => {
    const r = runLab('shared_value');
    // the slowed-down race accounts for every increment: what is missing from the value was overwritten
    const slow = r.facts.slowRace;
    expect(slow.writes).toHaveLength(slow.expected);
    expect(slow.value + slow.lost).toBe(slow.expected);
    expect(slow.writes.every((x: { read: number; wrote: number }) => x.wrote === x.read + 1)).toBe(true);
    if (slow.lost > 0) expect(slow.writes.some((x: { read: number; found: number }) => x.found !== x.read)).toBe(true);
    // five lock holders on the picture, never two at once (from the recorded states)
    const held = new Map<number, number>();
    let inside = 0;
    let maxInside = 0;
    for (const e of r.facts.timeline.filter((x) => x.kind === 'state')) {
      if (e.label === 'critical') held.set(e.pid, 1);
      else if (held.get(e.pid) === 1) held.set(e.pid, 0);
      inside = [...held.values()].reduce((a, b) => a + b, 0);
      maxInside = Math.max(maxInside, inside);
    }
    expect(held.size).toBe(5);
    expect(maxInside).toBe(1);
    expect(r.svg).toMatch(/holds the lock/);
    expect(r.svg).toMatch(/an update lost|writes \d/);
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

  it('process_barrier: everyone reaches barrier k before it opens, and it opens before anyone starts phase k+1', () => {
    const r = runLab('process_barrier');
    const per = r.facts.perProcess as { pid: number; phases: { startMs: number; arriveMs: number }[] }[];
    expect(r.facts.checks).toHaveLength(r.facts.phases - 1);
    for (let ph = 0; ph + 1 < r.facts.phases; ph++) {
      const lastArrival = Math.max(...per.map((p) => p.phases[ph]!.arriveMs));
      const firstStart = Math.min(...per.map((p) => p.phases[ph + 1]!.startMs));
      const c = r.facts.checks[ph];
      expect(c).toMatchObject({ phase: ph + 1, lastArrivalMs: lastArrival, firstNextStartMs: firstStart, ok: true });
      expect(c.lastArrivalMs).toBeLessThanOrEqual(c.opensMs);
      expect(c.opensMs).toBeLessThanOrEqual(c.firstNextStartMs);
      expect(per.map((p) => p.pid)).toContain(c.openedBy);
    }
    // each opening is on the picture once, recorded by the process that opened it (the last to arrive)
    const syncs = r.facts.timeline.filter((e) => e.kind === 'sync');
    expect(syncs).toHaveLength(r.facts.phases);
    expect(r.facts.openings.map((o: { openedBy: number }) => o.openedBy)).toEqual(syncs.map((e) => e.by));
    for (const e of syncs) expect(e.pid).toBe(e.by);
    // drawn where they were recorded: one line across the lanes per opening, in time order
    const lines = [...r.svg.matchAll(/<line class="sync" x1="([\d.]+)"[^>]*><title>[\d.]+ m?s barrier (\d) opens<\/title>/g)];
    expect(lines.map((m) => Number(m[2]))).toEqual(Array.from({ length: r.facts.phases }, (_, i) => i + 1));
    const xs = lines.map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
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

  it('--svg draws a lane per process with the zombie interval', () => {
    const r = runLab('zombie');
    for (const c of r.facts.children) expect(r.svg).toContain(`pid ${c.pid}`);
    expect(r.svg).toMatch(/>zombie</);
    expect(r.svg).toMatch(/wait: exited 3/);
  });

  it('signals: handlers, ignore and one-shot; T while stopped; pending until unblocked; SIGCHLD-driven reaping', () => {
    const r = runLab('signals');
    const { handlers: h, stop, blocked: b, sigchld: c } = r.facts as Record<string, any>;
    expect(h.caught).toEqual(expect.arrayContaining(['SIGUSR1', 'SIGUSR2']));
    expect(h.ignored).toContain('SIGTERM');
    expect(h.deliveries.slice(0, 3)).toEqual([
      { signal: 'SIGUSR1', code: 'user', pid: r.facts.labPid, value: 0 },
      { signal: 'SIGUSR1', code: 'queue', pid: r.facts.labPid, value: 42 },
      { signal: 'SIGUSR2', code: 'user', pid: r.facts.labPid, value: 0 },
    ]);
    expect(h.sigtermIgnored).toBe(true);
    expect(h.caughtAfterOneShot).not.toContain('SIGUSR2');
    expect(h.end).toMatchObject({ kind: 'signaled', signal: 'SIGUSR2' });
    expect(stop.stopStatus).toMatchObject({ kind: 'stopped', signal: 'SIGSTOP' });
    expect(stop).toMatchObject({ procState: 'stopped', stat: 'T', progressWhileStopped: 0, stateAfterCont: expect.stringMatching(/running|sleeping/), progressedAfterCont: true });
    if (stop.psStat !== null) expect(stop.psStat).toMatch(/^T/);
    expect(stop.contStatus.kind).toBe('continued');
    expect(b.pendingInChild).toEqual(['SIGUSR1', 'SIGRTMIN']);
    expect(b.procPending).toEqual(['SIGUSR1', 'SIGRTMIN']);
    expect(b.countsBefore).toEqual({ SIGUSR1: 0, SIGRTMIN: 0 });
    expect(b.delivered).toEqual({ SIGUSR1: 1, SIGRTMIN: 3 });
    expect(b.rtValues).toEqual([1, 2, 3]);
    expect(b.duringUnblock).toBe(true);
    expect(c.reaps).toHaveLength(5);
    expect(c.reaps.map((x: { code: number }) => x.code).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(c.pendingWhileBlocked).toContain('SIGCHLD');
    expect(c.handlerRuns).toBeLessThan(5); // the three that exited together made one SIGCHLD
    expect(c.reaps.filter((x: { wakeup: number }) => x.wakeup === 1).length).toBeGreaterThanOrEqual(c.exitedTogether);
    // on the picture: the stopped stretch and SIGCHLD arrows into the parent
    expect(r.svg).toMatch(/stopped \(T\)/);
    expect(r.facts.timeline.filter((e) => e.kind === 'signal' && e.label === 'SIGCHLD' && e.peer === c.parent)).toHaveLength(c.handlerRuns);
  });

  it('namespaces: PID 1 inside, its real pid outside, its own hostname and /proc, an orphan reaped by PID 1; the host unchanged', () => {
    const hostname = os.hostname();
    const r = runLab('namespaces');
    const f = r.facts as Record<string, any>;
    expect(f.hostnameOutside).toBe(hostname);
    expect(f.hostProcUnchanged).toBe(true);
    if (!f.permitted.pid || !f.permitted.uts || !f.permitted.mount) {
      console.log(`labs.test: namespaces not all permitted here (${f.reasons.join('; ')}); only the degraded run is checked`);
      expect(r.notShown.length).toBeGreaterThan(0);
      return;
    }
    expect(r.notShown).toEqual([]);
    expect(f.pidInside).toBe(1);
    expect(f.ppidInside).toBe(0);
    expect(f.hostPid).not.toBe(1);
    expect(f.nsPidsOnHost).toEqual([f.hostPid, 1]);
    expect(f.hostnameInside).toBe('multiproc-box');
    expect(f.hostnameInside).not.toBe(f.hostnameOutside);
    expect(f.procMountedInside).toBe(true);
    expect(f.procPidsInside[0]).toBe(1);
    // the lab's own claim: few, small pids (threads of a forked child take pids from the same space, so not 1..n)
    expect(f.procPidsInside.length).toBeLessThanOrEqual(5);
    expect(f.procPidsInside.every((p: number) => p < 100)).toBe(true);
    expect(f.orphan).toMatchObject({ ppidAfter: 1, status: 'exited 0', reapedBy: 1 });
    expect(f.namespaceIds.container.uts).not.toBe(f.namespaceIds.lab.uts);
    expect(f.namespaceIds.container.pid).not.toBe(f.namespaceIds.lab.pid);
    expect(f.namespaceIds.exec.uts).toBe(f.namespaceIds.container.uts);
    expect(f.exec.hostname).toBe('multiproc-box');
    expect(f.exec.procPids).toContain(1);
    if (f.psInside !== null) expect(f.psInside).toMatch(/^\s*1\s+0\s+\S+\s+container-init$/m);
    for (const pid of [f.hostPid, ...f.innerHostPids]) expect(posix.processInfo(pid)).toBeNull();
  });

  const setpriv = spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(!setpriv)('namespaces without CAP_SYS_ADMIN (setpriv --bounding-set -sys_admin): every refused step named, exit 0, nothing left', () => {
    const r = runLab('namespaces', { wrapper: ['setpriv', '--bounding-set', '-sys_admin'] });
    const f = r.facts as Record<string, any>;
    expect(f.permitted).toEqual({ uts: false, mount: false, pid: false });
    expect(r.notShown).toEqual(expect.arrayContaining([expect.stringMatching(/^unshare\(CLONE_NEWPID\): EPERM, not permitted/), expect.stringMatching(/^unshare\(CLONE_NEWUTS\): EPERM/)]));
    expect(f.pidInside).toBe(f.hostPid);
    expect(f.hostnameInside).toBe(f.hostnameOutside);
    expect(f.procMountedInside).toBe(false);
  });

  it('scaling: the same checksum everywhere; k processes, k threads, one loop; static chunks are whole blocks', () => {
    const r = runLab('scaling');
    const f = r.facts as Record<string, any>;
    const K = f.cpus + 1;
    expect(f.sameResult).toBe(true);
    const sums = [...f.sequential, ...f.processes, ...f.threads, f.async, ...f.balance].map((x: { checksum: number }) => x.checksum);
    expect(new Set(sums).size).toBe(1);
    expect(f.processes.map((x: { k: number }) => x.k)).toEqual(Array.from({ length: K }, (_, i) => i + 1));
    for (const p of f.processes) {
      expect(p.pids.length).toBeGreaterThanOrEqual(1);
      expect(p.pids.length).toBeLessThanOrEqual(p.k);
      expect(p.pids).not.toContain(r.facts.labPid);
      expect(p.efficiency).toBeCloseTo(p.speedup / p.k, 2);
      expect(p.speedup).toBeCloseTo(f.t1Ms / p.ms, 1);
    }
    for (const t of f.threads) {
      expect(t.pid).toBe(r.facts.labPid); // threads: one process
      expect(t.threadIds.length).toBeLessThanOrEqual(t.k);
      expect(t.threadIds).not.toContain(0);
    }
    expect(f.async.oneThread).toBe(true);
    expect(f.serialFraction).toBeGreaterThan(0);
    expect(f.serialFraction).toBeLessThan(1);
    for (const a of f.amdahl) expect(a.predicted).toBeLessThanOrEqual(a.k + 1e-9);
    expect(f.amdahl[0].predicted).toBe(1);
    // static chunks: each worker got whole consecutive blocks, so the work split is fixed (task i costs i)
    const st = f.balance.find((b: { mode: string }) => b.mode === 'static');
    const dy = f.balance.find((b: { mode: string }) => b.mode === 'dynamic');
    expect(dy.chunkSize).toBe(1);
    for (const w of st.workers) {
      expect(w.tasks.at(-1) - w.tasks[0]).toBe(w.tasks.length - 1);
      expect(w.tasks.length % st.chunkSize).toBe(0);
    }
    const units = (b: { workers: { units: number }[] }) => b.workers.reduce((a, w) => a + w.units, 0);
    expect(units(st)).toBe(f.units.total - f.units.serial);
    expect(units(dy)).toBe(f.units.total - f.units.serial);
    // the picture is the plot: the table and both Gantt groups
    expect(r.svg).toMatch(/speed-up/);
    expect(r.svg).toMatch(/static \(chunk \d+\): makespan/);
    expect(r.svg).toMatch(/dynamic \(chunk 1\): makespan/);
  });
});

describe('the pictures', () => {
  it('labels never overlap, even when many fall at one moment on one lane, at the right edge, or across lanes', () => {
    const ev: TimelineEvent[] = [];
    const add = (e: Partial<TimelineEvent> & Pick<TimelineEvent, 't' | 'kind' | 'pid'>) => ev.push({ peer: 0, value: 0, label: '', by: e.pid, ...e });
    add({ t: 0, kind: 'lane', pid: 1, label: 'a parent with a rather long name' });
    add({ t: 0, kind: 'state', pid: 1, label: 'running' });
    for (let k = 2; k <= 6; k++) {
      add({ t: k, kind: 'fork', pid: 1, peer: k });
      add({ t: k, kind: 'lane', pid: k, label: `child ${k}` });
    }
    for (let i = 0; i < 40; i++) {
      const pid = 2 + (i % 5);
      add({ t: 50 + (i % 7) * 0.01, kind: 'mark', pid, label: `event number ${i} with words` });
      add({ t: 99.99, kind: 'signal', pid: 1, peer: pid, label: `SIGUSR${1 + (i % 2)}` });
      add({ t: 50, kind: 'sync', pid, label: `everyone ${i}` });
    }
    for (let k = 2; k <= 6; k++) add({ t: 100, kind: 'reap', pid: 1, peer: k, label: 'exited 0' });
    const svg = renderSvg('a dense picture', 'forty labels at one moment, and more at the end', ev.sort((a, b) => a.t - b.t));
    expect(problems(svg)).toEqual([]);
    expect([...svg.matchAll(/>event number \d+ with words<\/text>/g)]).toHaveLength(40);
  });

  it('the checker itself finds overlapping labels (the old layout drew "fork" over "phase 1")', () => {
    const bad = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" font-size="12"><text x="10" y="50" font-size="11">phase 1</text><text x="20" y="52" font-size="11">fork</text><text x="150" y="90">outside the canvas</text></svg>';
    const p = problems(bad);
    expect(p.some((x) => /^overlap: "phase 1"/.test(x))).toBe(true);
    expect(p.some((x) => /^outside the 200×100 canvas: "outside the canvas"/.test(x))).toBe(true);
  });
});

describe('student mode', () => {
  it('demo <lab> --help explains that lab: what to look for, the strace line, questions', () => {
    for (const name of ['zombie', 'signals', 'namespaces', 'scaling']) {
      const r = spawnSync(process.execPath, cliArgs('demo', name, '--help'), { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^multiproc demo ${name}: `));
      expect(r.stdout).toMatch(/What to look for/);
      expect(r.stdout).toMatch(new RegExp(`strace -f .*multiproc demo ${name}`));
      expect(r.stdout).toMatch(/Questions\n\s+1\. /);
      expect(r.stdout).not.toMatch(/^\s+LAB\s+WHAT IT SHOWS/m); // not the list
    }
  });

  it('--hold needs a number; a bad one is a usage error', () => {
    for (const bad of [['--hold'], ['--hold', 'soon'], ['--hold=-1']]) {
      const r = spawnSync(process.execPath, cliArgs('demo', 'zombie', ...bad), { cwd: root, encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--hold needs a number of milliseconds/);
    }
  });

  it('docs/labs.md is made from the labs\' guides and is current (npm run docs:labs)', () => {
    expect(readFileSync(path.join(root, 'docs/labs.md'), 'utf8')).toBe(labsMarkdown());
  });
});

/**
 * Starts a lab held at its key moment (narrated with `--hold`, or --json with MULTIPROC_LAB_HOLD_MS); resolves
 * with the lab's pid, the pids it printed, and its stdout so far.
 */
async function holdLab(name: string, how: 'env' | 'option' = 'env'): Promise<{ lab: ReturnType<typeof spawn>; pids: number[]; exit: Promise<number | null>; stderr: () => string; stdout: () => string }> {
  const lab = spawn(process.execPath, how === 'option' ? cliArgs('demo', name, '--hold', '20000') : cliArgs('demo', name, '--json'), {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...(how === 'env' ? { MULTIPROC_LAB_HOLD_MS: '20000' } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  lab.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
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
  return { lab, pids, exit, stderr: () => stderr, stdout: () => stdout };
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

  it.skipIf(!havePs)('signals (--hold): the narrative prints the ps command; ps shows T; after SIGINT every process is gone', async () => {
    const { lab, pids, exit, stdout } = await holdLab('signals', 'option');
    const [stopped] = pids as [number];
    expect(psField(stopped, 'stat')).toMatch(/^T/);
    await until(() => /In another shell, run:/.test(stdout()), 'the hold instructions', 3000);
    expect(stdout()).toContain(`ps -o pid,ppid,stat,wchan:20,comm -p ${stopped}`);
    expect(stdout()).toMatch(/Ctrl-C ends the lab now and cleans up/);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(posix.processInfo(stopped)).toBeNull();
  });

  it.skipIf(!havePs)('namespaces: ps shows the container\'s real pids; after SIGINT the runtime, PID 1 and the container\'s processes are gone', async () => {
    const { lab, pids, exit } = await holdLab('namespaces');
    expect(pids.length).toBeGreaterThanOrEqual(2);
    const [runtime, init] = pids as [number, number];
    expect(Number(psField(runtime, 'ppid'))).toBe(lab.pid);
    expect(Number(psField(init, 'ppid'))).toBe(runtime);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    await until(() => pids.every((pid) => posix.processInfo(pid) === null), 'the container\'s processes to be gone', 3000);
  });

  it('scaling: the pool\'s workers, held idle, are gone after SIGINT', async () => {
    const { lab, pids, exit } = await holdLab('scaling');
    expect(pids.length).toBeGreaterThan(1);
    for (const pid of pids) expect(posix.processInfo(pid)?.ppid).toBe(lab.pid);
    lab.kill('SIGINT');
    expect(await exit).toBe(130);
    await until(() => pids.every((pid) => posix.processInfo(pid) === null), 'the pool workers to be gone', 3000);
  });

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

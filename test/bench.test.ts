// `multiproc bench` (lib/tools/bench): the --quick run end to end (the JSON's shape, every figure positive and
// finite, the HTML self-contained), the report functions on its output, usage errors, and SIGINT: the
// running suite's whole process tree ends and is reaped. Speed itself is never asserted.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareTable, markdownSummary, markdownTable, ratioToNative, type Report, textTable } from '../lib/tools/bench/report.js';
import { renderHtml } from '../lib/tools/bench/html.js';
import * as posix from '../lib/posix/index.js';
import { nb } from '../lib/tools/bench/core.js';
import { forkRun, reap, thrown, until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';
import { tmpDir } from './helpers/files.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliArgs = (...args: string[]) => ['--import', 'tsx', path.join(root, 'lib/tools/cli.ts'), ...args];
const cli = (...args: string[]) => spawnSync(process.execPath, cliArgs(...args), { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
const { dir: tmp } = tmpDir('bench-test');

const positiveFinite = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('multiproc bench --quick', () => {
  const json = path.join(tmp, 'quick.json');
  const html = path.join(tmp, 'quick.html');
  let report: Report;

  it('runs, prints the table and writes JSON of the documented shape with positive, finite figures', () => {
    const run = cli('bench', '--quick', '--json', json, '--html', html);
    expect(run.status, run.stderr).toBe(0);
    report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(report.format).toBe('multiproc-bench/1');
    expect(report.options.quick).toBe(true);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.machine.allowedCpus.length).toBeGreaterThan(0);
    expect(report.machine.loadavg.before).toHaveLength(3);
    expect(report.machine.loadavg.after).toHaveLength(3);
    expect(report.versions.node).toBe(process.version);
    const names = report.suites.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['channels', 'sync', 'creation', 'bandwidth', 'node']));
    const results = report.suites.flatMap((s) => s.results);
    expect(results.length).toBeGreaterThan(10);
    for (const r of results) {
      const where = `${r.group} / ${r.way} / ${r.placement}`;
      expect(r.samples.length, where).toBeGreaterThan(0);
      for (const x of [...r.samples, r.median, r.min, r.max, r.opsPerSample]) expect(positiveFinite(x), `${where}: ${x}`).toBe(true);
      if (r.p99 !== undefined) expect(positiveFinite(r.p99), where).toBe(true);
      expect(r.min <= r.median && r.median <= r.max, where).toBe(true);
      expect(['native', 'js', 'api', 'node', 'python']).toContain(r.way);
      expect(['same CPU', 'different CPUs', 'unpinned', 'one process']).toContain(r.placement);
    }
    // the three ways of the pipe ping-pong in every placement, with ratios to the native loop
    const pipe = results.filter((r) => r.group === 'pipe ping-pong');
    const placements = posix.getAffinity(0).length > 1 ? ['same CPU', 'different CPUs', 'unpinned'] : ['same CPU', 'unpinned'];
    for (const p of placements) {
      for (const way of ['native', 'js', 'api']) expect(pipe.some((r) => r.placement === p && r.way === way), `${way} ${p}`).toBe(true);
    }
    for (const r of pipe) expect(positiveFinite(ratioToNative(r, results))).toBe(true);
    expect(results.some((r) => r.group === 'pipe ping-pong' && r.p99 !== undefined)).toBe(true);
    expect(results.some((r) => r.way === 'node')).toBe(true);
    // the terminal table on stdout, progress on stderr
    expect(run.stdout).toMatch(/pipe ping-pong\s+same CPU\s+native/);
    expect(run.stderr).toMatch(/\[1\/\d+\] channels/);
  });

  it('--compare prints the change of every figure present in both runs', () => {
    const run = cli('bench', 'channels', '--quick', '--compare', json);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/change against the run of /);
    expect(run.stdout).toMatch(/pipe ping-pong\s+same CPU\s+native\s+[\d.,]+\s+[\d.,]+\s+µs\/round trip\s+[+-]\d+\.\d%/);
  });

  it('writes a self-contained HTML page with SVG charts', () => {
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect((page.match(/<svg /g) ?? []).length).toBeGreaterThan(3);
    expect(page).not.toMatch(/<script|<link|src=|url\(/i);
    expect(renderHtml(report)).toBe(page);
  });

  it('--from writes the reports of an earlier --json run without measuring: the same page, the same table', () => {
    const again = path.join(tmp, 'again.html');
    const run = cli('bench', '--from', json, '--html', again);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(html, 'utf8'));
    expect(run.stdout).toBe(textTable(report) + '\n');
    expect(run.stderr).not.toMatch(/\[1\/\d+\]/); // no suite ran
    expect(cli('bench', '--from', path.join(tmp, 'nope.json')).status).toBe(2);
  });

  it('renders the table, Markdown and a comparison from the JSON', () => {
    const text = textTable(report);
    expect(text).toMatch(/× native/);
    expect(markdownTable(report)).toMatch(/^\| mechanism \| placement \| way \|/m);
    expect(markdownSummary(report)).toMatch(/^\| \*\*pipe ping-pong\*\* \| native \| µs\/round trip \| [\d.]+ \| /m);
    const cmp = compareTable(report, report);
    expect(cmp).toMatch(/pipe ping-pong\s+same CPU\s+native .*\+0\.0%/);
    const slower: Report = JSON.parse(JSON.stringify(report));
    for (const r of slower.suites.flatMap((s) => s.results)) r.median *= 2;
    expect(compareTable(report, slower)).toMatch(/\+100\.0% worse/);
  });
});

describe('multiproc bench: usage', () => {
  it('lists suites, and refuses unknown suites and options', () => {
    const list = cli('bench', '--list');
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^channels /m);
    expect(list.stdout).toMatch(/^python /m);
    expect(cli('bench', 'nosuch').status).toBe(2);
    expect(cli('bench', '--frobnicate').status).toBe(2);
    expect(cli('bench', '--budget', '-1').status).toBe(2);
    const missing = cli('bench', '--compare', path.join(tmp, 'nope.json'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--compare .*nope\.json/);
  });
});

describe('multiproc bench: SIGINT', () => {
  it('ends the running suite and every process it started, reaps them and exits 130', async () => {
    const runner = spawn(process.execPath, cliArgs('bench', 'channels', '--budget', '60000', '--reps', '20'), { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    runner.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => runner.on('close', (code) => resolve(code))); // exit + stderr closed
    // wait until a trial runs: the suite child (`bench --child …`, its own process group) has forked its partner
    const cmdline = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      } catch {
        return '';
      }
    };
    const suiteTree = () => {
      const suite = posix.children(runner.pid!).find((pid) => cmdline(pid).includes('--child'));
      return suite === undefined ? [] : posix.processTree(suite).map((r) => r.pid);
    };
    // The snapshot that showed a partner is the one checked later (a second look can fall between two trials).
    let pids: number[] = [];
    await until(() => {
      const t = suiteTree();
      if (!(t.length > 1 && t.slice(1).some((pid) => cmdline(pid) === cmdline(t[0]!)))) return false;
      pids = t;
      return true;
    }, 'a benchmark partner process', 60_000);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    runner.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/SIGINT: ending the running suite/);
    for (const pid of pids) expect(posix.processInfo(pid), `pid ${pid} is left`).toBeNull();
  });
});

describe('the native loops of multiproc bench (native/bench.cc)', () => {
  it('futexPingPongBench: n round trips between two processes on one shared word', async () => {
    const m = posix.mmap(4096);
    try {
      const pid = await forkRun(() => void nb.futexPingPongBench(m, 64, 1000, 1));
      expect(nb.futexPingPongBench(m, 64, 1000, 0)).toBeGreaterThan(0);
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
      expect(new Int32Array(m.buffer, 64, 1)[0]).toBe(0); // the pong side's last store
      expect(thrown(() => nb.futexPingPongBench(m, 2, 0, 0)).name).toBe('RangeError'); // misaligned
      expect(thrown(() => nb.futexPingPongBench(m, 0, 0, 2 as 0)).name).toBe('RangeError');
    } finally {
      m.close();
    }
    expect(thrown(() => nb.futexPingPongBench(m, 0, 0, 0)).code).toBe('ERR_MULTIPROC_CLOSED');
  });

  it('streamBench: the reader gets exactly what the writer sent; an early EOF is an error', async () => {
    const [r, w] = posix.pipe();
    const pid = await forkRun(() => {
      posix.close(r);
      nb.streamBench(w, 3 * 65536 + 5, 4096, 0);
    });
    posix.close(w);
    try {
      expect(nb.streamBench(r, 3 * 65536 + 5, 65536, 1)).toBeGreaterThan(0);
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
      expect(thrown(() => nb.streamBench(r, 1, 1, 1)).code).toBe('ERR_MULTIPROC_EOF'); // the writer is gone
      expect(thrown(() => nb.streamBench(r, 1, 0, 1)).name).toBe('RangeError');
    } finally {
      posix.close(r);
    }
    expect(thrown(() => nb.streamBench(r, 1, 1, 1)).code).toBe('EBADF');
  });

  it('forkWaitBench and spawnWaitBench reap every child and check its exit status', () => {
    expect(nb.forkWaitBench(3)).toBeGreaterThan(0);
    expect(nb.spawnWaitBench('/bin/true', 2)).toBeGreaterThan(0);
    expect(thrown(() => nb.spawnWaitBench('/bin/false', 1)).code).toBe('ERR_MULTIPROC_CHILD_FAILED');
    expect(thrown(() => nb.spawnWaitBench(path.join(tmp, 'no-such-program'), 1)).code).toBe('ENOENT');
    expect(thrown(() => nb.forkWaitBench(-1)).name).toBe('RangeError');
    expect(posix.children(process.pid).filter((pid) => posix.processInfo(pid)?.state === 'zombie')).toEqual([]);
  });

  it('copyBench copies into the mapping (the last copy is visible) and checks its range', () => {
    const m = posix.mmap(8192);
    try {
      expect(nb.copyBench(m, 4096, 300)).toBeGreaterThan(0);
      const b = new Uint8Array(m.buffer);
      expect([b[0], b[1], b[4095], b[4096]]).toEqual([299 & 0xff, 0x5a, 0x5a, 0]);
      expect(thrown(() => nb.copyBench(m, 8193, 1)).name).toBe('RangeError');
    } finally {
      m.close();
    }
  });
});

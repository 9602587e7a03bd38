// `multiproc bench`: runs each suite in a fresh process (`multiproc bench --child --suite NAME`, in its own
// process group so that the whole tree can be ended at once), collects their results, prints the table and
// writes --json / --html / --md; --compare prints the change against an earlier --json; --from writes the
// reports of an earlier --json run instead of measuring.
//
//   multiproc bench [suite…] [--quick] [--python] [--json FILE] [--html FILE] [--md FILE] [--compare OLD.json]
//                   [--from RUN.json] [--budget MS] [--reps N] [--only WORDS] [--list]
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCommandLine } from 'node:util';
import * as posix from '../../posix/index.js';
import { type Absent, type BenchOptions, Ctx, defaultPlacements, type Result, type Suite, type SuiteOutput } from './core.js';
import { overviewChart, renderHtml } from './html.js';
import { compareTable, markdownSummary, type Report, reportJson, type SuiteRun, textTable } from './report.js';
import { SUITES } from './suites.js';

interface Args {
  suites: string[];
  quick: boolean;
  python: boolean;
  json?: string;
  html?: string;
  md?: string;
  svg?: string;
  compare?: string;
  from?: string;
  budgetMs?: number;
  reps?: number;
  only: string[];
  list: boolean;
  child: boolean;
  help: boolean;
}

const USAGE = `usage: multiproc bench [suite…] [options]

  Measures what IPC costs on this machine: each mechanism as a C loop inside the addon (the limit), the same
  loop driven from JavaScript, and the high-level API; two-process latencies pinned to the same CPU, to
  different CPUs and unpinned; Node's built-ins (and with --python, Python's multiprocessing) beside them.

  --quick            a small subset with short budgets (CI smoke test)
  --python           also run Python multiprocessing equivalents (needs python3)
  --json FILE        write machine info, versions and every sample
  --html FILE        write a self-contained page with SVG bar charts
  --md FILE          write a Markdown summary (mechanism × placement, ratios to the C loop)
  --svg FILE         write the overview chart (two-process round trips by placement) as an SVG file
  --compare OLD.json print the change against an earlier --json run
  --from RUN.json    measure nothing: print and write (--html, --md, --svg) the reports of an earlier --json run
  --budget MS        target time per figure (default 600, quick 60)
  --reps N           repetitions, each with fresh processes (default 5, quick 2)
  --only WORDS       only groups whose name contains one of the comma-separated words
  --list             list the suites
`;

/** The command line's options (node:util parseArgs); what is not an option is a suite's name. */
const OPTIONS = {
  quick: { type: 'boolean' },
  python: { type: 'boolean' },
  json: { type: 'string' },
  html: { type: 'string' },
  md: { type: 'string' },
  svg: { type: 'string' },
  compare: { type: 'string' },
  from: { type: 'string' },
  budget: { type: 'string' },
  reps: { type: 'string' },
  only: { type: 'string', multiple: true },
  suite: { type: 'string', multiple: true },
  list: { type: 'boolean' },
  child: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseCommandLine({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    if (String((e as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message);
    throw e;
  }
  const { values: v, positionals } = parsed;
  const positive = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} needs a positive number`);
    return n;
  };
  const reps = positive('reps', v.reps);
  return {
    suites: [...(v.suite ?? []), ...positionals],
    quick: v.quick ?? false,
    python: v.python ?? false,
    json: v.json,
    html: v.html,
    md: v.md,
    svg: v.svg,
    compare: v.compare,
    from: v.from,
    budgetMs: positive('budget', v.budget),
    reps: reps === undefined ? undefined : Math.max(1, Math.round(reps)),
    only: (v.only ?? []).flatMap((words) => words.split(',').filter(Boolean)),
    list: v.list ?? false,
    child: v.child ?? false,
    help: v.help ?? false,
  };
}

class UsageError extends Error {}

function benchOptions(a: Args): BenchOptions {
  return {
    quick: a.quick,
    budgetMs: a.budgetMs ?? (a.quick ? 60 : 600),
    reps: a.reps ?? (a.quick ? 2 : 5),
    placements: defaultPlacements(),
    only: a.only,
  };
}

// ---------------------------------------------------------------------------------------------------------
// child mode: one suite in this process, results as one JSON line on stdout

async function runChild(a: Args): Promise<number> {
  const suite = SUITES.find((s) => s.name === a.suites[0]);
  if (!suite) {
    process.stderr.write(`multiproc bench: no suite ${a.suites[0]}\n`);
    return 2;
  }
  posix.setParentDeathSignal('SIGKILL'); // the runner gone (even SIGKILLed): this suite goes too
  const ctx = new Ctx(suite.name, benchOptions(a), (line) => process.stderr.write(line + '\n'));
  const why = await suite.available();
  if (why) ctx.missing(suite.name, why);
  else await suite.run(ctx);
  const out: SuiteOutput = { results: ctx.results, absent: ctx.absent };
  process.stdout.write(JSON.stringify(out) + '\n');
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// parent mode

function loadavg(): number[] {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return os.loadavg();
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '?';
  } catch {
    return '?';
  }
}

/** The children of the running suites, by pid, so that a signal can end them (their whole process group). */
const running = new Set<ChildProcess>();

function endGroup(c: ChildProcess): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, 'SIGKILL'); // the group the suite child leads (detached): it and every process it forked
  } catch {
    /* already gone */
  }
}

/** Reaps orphans this process adopted as subreaper (children of a killed suite child), by pid. */
function reapAdopted(): void {
  const known = new Set([...running].map((c) => c.pid));
  for (const pid of posix.children(process.pid)) {
    if (known.has(pid)) continue;
    const info = posix.processInfo(pid);
    if (!info) continue;
    try {
      if (info.state !== 'zombie') posix.kill(pid, 'SIGKILL');
      posix.waitpid(pid);
    } catch {
      /* not ours to reap (a child_process child libuv reaps) */
    }
  }
}

/** lib/tools/cli.ts under tsx, dist/tools/cli.js when built: the suite children run the same program with the same loader. */
function entryScript(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../cli${ext}`, import.meta.url));
}

function runSuiteChild(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ out: SuiteOutput | null; error?: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    running.add(c);
    let stdout = '';
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (d: string) => (stdout += d));
    const timer = setTimeout(() => {
      process.stderr.write(`multiproc bench: suite timed out after ${Math.round(timeoutMs / 1000)} s; ending it\n`);
      endGroup(c);
    }, timeoutMs);
    c.on('error', (e) => {
      clearTimeout(timer);
      running.delete(c);
      resolve({ out: null, error: e.message });
    });
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      endGroup(c); // anything it left in its group
      running.delete(c);
      reapAdopted();
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const out = JSON.parse(line) as SuiteOutput;
        resolve({ out });
      } catch {
        resolve({ out: null, error: `the suite process ended with ${signal ?? `code ${code}`} and no result` });
      }
    });
  });
}

async function runParent(a: Args): Promise<number> {
  if (a.list) {
    for (const s of SUITES) process.stdout.write(`${s.name.padEnd(12)} ${s.quick ? '(quick) ' : '        '}${s.title}\n`);
    return 0;
  }
  for (const name of a.suites) {
    if (!SUITES.some((s) => s.name === name)) throw new UsageError(`no suite '${name}' (see --list)`);
  }
  const old = a.compare === undefined ? undefined : readReport('--compare', a.compare);
  if (a.from !== undefined) {
    writeReports(a, readReport('--from', a.from), old);
    return 0;
  }
  let selected: Suite[] = a.suites.length ? SUITES.filter((s) => a.suites.includes(s.name)) : SUITES.filter((s) => !a.quick || s.quick);
  if (!a.python) selected = selected.filter((s) => s.name !== 'python' || a.suites.includes('python'));
  const opts = benchOptions(a);
  const passthrough: string[] = [];
  if (a.quick) passthrough.push('--quick');
  passthrough.push('--budget', String(opts.budgetMs), '--reps', String(opts.reps));
  for (const o of a.only) passthrough.push('--only', o);

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nmultiproc bench: ${sig}: ending the running suite\n`);
    for (const c of running) endGroup(c);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const wasSubreaper = posix.isSubreaper();
  posix.setSubreaper(true);

  const started = new Date();
  const load = { before: loadavg(), after: [] as number[] };
  const runs: SuiteRun[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < selected.length && !interrupted; i++) {
      const s = selected[i]!;
      process.stderr.write(`[${i + 1}/${selected.length}] ${s.name}: ${s.title}\n`);
      const ts = performance.now();
      const args = [...process.execArgv, entryScript(), 'bench', '--child', '--suite', s.name, ...passthrough];
      const timeout = (a.quick ? 120 : 900) * 1000;
      const { out, error } = await runSuiteChild(process.execPath, args, timeout);
      const secs = (performance.now() - ts) / 1000;
      if (out) runs.push({ name: s.name, title: s.title, seconds: secs, results: out.results, absent: out.absent });
      else runs.push({ name: s.name, title: s.title, seconds: secs, results: [], absent: [{ suite: s.name, what: s.name, reason: interrupted ? 'interrupted' : (error ?? 'failed') }] });
      process.stderr.write(`    ${s.name}: ${out ? out.results.length : 0} figures in ${secs.toFixed(1)} s\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    reapAdopted();
    posix.setSubreaper(wasSubreaper);
  }
  load.after = loadavg();
  const report: Report = {
    format: 'multiproc-bench/1',
    date: started.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    options: { quick: opts.quick, budgetMs: opts.budgetMs, reps: opts.reps, only: opts.only, python: a.python, suites: selected.map((s) => s.name) },
    machine: {
      platform: `${os.type()} ${os.release()}`,
      arch: os.arch(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
      allowedCpus: posix.getAffinity(0),
      memoryBytes: os.totalmem(),
      loadavg: load,
    },
    versions: { multiproc: packageVersion(), node: process.version, v8: process.versions.v8, uv: process.versions.uv },
    placements: opts.placements,
    suites: runs,
  };
  const pyVersion = runs.flatMap((r) => r.results).find((r) => r.way === 'python')?.note?.match(/^Python ([\d.]+)/)?.[1];
  if (pyVersion) report.versions.python = pyVersion;

  writeReports(a, report, old);
  return interrupted ? 130 : 0;
}

/** An earlier --json run (for `flag`: --compare, --from); a usage error when the file is not one. */
function readReport(flag: string, file: string): Report {
  let report: Report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as Error).message}`);
  }
  if (report?.format !== 'multiproc-bench/1') throw new UsageError(`${flag} ${file}: not a multiproc bench --json file`);
  return report;
}

/** Prints the table of `report` (and its change against `old`), and writes the files the options ask for. */
function writeReports(a: Args, report: Report, old: Report | undefined): void {
  process.stdout.write(textTable(report, { color: process.stdout.isTTY && !process.env.NO_COLOR }) + '\n');
  if (old) process.stdout.write('\n' + compareTable(old, report) + '\n');
  if (a.json) writeFileSync(a.json, reportJson(report));
  if (a.html) writeFileSync(a.html, renderHtml(report));
  if (a.md) writeFileSync(a.md, markdownSummary(report));
  if (a.svg) writeFileSync(a.svg, overviewChart(report) + '\n');
}

/** The `multiproc bench` command; resolves to the exit code. */
export async function runBench(argv: string[]): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(argv);
    if (a.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    return a.child ? await runChild(a) : await runParent(a);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`multiproc bench: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

export type { Absent, Result };

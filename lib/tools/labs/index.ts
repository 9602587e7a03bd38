// `multiproc demo [lab] [--json] [--svg FILE] [--hold MS] [--help]`: the labs. Each runs the course text's
// program (or, for signals, namespaces and scaling, what the text goes on to) for real and shows what
// happened (narrative, process tables from /proc, the text's diagrams drawn from what really happened);
// --json prints the facts it established; --svg draws its picture; --hold pauses at the key moment; --help
// prints the lab's page (./pages.ts; docs/labs.md is made from the same pages).
import { writeFileSync } from 'node:fs';
import { Interrupted, type Lab, LabContext, type LabOptions, type LabResult, Out, watchStdout, writeOut } from './common.js';
import { renderSvg } from './svg.js';
import { pages } from './pages.js';
import { run as basicProcess } from './basic_process.js';
import { run as multipleProcesses } from './multiple_processes.js';
import { run as pipeCommunication } from './pipe_communication.js';
import { run as queueCommunication } from './queue_communication.js';
import { run as manager } from './manager.js';
import { run as processPool } from './process_pool.js';
import { run as sharedValue } from './shared_value.js';
import { run as sharedArray } from './shared_array.js';
import { run as processLock } from './process_lock.js';
import { run as processSemaphore } from './process_semaphore.js';
import { run as processBarrier } from './process_barrier.js';
import { run as deadlock } from './deadlock.js';
import { run as orphan } from './orphan.js';
import { run as zombie } from './zombie.js';
import { run as namespaces } from './namespaces.js';
import { run as signals } from './signals.js';
import { run as scaling } from './scaling.js';

/** A lab: its program (./<name>.ts) and its page (./pages.ts). */
function lab(name: keyof typeof pages, run: Lab['run']): Lab {
  return { name, ...pages[name], run };
}

/** The labs: the course text's 14 programs in its order, then three on what the text goes on to. */
export const labs: Lab[] = [
  lab('basic_process', basicProcess),
  lab('multiple_processes', multipleProcesses),
  lab('deadlock', deadlock),
  lab('process_pool', processPool),
  lab('queue_communication', queueCommunication),
  lab('pipe_communication', pipeCommunication),
  lab('shared_value', sharedValue),
  lab('shared_array', sharedArray),
  lab('manager', manager),
  lab('process_lock', processLock),
  lab('process_semaphore', processSemaphore),
  lab('process_barrier', processBarrier),
  lab('orphan', orphan),
  lab('zombie', zombie),
  lab('signals', signals),
  lab('namespaces', namespaces),
  lab('scaling', scaling),
];

export function findLab(name: string): Lab | undefined {
  const n = name.replace(/-/g, '_').replace(/\.(ts|js|py|cpp)$/, '');
  return labs.find((l) => l.name === n);
}

export interface RunResult {
  ok: boolean;
  lab: string;
  claim: string;
  notShown: string[];
  facts: Record<string, unknown>;
  leftovers: number[];
}

/** Runs one lab in this process; the caller prints nothing else to stdout in JSON mode. */
export async function runLab(lab: Lab, opts: LabOptions, handleSignals = true): Promise<RunResult> {
  const ctx = new LabContext(opts);
  if (handleSignals) ctx.installSignalHandlers();
  const out = ctx.out;
  out.title(`multiproc demo ${lab.name}: ${lab.summary}`);
  out.say(out.paint('dim', `Claim: ${lab.claim}`));
  let result: LabResult;
  try {
    result = await lab.run(ctx);
  } finally {
    ctx.cleanup();
  }
  const leftovers = ctx.leftovers();
  const ok = result.ok && leftovers.length === 0;
  const notShown = result.notShown ?? [];
  out.line();
  if (leftovers.length) out.bad(`processes left behind: ${leftovers.join(', ')}`);
  else out.ok(`nothing left behind: all ${ctx.created.length} processes the lab created are reaped and gone from /proc`);
  for (const n of notShown) out.line(`  ${out.paint('yellow', '–')} not shown here: ${n}`);
  if (!ok) out.line(out.paint(['bold', 'red'], `  ✘ ${lab.name}: not shown (see above).`));
  else if (notShown.length) out.line(out.paint(['bold', 'yellow'], `  ✔ ${lab.name}: shown, except what this machine does not permit (above).`));
  else out.line(out.paint(['bold', 'green'], `  ✔ ${lab.name}: shown.`));
  if (opts.svg) {
    writeFileSync(opts.svg, result.svg ?? renderSvg(`multiproc demo ${lab.name}`, lab.claim, ctx.timeline.events()));
    out.line(`  picture: ${opts.svg}`);
  }
  const events = ctx.timeline.events();
  ctx.timeline.close();
  return { ok, lab: lab.name, claim: lab.claim, notShown, facts: { ...result.facts, labPid: ctx.pid, created: ctx.created, timeline: events }, leftovers };
}

const OPTIONS = [
  '--json        print the facts the lab established (for graders and tests), nothing else',
  '--svg FILE    draw the lab as a picture (a lane per process over time: states, fork/exit/wait/signal/message arrows)',
  '--hold MS     pause MS milliseconds at the key moment and print the ps command to run meanwhile in another shell',
  '              (the environment variable MULTIPROC_LAB_HOLD_MS does the same)',
  '--help        with a lab: what to look for, its system calls, questions; without: this list',
  'NO_COLOR=1    no colour (also off when the output is not a terminal)',
];

function listLabs(out: Out): void {
  out.title('multiproc demo <lab> [--json] [--svg FILE] [--hold MS]: the labs');
  out.printTable(
    ['LAB', 'WHAT IT SHOWS'],
    labs.map((l) => [out.paint('bold', l.name), l.summary]),
  );
  out.line();
  for (const o of OPTIONS) out.say(o);
  out.say('multiproc demo <lab> --help   explains one lab; docs/labs.md has every lab\'s page');
}

/** A lab's page: what it shows, what to look for, its system calls, questions (also docs/labs.md). */
export function labHelp(lab: Lab, out: Out): void {
  const g = lab.guide;
  out.title(`multiproc demo ${lab.name}: ${lab.summary}`);
  out.say(`Claim: ${lab.claim}`);
  out.step('What to look for');
  for (const l of g.lookFor) out.say(`• ${l}`);
  if (g.hold) {
    out.step(`Hold it: multiproc demo ${lab.name} --hold 30000`);
    out.say(g.hold);
  }
  out.step('Its system calls');
  out.say(out.paint('bold', g.strace.command));
  for (const l of g.strace.lines) out.say(`  ${l}`);
  out.step('Questions');
  g.questions.forEach((q, i) => out.say(`${i + 1}. ${q}`));
  out.step('Options');
  for (const o of OPTIONS) out.say(o);
}

function usageError(msg: string): number {
  process.stderr.write(`multiproc demo: ${msg}\n`);
  return 2;
}

function holdMs(text: string | undefined, what: string): number | string {
  const n = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 3_600_000) {
    return `${what} needs a number of milliseconds (0 to 3600000), got ${text === undefined ? 'nothing' : `'${text}'`}`;
  }
  return n;
}

/** The `demo` command: returns the exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  watchStdout();
  const fromEnv = process.env.MULTIPROC_LAB_HOLD_MS;
  const envHold = fromEnv === undefined ? 0 : holdMs(fromEnv, 'MULTIPROC_LAB_HOLD_MS');
  if (typeof envHold === 'string') return usageError(envHold);
  const opts: LabOptions = { json: false, color, holdMs: envHold };
  let name: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') opts.json = true;
    else if (a === '--svg') {
      const file = argv[++i];
      if (!file) return usageError('--svg needs a file name');
      opts.svg = file;
    } else if (a.startsWith('--svg=')) opts.svg = a.slice(6);
    else if (a === '--hold' || a.startsWith('--hold=')) {
      const v = holdMs(a === '--hold' ? argv[++i] : a.slice(7), '--hold');
      if (typeof v === 'string') return usageError(v);
      opts.holdMs = v;
    } else if (a === '--no-color') opts.color = false;
    else if (a === '-h' || a === '--help') help = true;
    else if (a.startsWith('-')) return usageError(`unknown option ${a}`);
    else if (name === undefined) name = a;
    else return usageError(`one lab at a time (got ${name} and ${a})`);
  }
  if (name === undefined) {
    if (opts.json && !help) {
      writeOut(JSON.stringify(labs.map((l) => ({ name: l.name, summary: l.summary, claim: l.claim })), null, 2) + '\n');
    } else listLabs(new Out({ narrate: true, color }));
    return 0;
  }
  const lab = findLab(name);
  if (!lab) return usageError(`no lab named '${name}'. The labs: ${labs.map((l) => l.name).join(', ')}`);
  if (help) {
    labHelp(lab, new Out({ narrate: true, color: opts.color }));
    return 0;
  }
  try {
    const r = await runLab(lab, opts);
    if (opts.json) writeOut(JSON.stringify({ lab: r.lab, ok: r.ok, claim: r.claim, notShown: r.notShown, leftovers: r.leftovers, facts: r.facts }, null, 2) + '\n');
    return r.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof Interrupted) return 130;
    const err = e as NodeJS.ErrnoException;
    // An unexpected failure: one line, the cause; the stack only with NODE_DEBUG=multiproc.
    process.stderr.write(`multiproc demo ${lab.name}: ${err?.message ?? String(e)}\n`);
    if (/multiproc/.test(process.env.NODE_DEBUG ?? '')) process.stderr.write(`${err?.stack}\n`);
    return 1;
  }
}

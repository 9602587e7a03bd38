// What every lab shares: the narrator (colour, aligned tables, boxes), the lab context (children it forked,
// reaped by pid; resources it must release; SIGINT/SIGTERM handling so that nothing is left behind), the
// process table read from /proc, and small helpers.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Connection, Pipe } from '../../mp/connection.js';
import * as posix from '../../posix/index.js';
import { Timeline } from './timeline.js';

// ---------------------------------------------------------------------------------------------------------
// Output

export interface OutputOptions {
  /** Print the narrative (false with --json: only the facts go to stdout). */
  narrate: boolean;
  color: boolean;
}

const CODES = {
  bold: '1',
  dim: '2',
  red: '31',
  green: '32',
  yellow: '33',
  blue: '34',
  magenta: '35',
  cyan: '36',
  gray: '90',
} as const;
export type Color = keyof typeof CODES;

export const STATE_COLOR: Record<string, Color> = {
  running: 'green',
  sleeping: 'blue',
  'disk-sleep': 'magenta',
  blocked: 'yellow',
  stopped: 'yellow',
  'tracing-stop': 'yellow',
  zombie: 'red',
  dead: 'red',
  gone: 'gray',
};

const ANSI = /\x1b\[[0-9;]*m/g;
/** The printed width of a string (colour codes take no room). */
export const width = (s: string): number => [...s.replace(ANSI, '')].length;
const padEnd = (s: string, n: number): string => s + ' '.repeat(Math.max(0, n - width(s)));
const padStart = (s: string, n: number): string => ' '.repeat(Math.max(0, n - width(s))) + s;

/** stdout's reader went away (`multiproc demo x | head`): stop printing, finish the lab and clean up. */
let stdoutGone = false;
let stdoutWatched = false;
export function watchStdout(): void {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') stdoutGone = true;
    else throw e;
  });
}
export function writeOut(s: string): void {
  if (!stdoutGone) process.stdout.write(s);
}

export class Out {
  constructor(readonly opts: OutputOptions) {
    watchStdout();
  }

  paint(color: Color | Color[], s: string): string {
    if (!this.opts.color) return s;
    const codes = (Array.isArray(color) ? color : [color]).map((c) => CODES[c]).join(';');
    return `\x1b[${codes}m${s}\x1b[0m`;
  }
  state(state: string, text = state): string {
    const c = STATE_COLOR[state];
    return c ? this.paint(state === 'zombie' ? ['red', 'bold'] : c, text) : text;
  }

  line(s = ''): void {
    if (this.opts.narrate) writeOut(s + '\n');
  }
  title(s: string): void {
    this.line(this.paint('bold', s));
    this.line(this.paint('dim', '─'.repeat(Math.min(width(s), 78))));
  }
  step(s: string): void {
    this.line();
    this.line(this.paint(['bold', 'cyan'], `▸ ${s}`));
  }
  say(s: string): void {
    for (const l of s.split('\n')) this.line(`  ${l}`);
  }
  ok(s: string): void {
    this.line(`  ${this.paint('green', '✔')} ${s}`);
  }
  bad(s: string): void {
    this.line(`  ${this.paint('red', '✘')} ${s}`);
  }
  block(lines: string[]): void {
    for (const l of lines) this.line(`    ${l}`);
  }

  /** An aligned table; `align` per column ('r' right-aligns). Cells may carry colour. */
  table(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string[] {
    const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
    const fmt = (cells: string[]) =>
      cells
        .map((c, i) => (align[i] === 'r' ? padStart(c, widths[i]!) : padEnd(c, widths[i]!)))
        .join('  ')
        .trimEnd();
    return [this.paint('bold', fmt(header)), this.paint('dim', widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(fmt)];
  }
  printTable(header: string[], rows: string[][], align: ('l' | 'r')[] = []): void {
    this.block(this.table(header, rows, align));
  }

  /** A box around some lines, as the course text draws processes. */
  box(lines: string[], title?: string): string[] {
    const w = Math.max(...lines.map(width), title ? width(title) + 2 : 0);
    const top = title ? `┌─ ${title} ${'─'.repeat(Math.max(0, w - width(title) - 1))}┐` : `┌${'─'.repeat(w + 2)}┐`;
    return [top, ...lines.map((l) => `│ ${padEnd(l, w)} │`), `└${'─'.repeat(w + 2)}┘`];
  }
}

/** Side by side: columns of lines joined with a gap. */
export function beside(cols: string[][], gap = '   ', mid?: string[]): string[] {
  const h = Math.max(...cols.map((c) => c.length));
  const widths = cols.map((c) => Math.max(0, ...c.map(width)));
  const mw = mid ? Math.max(...mid.map(width)) : 0;
  const out: string[] = [];
  for (let i = 0; i < h; i++) {
    out.push(
      cols
        .map((c, j) => padEnd(c[i] ?? '', widths[j]!))
        .join(mid ? padEnd(mid[i] ?? '', mw) : gap)
        .trimEnd(),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// /proc and ps

export interface ProcRow {
  pid: number;
  role: string;
  ppid: number | null;
  stat: string;
  state: string;
  wchan?: string;
}

/** A process's row from /proc (state 'gone' when it has no entry any more). */
export function procRow(pid: number, role: string): ProcRow {
  const info = posix.processInfo(pid);
  if (!info) return { pid, role, ppid: null, stat: '-', state: 'gone' };
  return { pid, role, ppid: info.ppid, stat: info.stateCode, state: info.state, wchan: wchan(pid) };
}

/** /proc/[pid]/wchan: the kernel function a sleeping process waits in (e.g. futex_wait_queue, do_wait). */
export function wchan(pid: number): string | undefined {
  try {
    const w = readFileSync(`/proc/${pid}/wchan`, 'latin1').trim();
    return w && w !== '0' ? w : undefined;
  } catch {
    return undefined;
  }
}

/** `ps -o pid=,ppid=,stat=,comm= -p pids` run for real; a row per process that exists. */
export function ps(pids: number[]): { pid: number; ppid: number; stat: string; comm: string }[] | null {
  const r = spawnSync('ps', ['-o', 'pid=,ppid=,stat=,comm=', '-p', pids.join(',')], { encoding: 'utf8' });
  if (r.error) return null; // no ps on this system
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [pid, ppid, stat, ...comm] = l.split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), stat: stat!, comm: comm.join(' ') };
    });
}

/**
 * Reads `fd` until end of file without blocking the thread; `waiting(true)` before each read and
 * `waiting(false)` after it (to show the lab asleep in read() on its timeline). All the bytes.
 */
export async function readToEnd(fd: number, waiting?: (asleep: boolean) => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    waiting?.(true);
    const n = await posix.readAsync(fd, buf);
    waiting?.(false);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

/** Prints a live process table (from /proc) of the given processes. */
export function printProcTable(out: Out, rows: ProcRow[], caption?: string): void {
  if (caption) out.say(out.paint('dim', caption));
  out.printTable(
    ['PID', 'PPID', 'STAT', 'STATE', 'WAITING IN', 'ROLE'],
    rows.map((r) => [String(r.pid), r.ppid === null ? '-' : String(r.ppid), r.stat, out.state(r.state), r.wchan ?? '', r.role]),
    ['r', 'r'],
  );
}

/** /proc/loadavg's three load averages ('1.20 0.95 0.80'): how busy the CPUs are with other programs. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Time

/** Blocks the thread for `ms` (a child that must not return to the event loop). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every few ms until it is true; false after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await sleep(3);
  }
  return true;
}

/** Busy work for `ms` (a child that should be seen running, R, in /proc). */
export function spin(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + i) | 0;
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// The lab context: children, resources, interruption

/** Thrown (and caught by the runner) when the lab was interrupted; no stack trace is printed. */
export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`interrupted by ${signal}`);
  }
}

export interface LabOptions {
  json: boolean;
  svg?: string;
  color: boolean;
  /**
   * Pause this long at the lab's key moment (zombie present, orphan adopted, deadlock in place), so that the
   * processes can be looked at from another shell (`--hold MS`, or MULTIPROC_LAB_HOLD_MS).
   */
  holdMs: number;
}

export class LabContext {
  readonly out: Out;
  readonly timeline: Timeline;
  readonly pid = process.pid;
  /** Every pid the lab created (children and grandchildren), for the facts and the clean-up. */
  readonly created: number[] = [];
  /** Pids not yet reaped. */
  readonly #live = new Set<number>();
  /** Pids left out of the picture (their events are not recorded). */
  readonly #unpictured = new Set<number>();
  /** Children started through Process: killed and reaped through their Process object (which owns the wait). */
  readonly #procs = new Map<number, { kill(): void; isAlive(): boolean }>();
  readonly #cleanups: (() => void)[] = [];
  #interrupted: string | null = null;
  #onSignal: ((sig: NodeJS.Signals) => void) | null = null;

  constructor(readonly opts: LabOptions) {
    this.out = new Out({ narrate: !opts.json, color: opts.color && !opts.json });
    this.timeline = new Timeline();
    this.timeline.lane(this.pid, 'lab (parent)');
    this.timeline.state(this.pid, 'running');
  }

  /** Installs SIGINT/SIGTERM/SIGHUP handlers that kill and reap the lab's children by pid, then exit. */
  installSignalHandlers(): void {
    this.#onSignal = (sig) => {
      if (this.#interrupted) return;
      this.#interrupted = sig;
      process.stderr.write(`\n${sig}: stopping the lab's processes (${[...this.#live].join(', ') || 'none left'}) and cleaning up\n`);
      this.cleanup();
      process.exit(sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : 129);
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, this.#onSignal);
  }

  get interrupted(): boolean {
    return this.#interrupted !== null;
  }

  /** Remembers a child started with `new Process(...)`: on interruption it is killed and joined through `p`. */
  adoptProcess(p: { pid: number | undefined; name: string; kill(): void; isAlive(): boolean }, name = p.name): void {
    this.adopt(p.pid!, name, process.pid);
    this.#procs.set(p.pid!, p);
  }

  /**
   * Remembers a pid as the lab's (to kill and reap it on interruption); `forkedBy` records the fork. With
   * `picture: false` the process has no lane in the lab's picture.
   */
  adopt(pid: number, name: string, forkedBy?: number, picture = true): void {
    this.created.push(pid);
    this.#live.add(pid);
    if (!picture) {
      this.#unpictured.add(pid);
      return;
    }
    this.timeline.lane(pid, name);
    if (forkedBy !== undefined) this.timeline.record('fork', forkedBy, { peer: pid });
  }

  /**
   * Forks a child that runs `body` and exits with its result (a number) or 0; 1 with a one-line message
   * when it throws. The child dies with the lab (PR_SET_PDEATHSIG) unless `orphanable`. With `picture:
   * false` it has no lane in the lab's picture (bulk workers whose lanes would hide the point).
   */
  fork(name: string, body: () => unknown, opts: { orphanable?: boolean; title?: string; picture?: boolean } = {}): number {
    const parent = process.pid;
    const tl = this.timeline;
    const picture = opts.picture ?? true;
    const pid = posix.forkAndRun(async () => {
      if (!opts.orphanable) {
        posix.setParentDeathSignal('SIGKILL');
        if (posix.getppid() !== parent) posix.exit(1);
      }
      if (opts.title) process.title = opts.title;
      if (picture) tl.state(process.pid, 'running');
      let code = 0;
      try {
        const r = await body();
        if (typeof r === 'number') code = r;
      } catch (e) {
        process.stderr.write(`${name} (${process.pid}): ${(e as Error)?.message ?? String(e)}\n`);
        code = 1;
      }
      if (picture) tl.record('exit', process.pid, { value: code });
      posix.exit(code);
    });
    this.adopt(pid, name, parent, picture);
    return pid;
  }

  /**
   * Forks `count` children, "<name> 1" … "<name> <count>" (process titles "<title>-1" …), child k running
   * `body(k)` as {@link fork} runs a body; returns their pids.
   */
  forkEach(count: number, name: string, body: (k: number) => unknown, opts: { title?: string; picture?: boolean } = {}): number[] {
    return Array.from({ length: count }, (_, k) =>
      this.fork(`${name} ${k + 1}`, () => body(k), { title: opts.title && `${opts.title}-${k + 1}`, picture: opts.picture }),
    );
  }

  /** Reaps the children `pids` one after the other ({@link reap}); their statuses, in order. */
  async reapAll(pids: number[], timeoutMs?: number): Promise<posix.WaitStatus[]> {
    const statuses: posix.WaitStatus[] = [];
    for (const pid of pids) statuses.push(await this.reap(pid, timeoutMs));
    return statuses;
  }

  /** Reaps child `pid` (async: signals are handled meanwhile); SIGKILLs it after `timeoutMs`. */
  async reap(pid: number, timeoutMs = 15_000): Promise<posix.WaitStatus> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('watchdog')), timeoutMs);
    let status: posix.WaitStatus;
    this.timeline.state(process.pid, 'sleeping');
    try {
      status = await posix.waitpidAsync(pid, { signal: ac.signal });
    } catch (e) {
      if (!ac.signal.aborted) throw e;
      posix.kill(pid, 'SIGKILL');
      status = posix.waitpid(pid);
      this.out.bad(`process ${pid} did not finish within ${timeoutMs / 1000} s: killed`);
    } finally {
      clearTimeout(timer);
    }
    this.#live.delete(pid);
    if (!this.#unpictured.has(pid)) this.timeline.record('reap', process.pid, { peer: pid, label: describeStatus(status) });
    this.timeline.state(process.pid, 'running');
    return status;
  }

  /**
   * Marks `pid` as reaped elsewhere: by Process.join, or by another process `by`. `status` null: the reaper
   * recorded the reap on the timeline itself.
   */
  reaped(pid: number, status?: string | null, by = process.pid): void {
    this.#live.delete(pid);
    if (status !== null && !this.#unpictured.has(pid)) this.timeline.record('reap', by, { peer: pid, label: status ?? '' });
  }

  /** Sleeps `ms` (the lab's lane shows it sleeping). */
  async pause(ms: number): Promise<void> {
    this.timeline.state(process.pid, 'sleeping');
    await sleep(ms);
    this.timeline.state(process.pid, 'running');
  }

  /** A one-way Pipe(false), [reader, writer] (children write, the lab reads), both ends closed at the end. */
  pipe(): [Connection, Connection] {
    const ends = Pipe(false);
    this.defer(() => {
      ends[0].close();
      ends[1].close();
    });
    return ends;
  }

  /** Anonymous shared memory (inherited by every child the lab forks), unmapped at the end. */
  shared(bytes: number): posix.Mapping {
    const m = posix.mmap(bytes);
    this.defer(() => m.close());
    return m;
  }

  /**
   * Makes the lab a child subreaper (prctl PR_SET_CHILD_SUBREAPER) until it ends: orphans below it (a
   * grandchild whose parent died first, e.g. on Ctrl-C) come to the lab, which reaps them, instead of PID 1.
   */
  becomeSubreaper(): void {
    const was = posix.isSubreaper();
    posix.setSubreaper(true);
    this.defer(() => posix.setSubreaper(was));
  }

  /** How long a lab's child waits for the lab before it gives up (longer by the --hold time). */
  get watchdogMs(): number {
    return 20_000 + this.opts.holdMs;
  }

  /** Shared memory for children to report results as JSON (slot k, at most `bytes` each), read by the lab. */
  mailbox(slots: number, bytes = 65536): Mailbox {
    return new Mailbox(this.shared(slots * (bytes + 8)), slots, bytes);
  }

  /** Registers a clean-up step (destroying a lock, closing a mapping), run in reverse order. */
  defer(fn: () => void): void {
    this.#cleanups.push(fn);
  }

  /** Kills and reaps every live child by pid, then runs the clean-up steps. Never throws. */
  cleanup(): void {
    for (const pid of this.#live) {
      try {
        const p = this.#procs.get(pid);
        if (p) p.kill();
        else posix.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    // A pid may not be our child yet (an orphan on its way to us, the subreaper): retry for a moment.
    const end = Date.now() + 2000;
    while (this.#live.size > 0 && Date.now() < end) {
      for (const pid of [...this.#live]) {
        const p = this.#procs.get(pid);
        if (p) {
          try {
            if (!p.isAlive()) this.#live.delete(pid); // isAlive() reaps through the Process object
          } catch {
            this.#live.delete(pid);
          }
          continue;
        }
        try {
          const s = posix.waitpid(pid, { noHang: true });
          if (s.kind !== 'running') this.#live.delete(pid);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ECHILD') this.#live.delete(pid);
          else if (!posix.processInfo(pid)) this.#live.delete(pid); // reaped by someone else
        }
      }
      if (this.#live.size > 0) sleepSync(5);
    }
    for (const fn of this.#cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* best effort */
      }
    }
  }

  /** The lab's pids still in /proc (should be empty at the end). */
  leftovers(): number[] {
    return this.created.filter((pid) => posix.processInfo(pid) !== null);
  }

  /**
   * The key moment: with --hold, pause here so that the processes can be looked at from another shell (the
   * narrative prints the commands to run, `pids` filled in). stderr gets one machine-readable line
   * ("lab holding: <what> pids=1,2"), which the tests wait for.
   */
  async hold(what: string, pids: number[], commands: string[] = [psCommand(pids)]): Promise<void> {
    if (this.opts.holdMs <= 0) return;
    const out = this.out;
    out.line();
    out.line(out.paint(['bold', 'magenta'], `  ⏸ holding ${fmtSeconds(this.opts.holdMs)}: ${what}. In another shell, run:`));
    for (const c of commands) out.line(`      ${out.paint('bold', c)}`);
    out.line(out.paint('dim', '    (Ctrl-C ends the lab now and cleans up)'));
    process.stderr.write(`lab holding: ${what} pids=${pids.join(',')}\n`);
    this.timeline.mark(this.pid, `held ${fmtSeconds(this.opts.holdMs)}`);
    await sleep(this.opts.holdMs);
  }
}

/** The ps command that shows these processes' states (what --hold suggests). */
export function psCommand(pids: number[]): string {
  return `ps -o pid,ppid,stat,wchan:20,comm -p ${pids.join(',')}`;
}

const fmtSeconds = (ms: number) => (ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`);

/** JSON reports from children, in shared memory: each slot holds its length, then the UTF-8 text. */
export class Mailbox {
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  constructor(
    m: posix.Mapping,
    readonly slots: number,
    readonly size: number,
  ) {
    this.#words = new Int32Array(m.buffer, 0, slots);
    this.#bytes = new Uint8Array(m.buffer, slots * 8, slots * size);
  }
  /** Writes `value` into `slot` (the last write wins); throws when it does not fit. */
  put(slot: number, value: unknown): void {
    const b = Buffer.from(JSON.stringify(value), 'utf8');
    if (b.length > this.size) throw new Error(`a report of ${b.length} bytes does not fit the mailbox (${this.size})`);
    Atomics.store(this.#words, slot, 0);
    this.#bytes.set(b, slot * this.size);
    Atomics.store(this.#words, slot, b.length);
  }
  /** The value in `slot`, or undefined when nothing was written. */
  get<T>(slot: number): T | undefined {
    const n = Atomics.load(this.#words, slot);
    if (n <= 0) return undefined;
    return JSON.parse(Buffer.from(this.#bytes.subarray(slot * this.size, slot * this.size + n)).toString('utf8')) as T;
  }
}

export function describeStatus(s: posix.WaitStatus): string {
  switch (s.kind) {
    case 'exited':
      return `exited ${s.code}`;
    case 'signaled':
      return `killed by ${s.signal}`;
    default:
      return s.kind;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The lab interface

export interface LabResult {
  /** Whether the lab showed what it claims (or, where this machine does not permit a part, the rest of it). */
  ok: boolean;
  /** The facts it established (machine-readable, for --json). */
  facts: Record<string, unknown>;
  /** Parts this machine did not permit, each with the reason (the lab says so instead of failing). */
  notShown?: string[];
  /** The lab's own picture (an SVG document) instead of its timeline. */
  svg?: string;
}

/** A lab's page for students: `demo <lab> --help` prints it, and docs/labs.md is made from it. */
export interface LabGuide {
  /** What to look for in the output and in the picture. */
  lookFor: string[];
  /** The key moment `--hold MS` pauses at. */
  hold?: string;
  /** An `strace -f` command that shows the lab's system calls, and lines of its output to find. */
  strace: { command: string; lines: string[] };
  /** Questions to answer after running it. */
  questions: string[];
}

export interface Lab {
  name: string;
  /** One line for the list. */
  summary: string;
  /** What the lab claims to show (printed, and in --json). */
  claim: string;
  guide: LabGuide;
  run(ctx: LabContext): Promise<LabResult>;
}

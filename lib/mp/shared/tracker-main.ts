// The resource tracker process (see lib/mp/shared/tracker.ts): reads registrations from stdin (the read end of
// its tree's pipe), removes what creators left behind, and when stdin reaches end-of-file (every process of
// the tree is gone) removes what is still registered and exits. Never removes an object a live process maps
// or holds open.
import * as posix from '../../posix/index.js';
import type { TrackedKind } from './tracker.js';
import { processAlive, shmUsers } from './users.js';

/** How often creators are checked for being alive (ms). */
const CHECK_MS = 100;

interface Entry {
  kind: TrackedKind;
  name: string;
  pid: number;
  start: number;
}

const entries = new Map<string, Entry>();
let eof = false;

// A Ctrl-C reaches the terminal's whole process group; the tracker must outlive the tree to clean up after it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

function warn(message: string): void {
  process.stderr.write(`multiproc resource_tracker: ${message}\n`);
}

/** The file of a name under /dev/shm as it shows in /proc/<pid>/maps and /proc/<pid>/fd. */
function fileOf(e: Entry): string {
  const base = e.name.replace(/^\//, '');
  return e.kind === 'semaphore' ? `sem.${base}` : base;
}

function unlink(e: Entry): boolean {
  try {
    if (e.kind === 'shared_memory') posix.shmUnlink(e.name);
    else posix.Semaphore.unlink(e.name);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT'; // someone else removed it: nothing left to do
  }
}

/** Removes the entries whose creator is gone (all of them after end-of-file) that no live process uses. */
function sweep(): void {
  const due = [...entries.values()].filter((e) => eof || !processAlive(e.pid, e.start));
  if (due.length === 0) return;
  const used = shmUsers(new Set(due.map(fileOf)), process.pid);
  const removed: Entry[] = [];
  for (const e of due) {
    if (used.has(fileOf(e))) continue; // a live process still has it: never removed under it
    entries.delete(`${e.kind} ${e.name}`);
    if (unlink(e)) removed.push(e);
  }
  for (const kind of ['shared_memory', 'semaphore'] as const) {
    const names = removed.filter((e) => e.kind === kind).map((e) => e.name);
    if (names.length === 0) continue;
    if (eof) warn(`There appear to be ${names.length} leaked ${kind} objects to clean up at shutdown: ${names.join(', ')}`);
    else warn(`removed ${names.length} leaked ${kind} object(s) whose creator died without unlinking: ${names.join(', ')}`);
  }
}

function handle(line: string): void {
  const f = line.split(' ');
  const kind = f[1] as TrackedKind;
  if (kind !== 'shared_memory' && kind !== 'semaphore') return;
  const name = decodeURIComponent(f[2] ?? '');
  if (f[0] === 'R') entries.set(`${kind} ${name}`, { kind, name, pid: Number(f[3]), start: Number(f[4]) });
  else if (f[0] === 'U') entries.delete(`${kind} ${name}`);
}

let pending = '';
const buf = Buffer.alloc(65536);
const timer = setInterval(() => {
  sweep();
  if (eof && entries.size === 0) process.exit(0);
}, CHECK_MS);

async function readLoop(): Promise<void> {
  for (;;) {
    const k = await posix.readAsync(0, buf);
    if (k === 0) break;
    pending += buf.toString('utf8', 0, k);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      handle(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  eof = true;
  sweep();
  if (entries.size === 0) {
    clearInterval(timer);
    process.exit(0);
  }
  // Objects still in use by processes outside the tree: wait for their users, then remove them.
}

readLoop().catch((e) => {
  warn(`stopped: ${(e as Error).message}`);
  process.exit(1);
});

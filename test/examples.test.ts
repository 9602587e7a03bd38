// The examples (examples/*.ts: the course programs, and signals, namespaces, scaling) run as a student runs them (TypeScript through tsx), each in its own
// process: exit status 0 and the output the listing promises.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as posix from '../lib/posix/index.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What a listing may print on stderr (nothing, except where it is part of the lesson). */
const allowedStderr: Record<string, RegExp> = {
  deadlock: /^(\(node:\d+\) \[MULTIPROC_OWNER_DIED\] Warning: .*\n\(Use `node --trace-warnings \.\.\.` .*\n)?$/,
};

/**
 * Runs a listing in a process group of its own; on a hang the whole group is SIGKILLed. Afterwards no
 * process of that group may be left (an orphan the listing forgot would still carry its group id).
 */
async function run(name: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'examples', `${name}.ts`)], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1' },
    detached: true, // setsid: the listing and everything it forks are one group
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const group = child.pid!;
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => process.kill(-group, 'SIGKILL'), 60_000);
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  const inGroup = () => posix.allProcesses().filter((p) => p.pgid === group && p.state !== 'zombie');
  const end = Date.now() + 2000; // helpers exiting with the listing (tsx's esbuild service) get a moment
  while (inGroup().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  const left = inGroup();
  if (left.length) process.kill(-group, 'SIGKILL');
  expect(left.map((p) => `${p.pid} ${p.stateCode} ${p.name}`), `${name}: processes left behind`).toEqual([]);
  expect(status, `${name}: exit status; stderr:\n${stderr}`).toBe(0);
  if (allowedStderr[name]) expect(stderr, `${name}: stderr`).toMatch(allowedStderr[name]);
  else expect(stderr, `${name}: stderr`).toBe('');
  return stdout;
}

/** Whether this machine lets a process unshare PID, UTS and mount namespaces (util-linux's unshare, in a child). */
const namespacesPermitted = spawnSync('unshare', ['--uts', '--pid', '--mount', '--fork', 'true']).status === 0;
if (!namespacesPermitted) console.log('examples.test: namespaces are not permitted here: examples/namespaces.ts is expected to say so');

/** What each listing must print (one regex per fact it shows). */
const expected: Record<string, RegExp[]> = {
  signals: [
    /^child: pending while blocked: SIGUSR1, SIGRTMIN$/m,
    /^child: after unblock: SIGUSR1 handled 1× \(3 sent\), SIGRTMIN 3× with values 1, 2, 3$/m,
    /^the child after SIGTERM: \{ kind: 'exited', pid: \d+, code: 0 \}$/m,
    /^after SIGSTOP: \{ kind: 'stopped', pid: \d+, signal: 'SIGSTOP' \} state T$/m,
    /^after SIGCONT: \{ kind: 'continued', pid: \d+ \} state [RS]$/m,
    /^after SIGKILL: \{ kind: 'signaled', pid: \d+, signal: 'SIGKILL', coreDumped: false \}$/m,
    /^parent: 3 children reaped after [1-3] wake-up\(s\) of sigsuspend, [1-3] SIGCHLD handled$/m,
    /^the SIGCHLD parent: \{ kind: 'exited', pid: \d+, code: 0 \}$/m,
  ],
  namespaces: namespacesPermitted
    ? [
        /^inside: getpid\(\) = 1, NSpid = \d+ 1, hostname = multiproc-box, \/proc lists: 1$/m,
        /^runtime: forked the container's PID 1, pid \d+ out here$/m,
        /^runtime: \{ kind: 'exited', pid: \d+, code: 0 \}$/m,
        new RegExp(`^outside: hostname = ${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(unchanged\\)$`, 'm'),
      ]
    : [/^not permitted here: unshare EPERM/m],
  scaling: [
    /^sequential: T1 = \d+ ms$/m,
    /^processes k=1: \d+ ms, speed-up [\d.]+×, efficiency \d+ %, same result: true$/m,
    /^processes k=2: \d+ ms, speed-up [\d.]+×, efficiency \d+ %, same result: true$/m,
    /^one async loop: \d+ ms, speed-up [\d.]+×, same result: true$/m,
    /^static chunks \(chunkSize \d+\) on \d+ processes: \d+ ms$/m,
    /^dynamic \(chunkSize 1\) on \d+ processes: \d+ ms$/m,
  ],
  basic_process: [/^Process ID: \d+ \(parent \d+\) - Hello from the child process!$/m, /exited with code 0\./, /exit code -15\./, /Main process finished\./],
  multiple_processes: [/worker-4 \(pid \d+\) exited with code 0/, /^total    = (\d+)\nexpected = \1$/m],
  zombie: [/stateCode: 'Z'/, /^\s*\d+\s+\d+\s+Z/m, /waitpid: \{ kind: 'exited', pid: \d+, code: 7 \}/, /after waitpid: null/],
  orphan: [/subreaper (\d+): orphan \d+ now has parent \1/, /my parent was \d+, now it is (\d+) \(the subreaper \1\)/, /reaped the orphan: \{ kind: 'exited'/],
  process_pool: [/^\[ 1, 4, 9, 16, 25 \]$/m, /^item 8 computed by worker pid \d+$/m],
  manager: [/^dict: \{ a: \d+, b: \d+, c: \d+ \}$/m, /^list: \[ '[abc] was here', '[abc] was here', '[abc] was here' \]$/m],
  queue_communication: [/^Consumer received: Hello from producer$/m],
  pipe_communication: [/Parent received: Hello from the child/, /message: 1\n.*message: 2\n.*message: 3\n.*message: done/],
  shared_value: [/^Shared value: 5$/m, /^With the lock: +400000 of 400000$/m, /^Without the lock: \d+ of 4000000/m],
  shared_array: [/shared array after the child ran: \[\s*-0, -1, -2/, /plain array after the child ran: +\[\s*0, 1, 2/],
  process_lock: [/^(\[pid \d+\] Message \d, line \d\n){9}$/],
  process_semaphore: [/enters; inside now: 2/],
  process_barrier: [/finished phase 3/],
  deadlock: [
    /A alive = true, B alive = true/,
    /Process A got both \(the owner of R2 died holding it\)/,
    /B exit code -9 \(killed\), A exit code 0/,
    /Process A finished 1000 rounds/,
    /Process B finished 1000 rounds/,
  ],
};

describe('examples', () => {
  it('every listing in examples/ has a test here', () => {
    const files = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [name, patterns] of Object.entries(expected)) {
    it(name, async () => {
      const out = await run(name);
      for (const re of patterns) expect(out).toMatch(re);
      if (name === 'scaling') expect(out).not.toMatch(/same result: false/);
      if (name === 'process_semaphore') {
        expect(out).not.toMatch(/inside now: [3-9]/); // never more than 2 inside
      }
      if (name === 'process_barrier') {
        // nobody reports phase k+1 before all four reported phase k
        const phases = [...out.matchAll(/finished phase (\d)/g)].map((m) => Number(m[1]));
        expect(phases).toEqual([...phases].sort());
        expect(phases).toHaveLength(12);
      }
    });
  }
});

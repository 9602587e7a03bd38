// The course examples (examples/*.ts) run as a student runs them (TypeScript through tsx), each in its own
// process: exit status 0 and the output the listing promises.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What a listing may print on stderr (nothing, except where it is part of the lesson). */
const allowedStderr: Record<string, RegExp> = {
  deadlock: /^(\(node:\d+\) \[MULTIPROC_OWNER_DIED\] Warning: .*\n\(Use `node --trace-warnings \.\.\.` .*\n)?$/,
};

function run(name: string): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples', `${name}.ts`)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 60_000,
  });
  expect(r.status, `${name}: exit status; stderr:\n${r.stderr}`).toBe(0);
  if (allowedStderr[name]) expect(r.stderr, `${name}: stderr`).toMatch(allowedStderr[name]);
  else expect(r.stderr, `${name}: stderr`).toBe('');
  return r.stdout;
}

/** What each listing must print (one regex per fact it shows). */
const expected: Record<string, RegExp[]> = {
  basic_process: [/^Process ID: \d+ \(parent \d+\) - Hello from the child process!$/m, /exited with code 0\./, /exit code -15\./, /Main process finished\./],
  multiple_processes: [/worker-4 \(pid \d+\) exited with code 0/, /^total    = (\d+)\nexpected = \1$/m],
  zombie: [/stateCode: 'Z'/, /^\s*\d+\s+\d+\s+Z/m, /waitpid: \{ kind: 'exited', pid: \d+, code: 7 \}/, /after waitpid: null/],
  orphan: [/subreaper (\d+): orphan \d+ now has parent \1/, /my parent was \d+, now it is (\d+) \(the subreaper \1\)/, /reaped the orphan: \{ kind: 'exited'/],
  manager: [/^dict: \{ a: \d+, b: \d+, c: \d+ \}$/m, /^list: \[ 'a was here', 'b was here', 'c was here' \]$/m],
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
    it(name, () => {
      const out = run(name);
      for (const re of patterns) expect(out).toMatch(re);
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

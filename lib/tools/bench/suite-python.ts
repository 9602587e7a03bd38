// `--python`: Python's multiprocessing equivalents (lib/tools/bench/multiprocessing_bench.py), in the same run and
// the same placements, when python3 is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Result, Suite } from './core.js';

/** The script ships beside this module in lib/tools/bench; from dist/tools/bench it is ../../../lib/tools/bench. */
export function pythonScript(): string | null {
  for (const rel of ['./multiprocessing_bench.py', '../../../lib/tools/bench/multiprocessing_bench.py']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return null;
}

const PYTHON = process.env.PYTHON ?? 'python3';

export const pythonSuite: Suite = {
  name: 'python',
  title: "Python's multiprocessing: Pipe, Queue, Value + lock, Barrier, Pool.map, Process start",
  quick: true,
  available: async () => {
    if (!pythonScript()) return 'multiprocessing_bench.py is not installed with this package';
    const v = spawnSync(PYTHON, ['-c', 'import multiprocessing, sys; print(sys.version.split()[0])'], { encoding: 'utf8' });
    if (v.error || v.status !== 0) return `${PYTHON} is not available (${v.error?.message ?? v.stderr.trim()})`;
    return null;
  },
  async run(ctx) {
    const args = [pythonScript()!, '--budget', String(ctx.opts.budgetMs), '--reps', String(ctx.opts.reps), '--placements', JSON.stringify(ctx.opts.placements)];
    if (ctx.opts.quick) args.push('--quick');
    if (ctx.opts.only.length) args.push('--only', ctx.opts.only.join(','));
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`${PYTHON} ${args[0]} exited with ${code}`);
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as { results: Array<Omit<Result, 'suite' | 'median' | 'min' | 'max' | 'p99'>>; absent: Array<{ what: string; reason: string }> };
    for (const r of parsed.results) ctx.add(r);
    for (const a of parsed.absent) ctx.missing(a.what, a.reason);
  },
};

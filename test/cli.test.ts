// The multiproc command (lib/tools/cli.ts), run as a program.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as posix from '../lib/posix/index.js';
import { until } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'lib/tools/cli.ts'), ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

describe('multiproc ps', () => {
  it('prints the tree under a pid with states, a zombie child included', async () => {
    const pid = posix.fork();
    if (pid === 0) posix.exit(0);
    await until(() => posix.processInfo(pid)?.state === 'zombie', 'the zombie');
    const run = cli('ps', String(process.pid));
    posix.waitpid(pid);
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\s*PID\s+PPID\s+STAT\s+STATE\s+COMMAND$/);
    expect(lines[1]).toMatch(new RegExp(`^\\s*${process.pid}\\s+${process.ppid}\\s`));
    expect(lines.find((l) => l.trim().startsWith(`${pid} `))).toMatch(/\sZ\s+zombie\s+└─ /);
    expect(run.stdout).not.toMatch(/\x1b\[/); // no colour when piped / NO_COLOR
  });

  it('errors and usage', () => {
    expect(cli('ps', 'nope').status).toBe(2);
    expect(cli('ps', '4194304').status).toBe(1);
    expect(cli('frobnicate').status).toBe(2);
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: multiproc <command>/);
    expect(help.stdout).toMatch(/--version/);
  });

  it('--version prints the package version, Node\'s, and the addon ABI', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = cli(flag);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`multiproc ${pkg.version} (Node ${process.version}, addon napi, ${process.platform} ${process.arch})\n`);
    }
  });
});

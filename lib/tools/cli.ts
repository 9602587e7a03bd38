#!/usr/bin/env node
// The `multiproc` command.
//   multiproc ps [pid]     the process tree under pid (default: this command's parent), with states
//   multiproc demo ...     the course labs            (lib/tools/labs)
//   multiproc bench ...    the IPC cost benchmark     (lib/tools/bench/index.ts)
//   multiproc --version    the package's version, Node's, and the addon's ABI
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as posix from '../posix/index.js';
import { addonAbi, packageRoot } from '../posix/install.js';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const STATE_COLOR: Partial<Record<posix.ProcessState, string>> = {
  running: '32',
  zombie: '31;1',
  stopped: '33',
  'tracing-stop': '33',
  'disk-sleep': '35',
  dead: '31',
};

function usage(): string {
  return [
    'usage: multiproc <command>',
    '',
    '  ps [pid]                  process tree under pid (default: the caller), with states from /proc',
    '  demo [lab] [--json]       run an OS-course lab (no lab: list them; demo <lab> --help: explain one;',
    '                            --svg FILE: a picture; --hold MS: pause at the key moment)',
    '  bench [suite…] [options]  measure IPC costs (bench --help)',
    '  --version                 the version of multiproc (and of Node, and the addon ABI)',
    '',
  ].join('\n');
}

/** Renders a process tree as an aligned table; the tree drawn with box characters. */
export function formatTree(rows: posix.TreeRow[]): string {
  const header = ['PID', 'PPID', 'STAT', 'STATE', 'COMMAND'];
  const body = rows.map((r) => [
    String(r.pid),
    String(r.ppid),
    r.stateCode,
    r.state,
    `${r.depth === 0 ? '' : '  '.repeat(r.depth - 1) + '└─ '}${r.name}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[], color?: string) =>
    cells
      .map((c, i) => {
        const padded = i < 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!);
        return i === 3 && color ? paint(color, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [paint('1', line(header)), ...body.map((b, i) => line(b, STATE_COLOR[rows[i]!.state]))].join('\n');
}

/** The process that ran us, skipping npm/npx wrappers (`npx multiproc ps` means "under my shell"). */
function callerPid(): number {
  let pid = process.ppid;
  for (let hops = 0; hops < 8; hops++) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
    } catch {
      break;
    }
    const info = posix.processInfo(pid);
    const wrapper = /(^|\/)(npm|npx)(-cli\.js)?( |$)|npm exec|npm-cli|npx-cli|\/\.bin\/multiproc|^(\/bin\/)?sh -c .*multiproc/;
    if (!info || !wrapper.test(cmdline)) break;
    pid = info.ppid;
  }
  return pid;
}

function ps(args: string[]): number {
  const pid = args[0] !== undefined ? Number(args[0]) : callerPid();
  if (!Number.isInteger(pid) || pid < 1) {
    process.stderr.write(`multiproc ps: not a pid: ${args[0]}\n`);
    return 2;
  }
  const rows = posix.processTree(pid);
  if (rows.length === 0) {
    process.stderr.write(`multiproc ps: no process ${pid}\n`);
    return 1;
  }
  process.stdout.write(formatTree(rows) + '\n');
  return 0;
}

/** "multiproc 0.1.0 (Node v20.17.0, addon napi, linux x64)". */
function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return `multiproc ${pkg.version} (Node ${process.version}, addon ${addonAbi}, ${process.platform} ${process.arch})`;
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'ps':
      return ps(rest);
    case 'demo': // the course labs (lib/tools/labs): async, so the exit code is set when the lab is done
      void import('./labs/index.js').then((labs) => labs.runDemo(rest)).then((code) => (process.exitCode = code));
      return 0;
    case 'bench':
      void import('./bench/index.js')
        .then((m) => m.runBench(rest))
        .then((code) => (process.exitCode = code));
      return 0;
    case '-V':
    case '--version':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage());
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`multiproc: unknown command '${cmd}'\n\n${usage()}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));

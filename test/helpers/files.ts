// The files a test file needs: the scripts and modules beside this one (test/helpers/) and a way to run
// them in a fresh node, and a temporary directory of its own.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The path of a file in test/helpers/: a child's script, a module of targets or tasks. */
export function helper(name: string): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), name);
}

/** How a script run by runHelper ended, and what it printed on stdout. */
export interface HelperRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/**
 * Runs test/helpers/<script> in a fresh node (through tsx) with `fds` as its fds 3, 4, ...; a watchdog
 * SIGKILLs it after `timeoutMs`. The child is started before this returns.
 */
export function runHelper(script: string, args: string[], fds: number[] = [], timeoutMs = 30_000): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', helper(script), ...args], {
      stdio: ['ignore', 'pipe', 'inherit', ...fds],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout });
    });
  });
}

/** A temporary directory (multiproc-<what>-…), removed after the file's tests; `file()` names a fresh path in it. */
export function tmpDir(what: string): { dir: string; file: () => string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `multiproc-${what}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return { dir, file: () => path.join(dir, `f${++n}`) };
}

/**
 * Reads the file at `url` (a test's import.meta.url) through fs.promises, i.e. on libuv's threadpool; rejects
 * after 10 s, when the pool is starved (the threadpool is held by waits that should not hold it).
 */
export async function readThroughThreadpool(url: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    fsp.readFile(fileURLToPath(url), 'utf8'),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('readFile starved: the threadpool is held')), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
}

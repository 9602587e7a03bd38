// Process targets used by test/process.test.ts: passed as functions with the fork start method, and
// imported by name ({ module: this file, export }) with spawn.
import { readdirSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { currentProcess, parentProcess } from '../../lib/index.js';

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value));
}

export async function report(file: string, ...rest: unknown[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 20)); // an async target is awaited
  writeJson(file, { me: currentProcess(), parent: parentProcess(), pid: process.pid, ppid: process.ppid, rest });
}

export function echoArgs(file: string, ...args: unknown[]): void {
  writeFileSync(file, v8.serialize(args));
}

export function fail(message: string): never {
  throw new Error(message);
}

export async function failLater(message: string): Promise<never> {
  await new Promise((r) => setTimeout(r, 10));
  throw new Error(message);
}

export function exitWith(code: number): void {
  process.exit(code);
}

export function forever(): Promise<never> {
  setInterval(() => {}, 1000);
  return new Promise<never>(() => {});
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export function stdinIsEmpty(file: string): void {
  const buf = Buffer.alloc(16);
  let n = -1;
  try {
    n = readSync(0, buf, 0, 16, null);
  } catch (e) {
    n = -2;
  }
  // a copy of /dev/null the parent opened for the child's stdin must be closed
  writeJson(file, { n, extraNull: devNullFds() });
}

/** This process's fds above stdio that are open on /dev/null (a test and the stdinIsEmpty target read them). */
export function devNullFds(): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    if (Number(fd) <= 2) return false;
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/null';
    } catch {
      return false; // the fd readdir itself used, gone by now
    }
  });
}

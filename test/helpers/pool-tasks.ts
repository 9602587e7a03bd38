// Task functions for test/pool.test.ts: passed as functions with the fork start method, and named as
// exports of this module ({ module, export } or the Pool's `module`) with spawn.
import { writeFileSync } from 'node:fs';

let initValue: unknown = 'not initialised';
let runs = 0;

export function square(x: number): number {
  return x * x;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** [item, worker pid, how many tasks this worker ran before this one]. */
export function where(x: unknown): [unknown, number, number] {
  return [x, process.pid, runs++];
}

export async function delayedEcho(x: number): Promise<number> {
  await new Promise((r) => setTimeout(r, (x * 7) % 5));
  return x;
}

export async function sleepMs(ms: number): Promise<number> {
  await new Promise((r) => setTimeout(r, ms));
  return ms;
}

export function failOn3(x: number): number {
  if (x === 3) {
    const e = new RangeError(`bad item ${x}`) as RangeError & { code: string; detail: object };
    e.code = 'E_BAD_ITEM';
    e.detail = { item: x };
    throw e;
  }
  return x;
}

export function throwString(): never {
  throw 'a plain string';
}

export function returnFunction(): () => void {
  return () => {};
}

/** Writes this worker's pid to `file`, then never finishes (the test kills the worker). */
export async function reportAndHang(file: string): Promise<never> {
  writeFileSync(file, String(process.pid));
  return new Promise<never>(() => {
    setInterval(() => {}, 1000);
  });
}

export function exitWith(code: number): never {
  process.exit(code);
}

/** The worker sends itself `signal` (SIGSEGV: a crash, as far as the pool can tell). */
export function killSelf(signal: NodeJS.Signals): void {
  process.kill(process.pid, signal);
}

export function size(s: string | Uint8Array): number {
  return s.length;
}

export function bigString(n: number): string {
  return 'y'.repeat(n);
}

export function init(value: unknown): void {
  initValue = value;
}

export function initFails(): void {
  throw new Error('initializer refuses');
}

export function getInit(): [unknown, number] {
  return [initValue, process.pid];
}

/** CPU-bound: about `n` million loop iterations. */
export function spin(n: number): number {
  let acc = 0;
  for (let i = 0; i < n * 1e6; i++) acc = (acc + i * i) % 1000003;
  return acc;
}

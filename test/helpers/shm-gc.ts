// Run with --expose-gc: mappings the program forgot to close are unmapped by their finalizers, and a
// mapping closed by hand is not unmapped a second time by its finalizer (which would tear down whatever
// was mapped at that address since). Prints a JSON report.
import { readFileSync } from 'node:fs';
import * as posix from '../../lib/posix/index.js';

const sharedMaps = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => / rw-s /.test(l)).length;
const gc = (globalThis as { gc?: () => void }).gc!;
const settle = async () => {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};

const before = sharedMaps();
(() => {
  for (let i = 0; i < 200; i++) new Uint8Array(posix.mmap(1 << 20).buffer).fill(1); // forgotten
})();
const whileAlive = sharedMaps();
await settle();
const afterGc = sharedMaps();

// Closed by hand, then collected: the finalizer must not munmap again.
for (let i = 0; i < 200; i++) posix.mmap(1 << 16).close();
await settle();
const keep = Array.from({ length: 50 }, () => posix.mmap(1 << 16));
keep.forEach((m, i) => new Int32Array(m.buffer).fill(i));
await settle();
const intact = keep.every((m, i) => new Int32Array(m.buffer).every((x) => x === i));
keep.forEach((m) => m.close());
process.stdout.write(JSON.stringify({ before, whileAlive, afterGc, intact, end: sharedMaps() }) + '\n');

// A fresh node (not a fork) that received a memfd as fd 3: maps it and adds to the counter at offset 0,
// then writes a greeting at offset 64. Run by test/posix/shm.test.ts.
import * as posix from '../../lib/posix/index.js';

const size = posix.fdSize(3);
const m = posix.mmap(size, { fd: 3 });
const counter = new Int32Array(m.buffer, 0, 1);
const n = Number(process.argv[2] ?? 1000);
for (let i = 0; i < n; i++) Atomics.add(counter, 0, 1);
new Uint8Array(m.buffer, 64, 5).set(Buffer.from('hello'));
m.close();
process.stdout.write(`done ${size}\n`);

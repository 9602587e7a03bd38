// A program that creates a SharedMemory object and a named semaphore (both tracked) and exits without
// unlinking them: its resource tracker must remove them once it is gone. Prints the names.
import { SharedMemory } from '../../lib/index.js';
import * as posix from '../../lib/posix/index.js';

const shm = new SharedMemory({ create: true, size: 4096 });
const sem = `/multiproc-leaker-${process.pid}-sem`;
posix.Semaphore.open(sem, { create: true, value: 1 }).close();
shm.close();
process.stdout.write(`${JSON.stringify({ shm: shm.name, sem })}\n`);

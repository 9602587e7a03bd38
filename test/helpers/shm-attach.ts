// An unrelated process (a fresh node, not a child that inherited anything): attaches to a SharedMemory by the
// name in argv[2], prints its size and first bytes as JSON, writes 0x5a into its last byte, closes.
import { SharedMemory } from '../../lib/index.js';

const shm = new SharedMemory({ name: process.argv[2]! });
process.stdout.write(JSON.stringify({ size: shm.size, head: [...shm.buf.subarray(0, 3)] }) + '\n');
shm.buf[shm.size - 1] = 0x5a;
shm.close();

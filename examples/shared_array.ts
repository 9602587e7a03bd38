// shared_array.ts: a child writes into an array in shared memory; the parent reads what it wrote.
// Run: npx tsx examples/shared_array.ts
import { Process, posix } from 'multiproc';

const memory = posix.mmap(10 * 8); // MAP_SHARED | MAP_ANONYMOUS: the same pages in parent and child
const arr = new Float64Array(memory.buffer); // a typed view of the shared bytes
const plain = new Float64Array(10); // an ordinary array: fork gives the child a private copy
for (let i = 0; i < arr.length; i++) arr[i] = plain[i] = i;

const child = new Process({
  target: () => {
    for (let i = 0; i < arr.length; i++) {
      arr[i] = -arr[i]!; // seen by the parent
      plain[i] = -plain[i]!; // changes only the child's copy
    }
  },
});
child.start();
await child.join();

console.log('shared array after the child ran:', Array.from(arr)); // [-0, -1, -2, …]
console.log('plain array after the child ran: ', Array.from(plain)); // [0, 1, 2, …] unchanged
memory.close();

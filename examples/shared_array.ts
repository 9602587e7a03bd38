// shared_array.ts: a child writes into a SharedArray; the parent reads what it wrote.
// Run: npx tsx examples/shared_array.ts
import { Process, SharedArray } from 'multiproc';

const arr = new SharedArray<number>('d', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // 'd': float64, in shared memory
const plain = new Float64Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]); // an ordinary array: the child gets a copy

const child = new Process({
  target: () => {
    for (let i = 0; i < arr.length; i++) {
      arr.set(i, -arr.get(i)); // seen by the parent
      plain[i] = -plain[i]!; // changes only the child's copy
    }
  },
});
child.start();
await child.join();

console.log('shared array after the child ran:', Array.from(arr.view)); // [-0, -1, -2, …]
console.log('plain array after the child ran: ', Array.from(plain)); // [0, 1, 2, …] unchanged

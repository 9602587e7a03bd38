import { Queue } from './lib/index.js';
const q = new Queue<unknown>();
for (const [name, v] of [['number', 42], ['string', 'item-12345'], ['object', { id: 1, name: 'x', tags: ['a'] }]] as const) {
  for (let rep = 0; rep < 3; rep++) {
    const n = 300_000;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) { q.putSync(v); q.getSync(); }
    const t = performance.now() - t0;
    if (rep === 2) console.log(name, ((t / n) * 1e6).toFixed(0), 'ns per put+get');
  }
}

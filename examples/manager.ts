// manager.ts: a Manager process owns a dict and a list; other processes use them through proxies.
// Run: npx tsx examples/manager.ts
import { Manager, Process, posix } from 'multiproc';

const manager = await Manager.start(); // starts the server process
const d = await manager.dict<number>();
const l = await manager.list<string>();

async function worker(name: string): Promise<void> {
  await d.set(name, posix.getpid()); // each call is a request to the manager process
  await l.push(`${name} was here`);
}

const workers = ['a', 'b', 'c'].map((name) => new Process({ target: worker, args: [name] }));
for (const p of workers) p.start();
for (const p of workers) await p.join();

const entries = (await d.entries()).sort(([a], [b]) => String(a).localeCompare(String(b)));
console.log('dict:', Object.fromEntries(entries)); // { a: <pid>, b: <pid>, c: <pid> }
console.log('list:', await l.toArray()); // in the order the workers' calls reached the manager
await manager.shutdown();

// Run with --expose-gc: arena objects the program forgot to close give their bytes back when collected (in
// the creating process), and the arena's regions go once empty. Prints a JSON report.
import { arenaStats, Lock, SharedArray, Value } from '../../lib/index.js';

const gc = (globalThis as { gc?: () => void }).gc!;
const settle = async () => {
  for (let i = 0; i < 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
};

const kept = new Value('i', 5);
(() => {
  for (let i = 0; i < 3000; i++) {
    new Value('d', i); // forgotten, with its RLock
    new SharedArray('i', 8, { lock: false });
    new Lock();
  }
})();
const whileAlive = arenaStats().liveObjects;
await settle();
const afterGc = arenaStats();
process.stdout.write(JSON.stringify({ whileAlive, afterGcLive: afterGc.liveObjects, afterGcRegions: afterGc.regions, kept: kept.value }) + '\n');
kept.close();
process.stdout.write(JSON.stringify({ end: arenaStats() }) + '\n');

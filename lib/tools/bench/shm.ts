// Shared-memory write bandwidth: TypedArray.set from JavaScript into a MAP_SHARED mapping, against memcpy
// into the same mapping inside the addon (the native baseline), same sizes, same run. Pages are touched
// before timing (first-touch faults are not what this measures).
// Run: npx tsx lib/tools/bench/shm.ts [--json]
import * as posix from '../../posix/index.js';
import { median } from './core.js';

const fill = posix.fillBench;

export interface BandwidthRow {
  bytes: number;
  jsGBs: number;
  nativeGBs: number;
  ratio: number;
}


export function measureShmBandwidth(sizes = [4096, 65536, 1 << 20, 16 << 20], reps = 7): BandwidthRow[] {
  const rows: BandwidthRow[] = [];
  for (const bytes of sizes) {
    const m = posix.mmap(bytes);
    const dst = new Uint8Array(m.buffer);
    const src = new Uint8Array(bytes).fill(0x5a);
    dst.fill(1); // first touch
    const iterations = Math.max(10, Math.floor((256 << 20) / bytes)); // ~256 MiB per repetition
    const js: number[] = [];
    const nat: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      for (let i = 0; i < iterations; i++) {
        src[0] = i;
        dst.set(src);
      }
      js.push(performance.now() - t0);
      t0 = performance.now();
      fill(m, bytes, iterations);
      nat.push(performance.now() - t0);
    }
    const gbs = (ms: number) => (bytes * iterations) / (ms / 1000) / 1e9;
    const jsGBs = gbs(median(js));
    const nativeGBs = gbs(median(nat));
    rows.push({ bytes, jsGBs, nativeGBs, ratio: nativeGBs / jsGBs });
    m.close();
  }
  return rows;
}

if (process.argv[1] && /bench[/\\]shm\.[tj]s$/.test(process.argv[1])) {
  const rows = measureShmBandwidth();
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    process.stdout.write('bytes        JS TypedArray.set   native memcpy   native/JS\n');
    for (const r of rows) {
      process.stdout.write(
        `${String(r.bytes).padEnd(12)} ${r.jsGBs.toFixed(2).padStart(10)} GB/s ${r.nativeGBs.toFixed(2).padStart(10)} GB/s ${r.ratio.toFixed(3).padStart(10)}×\n`,
      );
    }
  }
}

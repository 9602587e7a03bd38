// Property tests: a Pool's arguments reach its workers unchanged and their results come back unchanged
// (values, equality and seed: ./values.ts). A Pool is between processes by nature: its workers are forked.
//
// Fast paths and thresholds of this channel (lib/mp/pool/protocol.ts, lib/mp/pool/channel.ts, lib/mp/pool/worker.ts):
// - a payload (a chunk's arguments, or its results) is one of three encodings: every item a number → packed
//   float64 (8 bytes each; -0 and NaN must survive); every item undefined → just a count; anything else → one
//   v8.serialize of the whole array (structured clone). map() over numbers, over undefineds and over mixes
//   crosses all three, in both directions.
// - frames: [u32 length][type][fields][payload]; a result frame has 17 bytes before its payload, so a payload
//   of 65,519 bytes makes a frame of exactly 64 KiB: the size the parent's FrameWriter and FrameParser and
//   the worker's write buffer start at (they grow by doubling; the worker flushes at 64 KiB). Payload sizes
//   65,519 / 65,520 are examples, measured as the result's payload (the arguments' is [args]: 2 bytes more).
// - a buffer that grew past 4 MiB for one message is replaced by a 64 KiB one afterwards: a 4 MiB + 1 payload,
//   then small ones, checks the shrink.
// - the parent writes without blocking (what the socket does not take waits for it to drain) and reads as much
//   as has arrived: the MiB-size examples cross partial writes and reads in both directions.
// - sizes: 0, 1, 255, 256, 4 KiB±1, 64 KiB±1, 256 KiB±1, 3 MiB + 1 and 4 MiB + 1 bytes of payload.
// - a value that cannot be cloned is refused by apply/map (ERR_MULTIPROC_NOT_CLONEABLE / NOT_SENDABLE), and
//   the pool goes on.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from '../../lib/index.js';
import { FrameWriter } from '../../lib/mp/pool/protocol.js';
import { anyValue, boundaries, type Channel, check, count, difference, exactSizes, hostileValues, number, propertyFile, randomSizes, randomValues, runs } from './values.js';

propertyFile('pool');

const identity = (x: unknown): unknown => x;
const argsOf = (...xs: unknown[]): unknown[] => xs;

/** The payload bytes of a result chunk [v]. */
function measure(v: unknown): number {
  const w = new FrameWriter(64);
  w.payload([v], 'measure');
  return w.pos;
}

const POOL_SIZES = [65_519, 65_520, 4 * 2 ** 20 + 1];

let pool: Pool;
beforeAll(() => {
  pool = new Pool({ processes: 2, startMethod: 'fork' });
});
afterAll(async () => {
  pool.close();
  await pool.join();
});

describe('Pool properties (forked workers)', () => {
  it('apply(identity, [v]): every boundary size and corner, random values, hostile values', async () => {
    const ch: Channel = { name: 'Pool apply', measure, roundTrip: (v) => pool.apply(identity, [v]) };
    await boundaries(ch, POOL_SIZES);
    await randomValues(ch, 600);
    await randomSizes(ch, 25);
    await hostileValues(ch, (v) => pool.apply(identity, [v]), 10);
    // after the 4 MiB + 1 message the buffers went back to 64 KiB: small ones still pass
    expect(await pool.apply(identity, ['small'])).toBe('small');
  });

  it('the payload boundary sizes are hit exactly', () => {
    const hit = exactSizes({ name: 'Pool', measure, roundTrip: async () => undefined }, POOL_SIZES.slice(0, 2));
    // (no payload is smaller than 5 bytes: an encoding byte and a count)
    for (const size of [255, 256, 4095, 4096, 4097, 65535, 65536, 65537, 65519, 65520, 262143, 262144, 262145]) expect(hit.has(size), `payload ${size}`).toBe(true);
  });

  it('map over arrays of numbers (packed float64), of undefined (a count) and of anything, with any chunk size', async () => {
    const arrays = fc.oneof(
      fc.array(number, { maxLength: 60 }),
      fc.array(fc.constant(undefined), { maxLength: 30 }),
      fc.array(anyValue, { maxLength: 30 }),
      fc.array(fc.oneof(number, fc.constant(undefined)), { maxLength: 30 }),
    );
    await check(
      fc.asyncProperty(arrays, fc.integer({ min: 1, max: 8 }), async (vs, chunkSize) => {
        const got = await pool.map(identity, vs, { chunkSize });
        count('Pool map', 'random');
        const d = difference(vs, got);
        if (d) throw new Error(`chunkSize ${chunkSize}: ${d}`);
      }),
      runs(120),
    );
    // -0 and NaN in a packed chunk, explicitly
    const nums = [-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MAX_VALUE, 0];
    expect(difference(nums, await pool.map(identity, nums, { chunkSize: 7 }))).toBeUndefined();
  });

  it('starmap: argument lists of any values arrive as they were sent', async () => {
    await check(
      fc.asyncProperty(fc.array(fc.array(anyValue, { maxLength: 4 }), { minLength: 1, maxLength: 8 }), async (argLists) => {
        const got = await pool.starmap(argsOf, argLists);
        count('Pool starmap', 'random');
        const d = difference(argLists, got);
        if (d) throw new Error(d);
      }),
      runs(40),
    );
  });
});

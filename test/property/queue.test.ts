// Property tests: Queue, SimpleQueue, JoinableQueue carry every value unchanged, in one process and to a
// forked echo peer and back (values, equality and seed: ./values.ts).
//
// Fast paths and thresholds of this channel (lib/mp/queue.ts, lib/mp/core/codec.ts), each crossed by the boundary examples:
// - codec kinds: Number (8-byte float64 body), String (UTF-8), True/False/Null/Undefined (no body), BigInt
//   (decimal digits), Bytes (a plain Uint8Array only; a Buffer or any other view is cloned), Json (plain objects
//   and dense arrays of JSON-exact leaves, at most 32 deep), Clone (v8.serialize) for everything else.
// - in-place encoding without allocation (codec.encodeShortInto): every number, and strings of at most 64 UTF-16
//   units (SHORT_STRING) whose UTF-8 fits the write buffer; 64/65-unit strings are examples.
// - a record is a 5-byte header + body; the write and read scratch buffers start at 256 bytes and grow
//   (bodies of 251/252 bytes).
// - copyIn/copyOut move records of at most 16 bytes byte by byte (bodies up to 11), longer ones with set(), in
//   two pieces when the record wraps around the end of the ring (the 4 KiB ring wraps every few records).
// - the side channel: a record longer than a quarter of the ring travels as a memfd (SCM_RIGHTS) with a 13-byte
//   reference in the ring: bodies of 262,139 / 262,140 bytes with the default 1 MiB ring, 1,019 / 1,020 with a
//   4 KiB ring.
// - sizes: 0, 1, 255, 256, 4 KiB±1, 64 KiB±1, 256 KiB±1 and 3 MiB + 1 bytes of body, for every shape of value
//   (ASCII / 2-, 3-, 4-byte UTF-8 strings, Uint8Array, Buffer, JSON object, cloned Map, Float64Array).
import { describe, expect, it } from 'vitest';
import { encode } from '../../lib/mp/core/codec.js';
import { JoinableQueue, Queue, SimpleQueue } from '../../lib/index.js';
import { forkRun, reap } from '../helpers/child.js';
import { boundaries, type Channel, endMarker, exactSizes, hostileValues, propertyFile, randomSizes, randomValues } from './values.js';

propertyFile('queue');

type AnyQueue = Queue<unknown>;
const CLASSES = { Queue, SimpleQueue, JoinableQueue } as const;
type ClassName = keyof typeof CLASSES;

function make(cls: ClassName, bufferBytes: number): AnyQueue {
  return cls === 'SimpleQueue' ? new SimpleQueue({ bufferBytes }) : new CLASSES[cls](0, { bufferBytes });
}

const measure = (v: unknown): number => encode(v)[1].byteLength;

/** The sizes of this queue's own thresholds (bodies). */
function queueSizes(ring: number): number[] {
  const side = ring / 4 - 5; // the largest body that stays in the ring
  return [11, 12, 251, 252, side, side + 1];
}

async function take(q: AnyQueue, i: number): Promise<unknown> {
  const v = i % 2 ? q.getSync({ timeout: 30_000 }) : await q.get({ timeout: 30_000 });
  if (q instanceof JoinableQueue) q.taskDone();
  return v;
}

async function give(q: AnyQueue, v: unknown, i: number): Promise<void> {
  if (i % 3 === 0) await q.put(v);
  else q.putSync(v);
}

function sameProcess(q: AnyQueue, name: string): Channel {
  return {
    name,
    measure,
    async roundTrip(v, i) {
      await give(q, v, i);
      return take(q, i + 1);
    },
  };
}

const RINGS = [2 ** 20, 4096];

describe('Queue properties, one process', () => {
  for (const cls of Object.keys(CLASSES) as ClassName[]) {
    for (const ring of RINGS) {
      it(`${cls} (${ring}-byte ring): boundary sizes, random values, hostile values`, async () => {
        const q = make(cls, ring);
        try {
          const ch = sameProcess(q, `${cls} same process`);
          // strings around the in-place limit of 64 UTF-16 units, ASCII and not
          for (const s of ['a'.repeat(64), 'a'.repeat(65), 'é'.repeat(64), '😀'.repeat(32), '😀'.repeat(33), '€'.repeat(65)]) {
            expect(await ch.roundTrip(s, 0)).toBe(s);
          }
          await boundaries(ch, queueSizes(ring), { huge: ring === RINGS[0] });
          await randomValues(ch, 600);
          await randomSizes(ch, 25);
          await hostileValues(ch, (v) => q.putSync(v), 15);
          expect(q.empty()).toBe(true);
          if (q instanceof JoinableQueue) expect(q.joinSync(0)).toBe(true);
        } finally {
          q.close();
        }
      });
    }
  }

  it('the boundary examples hit every threshold exactly (not just near it)', () => {
    for (const ring of RINGS) {
      const ch: Channel = { name: 'Queue', measure, roundTrip: async () => undefined };
      const hit = exactSizes(ch, queueSizes(ring));
      for (const size of [0, 1, 11, 12, 251, 252, 255, 256, 4095, 4096, 4097, 65535, 65536, 65537, 262143, 262144, 262145, ...queueSizes(ring)]) {
        expect(hit.has(size), `body size ${size}`).toBe(true);
      }
    }
  });
});

describe('Queue properties, to a forked echo peer and back', () => {
  for (const [cls, ring] of [
    ['Queue', 2 ** 20],
    ['SimpleQueue', 4096],
    ['JoinableQueue', 2 ** 20],
  ] as const) {
    it(`${cls} (${ring}-byte ring): the peer takes each value and puts it back`, async () => {
      const q = make(cls, ring);
      const back = make(cls, ring);
      const END = endMarker();
      const pid = await forkRun(() => {
        for (;;) {
          const v = q.getSync();
          if (q instanceof JoinableQueue) q.taskDone();
          if (v === END) return 0;
          back.putSync(v);
        }
      });
      try {
        const ch: Channel = {
          name: `${cls} across a fork`,
          measure,
          async roundTrip(v, i) {
            await give(q, v, i);
            return take(back, i);
          },
        };
        await boundaries(ch, queueSizes(ring), { huge: ring === RINGS[0] });
        await randomValues(ch, 450);
        await randomSizes(ch, 25);
        await hostileValues(ch, (v) => q.putSync(v), 10);
      } finally {
        q.putSync(END);
        expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
        expect(back.empty()).toBe(true);
        q.close();
        back.close();
      }
    });
  }
});

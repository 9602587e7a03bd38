// Property tests: Pipe / Connection carry every value (send/recv) and every byte string (sendBytes/recvBytes)
// unchanged, in one process and to a forked echo peer and back (values, equality and seed: ./values.ts).
//
// Fast paths and thresholds of this channel (lib/mp/connection.ts, lib/mp/core/codec.ts), each crossed by the examples:
// - a frame is [kind u8][length u32 LE][body]; bodies are the codec's (Number 8 bytes, String UTF-8 — a lone
//   surrogate makes it a Clone —, True/False/Null/Undefined empty, BigInt digits, Bytes for a plain Uint8Array
//   and for sendBytes, Json for plain data with no shared object, Clone for the rest).
// - send: a body of at most 65,536 bytes goes out in one write(2) with its header (copied into one frame);
//   a longer one as two (header, then the body as it is): bodies of 65,536 / 65,537 bytes.
// - recv: reads go through a 64 KiB buffer, so one read(2) brings several small frames (the burst property);
//   what is left of a frame once 64 KiB or more is read straight into the message's own buffer.
// - maxMessageBytes (default 256 MiB): a longer message is refused by send() (ERR_MULTIPROC_MESSAGE_TOO_LARGE)
//   and nothing is written; tested at a 4 KiB limit, at 4,095 / 4,096 / 4,097 bytes.
// - kernel buffers: a same-process send cannot exceed what the kernel holds for a reader that is not reading
//   yet (a pipe: 64 KiB; a socketpair: ~200 KiB), so one-process cases stop there (65,531 bytes of body on a
//   pipe, 100,000 on a socketpair); every size, up to 3 MiB + 1, goes through the forked echo peer.
// - sizes: 0, 1, 255, 256, 4 KiB±1, 64 KiB±1, 256 KiB±1 and 3 MiB + 1 bytes of body, every shape of value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../../lib/mp/core/codec.js';
import { type Connection, Pipe } from '../../lib/index.js';
import { forkRun, reap } from '../helpers/child.js';
import { anyValue, boundaries, type Channel, check, COMMON_SIZES, count, difference, endMarker, hostileValues, HUGE, propertyFile, randomSizes, randomValues, runs } from './values.js';

propertyFile('connection');

const measure = (v: unknown): number => encode(v)[1].byteLength;
const CONNECTION_SIZES = [65_531, 65_536, 65_537, 100_000];

/** Runs fn with both ends of a Pipe, and closes them after. */
async function withPipe(pair: [Connection, Connection], fn: (a: Connection, b: Connection) => Promise<void>): Promise<void> {
  try {
    await fn(...pair);
  } finally {
    for (const c of pair) c.close();
  }
}

async function receive(c: Connection, i: number): Promise<unknown> {
  return i % 2 ? c.recvSync(30_000) : c.recv(30_000);
}

/** One process: a message longer than the kernel holds would block send() for ever; fail instead. */
function fits(v: unknown, bytes: number, maxBytes: number | undefined): void {
  if (maxBytes !== undefined && bytes > maxBytes) throw new Error(`test bug: ${bytes} bytes cannot be sent to this same process (limit ${maxBytes})`);
}

function values(name: string, from: Connection, to: Connection, maxBytes?: number): Channel {
  return {
    name,
    measure,
    maxBytes,
    async roundTrip(v, i) {
      fits(v, measure(v), maxBytes);
      from.send(v);
      return receive(to, i);
    },
  };
}

function bytes(name: string, from: Connection, to: Connection, maxBytes?: number): Channel {
  return {
    name,
    measure: (v) => (v as Uint8Array).byteLength,
    maxBytes,
    async roundTrip(v, i) {
      fits(v, (v as Uint8Array).byteLength, maxBytes);
      from.sendBytes(v as Uint8Array);
      return i % 2 ? to.recvBytesSync(30_000) : to.recvBytes(30_000);
    },
  };
}

/** Byte strings of every boundary size, then random ones (the codec is not involved: the bytes as they are). */
async function byteStrings(ch: Channel, numRuns: number): Promise<void> {
  for (const n of [...COMMON_SIZES, ...CONNECTION_SIZES, HUGE]) {
    if (ch.maxBytes !== undefined && n > ch.maxBytes) continue;
    const b = new Uint8Array(n).map((_, i) => (i * 31 + (n & 255)) & 255);
    const d = difference(b, await ch.roundTrip(b, n));
    if (d) throw new Error(`${ch.name}: ${n} bytes: ${d}`);
    count(ch.name, 'boundary', n);
  }
  let i = 0;
  await check(
    fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (b) => {
      const d = difference(b, await ch.roundTrip(b, i++));
      count(ch.name, 'random', b.byteLength);
      if (d) throw new Error(d);
    }),
    runs(numRuns),
  );
}

describe('Connection properties, one process', () => {
  it('duplex Pipe (socketpair): boundary sizes up to 100,000 bytes, random values, hostile values', async () => {
    await withPipe(Pipe(), async (a, b) => {
      const ch = values('duplex Pipe same process', a, b, 100_000);
      await boundaries(ch, CONNECTION_SIZES);
      await randomValues(ch, 750);
      await randomSizes(ch, 25);
      await hostileValues(ch, (v) => a.send(v), 15);
      expect(b.pollSync(0)).toBe(false);
    });
  });

  it('simplex Pipe (pipe(2)): boundary sizes up to 65,531 bytes, random values', async () => {
    await withPipe(Pipe(false), async (r, w) => {
      const ch = values('simplex Pipe same process', w, r, 65_531);
      await boundaries(ch, CONNECTION_SIZES);
      await randomValues(ch, 240);
      await randomSizes(ch, 10);
    });
  });

  it('sendBytes/recvBytes: the bytes as they are, every boundary size; a subrange (offset, size)', async () => {
    await withPipe(Pipe(), async (a, b) => {
      await byteStrings(bytes('sendBytes same process', a, b, 100_000), 100);
      await check(
        fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), async (buf, x, y) => {
          const offset = buf.length ? x % buf.length : 0;
          const size = buf.length - offset ? y % (buf.length - offset) : 0;
          a.sendBytes(buf, offset, size);
          expect(difference(buf.subarray(offset, offset + size), await b.recvBytes(30_000))).toBeUndefined();
          count('sendBytes same process', 'random', size);
        }),
        runs(60),
      );
    });
  });

  it('bursts: many values sent before any is received arrive whole and in order (frames batched in one read)', async () => {
    await withPipe(Pipe(), async (a, b) => {
      await check(
        fc.asyncProperty(fc.array(anyValue, { minLength: 1, maxLength: 25 }), async (vs) => {
          // everything is sent before anything is received, as long as the socket holds it (32 KiB here)
          const got: unknown[] = [];
          const inFlight: number[] = []; // frame sizes sent and not yet received
          for (const v of vs) {
            const n = measure(v) + 5;
            fits(v, n, 100_000);
            while (inFlight.length > 0 && inFlight.reduce((x, y) => x + y, 0) + n > 32_768) {
              got.push(await receive(b, got.length));
              inFlight.shift();
            }
            a.send(v);
            inFlight.push(n);
          }
          while (got.length < vs.length) got.push(await receive(b, got.length));
          count('burst same process', 'random');
          const d = difference(vs, got);
          if (d) throw new Error(d);
        }),
        runs(60),
      );
    });
  });

  it('maxMessageBytes: a message over the limit is refused by send with nothing written; at the limit it passes', async () => {
    await withPipe(Pipe(true, { maxMessageBytes: 4096 }), async (a, b) => {
      await check(
        fc.asyncProperty(fc.integer({ min: 4080, max: 4110 }), fc.boolean(), async (n, asBytes) => {
          const v = asBytes ? new Uint8Array(n) : 'x'.repeat(n);
          let err: NodeJS.ErrnoException | undefined;
          try {
            if (asBytes) a.sendBytes(v as Uint8Array);
            else a.send(v);
          } catch (e) {
            err = e as NodeJS.ErrnoException;
          }
          if (n > 4096) {
            expect(err?.code).toBe('ERR_MULTIPROC_MESSAGE_TOO_LARGE');
            count('maxMessageBytes', 'hostile');
          } else {
            expect(err).toBeUndefined();
            expect(difference(v, asBytes ? await b.recvBytes(30_000) : await b.recv(30_000))).toBeUndefined();
            count('maxMessageBytes', 'random', n);
          }
          a.send('next');
          expect(await b.recv(30_000)).toBe('next');
        }),
        runs(40),
      );
      for (const n of [4095, 4096, 4097]) {
        if (n > 4096) expect(() => a.sendBytes(new Uint8Array(n))).toThrow(expect.objectContaining({ code: 'ERR_MULTIPROC_MESSAGE_TOO_LARGE' }));
        else {
          a.sendBytes(new Uint8Array(n));
          expect((await b.recvBytes(30_000)).byteLength).toBe(n);
        }
      }
    });
  });
});

describe('Connection properties, to a forked echo peer and back', () => {
  it('duplex Pipes: the peer receives each value (recvSync) and sends it back; bytes with sendBytes', async () => {
    const [mine, theirs] = Pipe();
    const [mineB, theirsB] = Pipe();
    const END = endMarker();
    const ENDB = new Uint8Array(Buffer.from(END));
    const pid = await forkRun(() => {
      mine.close();
      mineB.close();
      for (;;) {
        const v = theirs.recvSync();
        if (v === END) break;
        theirs.send(v);
      }
      for (;;) {
        const b = theirsB.recvBytesSync();
        if (Buffer.from(b).equals(ENDB)) break;
        theirsB.sendBytes(b);
      }
      return 0;
    });
    theirs.close();
    theirsB.close();
    try {
      const ch = values('duplex Pipe across a fork', mine, mine);
      await boundaries(ch, CONNECTION_SIZES);
      await randomValues(ch, 600);
      await randomSizes(ch, 25);
      await hostileValues(ch, (v) => mine.send(v), 10);
      mine.send(END);
      await byteStrings(bytes('sendBytes across a fork', mineB, mineB), 60);
      mineB.sendBytes(ENDB);
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
    } finally {
      mine.close();
      mineB.close();
      await reap(pid).catch(() => undefined);
    }
  });
});

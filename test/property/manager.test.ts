// Property tests: values stored in a Manager's dict, list, Namespace, Value and Queue come back unchanged, through
// the async and the …Sync clients, and through a forked child's own connection (values, equality and seed:
// ./values.ts). Every call crosses to the server process and back.
//
// Fast paths and thresholds of this channel (lib/mp/manager/wire.ts, lib/mp/manager/client.ts, lib/mp/manager/server.ts):
// - a frame is [u32 big-endian length][kind][body]: kind JSON for plain data with no shared object
//   (codec.jsonSafe: finite numbers but -0, strings, booleans, null, plain objects, dense arrays), else a
//   structured clone (v8 serializer). A request [id, oid, method, args] and a reply [id, ok, value] are each one
//   message, so a value's kind decides the whole frame's encoding; a reply of undefined leaves the value out.
// - trailing undefined arguments are left out of a request (the server sees undefined all the same):
//   set(k, undefined) is an example.
// - the …Sync client reads a frame into a 64 KiB scratch buffer when it fits (65,532 bytes of body), else into a
//   buffer of its own: reply bodies of 65,532 / 65,533 bytes are examples (measured as the getSync reply).
// - the async client and the server cut frames out of socket chunks (64 KiB each): MiB-size values cross many.
// - message limit (default 64 MiB): refused by the client before sending, by the server on receipt; tested by
//   the Manager's own tests (test/manager.test.ts); values here stay under it.
// - dict keys are primitives compared as a Map compares them (SameValueZero: -0 and 0 are one key, NaN is a key).
// - sizes: 0, 1, 255, 256, 4 KiB±1, 64 KiB±1, 256 KiB±1 and 3 MiB + 1 bytes of reply body.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DictProxy, type ListProxy, Manager, type NamespaceProxy, type QueueProxy, type ValueProxy } from '../../lib/index.js';
import { encode } from '../../lib/mp/manager/wire.js';
import { forkRun, reap } from '../helpers/child.js';
import { anyValue, boundaries, type Channel, check, count, difference, endMarker, exactSizes, hostileValues, propertyFile, randomSizes, randomValues, runs, text } from './values.js';

propertyFile('manager');

/** The body of the getSync reply that carries v: [1, true, v]. */
const measure = (v: unknown): number => encode([1, true, v], Infinity).length - 4;
const MANAGER_SIZES = [65_532, 65_533];

let m: Manager;
let d: DictProxy<unknown>;
beforeAll(async () => {
  m = await Manager.start({ startMethod: 'fork' });
  d = await m.dict();
});
afterAll(async () => {
  await m?.shutdown();
});

describe('Manager properties', () => {
  it('dict, async: set(k, v) then get(k) — every boundary size and corner, random values, hostile values', async () => {
    const ch: Channel = {
      name: 'Manager dict async',
      measure,
      async roundTrip(v) {
        await d.set('k', v);
        return d.get('k');
      },
    };
    await boundaries(ch, MANAGER_SIZES);
    await randomValues(ch, 450);
    await randomSizes(ch, 20);
    await hostileValues(ch, (v) => d.set('k', v), 10);
  });

  it('dict, Sync: setSync then getSync — every boundary size and corner, random values', async () => {
    const ch: Channel = {
      name: 'Manager dict Sync',
      measure,
      async roundTrip(v) {
        d.setSync('s', v);
        return d.getSync('s');
      },
    };
    await boundaries(ch, MANAGER_SIZES);
    await randomValues(ch, 450);
    await randomSizes(ch, 20);
  });

  it('the reply-body boundary sizes are hit exactly', () => {
    const hit = exactSizes({ name: 'Manager', measure, roundTrip: async () => undefined }, MANAGER_SIZES);
    for (const size of [255, 256, 4095, 4096, 4097, 65532, 65533, 65535, 65536, 65537, 262143, 262144, 262145]) expect(hit.has(size), `reply body ${size}`).toBe(true);
  });

  it('list, Namespace, Value: what is stored is what comes back', async () => {
    const l = (await m.list()) as ListProxy<unknown>;
    const ns = (await m.Namespace()) as NamespaceProxy;
    const val = (await m.Value(undefined)) as ValueProxy<unknown>;
    const chans: Channel[] = [
      {
        name: 'Manager list',
        measure,
        async roundTrip(v, i) {
          await l.push(v);
          return i % 2 ? l.getSync(-1) : l.pop();
        },
      },
      {
        name: 'Manager Namespace',
        measure,
        async roundTrip(v, i) {
          await ns.set('attr', v);
          return i % 2 ? ns.getSync('attr') : ns.get('attr');
        },
      },
      {
        name: 'Manager Value',
        measure,
        async roundTrip(v, i) {
          if (i % 2) val.setSync(v);
          else await val.set(v);
          return val.get();
        },
      },
    ];
    for (const ch of chans) {
      await boundaries(ch, [], { huge: false });
      await randomValues(ch, 120);
      await randomSizes(ch, 10);
    }
    // a list of values as one message (toArray), and an object of values (toObject)
    await check(
      fc.asyncProperty(fc.array(anyValue, { maxLength: 10 }), async (vs) => {
        const l2 = (await m.list(vs)) as ListProxy<unknown>;
        const got = await l2.toArray();
        count('Manager list', 'random');
        const diff = difference(vs, got);
        if (diff) throw new Error(diff);
      }),
      runs(30),
    );
  });

  it('dict keys: every primitive key finds its value (keys compare as in a Map: SameValueZero)', async () => {
    const keys = fc.uniqueArray(fc.oneof(text, fc.double(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.constant(undefined)), {
      maxLength: 12,
      comparator: 'SameValueZero',
    });
    await check(
      fc.asyncProperty(keys, async (ks) => {
        const dk = (await m.dict()) as DictProxy<number>;
        for (let i = 0; i < ks.length; i++) await dk.set(ks[i] as never, i);
        for (let i = 0; i < ks.length; i++) {
          const got = i % 2 ? dk.getSync(ks[i] as never) : await dk.get(ks[i] as never);
          if (got !== i) throw new Error(`key ${String(ks[i])} (${typeof ks[i]}) gave ${String(got)}, not ${i}`);
        }
        const back = await dk.keys();
        count('Manager dict keys', 'random');
        // the keys come back in insertion order, each equal to the one sent (a -0 key was stored as 0 by the Map)
        const expected = ks.map((k) => (Object.is(k, -0) ? 0 : k));
        const diff = difference(expected, back);
        if (diff) throw new Error(diff);
      }),
      runs(30),
    );
  });

  it('Queue proxy to a forked child and back: the child gets each value (getSync, its own connection) and puts it back', async () => {
    const inQ = (await m.Queue()) as QueueProxy<unknown>;
    const outQ = (await m.Queue()) as QueueProxy<unknown>;
    const END = endMarker();
    const pid = await forkRun(() => {
      for (;;) {
        const v = inQ.getSync();
        if (v === END) return 0;
        outQ.putSync(v);
      }
    });
    try {
      const ch: Channel = {
        name: 'Manager Queue across a fork',
        measure,
        async roundTrip(v) {
          await inQ.put(v);
          return outQ.get({ timeout: 30_000 });
        },
      };
      await boundaries(ch, MANAGER_SIZES);
      await randomValues(ch, 180);
      await randomSizes(ch, 10);
    } finally {
      await inQ.put(END);
      expect(await reap(pid)).toMatchObject({ kind: 'exited', code: 0 });
    }
  });
});

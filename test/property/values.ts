// Shared by the property tests in this folder: the values every channel must carry unchanged, the equality
// they are judged by, the seed, and the builders of values of an exact encoded size.
//
// Seed: a fresh one per run, printed at the start of each file; MULTIPROC_PROPERTY_SEED=<n> replays a run (the
// same seed gives the same values in the same order). MULTIPROC_PROPERTY_RUNS=<k> multiplies every random run
// count by k (a longer hunt; the default keeps the whole property suite near 30 s).
//
// What the channels promise (and what these tests hold them to): a value that goes in comes out equal, or the
// put/send throws a coded error (ERR_MULTIPROC_NOT_CLONEABLE, ERR_MULTIPROC_NOT_SENDABLE, a size limit) and
// nothing is delivered. Equality (difference() below) is stricter than a deep-equal: -0 is not 0, NaN is NaN,
// a hole in an array is not an undefined element, a Buffer is not a Uint8Array, a Float32Array is not a
// Float64Array, Map and Set order counts, an invalid Date equals only an invalid Date, and two references to
// one object inside a value must arrive as two references to one object.
//
// What is generated: numbers (every double, with -0, NaN, ±Infinity, integers, subnormals), bigints, strings
// (ASCII, BMP, astral, a leading U+FEFF, lone surrogates), booleans, null, undefined, plain objects (string
// keys, including "__proto__" as an own key), dense and sparse arrays, arrays with named properties, Dates (invalid too), Maps, Sets, every
// typed array, Buffers, DataViews, ArrayBuffers, and nestings of these. Not generated, by the contract of
// structured clone that the codec follows: class instances and null-prototype objects (they arrive as plain
// objects), functions and symbols (refused: see the hostile values), boxed primitives, errors.
//
// Lone surrogates: a string with a UTF-16 surrogate that has no partner has no UTF-8 form. It must arrive
// unchanged on every channel (lib/mp/core/codec.ts sends such a top-level string as a structured clone; inside objects
// JSON escapes it as \udXXX).
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll } from 'vitest';
import { checkLeaks } from '../helpers/leaks.js';

export const SEED = process.env.MULTIPROC_PROPERTY_SEED ? Number(process.env.MULTIPROC_PROPERTY_SEED) : randomBytes(4).readInt32LE(0);
if (!Number.isInteger(SEED)) throw new Error(`MULTIPROC_PROPERTY_SEED must be an integer, got ${process.env.MULTIPROC_PROPERTY_SEED}`);
const RUNS_FACTOR = Number(process.env.MULTIPROC_PROPERTY_RUNS ?? 1);

/** Random runs for a property: n, times MULTIPROC_PROPERTY_RUNS. */
export function runs(n: number): number {
  return Math.max(1, Math.round(n * RUNS_FACTOR));
}

/** Cases tried, by channel, for the summary each file prints. */
export const tally = new Map<string, { boundary: number; random: number; hostile: number; maxBytes: number }>();

export function count(channel: string, kind: 'boundary' | 'random' | 'hostile', bytes = 0): void {
  let t = tally.get(channel);
  if (!t) tally.set(channel, (t = { boundary: 0, random: 0, hostile: 0, maxBytes: 0 }));
  t[kind]++;
  t.maxBytes = Math.max(t.maxBytes, bytes);
}

export function summary(): string {
  return [...tally]
    .map(([ch, t]) => `${ch}: ${t.boundary} boundary + ${t.random} random + ${t.hostile} hostile cases (largest ${t.maxBytes} bytes)`)
    .join('\n');
}

/** What every property test file does first: the leak check, its seed printed, its case counts at the end. */
export function propertyFile(file: string): void {
  checkLeaks();
  process.stdout.write(`[property] ${file}: seed ${SEED} (replay: MULTIPROC_PROPERTY_SEED=${SEED})\n`);
  afterAll(() => process.stdout.write(`[property] ${summary()}\n`));
}

/** fc.assert with this run's seed; a failure names the seed to replay it with. */
export async function check<Ts extends [unknown, ...unknown[]]>(prop: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(prop as fc.IAsyncProperty<Ts>, { seed: SEED, numRuns });
  } catch (e) {
    (e as Error).message = `${(e as Error).message}\n(replay: MULTIPROC_PROPERTY_SEED=${SEED})`;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// equality

function describeString(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const at = (s: string) => (i < s.length ? `U+${s.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}` : 'the end');
  return `string of length ${a.length} became one of length ${b.length}; first difference at ${i}: ${at(a)} became ${at(b)}`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v.length > 40 ? `a string of length ${v.length}` : JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

function protoName(p: object | null): string {
  return p === null ? 'null' : ((p as { constructor?: { name?: string } }).constructor?.name ?? '?');
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Uint8Array {
  return v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** undefined when `got` is the same value as `sent` (see the file's comment), else where and how it differs. */
export function difference(sent: unknown, got: unknown, path = 'value', seen = new Map<object, object>()): string | undefined {
  if (typeof sent !== typeof got) return `${path}: ${typeof sent} ${show(sent)} became ${typeof got} ${show(got)}`;
  if (typeof sent === 'string' && sent !== got) return `${path}: ${describeString(sent, got as string)}`;
  if (sent === null || got === null || typeof sent !== 'object') {
    return Object.is(sent, got) ? undefined : `${path}: ${show(sent)} became ${show(got)}`;
  }
  const a = sent as object;
  const b = got as object;
  const before = seen.get(a);
  if (before !== undefined) return before === b ? undefined : `${path}: a second reference to an object became a separate copy`;
  seen.set(a, b);
  const pa = Object.getPrototypeOf(a) as object | null;
  const pb = Object.getPrototypeOf(b) as object | null;
  if (pa !== pb) return `${path}: a ${protoName(pa)} became a ${protoName(pb)}`;
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const x = bytesOf(a);
    const y = bytesOf(b as ArrayBuffer);
    if (x.byteLength !== y.byteLength) return `${path}: ${x.byteLength} bytes became ${y.byteLength}`;
    for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return `${path}: byte ${i} was ${x[i]}, became ${y[i]}`;
    return undefined;
  }
  if (a instanceof Date) {
    return Object.is(a.getTime(), (b as Date).getTime()) ? undefined : `${path}: Date ${a.getTime()} became ${(b as Date).getTime()}`;
  }
  if (a instanceof Map || a instanceof Set) {
    const x = [...(a as Map<unknown, unknown>).entries()];
    const y = [...(b as Map<unknown, unknown>).entries()];
    if (x.length !== y.length) return `${path}: ${x.length} entries became ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      const d = difference(x[i]![0], y[i]![0], `${path}.<key ${i}>`, seen) ?? difference(x[i]![1], y[i]![1], `${path}.<value ${i}>`, seen);
      if (d) return d;
    }
    return undefined;
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return `${path}: length ${a.length} became ${(b as unknown[]).length}`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    const missing = ka.filter((k) => !kb.includes(k));
    const extra = kb.filter((k) => !ka.includes(k));
    return `${path}: own keys differ (lost ${JSON.stringify(missing.slice(0, 5))}, gained ${JSON.stringify(extra.slice(0, 5))}${missing.length + extra.length ? '' : ', order changed'})`;
  }
  for (const k of ka) {
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}[${JSON.stringify(k)}]`, seen);
    if (d) return d;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// arbitrary values

const ascii = fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c));
const bmp = fc.integer({ min: 0x80, max: 0xffff - 0x800 }).map((c) => String.fromCharCode(c >= 0xd800 ? c + 0x800 : c)); // no surrogates
const astral = fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const unit = fc.oneof(
  { weight: 6, arbitrary: ascii },
  { weight: 3, arbitrary: bmp },
  { weight: 2, arbitrary: astral },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: fc.constantFrom('\ufeff', '\u0000', '\ud83d\ude00', 'é', '€') },
);

/** Strings of every kind of UTF-16 content, short (most) and medium. */
export const text = fc.oneof(
  { withCrossShrink: true },
  { weight: 4, arbitrary: fc.string({ unit, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit, maxLength: 600, size: 'medium' }) },
);

export const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** 53, -(2 ** 53) - 2, 0.1, 1e21, 1e-7),
);

const key = fc.oneof({ weight: 5, arbitrary: fc.string({ unit, maxLength: 8 }) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', '0', '1', '-1', 'length', 'toJSON') });

const primitive = fc.oneof(
  { weight: 3, arbitrary: number },
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 2, arbitrary: fc.constantFrom(true, false, null, undefined) },
);

const typed = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  fc.int8Array({ maxLength: 20 }),
  fc.uint8ClampedArray({ maxLength: 20 }),
  fc.int16Array({ maxLength: 20 }),
  fc.uint16Array({ maxLength: 20 }),
  fc.int32Array({ maxLength: 20 }),
  fc.uint32Array({ maxLength: 20 }),
  fc.float32Array({ maxLength: 20 }),
  fc.float64Array({ maxLength: 20 }),
  fc.bigInt64Array({ maxLength: 10 }),
  fc.bigUint64Array({ maxLength: 10 }),
  fc.uint8Array({ maxLength: 24 }).map((u) => new DataView(u.buffer)),
  fc.uint8Array({ maxLength: 24 }).map((u) => u.buffer),
  // a view that does not start at its buffer's start (only the view's bytes travel)
  fc.uint8Array({ minLength: 4, maxLength: 24 }).map((u) => u.subarray(2)),
);

/** A plain object with the given own entries, "__proto__" included as an own key (as JSON.parse makes it). */
function plain(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const tree = fc.letrec<{ value: unknown; object: Record<string, unknown>; array: unknown[] }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: primitive },
    { weight: 2, arbitrary: tie('object') },
    { weight: 2, arbitrary: tie('array') },
    { weight: 1, arbitrary: fc.sparseArray(tie('value'), { maxLength: 8, noTrailingHole: false }) },
    // an array with named properties too (a non-index key: JSON would drop it)
    { weight: 1, arbitrary: fc.tuple(tie('array'), fc.array(fc.tuple(key.map((k) => `p${k}`), tie('value')), { minLength: 1, maxLength: 3 })).map(([a, es]) => Object.assign(a, plain(es))) },
    { weight: 1, arbitrary: typed },
    { weight: 1, arbitrary: fc.date({ noInvalidDate: false }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(primitive, tie('value')), { maxLength: 4 }).map((es) => new Map(es)) },
    { weight: 1, arbitrary: fc.array(primitive, { maxLength: 5 }).map((es) => new Set(es)) },
  ),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(plain),
  array: fc.array(tie('value'), { maxLength: 6 }),
}));

/** Every kind of value the codec accepts, nested. */
export const anyValue: fc.Arbitrary<unknown> = tree.value;

/** Values whose only objects are plain objects and dense arrays of JSON-able leaves (the codecs' JSON path). */
export const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    { weight: 4, arbitrary: fc.oneof(fc.double({ noDefaultInfinity: true, noNaN: true }).filter((x) => !Object.is(x, -0)), text, fc.boolean(), fc.constant(null)) },
    { weight: 1, arbitrary: fc.array(tie('v'), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.array(fc.tuple(key, tie('v')), { maxLength: 5 }).map(plain) },
  ),
})).v;

/** Values that contain something no channel can carry (a function, a symbol, a WeakMap…) somewhere. */
export const hostile: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.constantFrom<() => unknown>(
      () => () => 1,
      () => Symbol('s'),
      () => new WeakMap(),
      () => Promise.resolve(1),
      () => new SharedArrayBuffer(8),
    ),
    fc.array(key, { minLength: 0, maxLength: 3 }),
    fc.boolean(),
  )
  .map(([make, path, inArray]) => {
    let v: unknown = make();
    for (const k of path) v = inArray ? [1, v] : plain([['ok', 1], [k, v]]);
    return v;
  });

/** Values with two references to one object inside (structured clone keeps them one object). */
function aliased(): [string, unknown][] {
  const shared = { s: 'shared', n: [1, 2] };
  const arr = [1, 2, 3];
  return [
    ['one object twice in an array', [shared, shared]],
    ['one object under two keys', { a: shared, b: { c: shared } }],
    ['one array twice', [arr, { arr }]],
    ['one object twice in a Map', new Map([[1, shared], [2, shared]])],
  ];
}

/** Values that broke a channel once, and other sharp corners: tried on every channel in every run. */
export function corners(): [string, unknown][] {
  const protoKey = JSON.parse('{"__proto__": {"x": 1}, "a": [1]}') as unknown;
  return [
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate in text', 'a\udc00b'],
    ['a reversed surrogate pair', '\udc00\ud800'],
    ['a leading byte-order mark', '\ufeffabc'],
    ['a byte-order mark alone', '\ufeff'],
    ['NUL characters', '\u0000a\u0000'],
    ['undefined', undefined],
    ['null', null],
    ['-0', -0],
    ['NaN', NaN],
    ['-Infinity', -Infinity],
    ['a negative bigint', -(2n ** 70n)],
    ['"__proto__" as an own key', protoKey],
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['an array of holes', new Array(3)],
    ['an array with a trailing hole', [1, , ]], // eslint-disable-line no-sparse-arrays
    ['an array with a named property', Object.assign([1, 2], { extra: 'x' })],
    ['an invalid Date', new Date(NaN)],
    ['an empty Uint8Array', new Uint8Array(0)],
    ['an empty Buffer', Buffer.alloc(0)],
    ['an empty string', ''],
    ['an empty object', {}],
    ['an empty array', []],
    ['numbers in an object', { a: -0, b: NaN, c: Infinity }],
    ['a 256 KiB string (issue 14)', 'a'.repeat(262_144)],
    ['a 256 KiB non-ASCII string (issue 14)', 'é'.repeat(131_072)],
    ...aliased(),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// values of an exact encoded size

/** How a value of about k bytes of payload is built. */
export interface Shape {
  name: string;
  make(k: number): unknown;
  /** true: also built at the MiB sizes (the other shapes stop at 1 MiB, to keep the suite fast). */
  huge?: boolean;
}

function fill(unitStr: string, unitBytes: number, k: number): string {
  // k UTF-8 bytes: as many units as fit, the rest in ASCII
  return unitStr.repeat(Math.floor(k / unitBytes)) + 'a'.repeat(k % unitBytes);
}

export const SHAPES: Shape[] = [
  { name: 'ASCII string', make: (k) => 'a'.repeat(k), huge: true },
  { name: '2-byte string', make: (k) => fill('é', 2, k), huge: true },
  { name: '3-byte string', make: (k) => fill('€', 3, k) },
  { name: 'astral string', make: (k) => fill('😀', 4, k), huge: true },
  { name: 'Uint8Array', make: (k) => new Uint8Array(k).map((_, i) => (i * 7 + 3) & 255), huge: true },
  { name: 'Buffer', make: (k) => Buffer.alloc(k, 'xyz') },
  { name: 'JSON object', make: (k) => ({ s: 'j'.repeat(k), n: [1, 2.5, null, true] }) },
  { name: 'cloned Map', make: (k) => new Map<unknown, unknown>([['s', 'm'.repeat(k)], [-0, [NaN, undefined]]]), huge: true },
  { name: 'Float64Array', make: (k) => new Float64Array(Math.max(0, Math.floor(k / 8))).map((_, i) => (i % 3 === 0 ? -0 : i / 3)) },
];

/**
 * The value of `shape` whose size by `measure` is `target`, or the smallest one above it when no payload size
 * hits it exactly (a length prefix that grows by a byte, a shape with a 2-, 3- or 8-byte step).
 */
export function sized(shape: Shape, target: number, measure: (v: unknown) => number): { value: unknown; bytes: number } | undefined {
  const base = measure(shape.make(0));
  if (base > target) return undefined;
  let k = target - base;
  let best: { value: unknown; bytes: number } | undefined;
  // a few steps of correction: the first guess is exact for byte-per-unit shapes; length prefixes move it a little
  for (let step = 0; step < 24 && k >= 0; step++) {
    const v = shape.make(k);
    const n = measure(v);
    if (n === target) return { value: v, bytes: n };
    if (n > target && (!best || n < best.bytes)) best = { value: v, bytes: n };
    k += n < target ? Math.max(1, Math.floor((target - n) / 2)) : -1;
  }
  return best;
}

/** Every framing and fast-path boundary that matters to every channel, in bytes of body. */
export const COMMON_SIZES = [0, 1, 255, 256, 4095, 4096, 4097, 65535, 65536, 65537, 262143, 262144, 262145];
/** "Several MiB": 3 MiB + 1. */
export const HUGE = 3 * 2 ** 20 + 1;

/** A random nonce: a value no generator produces, to tell an echo peer to stop. */
export function endMarker(): string {
  return `multiproc-property-end-${randomBytes(16).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------------------
// the round trip every channel is put through

/** One way through a channel and back (or to a peer and back): what goes in, what comes out. */
export interface Channel {
  name: string;
  /** The size the channel's framing sees for v (the body its thresholds are about). */
  measure(v: unknown): number;
  /** Sends v and returns what came out at the other end. */
  roundTrip(v: unknown, i: number): Promise<unknown>;
  /** Sizes above this are left out (a same-process test that would block on a full socket buffer). */
  maxBytes?: number;
}

function fail(ch: Channel, what: string, why: string): never {
  throw new Error(`${ch.name}: ${what}: ${why}`);
}

/** Every corner (above), then every shape at every size (and the channel's own sizes), as explicit examples. */
export async function boundaries(ch: Channel, extraSizes: number[] = [], opts: { huge?: boolean } = {}): Promise<number> {
  for (const [what, value] of corners()) {
    if (ch.maxBytes !== undefined && ch.measure(value) > ch.maxBytes) continue;
    let got: unknown;
    try {
      got = await ch.roundTrip(value, 0);
    } catch (e) {
      fail(ch, what, `refused or failed: ${(e as Error).stack}`);
    }
    const d = difference(value, got);
    if (d) fail(ch, what, d);
    count(ch.name, 'boundary', ch.measure(value));
  }
  const sizes = [...new Set([...COMMON_SIZES, ...extraSizes, ...(opts.huge === false ? [] : [HUGE])])].sort((a, b) => a - b);
  let n = 0;
  for (const shape of SHAPES) {
    for (const target of sizes) {
      if (ch.maxBytes !== undefined && target > ch.maxBytes) continue;
      if (target > 2 ** 20 && !shape.huge) continue;
      const s = sized(shape, target, ch.measure);
      if (!s || (ch.maxBytes !== undefined && s.bytes > ch.maxBytes)) continue;
      const what = `${shape.name} of ${s.bytes} bytes (target ${target})`;
      let got: unknown;
      try {
        got = await ch.roundTrip(s.value, n);
      } catch (e) {
        fail(ch, what, `refused or failed: ${(e as Error).stack}`);
      }
      const d = difference(s.value, got);
      if (d) fail(ch, what, d);
      count(ch.name, 'boundary', s.bytes);
      n++;
    }
  }
  return n;
}

/** The sizes `boundaries` reaches exactly for this channel (a check that the boundary examples are real). */
export function exactSizes(ch: Channel, extraSizes: number[] = []): Set<number> {
  const hit = new Set<number>();
  for (const shape of SHAPES)
    for (const target of [...COMMON_SIZES, ...extraSizes]) {
      if (ch.maxBytes !== undefined && target > ch.maxBytes) continue;
      if (sized(shape, target, ch.measure)?.bytes === target) hit.add(target);
    }
  return hit;
}

/** Random values of every kind; `numRuns` of them (times MULTIPROC_PROPERTY_RUNS). */
export async function randomValues(ch: Channel, numRuns: number, arb: fc.Arbitrary<unknown> = anyValue): Promise<void> {
  let i = 0;
  await check(
    fc.asyncProperty(arb, async (v) => {
      const got = await ch.roundTrip(v, i++);
      const d = difference(v, got);
      count(ch.name, 'random', 0);
      if (d) throw new Error(d);
    }),
    runs(numRuns),
  );
}

/**
 * Random shapes at random sizes up to 300,000 bytes (between the boundaries, and up to the side channel); on a
 * failure fast-check shrinks the size, so the counter-example is the smallest size that fails.
 */
export async function randomSizes(ch: Channel, numRuns: number): Promise<void> {
  const max = Math.min(300_000, ch.maxBytes ?? Infinity);
  let i = 0;
  await check(
    fc.asyncProperty(fc.constantFrom(...SHAPES), fc.integer({ min: 0, max }), async (shape, target) => {
      const s = sized(shape, target, ch.measure);
      if (!s || s.bytes > max) return;
      const d = difference(s.value, await ch.roundTrip(s.value, i++));
      count(ch.name, 'random', s.bytes);
      if (d) throw new Error(`${shape.name} of ${s.bytes} bytes: ${d}`);
    }),
    runs(numRuns),
  );
}

/** Codes a refused send may carry. */
export const REFUSED = ['ERR_MULTIPROC_NOT_CLONEABLE', 'ERR_MULTIPROC_NOT_SENDABLE'];

/**
 * Values nothing can carry: the send must throw a coded error, deliver nothing, and leave the channel in step
 * (the next value arrives, and is the next value).
 */
export async function hostileValues(ch: Channel, send: (v: unknown) => unknown, numRuns: number): Promise<void> {
  let i = 0;
  await check(
    fc.asyncProperty(hostile, async (v) => {
      let err: NodeJS.ErrnoException | undefined;
      try {
        await send(v);
      } catch (e) {
        err = e as NodeJS.ErrnoException;
      }
      if (!err) throw new Error('a value holding a function/symbol/WeakMap/Promise/SharedArrayBuffer was accepted');
      if (!REFUSED.includes(err.code ?? '')) throw new Error(`refused with code ${err.code}: ${err.message}`);
      const marker = `after-hostile-${i++}`;
      const got = await ch.roundTrip(marker, i);
      if (got !== marker) throw new Error(`the next value was ${show(got)}, not ${marker}: the refused value was (partly) delivered`);
      count(ch.name, 'hostile');
    }),
    runs(numRuns),
  );
}

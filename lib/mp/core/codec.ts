// The compact message encodings shared by Connection and Queue: numbers, strings, booleans, null, undefined,
// bigints and byte arrays have encodings of their own (v8.serialize + deserialize of even a small value costs
// microseconds); everything else is structured-cloned. Shared objects are refused (lib/mp/core/sendable.ts).
//
// Strings: a well-formed string travels as UTF-8 (Kind.String, or inside Kind.Json). A string with a lone
// surrogate (a UTF-16 code unit 0xD800–0xDFFF without its partner) has no UTF-8 form — TextEncoder and Buffer
// would turn it into U+FFFD — so it is structured-cloned instead (v8.serialize keeps UTF-16 as it is) and
// arrives unchanged. Inside objects JSON.stringify escapes lone surrogates (\udXXX) and JSON.parse restores them.
//
// encode()/decode() are the one codec: Connection frames and Queue records carry [kind, body]; the Queue's
// in-place fast path for numbers and short strings (encodeShortInto) writes the same bodies.
import v8 from 'node:v8';
import { checkSendable } from './sendable.js';
import { coded } from '../../posix/errors.js';

export enum Kind {
  Clone = 0,
  Bytes = 1,
  Number = 2,
  String = 3,
  True = 4,
  False = 5,
  Null = 6,
  Undefined = 7,
  BigInt = 8,
  /** Plain objects and arrays of strings, finite numbers, booleans and null: JSON, exactly equivalent here. */
  Json = 9,
}
export const LAST_KIND = Kind.Json;

/**
 * True when JSON round-trips v exactly as structured clone would: plain objects (prototype Object.prototype or
 * null) and dense arrays without named properties, nested at most 32 deep, of strings, finite numbers other than -0, booleans and null,
 * with no object reached twice (JSON would make copies of a shared object; structured clone keeps it one).
 * Anything else (undefined, NaN, Dates, Maps, typed arrays, class instances, functions, shared objects) is not.
 */
export function jsonSafe(v: unknown): boolean {
  try {
    return safe(v, 0);
  } finally {
    if (seen.size > 0) seen.clear(); // clear() makes a new table even when empty
  }
}

/** The objects one jsonSafe() call has met (one set for every call: no allocation). */
const seen = new Set<object>();

function safe(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 32) return false; // also what ends a cycle (the root is not in `seen`: a flat object costs no set)
      if (depth > 0) {
        if (seen.has(v)) return false;
        seen.add(v);
      }
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        // Dense, and nothing but its elements (JSON drops an array's named properties; structured clone keeps
        // them): its own keys are exactly "0" … "length-1". A hole makes fewer keys; a named property, more; both,
        // a last key that is not the last index.
        const n = v.length;
        const keys = Object.keys(v);
        if (keys.length !== n || (n > 0 && keys[n - 1] !== String(n - 1))) return false;
        for (let i = 0; i < n; i++) if (!safe(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!safe((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

// Numbers are little-endian float64 on the wire. A DataView is the fast way to read and write them; the last
// one made is kept for the next number read from the same array (a Queue reads every record from one).
let lastArray: Uint8Array | undefined;
let lastView: DataView | undefined;

function readF64(b: Uint8Array): number {
  if (b !== lastArray) {
    lastArray = b;
    lastView = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return lastView!.getFloat64(0, true);
}

const utf8Encoder = new TextEncoder();

/** String.prototype.isWellFormed (ES2024; on every Node this package supports): no lone surrogate. */
function wellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
// The default decoder (its fast path) drops a leading byte-order mark: a string that starts with U+FEFF gets it back.
const utf8Decoder = new TextDecoder();

function utf8(b: Uint8Array): string {
  const s = utf8Decoder.decode(b);
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? `\ufeff${s}` : s;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** The longest string (in UTF-16 units) that encodeShortInto writes in place. */
export const SHORT_STRING = 64;

/**
 * The encodings that need no allocation, written in place: a number's body (8 bytes: kind Number), or a string
 * of at most SHORT_STRING units that fits in `out` after `at` (kind String). `view` is a DataView of out's whole
 * buffer. Returns the body's length, or -1 for any other value (use encode()). The bodies are the ones encode()
 * makes.
 */
export function encodeShortInto(obj: unknown, out: Uint8Array, view: DataView, at: number): number {
  if (typeof obj === 'number') {
    if (out.byteLength - at < 8) return -1;
    view.setFloat64(out.byteOffset + at, obj, true);
    return 8;
  }
  if (typeof obj === 'string' && obj.length <= SHORT_STRING && wellFormed(obj)) {
    const r = utf8Encoder.encodeInto(obj, out.subarray(at));
    if (r.read === obj.length) return r.written;
  }
  return -1;
}

export function encode(obj: unknown): [Kind, Uint8Array] {
  switch (typeof obj) {
    case 'number': {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, obj, true);
      return [Kind.Number, b];
    }
    case 'string':
      if (wellFormed(obj)) return [Kind.String, Buffer.from(obj, 'utf8')];
      return [Kind.Clone, v8.serialize(obj)];
    case 'boolean':
      return [obj ? Kind.True : Kind.False, EMPTY];
    case 'undefined':
      return [Kind.Undefined, EMPTY];
    case 'bigint':
      return [Kind.BigInt, Buffer.from(obj.toString(), 'latin1')];
    default:
      if (obj === null) return [Kind.Null, EMPTY];
      if (obj instanceof Uint8Array && Object.getPrototypeOf(obj) === Uint8Array.prototype) return [Kind.Bytes, obj];
      if (jsonSafe(obj)) return [Kind.Json, Buffer.from(JSON.stringify(obj), 'utf8')];
      checkSendable(obj);
      try {
        return [Kind.Clone, v8.serialize(obj)];
      } catch (e) {
        throw coded(new TypeError(`This value cannot be sent: ${(e as Error).message}`, { cause: e }), 'ERR_MULTIPROC_NOT_CLONEABLE');
      }
  }
}

export const EMPTY = new Uint8Array(0);

function badKind(kind: number): Error {
  return coded(new Error(`Malformed message: unknown kind ${kind}`), 'ERR_MULTIPROC_BAD_FRAME');
}

/**
 * The value of a [kind, body] pair, body being the first `length` bytes of `buf`. `scratch`: buf is a buffer its
 * owner reuses, so nothing returned may be a view of it (byte arrays and structured clone's typed arrays are
 * then copies). Otherwise a byte array is a view of buf.
 */
export function decode(kind: Kind, buf: Uint8Array, scratch = false, length = buf.byteLength): unknown {
  switch (kind) {
    case Kind.Number:
      if (length !== 8) throw coded(new Error(`Malformed message: a number of ${length} bytes`), 'ERR_MULTIPROC_BAD_FRAME');
      return readF64(buf);
    case Kind.True:
      return true;
    case Kind.False:
      return false;
    case Kind.Null:
      return null;
    case Kind.Undefined:
      return undefined;
  }
  const body = length === buf.byteLength ? buf : buf.subarray(0, length);
  switch (kind) {
    case Kind.Clone:
      // v8.deserialize returns typed arrays that are views of its input
      return v8.deserialize(scratch ? Buffer.from(body) : body);
    case Kind.Json:
      return JSON.parse(utf8(body));
    case Kind.Bytes:
      return scratch ? new Uint8Array(body) : new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    case Kind.String:
      return utf8(body);
    case Kind.BigInt:
      return BigInt(latin1(body));
    default:
      throw badKind(kind);
  }
}

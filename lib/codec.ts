// The compact message encodings shared by Connection and Queue: numbers, strings, booleans, null, undefined,
// bigints and byte arrays have encodings of their own (v8.serialize + deserialize of even a small value costs
// microseconds); everything else is structured-cloned. Shared objects are refused (lib/sendable.ts).
import v8 from 'node:v8';
import { checkSendable } from './sendable.js';
import { coded } from './validate.js';

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
 * null) and dense arrays, nested at most 32 deep, of strings, finite numbers other than -0, booleans and null.
 * Anything else (undefined, NaN, Dates, Maps, typed arrays, class instances, functions, shared objects) is not.
 */
export function jsonSafe(v: unknown, depth = 0): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (depth > 32) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonSafe(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!jsonSafe((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

export function encode(obj: unknown): [Kind, Uint8Array] {
  switch (typeof obj) {
    case 'number': {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleLE(obj, 0);
      return [Kind.Number, b];
    }
    case 'string':
      return [Kind.String, Buffer.from(obj, 'utf8')];
    case 'boolean':
      return [obj ? Kind.True : Kind.False, EMPTY];
    case 'undefined':
      return [Kind.Undefined, EMPTY];
    case 'bigint':
      return [Kind.BigInt, Buffer.from(obj.toString(), 'latin1')];
    default:
      if (obj === null) return [Kind.Null, EMPTY];
      if (obj instanceof Uint8Array && Object.getPrototypeOf(obj) === Uint8Array.prototype) return [Kind.Bytes, obj];
      if (jsonSafe(obj, 0)) return [Kind.Json, Buffer.from(JSON.stringify(obj), 'utf8')];
      checkSendable(obj);
      try {
        return [Kind.Clone, v8.serialize(obj)];
      } catch (e) {
        throw coded(new TypeError(`This value cannot be sent: ${(e as Error).message}`, { cause: e }), 'ERR_MULTIPROC_NOT_CLONEABLE');
      }
  }
}

export const EMPTY = new Uint8Array(0);

export function decode(kind: Kind, body: Buffer): unknown {
  switch (kind) {
    case Kind.Clone:
      return v8.deserialize(body);
    case Kind.Json:
      return JSON.parse(body.toString('utf8'));
    case Kind.Bytes:
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    case Kind.Number:
      return body.readDoubleLE(0);
    case Kind.String:
      return body.toString('utf8');
    case Kind.True:
      return true;
    case Kind.False:
      return false;
    case Kind.Null:
      return null;
    case Kind.Undefined:
      return undefined;
    case Kind.BigInt:
      return BigInt(body.toString('latin1'));
  }
}


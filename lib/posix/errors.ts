// One place for argument checks of the public API (both layers): the Node-style errors, and the parsers of
// timeouts, sizes and counts that every public function goes through. The native layer checks again (it never
// trusts this one); these give the same kind of error earlier, with the parameter's public name.
//
// Messages and codes are Node's (lib/internal/errors.js):
//   TypeError  ERR_INVALID_ARG_TYPE   The "timeout" argument must be of type number. Received type string ('x')
//   RangeError ERR_OUT_OF_RANGE       The value of "timeout" is out of range. It must be >= 0. Received -1
//   TypeError  ERR_INVALID_ARG_VALUE  The argument 'resource' is invalid. Received 'bogus'
//
// Timeouts (milliseconds), everywhere in the multiprocessing layer and in the posix layer's …Async forms and
// timed waits:
//   undefined, null, Infinity   no timeout (wait as long as it takes); where a method has a default (poll: 0),
//                               undefined is that default and null still means no timeout, as None in Python
//   a number >= 0               that many ms (fractions allowed); 0 = just try
//   above MAX_TIMEOUT_MS        the same as no timeout (2^31-1 ms is 24.8 days: the most a Node timer can
//                               hold; a larger delay would otherwise fire at once)
//   NaN, negative               RangeError ERR_OUT_OF_RANGE
//   anything else (a string)    TypeError ERR_INVALID_ARG_TYPE
// Sizes and counts are safe integers in a documented range; anything else is a TypeError (not a number) or a
// RangeError (NaN, a fraction, out of range, Infinity, 2^53). Sizes of shared memory are also checked against
// what the machine can back (memoryLimit()).
import { native } from '../binding/addon.js';

/** Gives `e` a Node-style `code` and returns it. */
export function coded<E extends Error>(e: E, code: string): E {
  (e as E & { code: string }).code = code;
  return e;
}

/**
 * A TypeError with a Node-style `code` (default ERR_INVALID_ARG_TYPE).
 * @param message the message, as Node words it ('The "fd" argument must be of type number. Received …')
 * @param code the `code` property (default 'ERR_INVALID_ARG_TYPE')
 */
export function typeError(message: string, code = 'ERR_INVALID_ARG_TYPE'): TypeError {
  return coded(new TypeError(message), code);
}

/**
 * A RangeError with a Node-style `code` (default ERR_OUT_OF_RANGE).
 * @param message the message, as Node words it ('The value of "fd" is out of range. It must be …')
 * @param code the `code` property (default 'ERR_OUT_OF_RANGE')
 */
export function rangeError(message: string, code = 'ERR_OUT_OF_RANGE'): RangeError {
  return coded(new RangeError(message), code);
}

/** An Error with a code (ERR_MULTIPROC_…, ERR_INVALID_STATE, …). */
export function stateError(code: string, message: string): Error {
  return coded(new Error(message), code);
}

/** Use after close: an Error with code ERR_MULTIPROC_CLOSED ("The message queue is closed"). */
export function closedError(message: string, options?: ErrorOptions): Error {
  return coded(new Error(message, options), 'ERR_MULTIPROC_CLOSED');
}

/** How Node's messages show a received value: "type string ('x')", "an instance of Map", "undefined". */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return `function ${(v as { name?: string }).name || '<anonymous>'}`;
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name ? `an instance of ${name}` : `${String(v)}`;
  }
  if (typeof v === 'bigint') return `type bigint (${v}n)`;
  if (typeof v === 'symbol') return `type symbol (${String(v)})`;
  let shown = typeof v === 'string' ? `'${v}'` : String(v);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof v} (${shown})`;
}

/** A name as Node quotes it: "x" for an argument, "options.timeout" for a property. */
function what(name: string): string {
  return name.includes('.') ? `The "${name}" property` : `The "${name}" argument`;
}

/** TypeError ERR_INVALID_ARG_TYPE: `The "name" argument must be <expected>. Received …`. */
export function invalidType(name: string, expected: string, value: unknown): TypeError {
  return typeError(`${what(name)} must be ${expected}. Received ${describe(value)}`);
}

/** RangeError ERR_OUT_OF_RANGE: `The value of "name" is out of range. It must be <range>. Received …`. */
export function outOfRange(name: string, range: string, value: unknown): RangeError {
  const shown = typeof value === 'string' ? `'${value}'` : typeof value === 'bigint' ? `${value}n` : String(value);
  return rangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`);
}

/** TypeError ERR_INVALID_ARG_VALUE (a value of the right type that is not one of the accepted ones). */
export function invalidValue(name: string, value: unknown, reason = 'is invalid'): TypeError {
  const kind = name.includes('.') ? 'property' : 'argument';
  const shown = typeof value === 'string' ? `'${value}'` : describe(value);
  return typeError(`The ${kind} '${name}' ${reason}. Received ${shown}`, 'ERR_INVALID_ARG_VALUE');
}

// ---------------------------------------------------------------------------------------------------------
// timeouts

/** The longest finite timeout (ms) that is kept as one: a Node timer's limit. Longer means no timeout. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * A timeout in ms (see the table at the top). Returns Infinity for "no timeout", else a finite number >= 0.
 * `dflt` is what undefined means (Infinity unless the method has a default of its own).
 */
export function timeout(name: string, v: unknown, dflt = Infinity): number {
  if (v === undefined) return dflt;
  if (v === null) return Infinity;
  if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
  if (Number.isNaN(v) || v < 0) throw outOfRange(name, '>= 0 (milliseconds) or Infinity', v);
  return v > MAX_TIMEOUT_MS ? Infinity : v;
}

/** A timeout as the posix layer's C-style calls take it (poll(2), futexWait): -1 for none, else ms >= 0. */
export function timeoutOrMinusOne(ms: number): number {
  return ms === Infinity ? -1 : ms;
}

/** What an async wait takes: a timeout, or { timeout, signal } (and { block } where the method has it). */
export interface WaitSpec {
  timeout?: number | null;
  signal?: AbortSignal;
  block?: boolean;
}

/** What {@link waitOptions} makes of an async wait's argument. */
export interface ParsedWait {
  /** ms, Infinity for none */
  timeout: number;
  signal: AbortSignal | undefined;
  /** false: do not wait at all (Python's block=False) */
  block: boolean;
}

/**
 * `t` of an async wait: undefined, a timeout in ms, or an options object ({ timeout, signal[, block] }).
 * `dflt` is what an absent timeout means.
 */
export function waitOptions(t: unknown, dflt = Infinity, opts: { block?: boolean } = {}): ParsedWait {
  if (t === undefined || t === null || typeof t === 'number') return { timeout: timeout('timeout', t, dflt), signal: undefined, block: true };
  if (typeof t !== 'object') throw invalidType('options', 'a number or an object', t);
  const o = t as WaitSpec;
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('options.signal', 'an instance of AbortSignal', signal);
  let block = true;
  if (opts.block && o.block !== undefined) {
    if (typeof o.block !== 'boolean') throw invalidType('options.block', 'of type boolean', o.block);
    block = o.block;
  }
  return { timeout: timeout('options.timeout', o.timeout, dflt), signal, block };
}

// ---------------------------------------------------------------------------------------------------------
// sizes and counts

/** A safe integer in [min, max] (both inclusive); `range` overrides the message's description. */
export function integer(name: string, v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER, range?: string): number {
  if (typeof v !== 'number') throw invalidType(name, 'of type number', v);
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw outOfRange(name, range ?? (max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer >= ${min} && <= ${max}`), v);
  }
  return v;
}

/** integer(), with undefined meaning `dflt`. */
export function integerOr(name: string, v: unknown, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  return v === undefined ? dflt : integer(name, v, min, max);
}

/** A boolean; undefined → dflt. */
export function boolean(name: string, v: unknown, dflt?: boolean): boolean {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'boolean') throw invalidType(name, 'of type boolean', v);
  return v;
}

/** An options object (undefined → {}). */
export function options<T extends object>(name: string, v: T | undefined): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object') throw invalidType(name, 'of type object', v);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// what the machine can back

/** The most shared memory this process can have backed, and where that figure comes from. */
export interface MemoryLimit {
  /** min(RAM + swap, the memory cgroup's limit (+ its swap allowance) where one applies), bytes */
  limit: number;
  ram: number;
  swap: number;
  /** the tightest memory cgroup limit on the way to the root (v2 memory.max, v1 memory.limit_in_bytes), or null */
  cgroup: number | null;
  /** a text for messages: "RAM 24 GiB + swap 0 B" or "memory cgroup limit 512 MiB" */
  source: string;
}


/** The machine's limit for shared memory (computed by the addon: the same figure its own checks use). */
export function memoryLimit(): MemoryLimit {
  const m = native.memoryLimit();
  return { ...m, cgroup: m.cgroup < 0 ? null : m.cgroup };
}

/** Bytes as a person reads them: "8 TiB", "512 MiB", "4096 B". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * Refuses `bytes` of shared memory that the machine cannot back (RAM + swap, capped by the memory cgroup):
 * RangeError ERR_OUT_OF_RANGE, before anything is allocated. `name` is the parameter; `request` describes
 * what was asked ("a SharedArray of 2^40 float64"), shown in the message.
 */
export function allocation(name: string, bytes: number, request?: string): void {
  if (bytes <= SMALL_ALLOCATION) return; // no machine that runs Node has less
  const m = memoryLimit();
  if (bytes > m.limit) {
    throw rangeError(
      `The value of "${name}" is out of range: ${request ? `${request} needs ` : ''}${bytes} bytes (${formatBytes(bytes)}) of shared memory, ` +
        `more than this machine can back: ${m.limit} bytes (${formatBytes(m.limit)}, ${m.source})`,
    );
  }
}

/** Below this, allocation() does not look at the machine at all (reading the limit costs a few µs). */
const SMALL_ALLOCATION = 16 * 2 ** 20;

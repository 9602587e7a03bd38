// Errors across a process boundary: a Pool worker's task error, a Manager server's failed call. The remote side
// turns what was thrown into a record (plain data: it travels by JSON or structured clone); the caller's side
// rebuilds an error from it, of the same class where it knows the class (the built-in ones and those of
// lib/mp/core/errors.ts), with the remote message, own properties (code, errno, …), cause and stack.
import v8 from 'node:v8';
import { MESSAGE_ERRORS } from './errors.js';

/** A thrown value as it travels. */
export interface ErrorRecord {
  /** false: what was thrown is not an Error; it travels as `value` (as is if cloneable, else as a string). */
  isError: boolean;
  name?: string;
  message?: string;
  stack?: string;
  /** The error's own enumerable properties (code, errno, …): cloneable ones as they are, others as strings. */
  props?: Record<string, unknown>;
  /** The error's cause, recorded the same way (4 levels at most). */
  cause?: ErrorRecord;
  value?: unknown;
}

/** How deep a chain of causes is recorded. */
const MAX_CAUSES = 4;

function cloneable(v: unknown): boolean {
  try {
    v8.serialize(v);
    return true;
  } catch {
    return false;
  }
}

/** The record of a thrown value: an Error's name, message, stack, cloneable own properties and cause. */
export function errorRecord(e: unknown, depth = 0): ErrorRecord {
  if (!(e instanceof Error)) return { isError: false, value: cloneable(e) ? e : String(e) };
  const props: Record<string, unknown> = {};
  for (const k of Object.keys(e)) {
    if (k === 'cause') continue;
    const v = (e as Error & Record<string, unknown>)[k];
    props[k] = cloneable(v) ? v : String(v);
  }
  // A code kept on the prototype (DOMException's) is not an own property: keep a string one anyway.
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && !('code' in props)) props.code = code;
  const rec: ErrorRecord = { isError: true, name: e.name, message: e.message, stack: e.stack, props };
  if (e.cause !== undefined && depth < MAX_CAUSES) rec.cause = errorRecord(e.cause, depth + 1);
  return rec;
}

const BUILTIN: Readonly<Record<string, new (message?: string) => Error>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  ...MESSAGE_ERRORS,
};

/** Where a record came from, and how the rebuilt error shows it. */
export interface RemoteOrigin {
  /** Names the remote side in the stack: 'Pool worker 4242', 'the Manager server'. */
  where: string;
  /**
   * false (default): `stack` is the remote stack and a last line `    at <where>`; true: `stack` is this
   * side's stack, a line `    --- in <where> ---`, then the remote stack (for a caller that blocked: its
   * own stack says which call failed).
   */
  localStack?: boolean;
  /** More properties for the rebuilt error (not enumerable): `workerPid`. */
  props?: Record<string, unknown>;
}

function hidden(e: object, name: string, value: unknown): void {
  Object.defineProperty(e, name, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * The error a record describes: the same class for built-in errors and lib/mp/core/errors.ts's message
 * classes (an Error with the remote `name` otherwise), the remote message, own properties and cause;
 * `remoteStack` keeps the remote stack alone. A record of a non-Error gives back the value.
 */
export function errorFromRecord(rec: ErrorRecord, origin: RemoteOrigin): unknown {
  if (!rec.isError) return rec.value;
  const Ctor = (rec.name !== undefined && Object.hasOwn(BUILTIN, rec.name) ? BUILTIN[rec.name] : undefined) ?? Error;
  const e = new Ctor(rec.message ?? '');
  if (rec.name && e.name !== rec.name) hidden(e, 'name', rec.name);
  Object.assign(e, rec.props);
  if (rec.cause) e.cause = errorFromRecord(rec.cause, origin);
  hidden(e, 'remoteStack', rec.stack ?? '');
  for (const [k, v] of Object.entries(origin.props ?? {})) hidden(e, k, v);
  const remote = rec.stack ?? `${rec.name}: ${rec.message}`;
  e.stack = origin.localStack ? `${e.stack}\n    --- in ${origin.where} ---\n${remote}` : `${remote}\n    at <${origin.where}>`;
  return e;
}

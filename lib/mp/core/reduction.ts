// How shared objects reach a spawned child (CPython's reduction.py, with fds instead of pickles).
//
// A forked child inherits everything: its copies of Values, locks and queues map the same pages. A spawned
// child is a fresh `node`, so the objects it receives in Process args must be rebuilt from what identifies
// them in the kernel: the open fds of their mappings (a memfd) plus a little data (offsets, sizes, flags).
//
// A class that can travel this way registers once with registerShareable(cls, kind, reduce, rebuild, module):
//   reduce(obj)          → { fds, data }: fds are open fds of this process (not consumed), data is cloneable
//   rebuild(fds, data)   → the object in the child; it owns the fds it was given (close them if unused)
//   module               → import.meta.url of the registering module: the child imports it before rebuilding,
//                          so registrations made by library modules the target never imported still apply.
// Registered classes are also marked not sendable: inside a Pipe or Queue message they are an error
// (ERR_MULTIPROC_NOT_SENDABLE), as in Python, because a message cannot carry the fds that make them shared.
//
// Process({ startMethod: 'spawn', args }) calls reduceArgs(args): registered instances found in arrays, plain
// objects, Maps and Sets (a few levels deep) are replaced by markers; the fds are passed to the child as fds
// 4, 5, …; the child's bootstrap calls rebuildArgs. The same object twice stays one object in the child.
import { markNotSendable } from './sendable.js';

/** What a registered class's reduce() returns: what rebuilds the object in a spawned child. */
export interface Reduced {
  /** Open fds of this process that the child needs (passed as its fds 4, 5, …; not consumed here). */
  fds: number[];
  /** Anything structured-cloneable (offsets, sizes, names). */
  data: unknown;
}

interface Shareable {
  kind: string;
  cls: { prototype: object };
  reduce: (obj: never) => Reduced;
  rebuild: (fds: number[], data: never) => unknown;
  module: string;
}

const byKind = new Map<string, Shareable>();

const MARK = '__multiprocShared__';
const MAX_DEPTH = 8;

interface Marker {
  [MARK]: string; // kind
  module: string;
  id: number; // identity within one args list
  fds: number[]; // indices into the fd list
  data: unknown;
}

/**
 * Registers a class whose instances can be passed to a spawned child in Process args (CPython's
 * reduction.register, with fds instead of pickles). Registered classes are also marked not sendable
 * ({@link markNotSendable}): inside a Pipe or Queue message they are an error.
 * @param cls the class (subclasses' instances match too)
 * @param kind a unique name for it ('multiproc.Lock')
 * @param reduce obj → `{ fds, data }`: the open fds that identify it in the kernel, and cloneable data
 * @param rebuild (fds, data) → the object in the child; it owns the fds it is given (close those it does not keep)
 * @param module the registering module's `import.meta.url`: the child imports it before rebuilding, so that the
 *   registration exists there too
 * @throws Error when another class is registered under `kind`
 */
export function registerShareable<T extends object>(
  cls: { name: string; prototype: T },
  kind: string,
  reduce: (obj: T) => Reduced,
  rebuild: (fds: number[], data: never) => T,
  module: string,
): void {
  if (byKind.has(kind) && byKind.get(kind)!.cls !== cls) throw new Error(`Shareable kind "${kind}" is already registered`);
  byKind.set(kind, { kind, cls, reduce: reduce as (obj: never) => Reduced, rebuild, module });
  markNotSendable(cls);
}

function shareableOf(obj: object): Shareable | undefined {
  for (const s of byKind.values()) if (s.cls.prototype.isPrototypeOf(obj)) return s;
  return undefined;
}

function isPlain(obj: object): boolean {
  const p = Object.getPrototypeOf(obj);
  return p === Object.prototype || p === null;
}

/**
 * Copies v, descending into arrays, Maps, Sets and plain objects (to MAX_DEPTH); every object met is first
 * offered to visit(), whose { replace } stands in for it (and is not descended into).
 */
function transform(v: unknown, visit: (o: object) => { replace: unknown } | undefined, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return v;
  const r = visit(v);
  if (r) return r.replace;
  const next = (x: unknown): unknown => transform(x, visit, depth + 1);
  if (Array.isArray(v)) return v.map(next);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [next(k), next(x)]));
  if (v instanceof Set) return new Set([...v].map(next));
  if (isPlain(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = next(x);
    return out;
  }
  return v;
}

/** Replaces registered instances in args by markers; returns the fds to pass (in order: child fd 4 + index). */
export function reduceArgs(args: unknown[]): { args: unknown[]; fds: number[] } {
  const fds: number[] = [];
  const done = new Map<object, Marker>();
  const reduced = args.map((a) =>
    transform(a, (o) => {
      const s = shareableOf(o);
      if (!s) return undefined;
      let m = done.get(o);
      if (!m) {
        const r = s.reduce(o as never);
        const idx = r.fds.map((fd) => fds.push(fd) - 1);
        m = { [MARK]: s.kind, module: s.module, id: done.size, fds: idx, data: r.data };
        done.set(o, m);
      }
      return { replace: m };
    }),
  );
  return { args: reduced, fds };
}

function isMarker(v: object): v is Marker {
  return isPlain(v) && typeof (v as Record<string, unknown>)[MARK] === 'string';
}

/** The modules a spawned child must import before rebuildArgs (those that registered the kinds it uses). */
export function modulesToLoad(args: unknown[]): string[] {
  const mods = new Set<string>();
  const visit = (o: object) => {
    if (!isMarker(o)) return undefined;
    if (!byKind.has(o[MARK])) mods.add(o.module);
    return { replace: o };
  };
  for (const a of args) transform(a, visit); // each arg from depth 0, as reduceArgs walked it
  return [...mods];
}

/** In the spawned child: rebuilds the objects from the markers; fds[i] is the child's fd for index i. */
export function rebuildArgs(args: unknown[], fds: number[]): unknown[] {
  const built = new Map<number, unknown>();
  return args.map((a) =>
    transform(a, (o) => {
      if (!isMarker(o)) return undefined;
      if (!built.has(o.id)) {
        const s = byKind.get(o[MARK]);
        if (!s) throw new Error(`Cannot rebuild a shared "${o[MARK]}" in the child: ${o.module} did not register it`);
        built.set(
          o.id,
          s.rebuild(
            o.fds.map((i) => fds[i]!),
            o.data as never,
          ),
        );
      }
      return { replace: built.get(o.id) };
    }),
  );
}

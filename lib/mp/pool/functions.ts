// The functions a Pool's calls run, by id (the ids travel in TASK frames).
//
// When the start method runsClosures (fork), a task function is a function of this process: a worker knows
// the ones registered when it was forked (a copy of the table), and the table keeps the functions calls use
// now plus the last RECENT_FNS used, so that workers forked later know them too. An export named by
// { module, export } is imported here, in the parent, and then is a function like any other (a forked child
// cannot rely on a module loader that runs hooks on another thread, as tsx does).
// Otherwise (spawn) a task function is an export: it gets an id per { module, export }, and a worker imports
// it when a DEFINE frame first names it.
import type { AnyFn, FnRef } from './calls.js';
import type { PoolOptions } from './options.js';
import { importTarget, type ModuleTarget, moduleUrl, type StartMethodStrategy } from '../process/start/index.js';
import { typeError } from '../../posix/errors.js';

/**
 * A task function: fork — any function; both methods — an export name of the Pool's module, or { module, export }.
 * @typeParam A the function's parameters
 * @typeParam R what it returns (a promise is awaited in the worker)
 */
export type PoolFunction<A extends unknown[] = never[], R = unknown> =
  | ((...args: A) => R)
  | string
  | {
      /** The module that exports it (a path or a file: URL). */
      module: string | URL;
      /** The export's name. */
      export: string;
    };

/** Functions no call uses any more that a fork still passes on to new workers. */
const RECENT_FNS = 16;

/** A Pool's task functions and their ids (see the file header). */
export class FunctionTable {
  readonly #ids = new WeakMap<AnyFn, number>();
  /** Functions calls use now, with how many calls use each. */
  readonly #used = new Map<number, AnyFn>();
  readonly #users = new Map<number, number>();
  /** Functions recently used, the least recent first. */
  readonly #recent = new Map<number, AnyFn>();
  readonly #exportIds = new Map<string, number>();
  readonly #imported = new Map<string, AnyFn>();
  #nextId = 0;

  /** Whether workers are copies of this process (their start method's capability). */
  readonly runsClosures: boolean;

  /**
   * @param method the workers' start method.
   * @param module the Pool's `module` option (as a URL): the module an export name refers to.
   */
  constructor(
    readonly method: StartMethodStrategy,
    readonly module: string | undefined,
  ) {
    this.runsClosures = method.runsClosures;
  }

  /**
   * `fn` as a ModuleTarget: an export name of the Pool's module, or { module, export }.
   * @param what the argument's name, for the error.
   * @throws TypeError ERR_INVALID_ARG_TYPE for a function (which a fresh worker cannot receive) or anything else.
   */
  target(fn: PoolFunction, what: string): ModuleTarget {
    if (typeof fn === 'string') {
      if (this.module === undefined) {
        throw typeError(`${what}: a function named by export ("${fn}") needs the Pool's "module" option, or { module, export }`);
      }
      return { module: this.module, export: fn };
    }
    if (fn !== null && typeof fn === 'object' && typeof (fn as { export?: unknown }).export === 'string') {
      const o = fn as { module: string | URL; export: string };
      return { module: moduleUrl(`${what}.module`, o.module), export: o.export };
    }
    if (typeof fn === 'function') {
      throw typeError(`${what}: with the ${this.method.name} start method a function cannot be sent; name an export of the Pool's module, or pass { module, export }`);
    }
    throw typeError(`${what}: expected a function, an export name or { module, export }`);
  }

  /** The Pool's `initializer` option: a function when workers are copies of this process, else the export it names. */
  initializer(init: PoolOptions['initializer']): AnyFn | ModuleTarget | undefined {
    if (init === undefined || init === null) return undefined;
    if (typeof init === 'function' && this.runsClosures) return init;
    return this.target(init as PoolFunction, 'initializer');
  }

  /** The modules a worker that imports will need: the Pool's module and the initializer's. */
  preload(init: AnyFn | ModuleTarget | undefined): string[] {
    const mods = [this.module, typeof init === 'object' ? init.module : undefined];
    return mods.filter((m): m is string => typeof m === 'string');
  }

  /** The reference a call carries: an id, plus the function itself or the export it names. */
  ref(fn: PoolFunction): FnRef {
    if (typeof fn === 'function' && this.runsClosures) return { id: this.#localId(fn), local: fn, spec: undefined };
    const spec = this.target(fn, 'fn');
    const key = `${spec.module}#${spec.export}`;
    if (this.runsClosures) {
      const loaded = this.#imported.get(key);
      if (loaded) return { id: this.#localId(loaded), local: loaded, spec: undefined };
      return { id: 0, local: undefined, spec }; // imported by resolve() before any worker gets it
    }
    let id = this.#exportIds.get(key);
    if (id === undefined) {
      id = ++this.#nextId;
      this.#exportIds.set(key, id);
    }
    return { id, local: undefined, spec };
  }

  /** Whether `ref` names an export this process must import first (runsClosures: see resolve()). */
  needsImport(ref: FnRef): boolean {
    return this.runsClosures && ref.spec !== undefined;
  }

  /** Imports the export `ref` names and makes `ref` refer to the function (runsClosures). */
  async resolve(ref: FnRef): Promise<void> {
    const spec = ref.spec!;
    const fn = await importTarget(spec);
    this.#imported.set(`${spec.module}#${spec.export}`, fn);
    ref.id = this.#localId(fn);
    ref.local = fn;
    ref.spec = undefined;
  }

  /** A call starts using `ref`: a local function is kept (by id) until release(). Returns whether it was. */
  use(ref: FnRef): boolean {
    if (!ref.local) return false;
    this.#used.set(ref.id, ref.local);
    this.#users.set(ref.id, (this.#users.get(ref.id) ?? 0) + 1);
    return true;
  }

  /** A call that use()d `ref` has finished: when it was the last, the function moves to the recent ones. */
  release(ref: FnRef): void {
    const n = (this.#users.get(ref.id) ?? 1) - 1;
    if (n > 0) {
      this.#users.set(ref.id, n);
      return;
    }
    this.#users.delete(ref.id);
    this.#used.delete(ref.id);
    // kept (strongly, the last RECENT_FNS) so that workers forked later know it too: alternating between a
    // few functions then does not fork new workers each time
    this.#recent.delete(ref.id);
    this.#recent.set(ref.id, ref.local!);
    if (this.#recent.size > RECENT_FNS) this.#recent.delete(this.#recent.keys().next().value!);
  }

  /** What a worker forked now knows: id → function, the recent ones and those in use. */
  snapshot(): Map<number, AnyFn> {
    return new Map([...this.#recent, ...this.#used]);
  }

  /** Forgets the recent functions (the pool stops: no worker will be forked again). */
  forgetRecent(): void {
    this.#recent.clear();
  }

  #localId(fn: AnyFn): number {
    let id = this.#ids.get(fn);
    if (id === undefined) {
      id = ++this.#nextId;
      this.#ids.set(fn, id);
    }
    return id;
  }
}

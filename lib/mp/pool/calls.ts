// The calls a Pool runs (map/starmap/apply as one Promise, imap/imapUnordered as async iterators) and the
// chunks they are cut into. A call reads its input as chunks are handed out: an array by slices, an iterator
// lazily (an async one a chunk ahead, in the background), so an infinite input is never read whole.
import { performance } from 'node:perf_hooks';
import type { ModuleSpec } from './worker.js';

export type AnyFn = (...args: never[]) => unknown;

export interface FnRef {
  id: number;
  /** A function of this process (fork), or an export a worker imports. */
  local: AnyFn | undefined;
  spec: ModuleSpec | undefined;
}

export interface Chunk {
  id: number;
  call: Call;
  index: number;
  offset: number;
  size: number;
  queuedAt: number;
}

export abstract class Call {
  done = false;
  /** Chunks taken from the input so far, and chunks whose results arrived. */
  produced = 0;
  settled = 0;
  inFlight = 0;
  #items = 0;
  #iter: Iterator<unknown> | undefined;
  #array: readonly unknown[] | undefined;
  #pos = 0;
  #onAbort: (() => void) | undefined;
  // an async input: one chunk is read ahead in the background
  #aiter: AsyncIterator<unknown> | undefined;
  #prefetched: unknown[] | undefined;
  #pulling = false;
  /** Set by the pool: a prefetched chunk is ready. */
  onInput: (() => void) | undefined;

  constructor(
    readonly fn: FnRef,
    readonly star: boolean,
    readonly chunkSize: number,
    input: readonly unknown[] | Iterator<unknown> | { async: AsyncIterator<unknown> },
    readonly signal: AbortSignal | undefined,
  ) {
    if (Array.isArray(input)) this.#array = input;
    else if ('async' in (input as object)) this.#aiter = (input as { async: AsyncIterator<unknown> }).async;
    else this.#iter = input as Iterator<unknown>;
    if (signal) {
      this.#onAbort = () => this.fail(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Known tasks not yet handed out. */
  get queued(): number {
    return this.#array ? this.#array.length - this.#pos : 0;
  }

  get exhausted(): boolean {
    if (this.#array) return this.#pos >= this.#array.length;
    return this.#iter === undefined && this.#aiter === undefined && this.#prefetched === undefined && !this.#pulling;
  }

  /** Whether the call may take more input now (lazy calls stop when enough results wait unread). */
  wantsMore(_limit: number): boolean {
    if (!this.ready || this.done || this.exhausted) return false;
    if (this.#aiter || this.#pulling || this.#prefetched) {
      if (this.#prefetched) return true;
      this.#pull();
      return false;
    }
    return true;
  }

  /** Reads the next chunk of an async input in the background. */
  #pull(): void {
    const it = this.#aiter;
    if (this.#pulling || !it || this.#prefetched || this.done) return;
    this.#pulling = true;
    void (async () => {
      const items: unknown[] = [];
      try {
        while (items.length < this.chunkSize) {
          const r = await it.next();
          if (r.done) {
            this.#aiter = undefined;
            break;
          }
          items.push(r.value);
        }
      } catch (e) {
        this.#aiter = undefined;
        this.#pulling = false;
        this.fail(e);
        return;
      }
      this.#pulling = false;
      if (this.done) return;
      if (items.length > 0) this.#prefetched = items;
      this.onInput?.();
    })();
  }

  /** Counted in the pool's table of functions in use (fork). */
  registered = false;
  /** When the whole input was queued (map/starmap/apply); a lazy input's items are queued as they are read. */
  queuedSince: number | undefined;
  /** False while the parent still imports the function (a module export under fork). */
  ready = true;

  /** The next chunk's items, or undefined at the end of the input (an input that throws fails the call). */
  take(): unknown[] | undefined {
    if (this.#prefetched) {
      const items = this.#prefetched;
      this.#prefetched = undefined;
      this.#items += items.length;
      this.#pull();
      return items;
    }
    if (this.#array) {
      if (this.#pos >= this.#array.length) return undefined;
      const items = this.#array.slice(this.#pos, this.#pos + this.chunkSize);
      this.#pos += items.length;
      this.#items += items.length;
      return items;
    }
    const it = this.#iter;
    if (!it) return undefined;
    const items: unknown[] = [];
    try {
      while (items.length < this.chunkSize) {
        const r = it.next();
        if (r.done) {
          this.#iter = undefined;
          break;
        }
        items.push(r.value);
      }
    } catch (e) {
      this.#iter = undefined;
      this.fail(e);
      return undefined;
    }
    if (items.length === 0) return undefined;
    this.#items += items.length;
    return items;
  }

  get itemsTaken(): number {
    return this.#items;
  }

  /** Whether every chunk's result is in (after the input ran out). */
  get complete(): boolean {
    return this.exhausted && this.settled === this.produced;
  }

  /** Known tasks never handed out because the call ended first (aborted, failed, terminated). */
  dropped = 0;

  protected finish(): void {
    this.dropped = this.queued;
    this.done = true;
    if (this.#onAbort) this.signal!.removeEventListener('abort', this.#onAbort);
    const it = this.#iter;
    const ait = this.#aiter;
    this.#iter = undefined;
    this.#aiter = undefined;
    this.#prefetched = undefined;
    this.#array = undefined;
    try {
      it?.return?.(); // close a generator we stopped reading
      ait?.return?.()?.then(undefined, () => {});
    } catch {
      /* its finally threw: nothing to report it to */
    }
    this.onFinish?.();
  }

  /** Set by the pool: drop the call from its queue. */
  onFinish: (() => void) | undefined;

  abstract deliver(chunk: Chunk, values: unknown[]): void;
  abstract fail(e: unknown): void;
  /** The input ran out after the last result arrived (an iterator learns it only then). */
  deliverComplete(): void {}
}

/** map / starmap / apply: one Promise for the whole result list. */
export class ArrayCall extends Call {
  readonly results: unknown[];
  readonly promise: Promise<unknown[]>;
  #resolve!: (v: unknown[]) => void;
  #reject!: (e: unknown) => void;

  constructor(fn: FnRef, star: boolean, chunkSize: number, input: readonly unknown[], signal: AbortSignal | undefined) {
    super(fn, star, chunkSize, input, signal);
    this.queuedSince = performance.now();
    this.results = new Array(input.length);
    this.promise = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
  }

  deliver(chunk: Chunk, values: unknown[]): void {
    if (this.done) return;
    const r = this.results;
    for (let i = 0; i < values.length; i++) r[chunk.offset + i] = values[i];
    if (this.complete) {
      this.finish();
      this.#resolve(r);
    }
  }

  fail(e: unknown): void {
    if (this.done) return;
    this.finish();
    this.#reject(e);
  }
}

/** imap / imapUnordered: an async iterator over the results, pulling its input lazily. */
export class IterCall extends Call implements AsyncIterableIterator<unknown> {
  readonly #ordered: boolean;
  readonly #ready: unknown[][] = []; // unordered: result lists in arrival order
  readonly #byIndex = new Map<number, unknown[]>(); // ordered: result lists by chunk index
  #nextIndex = 0;
  #values: unknown[] = [];
  #valuePos = 0;
  #consumed = 0; // chunks whose results the consumer has taken
  #error: { e: unknown } | undefined;
  #waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void } | undefined;
  onConsume: (() => void) | undefined;

  constructor(fn: FnRef, chunkSize: number, input: Iterator<unknown> | { async: AsyncIterator<unknown> }, signal: AbortSignal | undefined, ordered: boolean) {
    super(fn, false, chunkSize, input, signal);
    this.#ordered = ordered;
  }

  override wantsMore(limit: number): boolean {
    return super.wantsMore(limit) && this.produced - this.#consumed < limit;
  }

  deliver(chunk: Chunk, values: unknown[]): void {
    if (this.done) return;
    if (this.#ordered) this.#byIndex.set(chunk.index, values);
    else this.#ready.push(values);
    this.#wake();
  }

  fail(e: unknown): void {
    if (this.done) return;
    this.#error = { e };
    this.finish();
    this.#wake();
  }

  /** Settles a waiting next() if a value, the end or an error is there. */
  #wake(): void {
    const w = this.#waiter;
    if (!w) return;
    this.#waiter = undefined; // before #poll: it may re-enter (onConsume → the pool → deliverComplete → here)
    const r = this.#poll();
    if (r === undefined) {
      this.#waiter = w;
      return;
    }
    if ('error' in r) w.reject(r.error);
    else w.resolve(r);
  }

  #poll(): IteratorResult<unknown> | { error: unknown } | undefined {
    for (;;) {
      if (this.#valuePos < this.#values.length) return { value: this.#values[this.#valuePos++], done: false };
      const next = this.#ordered ? this.#byIndex.get(this.#nextIndex) : this.#ready.shift();
      if (next) {
        if (this.#ordered) this.#byIndex.delete(this.#nextIndex++);
        this.#values = next;
        this.#valuePos = 0;
        this.#consumed++;
        this.onConsume?.();
        continue;
      }
      if (this.#error) {
        const e = this.#error.e;
        this.#error = undefined;
        this.#values = [];
        return { error: e };
      }
      if (this.done || this.complete) {
        if (!this.done) this.finish();
        return { value: undefined, done: true };
      }
      return undefined;
    }
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#waiter) return Promise.reject(new Error('imap: next() called again before the previous next() settled'));
    const r = this.#poll();
    if (r !== undefined) return 'error' in r ? Promise.reject(r.error) : Promise.resolve(r);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The consumer stopped (break in for await): stop reading the input, drop what is pending. */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.done) this.finish();
    this.#error = undefined;
    this.#byIndex.clear();
    this.#ready.length = 0;
    this.#values = [];
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  override deliverComplete(): void {
    this.#wake();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

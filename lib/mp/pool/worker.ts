// The worker side of a Pool (lib/mp/pool/pool.ts): runs in a forked child (runWorker, called with the parent's
// function table as it was at the fork) or in a spawned node (spawnWorker, the export the spawn bootstrap
// calls). It runs the initializer, says READY, then runs the chunks it receives in order, batching its
// replies: results are written when there is nothing more to read, before an await, or when 64 KiB have
// piled up. It exits 0 on STOP or when the parent's end closes.
import { performance } from 'node:perf_hooks';
import { errorRecord, FrameParser, FrameReader, FrameWriter, T } from './protocol.js';
import * as posix from '../../posix/index.js';
import { registerShareable } from '../core/reduction.js';
import { importTarget, type ModuleTarget } from '../process/start/strategy.js';
import { debug } from '../../posix/debug.js';

/** A function named by the module that exports it (a file: URL) and the export's name. */
export type ModuleSpec = ModuleTarget;

type AnyFn = (...args: unknown[]) => unknown;

/** What runWorker needs besides its channel. */
export interface WorkerSetup {
  /** fork: the parent's functions, by id, as they were at the fork. */
  lookup?: (id: number) => AnyFn | undefined;
  initializer?: AnyFn | ModuleSpec;
  initArgs: unknown[];
}

const FLUSH_AT = 64 * 1024;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}

/** The worker loop over the socket `fd`. Never returns: the process exits. */
export async function runWorker(fd: number, setup: WorkerSetup): Promise<never> {
  const out = new FrameWriter();
  const parser = new FrameParser();
  const rd = new FrameReader();
  const specs = new Map<number, ModuleSpec>();
  const fns = new Map<number, AnyFn>();

  const flush = (): void => {
    if (out.pos === 0) return;
    posix.writeAll(fd, out.buf.subarray(0, out.pos));
    out.reset();
  };
  const leave = (code: number, why: string): never => {
    debug('pool worker %d leaves (%s)', process.pid, why);
    try {
      flush();
    } catch {
      /* the parent is gone */
    }
    return posix.exit(code);
  };

  try {
    const init = setup.initializer;
    if (init !== undefined) {
      const fn = typeof init === 'function' ? init : await importTarget(init);
      const r = fn(...setup.initArgs);
      if (isThenable(r)) await r;
    }
  } catch (e) {
    out.begin(T.InitFail);
    out.payload([errorRecord(e)], 'An initializer error');
    out.end();
    leave(1, 'initializer failed');
  }
  out.begin(T.Ready);
  out.end();
  flush();

  const resolve = async (id: number): Promise<AnyFn> => {
    let fn = fns.get(id) ?? setup.lookup?.(id);
    if (fn) return fn;
    const spec = specs.get(id);
    if (!spec) throw new Error(`Pool worker ${process.pid} does not know function #${id}`);
    fn = await importTarget(spec);
    fns.set(id, fn);
    return fn;
  };

  for (;;) {
    while (!parser.next()) {
      flush();
      const [buf, off, len] = parser.space();
      let n: number;
      try {
        n = await posix.readAsync(fd, buf, off, len);
      } catch (e) {
        // Not the parent leaving (that is end-of-file): say so, and exit non-zero
        process.stderr.write(`multiproc: Pool worker ${process.pid} cannot read its channel: ${(e as Error)?.stack ?? String(e)}\n`);
        return leave(70, `read failed: ${(e as Error)?.message}`);
      }
      if (n === 0) return leave(0, 'end of file'); // the parent closed its end
      parser.end += n;
    }
    rd.set(parser.buf, parser.frameStart, parser.frameEnd);
    const type = rd.u8();
    if (type === T.Stop) return leave(0, 'stop');
    if (type === T.Define) {
      const id = rd.u32();
      specs.set(id, rd.payload()[0] as ModuleSpec);
      continue;
    }
    if (type !== T.Task) continue;
    const chunk = rd.u32();
    const id = rd.u32();
    const star = rd.u8() === 1;
    const started = performance.now();
    let results: unknown[];
    try {
      const items = rd.payload(); // decoded before any await: the parser's buffer may move later
      const fn = fns.get(id) ?? (await resolve(id));
      results = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        let r = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
        if (isThenable(r)) {
          flush(); // what is done so far goes out before we wait
          r = await r;
        }
        results[i] = r;
      }
    } catch (e) {
      out.begin(T.Error);
      out.u32(chunk);
      out.f64(performance.now() - started);
      out.payload([errorRecord(e)], 'A task error');
      out.end();
      if (out.pos >= FLUSH_AT) flush();
      continue;
    }
    const ms = performance.now() - started;
    out.begin(T.Result);
    out.u32(chunk);
    out.f64(ms);
    try {
      out.payload(results, 'A Pool task result');
      out.end();
    } catch (e) {
      out.abort();
      out.begin(T.Error);
      out.u32(chunk);
      out.f64(ms);
      out.payload([errorRecord(e)], 'A task error');
      out.end();
    }
    if (out.pos >= FLUSH_AT) flush();
  }
}

/** What a worker that imports its functions receives as its Process argument, beside its ChannelEnd. */
export interface SpawnSetup {
  initializer?: ModuleSpec;
  initArgs: unknown[];
}

/**
 * A worker's end of its channel, as a Process argument: it travels as an fd (lib/mp/core/reduction.ts), so
 * it reaches a worker of any start method that reduces its args.
 */
export class ChannelEnd {
  /** @param fd the socket (the parent's fd; the child's own once rebuilt there). */
  constructor(readonly fd: number) {}
}

registerShareable(
  ChannelEnd,
  'pool-channel',
  (end) => ({ fds: [end.fd], data: null }),
  (fds) => new ChannelEnd(fds[0]!),
  import.meta.url,
);

/** This module's URL: the module a worker that imports its target imports (its export spawnWorker). */
export const WORKER_MODULE = import.meta.url;

/** The export a worker that is not a fork calls (through lib/mp/process/start/spawn-main.ts). */
export async function spawnWorker(end: ChannelEnd, setup: SpawnSetup): Promise<never> {
  posix.setCloexec(end.fd, true); // the task's own children must not get it
  return runWorker(end.fd, { initializer: setup.initializer, initArgs: setup.initArgs });
}

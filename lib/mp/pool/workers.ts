// A Pool's workers, seen from the parent: one daemon Process and one Unix stream socketpair each. How a
// worker starts depends on what its start method can do, never on the method's name:
//   runsClosures (fork)  the worker is a copy of this process: it runs runWorker with a copy of the Pool's
//                        function table and its initializer as they are now, and inherits its end of the
//                        socket (it closes every other Pool channel end it inherited);
//   otherwise (spawn)    the worker imports ./worker.ts and calls spawnWorker: its end of the socket travels
//                        as a ChannelEnd argument (an fd, by reduction), its functions are exports it imports.
// What a dropped Pool leaves (workers, channel ends) is ended by a finalizer (Leftovers).
import type { AnyFn, Chunk, FnRef } from './calls.js';
import { Channel, parentEnds } from './channel.js';
import { T } from './protocol.js';
import { ChannelEnd, type ModuleSpec, runWorker, type SpawnSetup, WORKER_MODULE } from './worker.js';
import * as posix from '../../posix/index.js';
import { Process } from '../process/process.js';
import type { StartMethodStrategy } from '../process/start/index.js';

/** What a new worker is started with. */
export interface WorkerPlan {
  method: StartMethodStrategy;
  name: string;
  /** runsClosures: the functions the worker will know, by id (it gets this copy). */
  functions: ReadonlyMap<number, AnyFn>;
  /** A function (runsClosures, once the parent has it), or the export a worker imports. */
  initializer: AnyFn | ModuleSpec | undefined;
  initArgs: unknown[];
  /** Module URLs the worker will import (the Pool's module, the initializer's): a forkserver preloads them. */
  preload: string[];
}

/** One worker: its process, its channel, and the chunks it holds. */
export class Worker {
  /** The chunks handed to it and not answered yet, by chunk id. */
  readonly held = new Map<number, Chunk>();
  /** Ids of the exports a DEFINE frame has named to it. */
  readonly defined = new Set<number>();
  /** Chunks handed to it in all (for maxTasksPerChild). */
  assigned = 0;
  /** It has run its initializer (READY came). */
  ready = false;
  /** It gets no more chunks, and exits after those it holds. */
  retiring = false;
  /** Recycled (maxTasksPerChild): counts as a worker until it exits, as in Python. */
  recycling = false;
  /** Its process has ended (and the Pool has dealt with it). */
  exited = false;
  readonly pid: number;
  #joinAc: AbortController | undefined;

  /**
   * Starts a worker (see the file header) with its channel; `onFrames` runs when frames from it have arrived.
   * @throws whatever starting its process throws; nothing is left open then.
   */
  static start(plan: WorkerPlan, onFrames: (w: Worker) => void): Worker {
    const [parentEnd, childEnd] = posix.socketpair('stream');
    parentEnds.add(parentEnd);
    let proc: Process;
    try {
      proc = workerProcess(plan, childEnd);
      proc.start();
    } catch (e) {
      parentEnds.delete(parentEnd);
      posix.close(parentEnd);
      throw e;
    } finally {
      posix.close(childEnd);
    }
    posix.setNonBlocking(parentEnd);
    let w!: Worker;
    const chan = new Channel(
      parentEnd,
      () => onFrames(w),
      () => {},
    );
    w = new Worker(proc, chan, plan.method.runsClosures ? new Set(plan.functions.keys()) : new Set());
    return w;
  }

  private constructor(
    readonly proc: Process,
    readonly chan: Channel,
    /** runsClosures: the ids of the functions this worker got at its start. */
    readonly known: ReadonlySet<number>,
  ) {
    this.pid = proc.pid!;
  }

  /** Tasks (items) in the chunks it holds. */
  heldTasks(): number {
    let n = 0;
    for (const c of this.held.values()) n += c.size;
    return n;
  }

  /**
   * Appends a TASK frame (after a DEFINE of the export it names, the first time) to the channel's buffer;
   * the caller flushes. Nothing is appended when `items` cannot be encoded (it throws).
   */
  sendTask(chunkId: number, fn: FnRef, star: boolean, items: unknown[]): void {
    const out = this.chan.out;
    try {
      if (fn.spec && !this.defined.has(fn.id)) {
        out.begin(T.Define);
        out.u32(fn.id);
        out.payload([fn.spec], 'A function spec');
        out.end();
        this.defined.add(fn.id);
      }
      out.begin(T.Task);
      out.u32(chunkId);
      out.u32(fn.id);
      out.u8(star ? 1 : 0);
      out.payload(items, 'A Pool task argument');
      out.end();
    } catch (e) {
      out.abort();
      throw e;
    }
  }

  /** Sends STOP: the worker exits after the chunks it holds. */
  sendStop(): void {
    if (this.exited || this.chan.closed) return;
    this.chan.out.begin(T.Stop);
    this.chan.out.end();
    this.chan.flush();
  }

  /**
   * Its process has ended: reads what it wrote last (those frames reach onFrames now), closes its channel and
   * its process object; returns the chunks it still held (it holds none after) and how it ended.
   */
  wrapUp(): { held: Chunk[]; code: number | null; signal: string | null } {
    if (!this.chan.closed) this.chan.drainSync();
    const code = this.proc.exitCode;
    const signal = code !== null && code < 0 ? posix.signalName(-code) : null;
    const held = [...this.held.values()];
    this.held.clear();
    this.chan.close();
    try {
      this.proc.close();
    } catch {
      /* not reaped: cannot happen after join */
    }
    return { held, code, signal };
  }

  /** SIGKILL (nothing if it has been reaped already). */
  kill(): void {
    try {
      this.proc.kill();
    } catch {
      /* already reaped */
    }
  }

  /** Calls `onExit` once the process ends (a pidfd watch, which keeps the event loop alive). Idempotent. */
  watch(onExit: () => void): void {
    if (this.#joinAc) return;
    const ac = new AbortController();
    this.#joinAc = ac;
    const ended = (): void => {
      if (this.#joinAc !== ac) return;
      this.#joinAc = undefined;
      onExit();
    };
    this.proc.join({ signal: ac.signal }).then(ended, () => {
      if (!ac.signal.aborted) ended();
    });
  }

  /** Drops the watch (an idle pool must not keep the event loop alive). */
  unwatch(): void {
    const ac = this.#joinAc;
    if (!ac) return;
    this.#joinAc = undefined;
    ac.abort();
  }
}

/** The worker's Process, not started. */
function workerProcess(plan: WorkerPlan, childEnd: number): Process {
  const { method, name, initArgs } = plan;
  if (method.runsClosures) {
    return forkedWorker(method, name, childEnd, plan.functions, plan.initializer as AnyFn | undefined, initArgs);
  }
  const setup: SpawnSetup = { initializer: plan.initializer as ModuleSpec | undefined, initArgs };
  return new Process({ name, daemon: true, startMethod: method.name, module: WORKER_MODULE, export: 'spawnWorker', args: [new ChannelEnd(childEnd), setup], preload: plan.preload });
}

/**
 * A forked worker's Process. Built here, outside the Pool, so that the child's entry closure does not hold
 * the Pool (a dropped Pool must be collectable: its finalizer ends its workers).
 */
function forkedWorker(
  method: StartMethodStrategy,
  name: string,
  fd: number,
  registry: ReadonlyMap<number, AnyFn>,
  init: AnyFn | undefined,
  initArgs: unknown[],
): Process {
  return new Process({
    name,
    daemon: true,
    startMethod: method.name,
    target: () => {
      for (const other of parentEnds) {
        try {
          posix.close(other); // every pool's channels but this worker's own end
        } catch {
          /* closed already */
        }
      }
      return runWorker(fd, { lookup: (id) => registry.get(id) as never, initializer: init as never, initArgs });
    },
  });
}

/** What a Pool's finalizer ends if the Pool is dropped without close()/terminate(): its workers and channels. */
export class Leftovers {
  /** The process whose workers and fds these are: a forked child has a copy of the heap, not of them. */
  readonly pid = process.pid;
  readonly procs = new Set<Process>();
  readonly fds = new Set<number>();

  /** Registers `owner` (a Pool) with the finalizer: when it is collected, these are ended. */
  constructor(owner: object) {
    dropped.register(owner, this, owner);
  }

  /** A worker to end if the Pool is dropped. */
  add(w: Worker): void {
    this.procs.add(w.proc);
    this.fds.add(w.chan.fd);
  }

  /** A worker the Pool has dealt with itself. */
  delete(w: Worker): void {
    this.procs.delete(w.proc);
    this.fds.delete(w.chan.fd);
  }
}

/** A Pool collected while it still had workers: SIGKILL them, reap them, close their channels. */
const dropped = new FinalizationRegistry<Leftovers>((left) => {
  // In a forked child (a worker) the parent's Pools are unreachable garbage: their fd numbers may be the
  // child's own by now (its reactor's epoll fd…) and their workers are not its children. Hands off.
  if (left.pid !== process.pid) return;
  for (const fd of left.fds) {
    parentEnds.delete(fd);
    try {
      posix.close(fd);
    } catch {
      /* closed */
    }
  }
  for (const p of left.procs) {
    try {
      p.kill();
      p.join().catch(() => {});
    } catch {
      /* reaped already */
    }
  }
});

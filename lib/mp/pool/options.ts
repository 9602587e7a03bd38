// What a Pool and its calls take: the option types, and the checks and defaults that need no Pool state.
import type { AnyFn } from './calls.js';
import * as posix from '../../posix/index.js';
import { cpuCount } from '../process/current.js';
import type { StartMethod } from '../process/process.js';
import { integer, typeError } from '../../posix/errors.js';

/** What `new Pool(options)` takes. */
export interface PoolOptions {
  /** Number of workers (default: the CPUs this process may run on, as Python 3.13's process_cpu_count()). */
  processes?: number;
  /** Runs once in every worker before its first task: a function (fork), or an export (name / { module, export }). */
  initializer?:
    | AnyFn
    | string
    | {
        /** The module that exports it (a path or a file: URL). */
        module: string | URL;
        /** The export's name. */
        export: string;
      };
  /** Arguments for the initializer (structured-cloned with spawn). */
  initArgs?: unknown[];
  /** A worker exits and is replaced after this many chunks (Python's maxtasksperchild; a chunk is a "task" there). */
  maxTasksPerChild?: number | null;
  /** 'fork' (the default start method) or 'spawn'. */
  startMethod?: StartMethod;
  /** The module whose exports task functions may name (required for spawn unless every call names its module). */
  module?: string | URL;
}

/** Options of map, starmap, imap and imapUnordered. */
export interface MapOptions {
  /** Items per message to a worker. map/starmap: ceil(length / (4 × processes)); imap/imapUnordered: 1. */
  chunkSize?: number;
  /** Aborting rejects the call with the signal's reason; chunks not yet handed to a worker are dropped. */
  signal?: AbortSignal;
}

/** processes, maxTasksPerChild, chunkSize: an integer in [1, 2^31]. */
export function checkPositiveInt(name: string, v: unknown): number {
  return integer(name, v, 1, 2 ** 31);
}

/** The default `processes`: the CPUs this process may run on. */
export function usableCpus(): number {
  try {
    return posix.getAffinity(0).length || cpuCount();
  } catch {
    return cpuCount();
  }
}

/** A call's chunk size: opts.chunkSize, else ceil(length / (4 × processes)) for an array, 1 for a lazy input. */
export function chunkSizeFor(opts: MapOptions, length: number | undefined, processes: number): number {
  if (opts === null || typeof opts !== 'object') throw typeError('The options argument must be an object');
  if (opts.chunkSize !== undefined) return checkPositiveInt('options.chunkSize', opts.chunkSize);
  if (length === undefined) return 1;
  return Math.max(1, Math.ceil(length / (4 * processes)));
}

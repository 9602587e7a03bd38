// Start-method contexts and process-wide queries (Python's multiprocessing.context and the module-level
// functions current_process, parent_process, active_children, cpu_count).
import { getAffinity } from '../../posix/process.js';
import { stateError } from '../../posix/errors.js';
import { activeChildren as liveChildren, cpuCount as countCpus, getIdentity } from './current.js';
import { Process, type ProcessOptions } from './process.js';
import { getStartMethod as currentDefault, setDefaultStartMethod, START_METHODS, type StartMethod, startMethod } from './start/index.js';

/** A start method's view of the API: its Process class uses that method unless told otherwise. */
export interface Context {
  /** The method's name. */
  readonly startMethod: StartMethod;
  /** Process, with this method as the default of options.startMethod. */
  readonly Process: {
    /**
     * A {@link Process} whose `startMethod` defaults to this context's.
     * @param opts as for `new Process(opts)`
     */
    new (opts?: ProcessOptions): Process;
  };
}

const contexts = new Map<StartMethod, Context>();

/**
 * The context of a start method ('fork' or 'spawn'); without one, the default method's (Python's get_context).
 * The same object for the same method, every time.
 * @param method 'fork' or 'spawn' (default: {@link getStartMethod}())
 * @throws TypeError ERR_INVALID_ARG_VALUE for an unknown method.
 * @example
 * ```ts
 * const ctx = getContext('spawn');
 * const p = new ctx.Process({ module: './tasks.js', export: 'crunch', args: [1] });
 * ```
 */
export function getContext(method?: StartMethod): Context {
  const m = startMethod('method', method ?? currentDefault()).name;
  let ctx = contexts.get(m);
  if (!ctx) {
    class ContextProcess extends Process {
      constructor(opts: ProcessOptions = {}) {
        super({ ...opts, startMethod: opts.startMethod ?? m });
      }
    }
    Object.defineProperty(ContextProcess, 'name', { value: 'Process' });
    ctx = Object.freeze({ startMethod: m, Process: ContextProcess });
    contexts.set(m, ctx);
  }
  return ctx;
}

let setOnce = false;

/**
 * Sets the default start method (once, as in Python, unless `force`; setting the current one again is allowed).
 * The default is 'fork' until set.
 * @param method 'fork' or 'spawn'
 * @param opts `force`: change it even if it was set before (default false)
 * @throws Error ERR_MULTIPROC_CONTEXT_SET when it was set before; TypeError ERR_INVALID_ARG_VALUE for an unknown method.
 */
export function setStartMethod(method: StartMethod, opts: { force?: boolean } = {}): void {
  if (setOnce && !opts.force && method !== currentDefault()) {
    throw stateError('ERR_MULTIPROC_CONTEXT_SET', 'context has already been set (pass { force: true } to change it)');
  }
  setDefaultStartMethod(method);
  setOnce = true;
}

/** The default start method (Python's get_start_method()). */
export function getStartMethod(): StartMethod {
  return currentDefault();
}

/** Every start method's name (Python's get_all_start_methods()). */
export function getAllStartMethods(): StartMethod[] {
  return [...START_METHODS];
}

/** This process: { name ('MainProcess' at the top), pid, daemon } (Python's current_process()). */
export function currentProcess(): {
  /** 'MainProcess' in the process that was not started by multiproc; else its Process's name. */
  name: string;
  /** This process's pid. */
  pid: number;
  /** Whether it was started as a daemon child. */
  daemon: boolean;
} {
  const id = getIdentity();
  return { name: id.name, pid: process.pid, daemon: id.daemon };
}

/** The process that started this one with multiproc, or null in the main process (Python's parent_process()). */
export function parentProcess(): {
  /** The parent's name ('MainProcess', or its Process's name). */
  name: string;
  /** The parent's pid. */
  pid: number;
} | null {
  return getIdentity().parent;
}

/** The started children that are still running (finished ones are reaped on the way). */
export function activeChildren(): Process[] {
  return liveChildren().filter((c): c is Process => c instanceof Process);
}

/** The number of CPUs (os.cpus().length); processCpuCount() counts those this process may run on. */
export function cpuCount(): number {
  return countCpus();
}

/** The CPUs this process may run on (its affinity mask; Python 3.13's process_cpu_count()). */
export function processCpuCount(): number {
  return getAffinity(0).length;
}

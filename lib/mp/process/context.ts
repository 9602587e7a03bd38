// Start-method contexts and process-wide queries (Python's multiprocessing.context and the module-level
// functions current_process, parent_process, active_children, cpu_count).
import { getAffinity } from '../../posix/process.js';
import { stateError } from '../../posix/errors.js';
import {
  activeChildren as liveChildren,
  cpuCount as countCpus,
  getIdentity,
  getStartMethod as currentDefault,
  Process,
  type ProcessOptions,
  setDefaultStartMethod,
  START_METHODS,
  type StartMethod,
} from './process.js';

/** A start method's view of the API: its Process class uses that method unless told otherwise. */
export interface Context {
  readonly startMethod: StartMethod;
  readonly Process: new (opts?: ProcessOptions) => Process;
}

const contexts = new Map<StartMethod, Context>();

/** The context of a start method ('fork' or 'spawn'); without one, the default method's. */
export function getContext(method?: StartMethod): Context {
  const m = method ?? currentDefault();
  let ctx = contexts.get(m);
  if (!ctx) {
    class ContextProcess extends Process {
      constructor(opts: ProcessOptions = {}) {
        super({ ...opts, startMethod: opts.startMethod ?? m });
      }
    }
    Object.defineProperty(ContextProcess, 'name', { value: 'Process' });
    if (!START_METHODS.includes(m)) new Process({ startMethod: m }); // throws the unknown-method error
    ctx = Object.freeze({ startMethod: m, Process: ContextProcess });
    contexts.set(m, ctx);
  }
  return ctx;
}

let setOnce = false;

/** Sets the default start method (once, as in Python, unless `force`). */
export function setStartMethod(method: StartMethod, opts: { force?: boolean } = {}): void {
  if (setOnce && !opts.force && method !== currentDefault()) {
    throw stateError('ERR_MULTIPROC_CONTEXT_SET', 'context has already been set (pass { force: true } to change it)');
  }
  setDefaultStartMethod(method);
  setOnce = true;
}

export function getStartMethod(): StartMethod {
  return currentDefault();
}

export function getAllStartMethods(): StartMethod[] {
  return [...START_METHODS];
}

/** This process: { name ('MainProcess' at the top), pid, daemon }. */
export function currentProcess(): { name: string; pid: number; daemon: boolean } {
  const id = getIdentity();
  return { name: id.name, pid: process.pid, daemon: id.daemon };
}

/** The process that started this one with multiproc, or null in the main process. */
export function parentProcess(): { name: string; pid: number } | null {
  return getIdentity().parent;
}

/** The started children that are still running (finished ones are reaped on the way). */
export function activeChildren(): Process[] {
  return liveChildren();
}

/** The number of CPUs (os.cpus().length); processCpuCount() counts those this process may run on. */
export function cpuCount(): number {
  return countCpus();
}

export function processCpuCount(): number {
  return getAffinity(0).length;
}

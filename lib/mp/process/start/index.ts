// The start methods by name, and the default one (CPython's context.py chooses among its Popen classes the
// same way). Each method is a StartMethodStrategy in a file of its own (./strategy.ts says what one is);
// adding one is that file, its name in StartMethod (./strategy.ts) and a line in METHODS.
import { invalidValue } from '../../../posix/errors.js';
import { fork } from './fork.js';
import { forkserver } from './forkserver.js';
import { spawn } from './spawn.js';
import type { StartMethod, StartMethodStrategy } from './strategy.js';

export { setForkserverPreload, stopForkserver } from './forkserver.js';
export {
  type ChildHandle,
  type ChildJob,
  importTarget,
  type ModuleTarget,
  moduleUrl,
  OwnChild,
  type StartMethod,
  type StartMethodStrategy,
  type TargetFunction,
} from './strategy.js';


const METHODS: { readonly [M in StartMethod]: StartMethodStrategy } = Object.freeze({ fork, spawn, forkserver });

/** Every start method's name, in the order getAllStartMethods() lists them. */
export const START_METHODS: readonly StartMethod[] = Object.freeze(Object.keys(METHODS) as StartMethod[]);

const ACCEPTED = START_METHODS.map((m) => `'${m}'`).join(', ').replace(/, ([^,]*)$/, ' or $1');

/**
 * The start method called `value`.
 * @param name the argument's or option's name, for the error ("options.startMethod").
 * @throws TypeError ERR_INVALID_ARG_VALUE when there is no such method ("must be 'fork' or 'spawn'").
 */
export function startMethod(name: string, value: unknown): StartMethodStrategy {
  if (typeof value === 'string' && Object.hasOwn(METHODS, value)) return METHODS[value as StartMethod];
  throw invalidValue(name, value, `must be ${ACCEPTED}`);
}

let defaultMethod: StartMethod = 'fork';

/** The start method a Process or Pool uses when its options name none (Python's get_start_method()). */
export function getStartMethod(): StartMethod {
  return defaultMethod;
}

/** Sets the default start method (no once-only rule: that is setStartMethod's, in ../context.ts). */
export function setDefaultStartMethod(method: StartMethod): void {
  defaultMethod = startMethod('method', method).name;
}

// NODE_DEBUG=multiproc tracing. util.debuglog captures process.pid when it sets itself up, so in a forked child
// its prefix named the parent; this one reads the pid at each call. Which names NODE_DEBUG enables (lists,
// wildcards) is still Node's decision.
import { debuglog, format } from 'node:util';

const enabled = debuglog('multiproc').enabled;

/** Writes `MULTIPROC <pid>: <message>` (util.format) to stderr when NODE_DEBUG names multiproc. */
export function debug(fmt: string, ...args: unknown[]): void {
  if (enabled) process.stderr.write(`MULTIPROC ${process.pid}: ${format(fmt, ...args)}\n`);
}

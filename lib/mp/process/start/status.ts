// A child's exit status as bytes, for a status pipe: what the forkserver, which reaps its children, tells the
// process that asked for one (that process cannot waitpid a child that is not its own).
import type * as posix from '../../../posix/index.js';

/** The status as one short message (JSON of the WaitStatus). */
export function encodeStatus(s: posix.WaitStatus): Uint8Array {
  return Buffer.from(JSON.stringify(s));
}

/** The status `encodeStatus` wrote; a pipe closed without one (the server died first) decodes as null. */
export function decodeStatus(bytes: Uint8Array, pid: number): posix.WaitStatus | null {
  if (bytes.length === 0) return null;
  const s = JSON.parse(Buffer.from(bytes).toString('utf8')) as posix.WaitStatus;
  return { ...s, pid };
}

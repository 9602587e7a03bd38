// A fresh node for test/posix/fd.test.ts (unixConnect and signals): started with --inspect-port=0, so SIGUSR1 has
// Node's own handler (the inspector's, installed without SA_RESTART: a blocked connect(2) fails with EINTR).
// Connects three times to the Unix socket at argv[2], whose listener accepts nothing yet and has a backlog of 1:
// the third connect blocks until it does. Prints 'blocking' before that one, then the outcome as JSON.
import inspector from 'node:inspector';
import * as posix from '../../lib/posix/index.js';

const queued = [posix.unixConnect(process.argv[2]!), posix.unixConnect(process.argv[2]!)];
process.stdout.write('blocking\n');
let outcome: string;
try {
  const fd = posix.unixConnect(process.argv[2]!);
  try {
    posix.write(fd, new Uint8Array([1]));
    outcome = 'connected';
  } catch (e) {
    outcome = `write ${(e as NodeJS.ErrnoException).code}`;
  }
  posix.close(fd);
} catch (e) {
  outcome = `connect ${(e as NodeJS.ErrnoException).code}`;
}
for (const fd of queued) posix.close(fd);
// The inspector starts on the main thread at the next interrupt check after the signal: give it time.
for (let i = 0; i < 500 && inspector.url() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(JSON.stringify({ outcome, signalled: inspector.url() !== undefined }) + '\n');
inspector.close();

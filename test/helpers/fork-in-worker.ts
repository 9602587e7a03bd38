// Loaded as a worker_thread by fork.test.ts: fork() through the public posix layer must refuse.
import { parentPort } from 'node:worker_threads';
import * as posix from '../../lib/posix/index.js';

try {
  const pid = posix.fork();
  if (pid === 0) posix.exit(0);
  parentPort!.postMessage({ forked: pid });
} catch (e) {
  parentPort!.postMessage({ code: (e as NodeJS.ErrnoException).code, message: (e as Error).message });
}

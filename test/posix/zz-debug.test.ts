import { it, expect } from 'vitest';
import * as posix from '../../lib/posix/index.js';
import { readAll, reap } from '../helpers/child.js';
it('debug', async () => {
  const [r, w] = posix.pipe();
  const pid = posix.fork();
  if (pid === 0) {
    posix.close(r); posix.dup2(w, 2); posix.close(w);
    try {
      process.stderr.write('child alive ' + process.pid + '\n');
      const [a, b] = posix.pipe();
      process.stderr.write('pipe ' + a + ' ' + b + '\n');
      setTimeout(() => { process.stderr.write('timer fired\n'); }, 10);
    } catch (e) { process.stderr.write('ERR ' + (e as Error).stack + '\n'); posix.exit(9); }
    return;
  }
  posix.close(w);
  const [out, st] = await Promise.all([readAll(r), reap(pid, 5000).catch(e => e.message)]);
  console.log('STATUS', st, 'STDERR<<', out.toString(), '>>');
});

// Run by tests with NODE_DEBUG=multiproc: two forks and waits, traced on stderr. The second child inherits a
// logger the parent has already used (util.debuglog fixed its pid prefix then).
import * as posix from '../../lib/posix/index.js';

for (let i = 0; i < 2; i++) {
  const pid = posix.fork();
  if (pid === 0) posix.exit(3);
  const status = await posix.waitpidAsync(pid);
  process.stdout.write(JSON.stringify(status) + '\n');
}

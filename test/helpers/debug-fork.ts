// Run by tests with NODE_DEBUG=multiproc: one fork and one wait, traced on stderr.
import * as posix from '../../lib/posix/index.js';

const pid = posix.fork();
if (pid === 0) posix.exit(3);
const status = await posix.waitpidAsync(pid);
process.stdout.write(JSON.stringify(status) + '\n');

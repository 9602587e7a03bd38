// namespaces.ts: a "container" from system calls: PID 1 in new PID, UTS and mount namespaces, with its own
// hostname and its own /proc. Run as root: npx tsx examples/namespaces.ts
// (or in a user namespace of your own: unshare --user --map-root-user npx tsx examples/namespaces.ts)
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { posix } from 'multiproc';

const runtime = posix.fork();
if (runtime === 0) {
  try {
    posix.unshare(['pid', 'uts', 'mount']); // pid: for the children forked from now on
  } catch (e) {
    console.log(`not permitted here: ${(e as Error).message} (it needs CAP_SYS_ADMIN)`);
    posix.exit(0);
  }
  posix.mount(null, '/', null, ['rec', 'private']); // nothing mounted from here on reaches the host
  const init = posix.fork();
  if (init === 0) {
    const nspid = posix.nsPids('self'); // read before /proc is replaced: both pids
    posix.sethostname('multiproc-box');
    posix.mount('proc', '/proc', 'proc', ['nosuid', 'nodev', 'noexec']);
    const procs = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
    console.log(`inside: getpid() = ${posix.getpid()}, NSpid = ${nspid?.join(' ')}, hostname = ${os.hostname()}, /proc lists: ${procs.join(' ')}`);
    posix.exit(0);
  }
  console.log(`runtime: forked the container's PID 1, pid ${init} out here`);
  posix.exit(posix.waitpid(init).kind === 'exited' ? 0 : 1);
}
console.log('runtime:', posix.waitpid(runtime));
console.log(`outside: hostname = ${os.hostname()} (unchanged)`);

// zombie.ts: a child exits, the parent does not wait for it: the child is a zombie until waitpid().
// Run: npx tsx examples/zombie.ts
import { spawnSync } from 'node:child_process';
import { posix } from 'multiproc';

const pid = posix.fork();
if (pid === 0) {
  // Child: exit at once with status 7. posix.exit() is how a forked child must leave.
  posix.exit(7);
}

// Parent: do NOT wait yet. Give the child a moment to exit.
await new Promise((resolve) => setTimeout(resolve, 200));
console.log(`child ${pid} in /proc:`, posix.processInfo(pid)); // state: 'zombie'
console.log(spawnSync('ps', ['-o', 'pid,ppid,stat,comm', '-p', String(pid)], { encoding: 'utf8' }).stdout); // STAT Z

// The zombie keeps only its exit status. Collect it: the entry disappears.
const status = posix.waitpid(pid);
console.log('waitpid:', status); // { kind: 'exited', pid, code: 7 }
console.log(`child ${pid} in /proc after waitpid:`, posix.processInfo(pid)); // null

// orphan.ts: the parent exits before its child; the child is adopted (re-parented) and later reaped.
// Run: npx tsx examples/orphan.ts
//
// Normally the orphan goes to PID 1 (init). Here this program makes itself a "child subreaper", so orphans
// below it come to it instead (also in containers, where PID 1 may never reap), and it reaps them.
import { posix } from 'multiproc';

posix.setSubreaper(true);
const top = posix.getpid();
const shared = new Int32Array(posix.mmap(4).buffer); // where the parent leaves its child's pid for us

const parent = posix.fork();
if (parent === 0) {
  // The parent process: fork a child, then exit without waiting for it.
  const me = posix.getpid();
  const child = posix.fork();
  if (child === 0) {
    while (posix.getppid() === me) await new Promise((r) => setTimeout(r, 10)); // wait to be orphaned
    console.log(`child ${posix.getpid()}: my parent was ${me}, now it is ${posix.getppid()} (the subreaper ${top})`);
    posix.exit(0);
  }
  shared[0] = child;
  console.log(`parent ${posix.getpid()}: forked child ${child}, exiting without waiting`);
  posix.exit(0);
}

posix.waitpid(parent); // reap the parent; its child is now ours
const orphan = shared[0]!;
console.log(`subreaper ${top}: orphan ${orphan} now has parent ${posix.processInfo(orphan)?.ppid}`);
console.log('reaped the orphan:', posix.waitpid(orphan)); // only its parent can wait for it: that is us now

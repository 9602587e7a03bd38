// Run with --trace-gc: 200 plain forks in a synchronous loop (the parent's event loop never turns, so V8's
// scavenge task is never run in the parent), each child exiting at once. Prints the parent's pid and how many
// young-generation collections fork() ran in the parent; the GC trace (stdout) shows who scavenged.
import * as posix from '../../lib/posix/index.js';

const keep: unknown[] = [];
for (let i = 0; i < 200; i++) {
  // allocations of the parent between forks (as any real loop has), some of them kept
  const junk = Array.from({ length: 2000 }, (_, k) => ({ k, s: `item ${k}` }));
  if (i % 10 === 0) keep.push(junk);
  const pid = posix.fork();
  if (pid === 0) posix.exit(0);
  posix.waitpid(pid);
}
process.stdout.write(`RESULT ${JSON.stringify({ parent: process.pid, collections: posix.forkStats().youngCollections, kept: keep.length })}\n`);

// signals.ts: handlers, a blocked signal delivered on unblock, a stopped process (T), SIGCHLD-driven reaping.
// Run: npx tsx examples/signals.ts
//
// A JS function cannot run inside a signal handler: posix.sigaction(sig, 'record') installs a native handler
// that records each delivery (signal, sender, value), read afterwards with posix.signalRecords(). Dispositions
// and masks are changed in forked children only: a forked child has one thread, so its mask is the process's.
import { posix } from 'multiproc';

const [r, w] = posix.pipe();
const line = () => {
  const buf = Buffer.alloc(64);
  return Buffer.from(buf.subarray(0, posix.read(r, buf))).toString();
};

// 1. A child catches SIGUSR1 and SIGRTMIN, ignores SIGTERM, and blocks the two it catches.
const child = posix.fork();
if (child === 0) {
  posix.sigaction('SIGUSR1', 'record');
  posix.sigaction('SIGRTMIN', 'record');
  posix.sigaction('SIGTERM', 'ignore');
  posix.sigprocmask('block', ['SIGUSR1', 'SIGRTMIN']);
  posix.write(w, 'ready');
  while (posix.sigpending().length < 2) posix.sigsuspend(['SIGUSR1', 'SIGRTMIN'], 10); // wait for the parent's signals
  console.log(`child: pending while blocked: ${posix.sigpending().join(', ')}`);
  posix.sigprocmask('unblock', ['SIGUSR1', 'SIGRTMIN']); // delivered right here
  const rt = posix.signalRecords().filter((x) => x.signal === 'SIGRTMIN').map((x) => x.value);
  console.log(`child: after unblock: SIGUSR1 handled ${posix.signalCount('SIGUSR1')}× (3 sent), SIGRTMIN ${rt.length}× with values ${rt.join(', ')}`);
  posix.exit(0);
}
line(); // the child is ready
posix.kill(child, 'SIGTERM'); // ignored
for (let i = 0; i < 3; i++) posix.kill(child, 'SIGUSR1'); // a standard signal: one pending bit
for (let i = 1; i <= 3; i++) posix.sigqueue(child, 'SIGRTMIN', i); // real-time: queued, each with its value
console.log('the child after SIGTERM:', posix.waitpid(child)); // exited 0: SIGTERM was ignored

// 2. SIGSTOP / SIGCONT: a stopped process is T in the process table.
const busy = posix.fork();
if (busy === 0) for (;;); // spins until killed
posix.kill(busy, 'SIGSTOP');
console.log('after SIGSTOP:', posix.waitpid(busy, { untraced: true }), `state ${posix.processInfo(busy)?.stateCode}`);
posix.kill(busy, 'SIGCONT');
console.log('after SIGCONT:', posix.waitpid(busy, { continued: true }), `state ${posix.processInfo(busy)?.stateCode}`);
posix.kill(busy, 'SIGKILL');
console.log('after SIGKILL:', posix.waitpid(busy));

// 3. SIGCHLD: a parent reaps its children when told. Three exit together: one SIGCHLD may stand for several.
const parent = posix.fork();
if (parent === 0) {
  posix.sigaction('SIGCHLD', 'record', { noChildStop: true });
  const old = posix.sigprocmask('block', ['SIGCHLD']); // SIGCHLD only inside sigsuspend below
  const kids = new Set([1, 2, 3].map((code) => posix.forkAndRun(() => posix.exit(code))));
  let wakeups = 0;
  while (kids.size > 0 && posix.sigsuspend(old, 5000)) {
    wakeups++;
    for (const kid of kids) {
      const s = posix.waitpid(kid, { noHang: true }); // reap every child that is done, not just one
      if (s.kind !== 'running') kids.delete(kid);
    }
  }
  console.log(`parent: 3 children reaped after ${wakeups} wake-up(s) of sigsuspend, ${posix.signalCount('SIGCHLD')} SIGCHLD handled`);
  posix.exit(kids.size);
}
console.log('the SIGCHLD parent:', posix.waitpid(parent));
posix.close(r);
posix.close(w);

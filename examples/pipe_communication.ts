// pipe_communication.ts: parent and child talk through a pipe.
// Run: npx tsx examples/pipe_communication.ts
import { Pipe, Process, posix } from 'multiproc';

// 1. The C way: pipe(), fork(), each side closes the end it does not use.
const [readFd, writeFd] = posix.pipe();
const pid = posix.fork();
if (pid === 0) {
  posix.close(readFd); // the child only writes
  posix.write(writeFd, 'Hello from the child');
  posix.close(writeFd);
  posix.exit(0);
}
posix.close(writeFd); // the parent only reads; read() returns 0 (EOF) once the child closed its end
const buf = Buffer.alloc(128);
const n = posix.read(readFd, buf);
console.log(`Parent received: ${buf.toString('utf8', 0, n)}`);
posix.close(readFd);
posix.waitpid(pid);

// 2. Messages: Pipe() gives two connected ends; send() and recv() carry whole values.
const [parentEnd, childEnd] = Pipe();
const child = new Process({
  target: () => {
    for (const msg of [1, 2, 3, 'done']) childEnd.send(msg); // Process A writes 1, 2, 3 …
  },
});
child.start();
for (;;) {
  const msg = await parentEnd.recv(); // … Process B reads them, in order
  console.log('Parent received message:', msg);
  if (msg === 'done') break;
}
await child.join();
parentEnd.close();
childEnd.close();

// A fresh `node` (spawned with `--import tsx`, no fork) that uses fds it inherited in `stdio`. Used by
// test/posix/fd.test.ts. Modes:
//   echo   fd 3 is a pipe's read end, fd 4 a pipe's write end: copies fd 3 to fd 4 in upper case until EOF.
//   scm    fd 3 is a Unix socket: receives [pipe write end, memfd] with SCM_RIGHTS and uses them — writes into
//          the pipe, reads the memfd's text through mmap and writes a reply into it — then sends back the read
//          end of a pipe of its own and writes through it. Prints a JSON report on stdout.
import * as posix from '../../lib/posix/index.js';

const mode = process.argv[2];

function readToEnd(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = posix.read(fd, buf);
    if (n === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

if (mode === 'echo') {
  const text = readToEnd(3).toString();
  posix.writeAll(4, text.toUpperCase());
  posix.close(3);
  posix.close(4);
} else if (mode === 'scm') {
  const { fds, data } = posix.recvFds(3);
  const [pipeW, memfd] = fds as [number, number];
  const cloexec = fds.map((fd) => posix.fdFlags(fd).cloexec);
  posix.writeAll(pipeW, 'from the node child');
  posix.close(pipeW);
  const size = posix.fdSize(memfd);
  const m = posix.mmap(size, { fd: memfd });
  const bytes = new Uint8Array(m.buffer);
  const memfdText = Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString();
  bytes.set(Buffer.from('reply from the node child\0'), 64);
  m.close();
  posix.close(memfd);
  const [r, w] = posix.pipe();
  posix.sendFds(3, [r], 'back');
  posix.close(r);
  posix.writeAll(w, 'through the pipe the node child made');
  posix.close(w);
  posix.close(3);
  process.stdout.write(JSON.stringify({ data: Buffer.from(data).toString(), count: fds.length, cloexec, memfdText }));
} else {
  process.stderr.write(`fd-peer: unknown mode ${String(mode)}\n`);
  process.exitCode = 2;
}

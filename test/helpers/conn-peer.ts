// A fresh node (posix.spawn) that received one end of a duplex Pipe as fd 3: echoes every message back,
// structured values and bytes, until EOF.
import { Connection, EOFError } from '../../lib/index.js';

const conn = new Connection(3);
for (;;) {
  let msg: unknown;
  try {
    msg = await conn.recv();
  } catch (e) {
    if (e instanceof EOFError) break;
    throw e;
  }
  conn.send({ echo: msg, pid: process.pid });
}
conn.close();

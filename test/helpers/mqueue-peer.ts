// A fresh `node` (spawned with `--import tsx`, no fork) on the other end of two message queues. Used by
// test/posix/mqueue.test.ts.
//   mqueue-peer.ts name <requests> <replies> <count>   opens both queues by name
//   mqueue-peer.ts fd <count>                          adopts inherited descriptors: fd 3 requests, fd 4 replies
// Receives <count> messages (blocking), then replies with one message (priority 1) holding the JSON list of
// what it received, in order, as [text, priority] pairs; then sends 'low' (0), 'high' (9), 'mid' (5).
import * as posix from '../../lib/posix/index.js';

const mode = process.argv[2];
let requests: posix.MessageQueue;
let replies: posix.MessageQueue;
let count: number;
if (mode === 'name') {
  requests = posix.mqOpen(process.argv[3]!);
  replies = posix.mqOpen(process.argv[4]!);
  count = Number(process.argv[5]);
} else {
  requests = posix.MessageQueue.fromFd(3);
  replies = posix.MessageQueue.fromFd(4);
  count = Number(process.argv[3]);
}
const got: [string, number][] = [];
for (let i = 0; i < count; i++) {
  const m = requests.receive();
  got.push([Buffer.from(m.data).toString(), m.priority]);
}
replies.send(JSON.stringify(got), 1);
replies.send('low', 0);
replies.send('high', 9);
replies.send('mid', 5);
requests.close();
replies.close();

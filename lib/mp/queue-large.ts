// The side channel of a Queue (lib/mp/queue.ts): an item whose record would take more than a quarter of the
// ring travels as a memfd holding its bytes, sent over the queue's SOCK_SEQPACKET socketpair (SCM_RIGHTS)
// with a sequence number; the ring carries only a small reference with that number, so the ring's order stays
// the queue's order, and one huge item never needs the ring to be huge. A consumer takes the fd whose number
// its reference names, dropping older ones (sent by producers that died before they committed).
import { decode, EMPTY, type Kind } from './core/codec.js';
import * as posix from '../posix/index.js';

/** A large item on its way: its bytes in a memfd, its encoding's kind and length. */
export interface Large {
  fd: number;
  kind: number;
  length: number;
}

let received = 0;

/** The number of large items this process received (tests). */
export function largeItemsReceived(): number {
  return received;
}

/** Writes an encoded item to a new memfd (the caller closes large.fd once it is sent). */
export function writeLarge(kind: number, body: Uint8Array): Large {
  const fd = posix.memfdCreate('multiproc-queue-item');
  try {
    posix.writeAll(fd, body);
  } catch (e) {
    posix.close(fd);
    throw e;
  }
  return { fd, kind, length: body.byteLength };
}

/** Sends the item's fd (a duplicate travels) with its sequence number. */
export function sendLarge(sock: number, large: Large, seq: number): void {
  const meta = new Uint8Array(4);
  new DataView(meta.buffer).setInt32(0, seq, true);
  posix.sendFds(sock, [large.fd], meta);
}

/** Receives the fd with sequence `seq` (older ones belong to dead processes: dropped). */
export function receiveLarge(sock: number, seq: number): number {
  for (;;) {
    const r = posix.recvFds(sock, 1, 16);
    const got = r.data.byteLength >= 4 ? new DataView(r.data.buffer, r.data.byteOffset).getInt32(0, true) : NaN;
    if (got === seq && r.fds.length === 1) return r.fds[0]!;
    for (const fd of r.fds) posix.close(fd);
  }
}

/** Decodes a received item straight from its memfd's mapping; closes the fd. */
export function decodeLarge(fd: number, kind: Kind, length: number): unknown {
  try {
    received++;
    if (length === 0) return decode(kind, EMPTY);
    const m = posix.mmap(length, { fd, readOnly: true });
    try {
      return decode(kind, new Uint8Array(m.buffer, 0, length), true);
    } finally {
      m.close();
    }
  } finally {
    posix.close(fd);
  }
}

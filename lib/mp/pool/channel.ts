// The parent's side of a worker's channel: non-blocking batched writes (what cannot be written now waits for
// the socket to drain, in the addon's reactor) and reads of as much as is there, parsed into frames.
import { FrameParser, FrameWriter } from './protocol.js';
import * as posix from '../../posix/index.js';


// Every Pool's parent-side socket ends in this process: a worker forked later closes them all, so that a
// worker never holds another worker's channel open (EOF and death detection stay exact).
export const parentEnds = new Set<number>();


export class Channel {
  readonly parser = new FrameParser();
  out = new FrameWriter();
  closed = false;
  eof = false;
  broken = false;
  #reading = false;
  #readId = 0;
  #writing = false;
  #writeId = 0;

  constructor(
    readonly fd: number,
    readonly onData: () => void,
    readonly onEnd: () => void,
  ) {}

  get armed(): boolean {
    return this.#reading;
  }

  armRead(): void {
    if (this.#reading || this.closed || this.eof) return;
    this.#reading = true;
    this.#loop();
  }

  disarmRead(): void {
    if (!this.#reading) return;
    this.#reading = false;
    if (this.#readId) posix.cancelWait(this.#readId);
    this.#readId = 0;
  }

  #loop(): void {
    while (this.#reading) {
      const [buf, off, len] = this.parser.space();
      let inline = true;
      let got: [Error | null, number] | undefined;
      const id = posix.readAsyncRaw(this.fd, buf, off, len, (err, n) => {
        if (inline) {
          got = [err, n];
          return;
        }
        this.#readId = 0;
        if (this.#afterRead(err, n)) this.#loop();
      });
      inline = false;
      if (!got) {
        this.#readId = id;
        return;
      }
      if (!this.#afterRead(got[0], got[1])) return;
    }
  }

  /** Handles one read's outcome; true to keep reading. */
  #afterRead(err: Error | null, n: number): boolean {
    if (!this.#reading) return false;
    if (err) {
      this.#reading = false;
      this.broken = true;
      this.onEnd();
      return false;
    }
    if (n === -1) return true; // spurious readiness
    if (n === 0) {
      this.#reading = false;
      this.eof = true;
      this.onEnd();
      return false;
    }
    this.parser.end += n;
    this.onData();
    return this.#reading && !this.closed;
  }

  /** Reads what is there without waiting (a dead worker's last words), then stops. */
  drainSync(): void {
    this.disarmRead();
    while (!this.closed && !this.eof) {
      const [buf, off, len] = this.parser.space();
      let n: number;
      try {
        n = posix.read(this.fd, buf, off, len);
      } catch {
        return; // EAGAIN: nothing more (or an error: nothing readable)
      }
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.parser.end += n;
      this.onData();
    }
  }

  /** Writes what was appended to `out`, without blocking: the rest waits for the socket to drain. */
  flush(): void {
    if (this.#writing || this.out.pos === 0 || this.closed) return;
    if (this.broken) {
      this.out.reset();
      return;
    }
    const w = this.out;
    this.#write(w.buf, 0, w.pos, w);
  }

  #write(buf: Buffer, off: number, end: number, owner: FrameWriter): void {
    for (;;) {
      let inline = true;
      let got: [Error | null, number] | undefined;
      const id = posix.writeAsyncRaw(this.fd, buf, off, end - off, (err, n) => {
        if (inline) {
          got = [err, n];
          return;
        }
        this.#writeId = 0;
        this.#writing = false;
        this.#wrote(buf, off, end, owner, err, n);
      });
      inline = false;
      if (!got) {
        // Pending: the buffer belongs to this write now; frames appended meanwhile go to a new one.
        this.#writing = true;
        this.#writeId = id;
        if (owner === this.out) this.out = new FrameWriter();
        return;
      }
      const [err, n] = got;
      if (err) {
        this.#failWrite(owner);
        return;
      }
      if (n > 0) off += n;
      if (off >= end) {
        if (owner === this.out) owner.reset();
        else this.flush(); // the rest of an earlier buffer is out: now what was appended meanwhile
        return;
      }
    }
  }

  #wrote(buf: Buffer, off: number, end: number, owner: FrameWriter, err: Error | null, n: number): void {
    if (this.closed) return;
    if (err) return this.#failWrite(owner);
    if (n > 0) off += n;
    if (off < end) return this.#write(buf, off, end, owner);
    if (owner === this.out) owner.reset();
    this.flush();
  }

  #failWrite(owner: FrameWriter): void {
    // EPIPE: the worker is gone; its death is handled by the pidfd watch.
    this.broken = true;
    owner.reset();
    this.out.reset();
  }

  close(): void {
    if (this.closed) return;
    this.disarmRead();
    if (this.#writeId) posix.cancelWait(this.#writeId);
    this.#writeId = 0;
    this.#writing = false;
    this.closed = true;
    parentEnds.delete(this.fd);
    posix.close(this.fd);
  }
}

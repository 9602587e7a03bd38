// The Pool's wire format between the parent and a worker: one Unix stream socketpair per worker, carrying
// frames that are batched (many frames per write(2), as many as arrived per read(2)), so that a task costs
// a few microseconds of encoding instead of a round trip.
//
//   frame    [length: u32 LE, of what follows][type: u8][fields…]
//   TASK     parent → worker  [chunk: u32][fn: u32][star: u8][payload]      run fn over the chunk's items
//   DEFINE   parent → worker  [fn: u32][payload: { module, export }]        fn id of a module export
//   STOP     parent → worker                                                finish what is queued, then exit 0
//   CANCEL   parent → worker  [chunk: u32]                                  skip that chunk if not yet started
//   READY    worker → parent                                                the initializer has run
//   RESULT   worker → parent  [chunk: u32][runMs: f64][payload]              the chunk's results, in order
//   ERROR    worker → parent  [chunk: u32][runMs: f64][payload]              a task of the chunk threw
//   INITFAIL worker → parent  [payload]                                      the initializer threw
//
// A payload is an array, encoded [encoding: u8][bytes]: all numbers → packed float64; all undefined → a
// count; anything else → v8.serialize (structured clone: never code).
import v8 from 'node:v8';
import { errorFromRecord, type ErrorRecord } from '../core/remote-error.js';
import { checkSendable } from '../core/sendable.js';
import { coded } from '../../posix/errors.js';

export const enum T {
  Task = 1,
  Define = 2,
  Stop = 3,
  Cancel = 4,
  Ready = 10,
  Result = 11,
  Error = 12,
  InitFail = 13,
}

const enum Enc {
  Clone = 0,
  F64 = 1,
  Undefined = 2,
}

/** Buffers that grew past this for one large message go back to 64 KiB once it has passed. */
const SHRINK_ABOVE = 4 * 2 ** 20;

/** The largest frame either side accepts (a chunk's payload, a result list). */
export const MAX_FRAME = 1024 * 2 ** 20;

/** A growable output buffer that frames are appended to. */
export class FrameWriter {
  buf: Buffer;
  pos = 0;
  #frameStart = -1;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  #room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  begin(type: T): void {
    this.#room(5);
    this.#frameStart = this.pos;
    this.pos += 4;
    this.buf[this.pos++] = type;
  }

  end(): void {
    const len = this.pos - this.#frameStart - 4;
    if (len > MAX_FRAME) {
      this.pos = this.#frameStart;
      throw coded(new RangeError(`A Pool message of ${len} bytes exceeds the limit of ${MAX_FRAME} bytes: use a smaller chunkSize`), 'ERR_MULTIPROC_MESSAGE_TOO_LARGE');
    }
    this.buf.writeUInt32LE(len, this.#frameStart);
  }

  /** Drops a frame begun but not ended (its payload could not be encoded). */
  abort(): void {
    if (this.#frameStart >= 0) this.pos = this.#frameStart;
    this.#frameStart = -1;
  }

  u8(v: number): void {
    this.#room(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.#room(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.#room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends an array as a payload (throws ERR_MULTIPROC_NOT_CLONEABLE / NOT_SENDABLE; call abort() then). */
  payload(items: readonly unknown[], what: string): void {
    const n = items.length;
    let allNumbers = true;
    let allUndefined = true;
    for (let i = 0; i < n; i++) {
      const v = items[i];
      if (typeof v !== 'number') allNumbers = false;
      if (v !== undefined) allUndefined = false;
      if (!allNumbers && !allUndefined) break;
    }
    if (allNumbers && n > 0) {
      this.#room(1 + 8 * n);
      this.buf[this.pos++] = Enc.F64;
      for (let i = 0; i < n; i++) {
        this.buf.writeDoubleLE(items[i] as number, this.pos);
        this.pos += 8;
      }
      return;
    }
    if (allUndefined) {
      this.u8(Enc.Undefined);
      this.u32(n);
      return;
    }
    checkSendable(items, what);
    let bytes: Buffer;
    try {
      bytes = v8.serialize(items);
    } catch (e) {
      throw coded(new TypeError(`${what}: a value cannot be sent to another process: ${(e as Error).message}`, { cause: e }), 'ERR_MULTIPROC_NOT_CLONEABLE');
    }
    this.u8(Enc.Clone);
    this.bytes(bytes);
  }

  reset(): void {
    this.pos = 0;
    this.#frameStart = -1;
    if (this.buf.length > SHRINK_ABOVE) this.buf = Buffer.allocUnsafe(64 * 1024); // one huge message passed
  }
}

/** A cursor over one received frame's body. */
export class FrameReader {
  buf!: Buffer;
  pos = 0;
  end = 0;

  set(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** The rest of the frame as a payload array. */
  payload(): unknown[] {
    const enc = this.u8();
    if (enc === Enc.F64) {
      const n = (this.end - this.pos) / 8;
      const out = new Array<number>(n);
      for (let i = 0; i < n; i++) out[i] = this.buf.readDoubleLE(this.pos + 8 * i);
      this.pos = this.end;
      return out;
    }
    if (enc === Enc.Undefined) {
      const n = this.u32();
      return new Array<undefined>(n).fill(undefined);
    }
    if (enc !== Enc.Clone) throw coded(new Error(`Malformed Pool message: payload encoding ${enc}`), 'ERR_MULTIPROC_BAD_FRAME');
    const v = v8.deserialize(this.buf.subarray(this.pos, this.end));
    this.pos = this.end;
    if (!Array.isArray(v)) throw coded(new Error('Malformed Pool message: payload is not an array'), 'ERR_MULTIPROC_BAD_FRAME');
    return v;
  }
}

/**
 * Incoming bytes → whole frames. feed() appends what a read returned; next() gives each complete frame
 * (its body's [start, end) in `buf`), or false when the rest is incomplete.
 */
export class FrameParser {
  buf: Buffer;
  start = 0;
  end = 0;
  frameStart = 0;
  frameEnd = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for the next read: [end, buf.length), compacting or growing first when it is short. */
  space(): [Buffer, number, number] {
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.buf.length > SHRINK_ABOVE) this.buf = Buffer.allocUnsafe(64 * 1024); // one huge message passed
    }
    let need = 16 * 1024;
    if (this.end - this.start >= 4) {
      const len = this.buf.readUInt32LE(this.start);
      need = Math.max(need, len + 4 - (this.end - this.start));
    }
    if (this.buf.length - this.end < need) {
      const have = this.end - this.start;
      if (this.start > 0 && this.buf.length - have >= need) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        let size = this.buf.length * 2;
        while (size - have < need) size *= 2;
        const next = Buffer.allocUnsafe(size);
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = have;
    }
    return [this.buf, this.end, this.buf.length - this.end];
  }

  next(): boolean {
    if (this.end - this.start < 4) return false;
    const len = this.buf.readUInt32LE(this.start);
    if (len > MAX_FRAME || len < 1) throw coded(new Error(`Malformed Pool message: frame length ${len}`), 'ERR_MULTIPROC_BAD_FRAME');
    if (this.end - this.start < 4 + len) return false;
    this.frameStart = this.start + 4;
    this.frameEnd = this.start + 4 + len;
    this.start = this.frameEnd;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------
// exceptions across the process boundary (lib/mp/core/remote-error.ts)

export { type ErrorRecord, errorRecord } from '../core/remote-error.js';

/**
 * The error the parent rejects with (see errorFromRecord): `stack` is the worker's stack and a last line
 * naming the worker; `remoteStack` keeps the worker's stack alone; `workerPid` says which worker.
 */
export function workerError(rec: ErrorRecord, pid: number): unknown {
  return errorFromRecord(rec, { where: `Pool worker ${pid}`, props: { workerPid: pid } });
}

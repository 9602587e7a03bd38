// The Manager's wire: length-prefixed frames on a Unix stream socket, the HMAC handshake, and the message
// encodings shared by the server (lib/mp/manager/server.ts) and its clients (lib/mp/manager/client.ts).
//
//   frame     [length: u32 big-endian][body: length bytes]
//   handshake server → client   "#CHALLENGE#" + 32 random bytes (nonceS)
//             client → server   HMAC-SHA256(authkey, "client" + nonceS) + 32 random bytes (nonceC) + session id
//             server → client   "#WELCOME#" + HMAC-SHA256(authkey, "server" + nonceC)      (then requests flow)
//                           or  "#FAILURE#" + a reason, and the server closes the connection
//             before authentication the server says nothing else: a bad frame, a late answer (authTimeout) or
//             one connection too many waiting to authenticate (maxPendingAuth) get "#FAILURE#" + a short
//             fixed reason (never an error's message or stack), then the connection is closed
//   request   v8.serialize([id, oid, method, args])     oid 0 is the manager itself (create, shutdown, ping)
//   reply     v8.serialize([id, ok, value])             ok = false: value is a plain error record
//             id 0 with ok = false is fatal: the server closes the connection after it (oversized frame, …)
//
// Both sides prove they know the key (a client cannot be fooled by a stranger's socket either), the digests
// are compared with timingSafeEqual, a frame before authentication is at most HANDSHAKE_MAX bytes, and bodies
// are decoded with v8.deserialize (structured clone: data only, never code).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import v8 from 'node:v8';
import * as posix from '../../posix/index.js';
import { jsonSafe } from '../core/codec.js';
import { checkSendable } from '../core/sendable.js';
import { coded } from '../../posix/errors.js';

export const HEADER = 4;
/** Largest frame accepted before the handshake is complete. */
export const HANDSHAKE_MAX = 512;
/** Default largest request or reply (either side refuses longer frames): 64 MiB. */
export const DEFAULT_MANAGER_MESSAGE_BYTES = 64 * 2 ** 20;
/** How long a server waits for a new connection to authenticate (default of ManagerOptions.authTimeout). */
export const AUTH_TIMEOUT_MS = 5_000;
/** How many connections may be waiting to authenticate at once (default of ManagerOptions.maxPendingAuth). */
export const MAX_PENDING_AUTH = 32;

const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const NONCE = 32;
const DIGEST = 32;

/** The kinds of object a manager makes (a proxy's `kind`, the first argument of a create request). */
export type ProxyKind = 'dict' | 'list' | 'Namespace' | 'Value' | 'Queue' | 'Lock';

export type Request = [id: number, oid: number, method: string, args: unknown[]];
export type Reply = [id: number, ok: boolean, value: unknown];

/** An error as it travels (lib/mp/core/remote-error.ts). */
export { type ErrorRecord, errorRecord } from '../core/remote-error.js';

export { coded };

export function frame(body: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(HEADER);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

export function tooLarge(n: number, limit: number, what: string): RangeError {
  return coded(new RangeError(`${what} of ${n} bytes exceeds the Manager's message limit of ${limit} bytes`), 'ERR_OUT_OF_RANGE');
}

function needsCheck(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (depth > 0 || !Array.isArray(v)) return true;
  for (const x of v) if (needsCheck(x, depth + 1)) return true;
  return false;
}

const CLONE = 0;
const JSON_KIND = 1;
const CLONE_PREFIX = Buffer.from([0, 0, 0, 0, CLONE]);

/**
 * Serialises a message into one frame: [length][kind][body], kind JSON for plain data, else a structured
 * clone (the header is reserved in the serializer's own buffer: no copy). Values that cannot be cloned, or
 * shared objects, are a TypeError.
 */
export function encode(msg: unknown, limit: number, what = 'A Manager message', check = true): Buffer {
  let out: Buffer;
  if (jsonSafe(msg)) {
    const json = JSON.stringify(msg);
    const n = Buffer.byteLength(json);
    out = Buffer.allocUnsafe(HEADER + 1 + n);
    out[HEADER] = JSON_KIND;
    out.write(json, HEADER + 1, 'utf8');
  } else {
    // a request is [id, oid, method, args]: look for shared objects only where objects are (a server's reply
    // holds only what it decoded itself: no check)
    if (check && (Array.isArray(msg) ? msg.some((x) => needsCheck(x, 0)) : needsCheck(msg, 0))) checkSendable(msg, 'a Manager');
    try {
      const ser = new v8.DefaultSerializer();
      ser.writeRawBytes(CLONE_PREFIX);
      ser.writeHeader();
      ser.writeValue(msg);
      out = ser.releaseBuffer();
    } catch (e) {
      throw coded(new TypeError(`A value cannot be sent to a Manager: ${(e as Error).message}`, { cause: e }), 'ERR_MULTIPROC_NOT_CLONEABLE');
    }
  }
  const n = out.length - HEADER;
  if (n > limit) throw tooLarge(n, limit, what);
  out.writeUInt32BE(n, 0);
  return out;
}

export function decode(body: Uint8Array): unknown {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (b[0] === JSON_KIND) return JSON.parse(b.toString('utf8', 1));
  if (b[0] !== CLONE) throw new TypeError(`unknown Manager message kind ${b[0]}`);
  return v8.deserialize(b.subarray(1));
}

/** Splits a byte stream into frames; a declared length over the current limit is an error. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0);
  limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  /** Appends bytes; returns the complete frames now available. Throws a RangeError on an oversized frame. */
  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    while (this.#buf.length >= HEADER) {
      const n = this.#buf.readUInt32BE(0);
      if (n > this.limit) throw tooLarge(n, this.limit, 'A frame');
      if (this.#buf.length < HEADER + n) break;
      out.push(this.#buf.subarray(HEADER, HEADER + n));
      this.#buf = this.#buf.subarray(HEADER + n);
    }
    return out;
  }
}

// ---- the handshake ----

function digest(key: Uint8Array, label: string, nonce: Uint8Array): Buffer {
  return createHmac('sha256', key).update(label).update(nonce).digest();
}

function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function authError(message: string): Error {
  return coded(new Error(message), 'ERR_MULTIPROC_AUTH');
}

/** Server: the frame that refuses a connection before authentication (a fixed reason, nothing else). */
export function serverRefusal(reason: string): Buffer {
  return frame(Buffer.concat([FAILURE, Buffer.from(reason)]));
}

/** Server: the first frame it sends, and the nonce to check the answer against. */
export function serverChallenge(): { nonce: Buffer; frame: Buffer } {
  const nonce = randomBytes(NONCE);
  return { nonce, frame: frame(Buffer.concat([CHALLENGE, nonce])) };
}

/**
 * Server: checks the client's answer; returns the frame to send back and, when the client proved the key,
 * its session id.
 */
export function serverVerify(key: Uint8Array, nonceS: Uint8Array, answer: Uint8Array): { ok: boolean; session: string; frame: Buffer } {
  const ok = answer.length >= DIGEST + NONCE && sameDigest(answer.subarray(0, DIGEST), digest(key, 'client', nonceS));
  if (!ok) return { ok, session: '', frame: serverRefusal('authentication failed, the digest received was wrong (wrong authkey)') };
  const nonceC = answer.subarray(DIGEST, DIGEST + NONCE);
  const session = Buffer.from(answer.subarray(DIGEST + NONCE)).toString('utf8');
  return { ok, session, frame: frame(Buffer.concat([WELCOME, digest(key, 'server', nonceC)])) };
}

/** Client: throws ERR_MULTIPROC_AUTH with the server's reason when a handshake frame is a refusal. */
function refused(f: Uint8Array): void {
  if (FAILURE.equals(f.subarray(0, FAILURE.length))) {
    const why = Buffer.from(f.subarray(FAILURE.length)).toString('utf8');
    throw authError(`Manager refused the connection: ${why}`);
  }
}

/** Client: the answer to the server's challenge, and the nonce the server must prove the key with. */
export function clientAnswer(key: Uint8Array, challenge: Uint8Array, session: string): { nonce: Buffer; frame: Buffer } {
  refused(challenge); // a server that will not serve this connection says so instead of challenging it
  if (challenge.length !== CHALLENGE.length + NONCE || !CHALLENGE.equals(challenge.subarray(0, CHALLENGE.length))) {
    throw authError('Manager handshake failed: the peer did not send a challenge (not a multiproc Manager?)');
  }
  const nonce = randomBytes(NONCE);
  const proof = digest(key, 'client', challenge.subarray(CHALLENGE.length));
  return { nonce, frame: frame(Buffer.concat([proof, nonce, Buffer.from(session, 'utf8')])) };
}

/** Client: checks the server's verdict; throws ERR_MULTIPROC_AUTH on a refusal or a server that lacks the key. */
export function clientCheckWelcome(key: Uint8Array, nonceC: Uint8Array, verdict: Uint8Array): void {
  refused(verdict);
  if (!WELCOME.equals(verdict.subarray(0, WELCOME.length)) || !sameDigest(verdict.subarray(WELCOME.length), digest(key, 'server', nonceC))) {
    throw authError('Manager handshake failed: the server did not prove it knows the authkey');
  }
}

// ---- blocking frame I/O on a raw fd (the ...Sync client) ----

/** Writes one whole frame (blocking). */
export function writeFrameSync(fd: number, data: Uint8Array): void {
  posix.writeAll(fd, data);
}

function readExactSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) {
    const n = posix.read(fd, buf, off, buf.length - off);
    if (n === 0) throw coded(new Error('the Manager closed the connection'), 'ERR_MULTIPROC_EOF');
    off += n;
  }
}

// One read(2) usually brings a whole small reply: header and body together.
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Reads one whole frame (blocking read(2): the thread sleeps in the kernel, no spinning). Reads at most up to
 * the frame's end, so nothing of a later frame is consumed (there is none: one request at a time).
 */
export function readFrameSync(fd: number, limit: number): Buffer {
  let got = 0;
  while (got < HEADER) {
    const n = posix.read(fd, scratch, got, scratch.length - got);
    if (n === 0) throw coded(new Error('the Manager closed the connection'), 'ERR_MULTIPROC_EOF');
    got += n;
  }
  const n = scratch.readUInt32BE(0);
  if (n > limit) throw tooLarge(n, limit, 'A frame');
  if (HEADER + n <= got) return Buffer.from(scratch.subarray(HEADER, HEADER + n));
  const body = Buffer.allocUnsafe(n);
  scratch.copy(body, 0, HEADER, got);
  readExactSync(fd, body.subarray(got - HEADER));
  return body;
}

export function toKey(authkey: unknown, what = 'authkey'): Buffer {
  if (typeof authkey === 'string') return Buffer.from(authkey, 'utf8');
  if (authkey instanceof Uint8Array) return Buffer.from(authkey);
  throw coded(new TypeError(`The "${what}" must be a string or a Uint8Array`), 'ERR_INVALID_ARG_TYPE');
}

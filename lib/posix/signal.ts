// The signal family of the posix layer: sigaction(2), sigprocmask(2), sigpending(2), sigsuspend(2), sigqueue(3),
// and the proc(5) signal masks of a process. Names and semantics are C's.
//
// A JS function cannot run inside a signal handler, so the handler sigaction installs ('record') is native:
// it records each delivery (signal, sender, si_code, sigqueue value, time) and counts it; read them with
// signalRecords()/signalCount(), or sleep until a handler has run with sigsuspend(). This is the C model, for
// processes that own their signals, such as a forked child: sigaction replaces Node's own handlers (those
// behind process.on('SIGINT'), libuv's SIGCHLD handler). In an ordinary Node program use process.on().
//
// sigprocmask changes the calling thread's mask (pthread_sigmask): in a forked child, which has one thread,
// that is the process's mask, as in C; in a running Node, signals directed at the process may still be
// delivered to one of Node's other threads.
import { readFileSync } from 'node:fs';
import { native, type SignalConstants } from '../binding/addon.js';
import { timeout as checkTimeout, typeError } from './errors.js';
import { type Signal, signalName, signalNumber } from './process.js';

const C = native.signalConstants;

/** What a signal does: its default action, nothing, the recording handler, or what it did before multiproc changed it. */
export type SignalDisposition = 'default' | 'ignore' | 'record' | 'original';

/** sigaction(2)'s sa_flags, as booleans. */
export interface SigactionFlags {
  /** SA_RESTART: a system call the handler interrupted is restarted instead of failing with EINTR. */
  restart?: boolean;
  /** SA_NODEFER: the signal is not blocked while its own handler runs. */
  noDefer?: boolean;
  /** SA_RESETHAND: the handler runs once, then the disposition is back to the default (one-shot). */
  resetHand?: boolean;
  /** SA_NOCLDSTOP (SIGCHLD): no SIGCHLD when a child stops or continues. */
  noChildStop?: boolean;
  /** SA_NOCLDWAIT (SIGCHLD): children that exit are not turned into zombies (nobody can wait for them). */
  noChildWait?: boolean;
}

/** Options of {@link sigaction}: SA_* flags and the mask blocked while the handler runs. */
export interface SigactionOptions extends SigactionFlags {
  /** sa_mask: signals blocked while the handler runs (the signal itself too, unless noDefer). */
  mask?: Signal[];
}

/** The action a signal had: 'other' is a handler that is not multiproc's (Node's, libuv's). */
export interface PreviousAction {
  /** SIG_DFL ('default'), SIG_IGN ('ignore'), multiproc's recording handler ('record') or another handler ('other'). */
  disposition: 'default' | 'ignore' | 'record' | 'other';
  /** The SA_* flags it had. */
  flags: SigactionFlags;
}

const FLAG_BITS: [keyof SigactionFlags, keyof SignalConstants][] = [
  ['restart', 'SA_RESTART'],
  ['noDefer', 'SA_NODEFER'],
  ['resetHand', 'SA_RESETHAND'],
  ['noChildStop', 'SA_NOCLDSTOP'],
  ['noChildWait', 'SA_NOCLDWAIT'],
];
const DISPOSITIONS: SignalDisposition[] = ['default', 'ignore', 'record', 'original'];
const PREVIOUS: PreviousAction['disposition'][] = ['default', 'ignore', 'record', 'other'];

function signalList(name: string, signals: Signal[] | undefined): number[] {
  if (signals === undefined) return [];
  if (!Array.isArray(signals)) throw typeError(`The "${name}" argument must be an array of signals. Received ${typeof signals}`);
  return signals.map((s) => signalNumber(s));
}

const names = (nums: number[]): string[] => nums.map(signalName);

/**
 * sigaction(2): sets what `signal` does in this process and returns what it did. 'record' installs the
 * native recording handler (SA_SIGINFO); 'original' puts back the action the signal had before multiproc
 * first changed it. SIGKILL and SIGSTOP cannot be changed (EINVAL).
 * @param signal the signal, by name or number
 * @param disposition 'default' (SIG_DFL), 'ignore' (SIG_IGN), 'record' or 'original'
 * @param opts SA_* flags and sa_mask; see {@link SigactionOptions}
 * @returns the previous action
 * @see [sigaction(2)](https://man7.org/linux/man-pages/man2/sigaction.2.html)
 * @example
 * ```ts
 * // in a forked child, which owns its signals:
 * posix.sigaction('SIGUSR1', 'record');
 * posix.kill(posix.getpid(), 'SIGUSR1');
 * posix.signalCount('SIGUSR1');   // 1
 * posix.signalRecords();          // [{ seq: 0, signal: 'SIGUSR1', code: 'user', pid, uid, value: 0, … }]
 * ```
 */
export function sigaction(signal: Signal, disposition: SignalDisposition, opts: SigactionOptions = {}): PreviousAction {
  const d = DISPOSITIONS.indexOf(disposition);
  if (d < 0) throw typeError(`The "disposition" argument must be one of ${DISPOSITIONS.map((x) => `'${x}'`).join(', ')}. Received ${String(disposition)}`);
  if (opts === null || typeof opts !== 'object') throw typeError('The "options" argument must be an object');
  let flags = 0;
  for (const [key, name] of FLAG_BITS) if (opts[key]) flags = (flags | C[name]) >>> 0; // unsigned: SA_RESETHAND is bit 31
  const [prev, prevFlags] = native.sigaction(signalNumber(signal), d, flags, signalList('mask', opts.mask));
  const out: SigactionFlags = {};
  for (const [key, name] of FLAG_BITS) if (prevFlags & C[name]) out[key] = true;
  return { disposition: PREVIOUS[prev] ?? 'other', flags: out };
}

const HOW = { block: 'SIG_BLOCK', unblock: 'SIG_UNBLOCK', setmask: 'SIG_SETMASK' } as const;

/**
 * sigprocmask(2) (pthread_sigmask: the calling thread's mask): 'block' adds `signals` to the mask, 'unblock'
 * removes them, 'setmask' replaces it. Returns the previous mask, by name. A signal that is pending when it
 * is unblocked is delivered before this returns. sigprocmask('block') with no signals reads the mask.
 * @param how 'block' (SIG_BLOCK), 'unblock' (SIG_UNBLOCK) or 'setmask' (SIG_SETMASK)
 * @param signals the signals, by name or number (default none)
 * @returns the previous mask, by name
 * @see [sigprocmask(2)](https://man7.org/linux/man-pages/man2/sigprocmask.2.html), [pthread_sigmask(3)](https://man7.org/linux/man-pages/man3/pthread_sigmask.3.html)
 */
export function sigprocmask(how: keyof typeof HOW, signals: Signal[] = []): string[] {
  const c = HOW[how];
  if (c === undefined) throw typeError(`The "how" argument must be 'block', 'unblock' or 'setmask'. Received ${String(how)}`);
  return names(native.sigprocmask(C[c]!, signalList('signals', signals)));
}

/**
 * sigpending(2): the signals raised for this thread or process while blocked, not yet delivered.
 * @see [sigpending(2)](https://man7.org/linux/man-pages/man2/sigpending.2.html)
 */
export function sigpending(): string[] {
  return names(native.sigpending());
}

/**
 * sigsuspend(2): replaces the thread's mask with `mask` and sleeps until a signal handler has run (true),
 * then puts the mask back. With `timeout` (ms) it gives up after that long (false); this is ppoll(2) with
 * no fds, which swaps the mask just as atomically. Signals that are ignored or blocked do not wake it.
 * @param mask the signals blocked while sleeping (default none: any handled signal wakes it)
 * @param timeout milliseconds (default: none)
 * @returns true when a handler ran, false when the time ran out
 * @see [sigsuspend(2)](https://man7.org/linux/man-pages/man2/sigsuspend.2.html), [ppoll(2)](https://man7.org/linux/man-pages/man2/ppoll.2.html)
 */
export function sigsuspend(mask: Signal[] = [], timeout?: number | null): boolean {
  const ms = checkTimeout('timeout', timeout); // lib/posix/errors.ts: undefined, null, Infinity: none
  return native.sigsuspend(signalList('mask', mask), ms === Infinity ? undefined : ms);
}

/**
 * sigqueue(3): sends `signal` to `pid` with an integer `value` (a real-time signal queues one per call).
 * @param pid the receiving process
 * @param signal the signal, by name or number (0: only check that `pid` exists)
 * @param value the payload (si_value.sival_int; default 0), seen as {@link SignalRecord.value}
 * @see [sigqueue(3)](https://man7.org/linux/man-pages/man3/sigqueue.3.html)
 */
export function sigqueue(pid: number, signal: Signal, value = 0): void {
  native.sigqueue(pid, signalNumber(signal, true), value);
}

/** One run of the recording handler (siginfo_t, as it came). */
export interface SignalRecord {
  /** 0, 1, 2 … in order of delivery, over the whole process. */
  seq: number;
  /** si_signo, by name ('SIGUSR1'). */
  signal: string;
  /** si_code by name: 'user' (kill), 'queue' (sigqueue), 'tkill', 'kernel'; for SIGCHLD 'exited', 'killed', 'dumped', 'stopped', 'continued'. */
  code: string;
  /** si_pid: the sender's pid (SIGCHLD: the child's). */
  pid: number;
  /** si_uid: the sender's real user id. */
  uid: number;
  /** si_value of a sigqueue, else 0. */
  value: number;
  /** SIGCHLD: the child's exit status or signal number. */
  status: number;
  /** CLOCK_MONOTONIC, in ms (the clock of process.hrtime.bigint()). */
  time: number;
}

function codeName(signo: number, code: number): string {
  if (signo === native.signals.SIGCHLD && code > 0 && code < 0x80) {
    for (const [n, v] of [['exited', 'CLD_EXITED'], ['killed', 'CLD_KILLED'], ['dumped', 'CLD_DUMPED'], ['stopped', 'CLD_STOPPED'], ['continued', 'CLD_CONTINUED']] as const) {
      if (C[v] === code) return n;
    }
  }
  for (const [n, v] of [['user', 'SI_USER'], ['queue', 'SI_QUEUE'], ['tkill', 'SI_TKILL'], ['kernel', 'SI_KERNEL']] as const) {
    if (C[v] === code) return n;
  }
  return `code ${code}`;
}

/**
 * The deliveries recorded since `fromSeq` that are still kept (the last 1024), oldest first.
 * @param fromSeq the first seq wanted (default 0: every kept record); pass {@link signalSeq}() from before
 *   an action to see only what it caused
 */
export function signalRecords(fromSeq = 0): SignalRecord[] {
  return native.signalRecords(fromSeq).map(([seq, signo, code, pid, uid, value, status, time]) => ({
    seq,
    signal: signalName(signo),
    code: codeName(signo, code),
    pid,
    uid,
    value,
    status,
    time,
  }));
}

/**
 * How many times the recording handler has run for `signal` in this process.
 * @param signal the signal, by name or number
 */
export function signalCount(signal: Signal): number {
  return native.signalCount(signalNumber(signal));
}

/** The number of deliveries recorded so far (the next record's seq). */
export function signalSeq(): number {
  return native.signalSeq();
}

/** A process's signal masks as the kernel shows them in /proc/[pid]/status (null when it has no entry). */
export interface SignalMasks {
  /** SigPnd: pending for the (main) thread. */
  pendingThread: string[];
  /** ShdPnd: pending for the whole process. */
  pendingProcess: string[];
  /** SigBlk: blocked (the main thread's mask). */
  blocked: string[];
  /** SigIgn: ignored (SIG_IGN). */
  ignored: string[];
  /** SigCgt: caught (a handler installed). */
  caught: string[];
}

/**
 * Decodes a /proc mask (hex, bit n-1 = signal n) into signal names.
 * @param hex the mask as /proc/[pid]/status shows it ('0000000000010002' → ['SIGINT', 'SIGCHLD'])
 */
export function decodeSignalMask(hex: string): string[] {
  const out: string[] = [];
  let bits = BigInt(`0x${hex.trim() || '0'}`);
  for (let sig = 1; bits !== 0n; sig++, bits >>= 1n) if (bits & 1n) out.push(signalName(sig));
  return out;
}

/**
 * /proc/[pid]/status SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt, decoded.
 * @param pid the process (default 'self')
 * @returns the masks by name, or null when the process is gone
 * @see [proc_pid_status(5)](https://man7.org/linux/man-pages/man5/proc_pid_status.5.html)
 */
export function signalMasks(pid: number | 'self' = 'self'): SignalMasks | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  const field = (name: string) => decodeSignalMask(new RegExp(`^${name}:\\s*([0-9a-f]+)`, 'm').exec(text)?.[1] ?? '0');
  return { pendingThread: field('SigPnd'), pendingProcess: field('ShdPnd'), blocked: field('SigBlk'), ignored: field('SigIgn'), caught: field('SigCgt') };
}

// The lab timeline: events recorded by every process of a lab, each with a timestamp taken in the process
// that recorded it. The events live in a shared mapping (inherited by fork), so children append to it
// directly: a slot index comes from an atomic counter, then the slot is filled and published. Times are
// CLOCK_MONOTONIC (process.hrtime), the same clock in every process, so they compare across processes.
//
// Slot layout (128 bytes): f64 time (ms) | i32 kind | i32 pid | i32 peer | i32 value | u8 label length |
// label (UTF-8, at most 96 bytes) | i32 pid of the recorder at 124.
import * as posix from '../../posix/index.js';

export type EventKind =
  | 'lane' //     pid is a lane in the picture, label = its name
  | 'state' //    pid is now in state `label` (running, sleeping, blocked, stopped, zombie), seen by `peer`
  | 'fork' //     pid forked peer
  | 'exit' //     pid exited with status `value`
  | 'reap' //     pid reaped peer (waitpid), label = how it ended
  | 'signal' //   pid sent signal `label` to peer
  | 'send' //     pid sent message #value to peer, label = what
  | 'recv' //     pid received message #value from peer, label = what
  | 'mark' //     something pid did, label = what
  | 'reparent' // pid's parent is now peer
  | 'waitfor' //  pid waits for peer (a wait-for edge), label = the resource
  | 'sync' //     a moment that concerns every lane (barrier release), label = what
  | 'end'; //     the picture ends here (what follows is in the narrative only), label = what follows

const KINDS: EventKind[] = ['lane', 'state', 'fork', 'exit', 'reap', 'signal', 'send', 'recv', 'mark', 'reparent', 'waitfor', 'sync', 'end'];

export interface TimelineEvent {
  /** Milliseconds since the timeline was created (monotonic clock, taken by the recording process). */
  t: number;
  kind: EventKind;
  pid: number;
  peer: number;
  value: number;
  label: string;
  /** The pid of the process that recorded the event. */
  by: number;
}

const SLOT = 128;
const HEADER = 64;
const LABEL_MAX = 96; // label bytes at 25..120; the recorder's pid at 124

/** Monotonic milliseconds (CLOCK_MONOTONIC: one clock for every process on the machine). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class Timeline {
  readonly capacity: number;
  readonly #map: posix.Mapping;
  readonly #i32: Int32Array;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly t0: number;
  #closed = false;

  constructor(capacity = 4096) {
    this.capacity = capacity;
    this.#map = posix.mmap(HEADER + capacity * SLOT);
    this.#i32 = new Int32Array(this.#map.buffer);
    this.#view = new DataView(this.#map.buffer);
    this.#bytes = new Uint8Array(this.#map.buffer);
    this.t0 = nowMs();
    this.#view.setFloat64(8, this.t0, true);
  }

  /**
   * Appends an event, timestamped now in the calling process (or at `at`, a time on the same clock taken
   * earlier, e.g. by a signal handler). Returns false when the timeline is full.
   */
  record(kind: EventKind, pid: number, opts: { peer?: number; value?: number; label?: string; at?: number } = {}): boolean {
    if (this.#closed) return false;
    const t = opts.at ?? nowMs();
    const i = Atomics.add(this.#i32, 0, 1);
    if (i >= this.capacity) return false;
    const off = HEADER + i * SLOT;
    this.#view.setFloat64(off, t, true);
    this.#view.setInt32(off + 12, pid, true);
    this.#view.setInt32(off + 16, opts.peer ?? 0, true);
    this.#view.setInt32(off + 20, opts.value ?? 0, true);
    const label = Buffer.from(opts.label ?? '', 'utf8').subarray(0, LABEL_MAX);
    this.#bytes[off + 24] = label.length;
    this.#bytes.set(label, off + 25);
    this.#view.setInt32(off + 124, posix.getpid(), true);
    Atomics.store(this.#i32, (off + 8) / 4, KINDS.indexOf(kind) + 1); // published last
    return true;
  }

  lane(pid: number, name: string): void {
    this.record('lane', pid, { label: name });
  }
  state(pid: number, state: string): void {
    this.record('state', pid, { label: state, peer: posix.getpid() });
  }
  mark(pid: number, label: string, at?: number): void {
    this.record('mark', pid, { label, at });
  }

  /** The events recorded so far, in time order. */
  events(): TimelineEvent[] {
    if (this.#closed) return [];
    const n = Math.min(Atomics.load(this.#i32, 0), this.capacity);
    const out: TimelineEvent[] = [];
    for (let i = 0; i < n; i++) {
      const off = HEADER + i * SLOT;
      const k = Atomics.load(this.#i32, (off + 8) / 4);
      if (k === 0) continue; // a slot being written by a process that died mid-record
      const len = this.#bytes[off + 24]!;
      out.push({
        t: Math.round((this.#view.getFloat64(off, true) - this.t0) * 1000) / 1000,
        kind: KINDS[k - 1]!,
        pid: this.#view.getInt32(off + 12, true),
        peer: this.#view.getInt32(off + 16, true),
        value: this.#view.getInt32(off + 20, true),
        label: Buffer.from(this.#bytes.subarray(off + 25, off + 25 + len)).toString('utf8'),
        by: this.#view.getInt32(off + 124, true),
      });
    }
    return out.sort((a, b) => a.t - b.t);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#map.close();
  }
}

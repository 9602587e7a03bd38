// The multiprocessing layer's error classes (lib/mp/core/errors.ts) and errors across a process boundary
// (lib/mp/core/remote-error.ts): a record made in a real forked child, carried back by structured clone, and
// rebuilt here.
import { describe, expect, it } from 'vitest';
import {
  BrokenBarrierError,
  Empty,
  EOFError,
  Full,
  TimeoutError,
  WorkerDiedError,
} from '../lib/index.js';
import { closedError } from '../lib/mp/core/errors.js';
import { errorFromRecord, errorRecord, type ErrorRecord } from '../lib/mp/core/remote-error.js';
import { runInChild } from './helpers/child.js';
import { checkLeaks } from './helpers/leaks.js';

checkLeaks();

describe('error classes', () => {
  it('each has its name, code and default message, and is an Error', () => {
    const cases: [Error, string, string, string][] = [
      [new TimeoutError(), 'TimeoutError', 'ERR_MULTIPROC_TIMEOUT', 'timed out'],
      [new EOFError(), 'EOFError', 'ERR_MULTIPROC_EOF', 'the other end of the connection is closed'],
      [new Empty(), 'Empty', 'ERR_MULTIPROC_EMPTY', 'the queue is empty'],
      [new Full(), 'Full', 'ERR_MULTIPROC_FULL', 'the queue is full'],
      [new BrokenBarrierError(), 'BrokenBarrierError', 'ERR_MULTIPROC_BROKEN_BARRIER', 'The barrier is broken'],
    ];
    for (const [e, name, code, message] of cases) {
      expect(e).toBeInstanceOf(Error);
      expect({ name: e.name, code: (e as NodeJS.ErrnoException).code, message: e.message }).toEqual({ name, code, message });
    }
    const w = new WorkerDiedError(42, null, 'SIGKILL', 2);
    expect(w).toMatchObject({ name: 'WorkerDiedError', code: 'ERR_MULTIPROC_WORKER_DIED', pid: 42, exitCode: null, signal: 'SIGKILL' });
    expect(w.message).toBe('Pool worker 42 was killed by SIGKILL while it held 2 tasks');
    expect(new WorkerDiedError(7, 3, null, 1).message).toBe('Pool worker 7 exited with code 3 while it held 1 task');
  });

  it('closedError: an Error with code ERR_MULTIPROC_CLOSED, the message and the cause given', () => {
    const cause = new Error('why');
    const e = closedError('The thing is closed', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'ERR_MULTIPROC_CLOSED', message: 'The thing is closed' });
    expect(e.cause).toBe(cause);
  });
});

describe('errors across a process boundary', () => {
  it('a record made in a child rebuilds the class, message, own properties, cause and both stacks', async () => {
    const { value: rec } = await runInChild(() => {
      function failHere(): never {
        const cause = Object.assign(new TypeError('inner'), { code: 'E_INNER' });
        throw Object.assign(new RangeError('outer', { cause }), { code: 'E_OUTER', detail: { n: 3 }, fn: () => 1 });
      }
      try {
        failHere();
      } catch (e) {
        return errorRecord(e);
      }
    });
    const e = errorFromRecord(rec as ErrorRecord, { where: 'Pool worker 99', props: { workerPid: 99 } }) as RangeError & Record<string, unknown>;
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('outer');
    expect(e.code).toBe('E_OUTER');
    expect(e.detail).toEqual({ n: 3 });
    expect(e.fn).toBe('() => 1'); // not cloneable: travels as a string
    expect(e.workerPid).toBe(99);
    expect(Object.keys(e)).not.toContain('workerPid');
    expect(String(e.remoteStack)).toMatch(/failHere/);
    expect(e.stack).toMatch(/failHere[\s\S]*\n {4}at <Pool worker 99>$/);
    expect(e.cause).toBeInstanceOf(TypeError);
    expect(e.cause).toMatchObject({ message: 'inner', code: 'E_INNER' });
  });

  it("the layer's own classes come back as themselves; with localStack the caller's stack comes first", async () => {
    const { value: recs } = await runInChild(() => [new Empty(), new Full('no room'), new BrokenBarrierError(), new TimeoutError()].map((e) => errorRecord(e)));
    const back = recs.map((r) => errorFromRecord(r, { where: 'the Manager server', localStack: true }) as Error);
    expect(back[0]).toBeInstanceOf(Empty);
    expect(back[1]).toBeInstanceOf(Full);
    expect(back[1]!.message).toBe('no room');
    expect(back[2]).toBeInstanceOf(BrokenBarrierError);
    expect(back[3]).toBeInstanceOf(TimeoutError);
    expect(back[0]!.stack).toMatch(/mp-errors\.test[\s\S]*\n {4}--- in the Manager server ---\n/);
  });

  it('an unknown class keeps its name; a thrown non-Error comes back as the value; a DOMException keeps its name', async () => {
    const { value: recs } = await runInChild(() => {
      class CustomError extends Error {
        override name = 'CustomError';
      }
      const ac = new AbortController();
      ac.abort();
      return [errorRecord(new CustomError('mine')), errorRecord('a string'), errorRecord({ n: 1 }), errorRecord(Symbol('s')), errorRecord(ac.signal.reason)];
    });
    const [custom, str, obj, sym, abort] = recs.map((r) => errorFromRecord(r, { where: 'x' }));
    expect(custom).toBeInstanceOf(Error);
    expect((custom as Error).name).toBe('CustomError');
    expect(str).toBe('a string');
    expect(obj).toEqual({ n: 1 });
    expect(sym).toBe('Symbol(s)');
    expect(abort).toBeInstanceOf(Error);
    expect((abort as Error).name).toBe('AbortError');
  });
});

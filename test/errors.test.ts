// One errno path and one set of argument checks (native/errors.cc), seen from JavaScript: the native layer
// checks its own arguments even when called directly, and says what it expected and what it got.
import { describe, expect, it } from 'vitest';
import { getStartMethod, Pipe, Process, setStartMethod } from '../lib/index.js';
import { native } from '../lib/binding/addon.js';
import * as posix from '../lib/posix/index.js';
import { checkLeaks } from './helpers/leaks.js';
import { thrown } from './helpers/child.js';

checkLeaks();


describe('argument checks in the native layer', () => {
  it('wrong type → TypeError ERR_INVALID_ARG_TYPE naming the parameter and what came', () => {
    const e = thrown(() => native.waitpid('abc' as unknown as number, 0));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(e.message).toBe('The "pid" argument must be of type number. Received type string (\'abc\')');
    expect(thrown(() => native.setSubreaper(1 as unknown as boolean)).message).toBe(
      'The "on" argument must be of type boolean. Received type number (1)',
    );
    expect(thrown(() => native.read(0, {} as Uint8Array)).message).toBe(
      'The "buffer" argument must be an instance of Uint8Array. Received an instance of Object',
    );
    expect(thrown(() => native.waitpidAsync(1, null as unknown as () => void)).message).toBe(
      'The "callback" argument must be of type function. Received null',
    );
  });

  it('out of range → RangeError ERR_OUT_OF_RANGE with the bounds', () => {
    const e = thrown(() => native.kill(1, 999));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.code).toBe('ERR_OUT_OF_RANGE');
    expect(e.message).toMatch(/^The value of "signal" is out of range\. It must be >= 0 && <= 64\. Received 999$/);
    expect(thrown(() => native.kill(1.5, 0)).message).toBe('The value of "pid" is out of range. It must be an integer. Received 1.5');
    expect(thrown(() => native.kill(NaN, 0)).message).toBe('The value of "pid" is out of range. It must be an integer. Received NaN');
    expect(thrown(() => native._exit(256)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it('missing arguments → TypeError ERR_MISSING_ARGS', () => {
    const e = thrown(() => (native.kill as unknown as () => void)());
    expect(e).toBeInstanceOf(TypeError);
    expect(e.code).toBe('ERR_MISSING_ARGS');
    expect(e.message).toBe('Expected 2 arguments but received 0');
  });

  it('a detached buffer is an error, not a read of freed memory', () => {
    const [r, w] = native.pipe();
    const buf = new Uint8Array(16);
    structuredClone(buf.buffer, { transfer: [buf.buffer] });
    const e = thrown(() => native.write(w, buf));
    expect(e.code).toBe('ERR_INVALID_STATE');
    expect(e.message).toMatch(/detached/);
    native.close(r);
    native.close(w);
  });
});

describe('syscall failures', () => {
  it('→ Error with code, errno, syscall and "<syscall> <code>: <strerror>"', () => {
    const e = thrown(() => native.close(987654));
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ code: 'EBADF', errno: 9, syscall: 'close', message: 'close EBADF: Bad file descriptor' });
    expect(thrown(() => native.waitpid(1, 0))).toMatchObject({ code: 'ECHILD', errno: 10, syscall: 'waitpid' });
  });
});

// The public API's own errors (lib/posix/errors.ts): every error has a code; a value of the wrong type is a
// TypeError ERR_INVALID_ARG_TYPE, a value of the right type that is not one of the accepted ones (an enum)
// ERR_INVALID_ARG_VALUE, as Node's own validators do (fs.open(p, 'bogus'), new Blob([], { endings: 'x' })).
describe('error conventions of the public API', () => {
  it('Process: a call its state does not allow has code ERR_MULTIPROC_PROCESS_STATE (before: no code)', async () => {
    const p = new Process({ target: () => {} });
    for (const [f, message] of [
      [() => p.joinSync(), 'can only join a started process'],
      [() => p.close(), undefined],
    ] as const) {
      if (!message) {
        f();
        continue;
      }
      expect(thrown(f)).toMatchObject({ code: 'ERR_MULTIPROC_PROCESS_STATE', message });
    }
    const q = new Process({ target: () => {} });
    await expect(q.join()).rejects.toMatchObject({ code: 'ERR_MULTIPROC_PROCESS_STATE', message: 'can only join a started process' });
    q.start();
    expect(thrown(() => q.start())).toMatchObject({ code: 'ERR_MULTIPROC_PROCESS_STATE', message: 'cannot start a process twice' });
    await q.join();
    q.close();
    expect(thrown(() => q.start()).code).toBe('ERR_MULTIPROC_CLOSED');
    expect(thrown(() => new Process({ target: 1 as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => new Process({ target: () => {}, name: 7 as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => new Process({ target: () => {}, daemon: 'yes' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => new Process(null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => new Process({ target: () => {}, startMethod: 'thread' as never })).code).toBe('ERR_INVALID_ARG_VALUE');
  });

  it('a running Process cannot be closed: ERR_MULTIPROC_PROCESS_STATE', async () => {
    const [r, w] = Pipe(false);
    const p = new Process({ target: () => r.recvSync() });
    p.start();
    try {
      expect(thrown(() => p.close()).code).toBe('ERR_MULTIPROC_PROCESS_STATE');
    } finally {
      w.send('go');
      await p.join();
      p.close();
      r.close();
      w.close();
    }
  });

  it("processInfo('x') is a TypeError (before: RangeError); 0 and -1 a RangeError", () => {
    expect(thrown(() => posix.processInfo('x' as never))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => posix.processInfo(0))).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(thrown(() => posix.children('1' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => posix.processTree(-1)).code).toBe('ERR_OUT_OF_RANGE');
  });

  it("setrlimit('bogus') / getrlimit('bogus'): TypeError ERR_INVALID_ARG_VALUE, as Node does for a bad enum value", () => {
    for (const f of [() => posix.setrlimit('bogus' as never, { soft: 1, hard: 1 }), () => posix.getrlimit('bogus' as never), () => posix.getrlimit('NOFILE' as never)]) {
      const e = thrown(f);
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(e.message).toMatch(/^The argument 'resource' must be one of 'core', .*\. Received '(bogus|NOFILE)'$/);
    }
    expect(thrown(() => posix.getrlimit(3 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => posix.setrlimit('core', null as never)).code).toBe('ERR_INVALID_ARG_TYPE');
  });

  it("Pipe('yes') is a TypeError (before: accepted as duplex); bad options too", () => {
    expect(thrown(() => Pipe('yes' as never))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(thrown(() => Pipe(1 as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(thrown(() => Pipe(true, 'big' as never)).code).toBe('ERR_INVALID_ARG_TYPE');
    const [a, b] = Pipe(false);
    a.close();
    b.close();
  });

  it('more of the same kind: socketpair, futexWaitAsync, setStartMethod, new Mapping()', () => {
    expect(thrown(() => posix.socketpair('constructor' as never)).code).toBe('ERR_INVALID_ARG_VALUE'); // before: passed an Object to the addon
    expect(thrown(() => posix.socketpair('bogus' as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    const m = posix.mmap(4096);
    try {
      expect(thrown(() => posix.futexWaitAsync(m, 0, 0, { signal: 'x' as never })).code).toBe('ERR_INVALID_ARG_TYPE');
    } finally {
      m.close();
    }
    expect(thrown(() => new (posix.Mapping as unknown as new () => unknown)()).code).toBe('ERR_ILLEGAL_CONSTRUCTOR');
    const other = getStartMethod() === 'fork' ? 'spawn' : 'fork';
    setStartMethod(getStartMethod());
    try {
      expect(thrown(() => setStartMethod(other)).code).toBe('ERR_MULTIPROC_CONTEXT_SET');
    } finally {
      setStartMethod(getStartMethod(), { force: true });
    }
  });
});

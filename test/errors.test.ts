// One errno path and one set of argument checks (native/errors.cc), seen from JavaScript: the native layer
// checks its own arguments even when called directly, and says what it expected and what it got.
import { describe, expect, it } from 'vitest';
import { native } from '../lib/native.js';
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

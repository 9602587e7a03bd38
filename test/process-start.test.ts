// The start methods as strategies (lib/mp/process/start): the contract every method meets, written once and
// run for each name in START_METHODS — a method added later (a forkserver) is tested here by being listed.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getAllStartMethods, getContext, Manager, Pool, Process } from '../lib/index.js';
import * as posix from '../lib/posix/index.js';
import { type ChildHandle, type ChildJob, moduleUrl, START_METHODS, startMethod } from '../lib/mp/process/start/index.js';
import { checkLeaks } from './helpers/leaks.js';
import * as targets from './helpers/targets.js';
import { helper } from './helpers/files.js';

checkLeaks();

const targetsUrl = moduleUrl('targets', helper('targets.ts'));

/** Waits (up to a minute: a bound against a hang, not a timing check) until the sentinel says the child ended. */
function awaitEnd(h: ChildHandle): void {
  const fd = h.openSentinel();
  try {
    expect(posix.poll(fd, { readable: true }, 60_000).readable).toBe(true);
  } finally {
    posix.close(fd);
  }
}

describe('the start-method table', () => {
  it('lists every method getAllStartMethods() names; each strategy carries its own name', () => {
    expect([...START_METHODS]).toEqual(getAllStartMethods());
    for (const name of START_METHODS) expect(startMethod('m', name).name).toBe(name);
    expect(startMethod('m', 'fork').runsClosures).toBe(true);
    expect(startMethod('m', 'spawn').runsClosures).toBe(false);
  });

  it('an unknown name is TypeError ERR_INVALID_ARG_VALUE listing every method, even an Object.prototype key', () => {
    for (const bad of ['thread', 'constructor', 'toString', '', 3, null, undefined]) {
      let err: (Error & { code?: string }) | undefined;
      try {
        startMethod('options.startMethod', bad);
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err).toBeInstanceOf(TypeError);
      expect(err!.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(err!.message).toMatch(/^The property 'options.startMethod' must be 'fork', 'spawn' or 'forkserver'\. Received /);
    }
    // the same check behind every entry point that takes a method
    expect(() => getContext('thread' as never)).toThrow(/The argument 'method' must be 'fork', 'spawn' or 'forkserver'. Received 'thread'/);
    expect(() => new Pool({ startMethod: 'thread' as never })).toThrow(/'options.startMethod' must be 'fork', 'spawn' or 'forkserver'/);
    return expect(Manager.start({ startMethod: 'thread' as never })).rejects.toThrow(/'options.startMethod' must be 'fork', 'spawn' or 'forkserver'/);
  });
});

for (const name of START_METHODS) {
  const method = startMethod('m', name);
  const target = (exp: keyof typeof targets): ChildJob['target'] =>
    method.runsClosures ? (targets[exp] as (...a: never[]) => unknown) : { module: targetsUrl, export: exp };

  describe(`the ${name} strategy`, () => {
    it('start() gives a handle: poll() is undefined while the child runs; the sentinel turns readable at its end; poll() then has the status', () => {
      const h = method.start({ name: `contract-${name}`, daemon: true, target: target('exitWith'), args: [7] });
      expect(h.pid).toBeGreaterThan(0);
      awaitEnd(h);
      expect(h.poll()).toEqual({ kind: 'exited', pid: h.pid, code: 7 });
    });

    it('signal() reaches the running child; the status says which signal ended it', () => {
      const h = method.start({ name: `contract-${name}`, daemon: true, target: target('forever'), args: [] });
      expect(h.poll()).toBeUndefined();
      const fd = h.openSentinel();
      try {
        expect(posix.poll(fd, { readable: true }, 0).readable).toBe(false);
      } finally {
        posix.close(fd);
      }
      h.signal('SIGKILL');
      awaitEnd(h);
      expect(h.poll()).toMatchObject({ kind: 'signaled', pid: h.pid, signal: 'SIGKILL' });
    });

    it('a target of the kind the method cannot run is refused before any child exists', () => {
      const wrong: ChildJob['target'] = method.runsClosures ? { module: targetsUrl, export: 'forever' } : targets.forever;
      expect(() => method.start({ name: 'wrong', daemon: true, target: wrong, args: [] })).toThrow(TypeError);
    });

    it('callers decide by capability: Process and Pool ask for what the method can run', async () => {
      if (method.runsClosures) {
        expect(() => new Process({ startMethod: name })).toThrow(/"options.target" property must be of type function/);
        const pool = new Pool({ processes: 1, startMethod: name });
        const k = 3;
        expect(await pool.map((x: number) => x * k, [1, 2])).toEqual([3, 6]);
        await pool.terminate();
      } else {
        expect(() => new Process({ startMethod: name, target: () => 1 })).toThrow(/"options.module" property must be a path or a URL/);
        const pool = new Pool({ processes: 1, startMethod: name });
        await expect(pool.map((x: number) => x, [1])).rejects.toThrow(new RegExp(`with the ${name} start method a function cannot be sent`));
        await pool.terminate();
      }
    });
  });
}

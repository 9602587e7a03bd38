// Running code in forked children from a test, safely: every child ends in _exit (never returns into the
// runner), every wait has a watchdog that SIGKILLs a hung child so the test fails instead of blocking CI.
import v8 from 'node:v8';
import * as posix from '../../lib/posix/index.js';

export type Body = () => unknown | Promise<unknown>;

/** Ends the child: a number result is the exit code; an exception prints its stack and exits 1. */
function finish(p: Promise<unknown>): void {
  p.then(
    (r) => posix.exit(typeof r === 'number' ? r : 0),
    (e) => {
      process.stderr.write(`child ${process.pid} failed: ${(e as Error)?.stack ?? String(e)}\n`);
      posix.exit(1);
    },
  );
}

/**
 * In a forked child inside a test: never return into the test runner. Awaiting this suspends the caller for
 * good; the child then ends by exit() or when its own work is done (the loop runs dry → _exit).
 */
export function childNeverReturns(): Promise<never> {
  return new Promise<never>(() => {});
}

/**
 * Forks; the child runs `body` and exits (0, or the number it returns); the parent gets the child's pid.
 * In the child the returned promise never settles, so the caller's code after `await forkRun(...)` only ever
 * runs in the parent.
 */
export async function forkRun(body: Body): Promise<number> {
  const pid = posix.fork();
  if (pid === 0) {
    finish(Promise.resolve().then(body));
    return childNeverReturns();
  }
  return pid;
}

/** Waits for `pid` to end; after `timeoutMs` kills it (SIGKILL), reaps it and throws. */
export async function reap(pid: number, timeoutMs = 30_000): Promise<posix.WaitStatus> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`watchdog: child ${pid} still running after ${timeoutMs} ms`)), timeoutMs);
  try {
    return await posix.waitpidAsync(pid, { signal: ac.signal });
  } catch (e) {
    if (ac.signal.aborted) {
      try {
        posix.kill(pid, 'SIGKILL');
        posix.waitpid(pid);
      } catch {
        /* already gone */
      }
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `fd` until EOF without blocking the thread. */
export async function readAll(fd: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = await posix.readAsync(fd, buf);
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/**
 * Forks a child with a pipe to this process. The child runs `body(w)`, w the pipe's write end (or, with
 * `onto`, that fd of the child — 1 stdout, 2 stderr — made the pipe), and decides itself how it ends: exit,
 * or its event loop running dry. The parent runs `meanwhile`, then reads all the child wrote (until EOF) and
 * reaps it.
 */
export async function forkPiped(
  body: (w: number) => unknown,
  opts: { onto?: number; meanwhile?: () => unknown } = {},
): Promise<{ pid: number; out: Buffer; status: posix.WaitStatus }> {
  const [r, w] = posix.pipe();
  const pid = posix.fork();
  if (pid === 0) {
    posix.close(r);
    if (opts.onto === undefined) {
      body(w);
    } else {
      posix.dup2(w, opts.onto);
      posix.close(w);
      body(opts.onto);
    }
    return childNeverReturns();
  }
  posix.close(w);
  try {
    await opts.meanwhile?.();
    const [out, status] = await Promise.all([readAll(r), reap(pid)]);
    return { pid, out, status };
  } finally {
    posix.close(r);
  }
}

/** Reads `fd` until a newline (or EOF) without blocking the thread; the first line, without its newline. */
export async function readLine(fd: number): Promise<string> {
  const buf = Buffer.alloc(4096);
  let text = '';
  while (!text.includes('\n')) {
    const n = await posix.readAsync(fd, buf);
    if (n === 0) break;
    text += buf.toString('utf8', 0, n);
  }
  return text.split('\n')[0]!;
}

/**
 * Runs `body` in a forked child and returns its status and its result (structured-cloned through a pipe).
 * The child's exit code is 0 when the body succeeded.
 */
export async function runInChild<T>(body: () => T | Promise<T>, timeoutMs = 30_000): Promise<{ status: posix.WaitStatus; value: T }> {
  const [r, w] = posix.pipe();
  const pid = await forkRun(async () => {
    posix.close(r);
    const value = await body();
    posix.writeAll(w, v8.serialize({ value }));
    posix.close(w);
    return 0;
  });
  posix.close(w);
  const [data, status] = await Promise.all([readAll(r), reap(pid, timeoutMs)]).finally(() => posix.close(r));
  if (status.kind !== 'exited' || status.code !== 0) {
    throw new Error(`child ${pid} did not succeed: ${JSON.stringify(status)}`);
  }
  return { status, value: (v8.deserialize(data) as { value: T }).value };
}

/**
 * A gate from a parent to a forked child, made before the fork. The child's wait() blocks its thread until the
 * parent open()s it; the parent calls forked() right after the fork (its copy of the read end goes). open() is
 * safe in a finally (once): a test that failed still lets its child go.
 */
export function gate(): { wait(): void; forked(): void; open(): void } {
  const [r, w] = posix.pipe();
  let opened = false;
  return {
    wait() {
      posix.close(w);
      posix.read(r, Buffer.alloc(1)); // the byte, or EOF
      posix.close(r);
    },
    forked() {
      posix.close(r);
    },
    open() {
      if (opened) return;
      opened = true;
      posix.writeAll(w, 'g');
      posix.close(w);
    },
  };
}

/** Polls `check` until it returns true (bounded), for states that take a moment to appear in /proc. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The error `fn` throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('expected an exception');
}

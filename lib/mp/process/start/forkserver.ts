// The forkserver start method (CPython's popen_forkserver.py and forkserver.py; the default on Linux since
// Python 3.14): the first start runs a small server (./forkserver-main.ts: a fresh `node` with multiproc's
// modules and the preloaded ones loaded), and every child after that is forked by the server, not by this
// process. A child therefore costs the server's page tables, not this process's (however large it has grown),
// inherits nothing of this process's state, and starts with its modules loaded; like spawn, its target is a
// module export and its args travel as a structured clone (shared objects as fds).
//
// The child is the server's, not ours: its status comes back through a pipe the server writes when it has reaped
// it (the pipe's read end is our sentinel), and signals go through a pidfd the server sends along.
import * as posix from '../../../posix/index.js';
import { coded, invalidType } from '../../../posix/errors.js';
import { atExitAfterChildren } from '../current.js';
import { preparePayload, spawnNode } from './spawn.js';
import { decodeStatus } from './status.js';
import type { ChildHandle, ChildJob, StartMethodStrategy } from './strategy.js';
import { moduleUrl } from './strategy.js';

interface Server {
  pid: number;
  sock: number;
  /** Stopped already (or not this process's: a forked child's copy), so the exit hook leaves it alone. */
  stopped: boolean;
}
let server: Server | undefined;
let preload: string[] = [];

/**
 * The modules the forkserver imports before it forks anything (Python's set_forkserver_preload): a child
 * finds them loaded. Takes effect when the server starts (the first forkserver start of this process).
 * @param modules paths or URLs of ES modules (or package names).
 */
export function setForkserverPreload(modules: Array<string | URL>): void {
  if (!Array.isArray(modules)) throw invalidType('modules', 'an array', modules);
  preload = modules.map((m, i) => (typeof m === 'string' && !m.startsWith('.') && !m.startsWith('/') && !/^[a-z][a-z0-9+.-]*:/i.test(m) ? m : moduleUrl(`modules[${i}]`, m)));
}

function serverError(message: string): Error {
  return coded(new Error(`forkserver: ${message}`), 'ERR_MULTIPROC_FORKSERVER');
}

/** Reads one message from the server's socket (blocking); the parsed JSON and the fds that came with it. */
function receive(sock: number): { msg: Record<string, unknown>; fds: number[] } {
  const { fds, data } = posix.recvFds(sock, 4, 4096);
  if (data.length === 0) throw coded(new Error('forkserver: the server closed its socket'), 'ERR_MULTIPROC_FORKSERVER_GONE');
  return { msg: JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>, fds };
}

function startServer(): Server {
  const [mine, theirs] = posix.socketpair('seqpacket');
  let pid: number;
  try {
    pid = spawnNode('forkserver-main', { 3: theirs }, { ...process.env, MULTIPROC_FORKSERVER_PRELOAD: JSON.stringify(preload) });
  } catch (e) {
    posix.close(mine);
    throw e;
  } finally {
    posix.close(theirs);
  }
  const s: Server = { pid, sock: mine, stopped: false };
  try {
    const { msg } = receive(mine);
    if (msg.ready !== true) throw serverError(`unexpected greeting ${JSON.stringify(msg)}`);
  } catch (e) {
    stopServer(s);
    throw e;
  }
  atExitAfterChildren(() => stopServer(s));
  return s;
}

/** Closes the server's socket (it ends once its children have) and reaps it, SIGKILL after 2 s. */
function stopServer(s: Server): void {
  if (server === s) server = undefined;
  if (s.stopped) return;
  s.stopped = true;
  posix.close(s.sock);
  const pidfd = posix.pidfdOpen(s.pid);
  try {
    if (!posix.poll(pidfd, { readable: true }, 2000).readable) posix.kill(s.pid, 'SIGKILL');
  } finally {
    posix.close(pidfd);
  }
  posix.waitpid(s.pid);
}

/**
 * Ends this process's forkserver, if it has one: its socket is closed, so it ends once the children it forked
 * have (daemonic ones are terminated), and it is reaped (SIGKILL after 2 s). The next forkserver start begins a
 * new one. Runs by itself at exit. Returns whether there was a server.
 */
export function stopForkserver(): boolean {
  if (!server) return false;
  stopServer(server);
  return true;
}

// A child forked from this process (the fork start method) must not hold the server's socket: the server would
// not see this process go. It starts a server of its own if it needs one.
posix.atFork({
  child() {
    if (server) {
      posix.close(server.sock);
      server.stopped = true; // the parent's server: not ours to stop at exit
    }
    server = undefined;
  },
});

/** How long poll() waits for the server's report on a child that has ended (see ServedChild.poll). */
const REPORT_MS = 2000;

/** A child the forkserver forked for us: status from the server's pipe, signals through its pidfd. */
class ServedChild implements ChildHandle {
  #status: posix.WaitStatus | undefined;
  constructor(
    readonly pid: number,
    readonly pidfd: number,
    readonly statusFd: number,
  ) {}

  /**
   * The status from the server's pipe. The server writes it a turn of its event loop after the child has
   * ended; a child that has ended (its pidfd is readable) is not reported as running meanwhile: this waits
   * for the server's report then (at most REPORT_MS), so that isAlive() is false as soon as the child is
   * gone, as it is for a child of this process (a Pool asks before it hands an idle worker a task).
   */
  poll(): posix.WaitStatus | undefined {
    if (this.#status) return this.#status;
    let bytes = this.#readStatus();
    if (bytes === undefined) {
      if (!posix.poll(this.pidfd, { readable: true }, 0).readable) return undefined;
      if (!posix.poll(this.statusFd, { readable: true }, REPORT_MS).readable) return undefined;
      bytes = this.#readStatus();
      if (bytes === undefined) return undefined;
    }
    // No status before the end of the pipe: the server died before it could reap the child. Python reports 255.
    this.#status = decodeStatus(bytes, this.pid) ?? { kind: 'exited', pid: this.pid, code: 255 };
    posix.close(this.statusFd);
    posix.close(this.pidfd);
    return this.#status;
  }

  /** What the status pipe holds now (empty: its end, no status); undefined while the server has not written. */
  #readStatus(): Uint8Array | undefined {
    const buf = new Uint8Array(512);
    try {
      return buf.subarray(0, posix.read(this.statusFd, buf));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
      throw e;
    }
  }

  openSentinel(): number {
    return posix.dup(this.statusFd);
  }

  signal(sig: posix.Signal): void {
    try {
      posix.pidfdSendSignal(this.pidfd, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e; // ended: its status is on its way
    }
  }
}

/** Has the forkserver fork the child; returns once it exists. */
export const forkserver: StartMethodStrategy = Object.freeze({
  name: 'forkserver',
  runsClosures: false,
  start(job: ChildJob): ChildHandle {
    const { memfd, shared } = preparePayload(job, 'forkserver');
    const [statusR, statusW] = posix.pipe({ nonBlocking: true });
    try {
      for (let attempt = 0; ; attempt++) {
        server ??= startServer();
        const s = server;
        try {
          posix.sendFds(s.sock, [memfd, statusW, ...shared], JSON.stringify({ op: 'start' }));
          const { msg, fds } = receive(s.sock);
          if (typeof msg.pid !== 'number' || fds.length !== 1) {
            for (const fd of fds) posix.close(fd);
            throw serverError(String(msg.error ?? `unexpected reply ${JSON.stringify(msg)}`));
          }
          return new ServedChild(msg.pid, fds[0]!, statusR);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // A server that died (EPIPE, closed socket) is replaced once; anything else is the request's fault.
          if (attempt > 0 || (code !== 'EPIPE' && code !== 'ECONNRESET' && code !== 'ERR_MULTIPROC_FORKSERVER_GONE')) throw e;
          stopServer(s);
        }
      }
    } catch (e) {
      posix.close(statusR);
      throw e;
    } finally {
      posix.close(statusW);
      posix.close(memfd);
    }
  },
});

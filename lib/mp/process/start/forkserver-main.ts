// The forkserver (CPython's forkserver.py main()): a small, clean `node` started once by the first process
// that uses the 'forkserver' start method, which forks the children that process asks for. A child forked
// here is a copy of this small server — not of the (possibly large) parent: it pays this process's page
// tables, inherits none of the parent's state, and finds multiproc's modules (and the preloaded ones) already
// loaded.
//
// fd 3 is a SOCK_SEQPACKET socket to the parent. A request is one message: "start" with the fds
//   [payload memfd, status pipe's write end, shared objects' fds …]
// (the payload is a spawn payload: ./spawn.ts). The server forks; the child takes its identity, puts the
// shared objects' fds at 4, 5, … and runs the target as a spawned child would (./child-run.ts). The reply
// carries the child's pid and a pidfd for it (SCM_RIGHTS), which the parent signals through. When the child
// has ended, the server reaps it and writes its status to the status pipe (then closes it): that pipe is the
// parent's sentinel and its source of the exit status, since the child is not the parent's to waitpid.
//
// The server ends once the parent has closed its socket (it has exited, or shut the server down) and every
// child has ended; at that point daemonic children are terminated (SIGTERM), as they would have been by a
// parent that exits. Ctrl-C (SIGINT to the terminal's process group) is the children's business, not the
// server's: it ignores SIGINT, and a child starts with the default action again (fork drops the parent's
// signal listeners).
import * as posix from '../../../posix/index.js';
import { readPayload, runChild } from './child-run.js';
import type { SpawnPayload } from './spawn.js';
import { modulesToLoad } from '../../core/reduction.js';
import { encodeStatus } from './status.js';

const CONTROL = 3;

interface Served {
  statusFd: number;
  daemon: boolean;
  pidfd: number;
}
const children = new Map<number, Served>();
let parentGone = false;

process.on('SIGINT', () => {});

function reply(obj: object, fds: number[] = []): void {
  posix.sendFds(CONTROL, fds, JSON.stringify(obj));
}

// Every module a child will need is imported here, before the fork, and kept: the child finds it loaded (no
// import() in a forked child — under a loader with off-thread hooks, such as tsx, one would wait for ever on the
// hooks thread, which a child does not have). So a target module's top-level code runs once, in the server.
const loaded = new Map<string, Promise<Record<string, unknown>>>();
function load(url: string): Promise<Record<string, unknown>> {
  let ns = loaded.get(url);
  if (!ns) {
    ns = import(url) as Promise<Record<string, unknown>>;
    ns.catch(() => loaded.delete(url)); // a module that failed may be fixed and asked for again
    loaded.set(url, ns);
  }
  return ns;
}

// Under such a loader, a child asking for a module the server has not loaded gets a clear error, not a hang.
const hooked = process.execArgv.some((a) => /^--(import|loader|experimental-loader)\b/.test(a));
function childLoad(url: string): Promise<Record<string, unknown>> {
  if (hooked && !loaded.has(url)) {
    const err = new Error(
      `${url} was not loaded by the forkserver before this child was forked, and a forked child cannot import ` +
        'under a module loader with off-thread hooks (node --import/--loader): name it in setForkserverPreload() ' +
        "or the Process's preload option (a Pool's module and initializer are preloaded)",
    );
    (err as NodeJS.ErrnoException).code = 'ERR_MULTIPROC_FORKSERVER';
    return Promise.reject(err);
  }
  return load(url);
}

/** Forks the child a "start" request asks for; the request's fds are closed here either way. */
async function start(fds: number[]): Promise<void> {
  const [payloadFd, statusFd, ...shared] = fds;
  let payload: SpawnPayload;
  try {
    if (payloadFd === undefined || statusFd === undefined) throw new Error('a start request carries the payload and the status pipe');
    payload = readPayload(payloadFd);
  } catch (e) {
    for (const fd of fds) posix.close(fd);
    reply({ error: (e as Error).message });
    return;
  }
  posix.close(payloadFd);
  // Loaded before the fork; a failure is the child's to report (as a spawned child's would be), so it is not
  // awaited as an error here.
  await Promise.allSettled([...payload.preload, payload.module, ...modulesToLoad(payload.args)].map(load));
  const others = [...children.values()].flatMap((c) => [c.statusFd, c.pidfd]);
  const pid = posix.forkAndRun(() => {
    // Not the child's: the control socket and every other child's status pipe and pidfd.
    posix.close(CONTROL);
    posix.close(statusFd);
    for (const fd of others) posix.close(fd);
    shared.forEach((fd, i) => {
      if (fd !== 4 + i) {
        posix.dup2(fd, 4 + i);
        posix.close(fd);
      }
    });
    return runChild(payload, process.ppid, childLoad);
  });
  for (const fd of shared) posix.close(fd);
  const pidfd = posix.pidfdOpen(pid);
  children.set(pid, { statusFd, daemon: payload.daemon, pidfd });
  reply({ pid }, [pidfd]);
  void posix.waitpidAsync(pid).then((status) => {
    const c = children.get(pid)!;
    children.delete(pid);
    try {
      posix.writeAll(c.statusFd, encodeStatus(status));
    } catch {
      /* the parent closed its end: nobody wants the status */
    }
    posix.close(c.statusFd);
    posix.close(c.pidfd);
    if (parentGone && children.size === 0) posix.exit(0);
  });
}

async function serve(): Promise<void> {
  for (const m of JSON.parse(process.env.MULTIPROC_FORKSERVER_PRELOAD ?? '[]') as string[]) await import(m);
  reply({ ready: true });
  for (;;) {
    const { fds, data } = await posix.recvFdsAsync(CONTROL, posix.SCM_MAX_FD, 4096);
    if (data.length === 0 && fds.length === 0) break; // the parent closed its end
    const req = JSON.parse(Buffer.from(data).toString('utf8')) as { op: string };
    if (req.op === 'start') await start(fds);
    else for (const fd of fds) posix.close(fd);
  }
  parentGone = true;
  posix.close(CONTROL);
  for (const [pid, c] of children) {
    if (!c.daemon) continue;
    try {
      posix.pidfdSendSignal(c.pidfd, 'SIGTERM');
    } catch {
      /* already gone */
    }
    void pid;
  }
  if (children.size === 0) posix.exit(0);
}

await serve();

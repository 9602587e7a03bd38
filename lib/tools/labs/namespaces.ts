// Lab: namespaces, "what a container is", built from the syscalls a container runtime makes. A child of the
// lab (the "runtime") calls unshare() for new PID, UTS and mount namespaces, makes its mounts private, and
// forks the container's first process: PID 1 in the new PID namespace (the lab sees its real pid). PID 1 sets
// its own hostname, mounts its own /proc (so `ps` inside sees only the container's processes) and, being
// init, reaps an orphan of its own. From the host the lab reads the container's real pids (NSpid), its
// namespace ids, and that the host's hostname and /proc did not change; a second child joins the container's
// UTS and mount namespaces with setns() — what `docker exec` / `nsenter` do — and sees the container's view.
//
// Every step that the kernel refuses (no CAP_SYS_ADMIN, namespaces disabled, seccomp) is skipped with the
// reason printed, and the lab shows the rest. /proc is only ever mounted inside the new, private mount
// namespace, never on the host's.
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import * as posix from '../../posix/index.js';
import { type LabContext, type LabResult, printProcTable, procRow, sleepSync, until } from './common.js';

// shared words
const G_PID = 0; // the container's first process, by its pid on the host
const G_READY = 1; // PID 1 has set everything up and waits
const G_MAY_EXIT = 2;
const O_PID = 4; // the container's orphan, by its pid inside
const O_PPID_BEFORE = 5;
const O_PPID_AFTER = 6;
// mailbox slots
const M_RUNTIME = 0;
const M_INIT = 1;
const M_EXEC = 2;

const HOSTNAME = 'multiproc-box';

/** unshare() per namespace: ok, or the error code and what it means. */
interface Attempt {
  ns: posix.Namespace;
  ok: boolean;
  code?: string;
  reason?: string;
}

interface InitReport {
  pid: number;
  ppid: number;
  nspidFromHostProc: number[] | null;
  hostnameBefore: string;
  hostname: string;
  sethostname: string | null;
  procMounted: boolean;
  mountError: string | null;
  procPids: number[];
  ps: string | null;
  orphan: { pid: number; ppidBefore: number; ppidAfter: number; reapedBy: number; status: string } | null;
  threads: number;
}

function why(e: unknown, what: string): { code: string; reason: string } {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? 'ERROR';
  const hint =
    code === 'EPERM'
      ? 'not permitted: it needs CAP_SYS_ADMIN'
      : code === 'EINVAL'
        ? 'not supported by this kernel, or not allowed in this state'
        : code === 'ENOSPC' || code === 'EUSERS'
          ? 'the limit on namespaces of this kind is reached (/proc/sys/user/max_*_namespaces)'
          : code === 'ENOSYS'
            ? 'this kernel was built without it'
            : (err?.message ?? String(e));
  return { code, reason: `${what}: ${code}, ${hint}` };
}

const HOW_TO_PERMIT =
  'To see these parts: run the lab as root, or inside a user namespace of your own, where you are root: ' +
  '`unshare --user --map-root-user multiproc demo namespaces` (a seccomp filter, as in many containers, can forbid them anyway).';

export async function run(ctx: LabContext): Promise<LabResult> {
  const { out, timeline: tl } = ctx;
  const w = new Int32Array(ctx.shared(4096).buffer);
  const mail = ctx.mailbox(3);
  const watchdog = ctx.watchdogMs;
  ctx.becomeSubreaper(); // the container's PID 1 comes to the lab if the runtime dies first (Ctrl-C)
  const hostHostname = os.hostname();
  const hostProcBefore = procMounts();

  out.step('The runtime: a child of the lab calls unshare() for new PID, UTS and mount namespaces');
  const runtime = ctx.fork(
    'runtime',
    () => {
      const me = posix.getpid();
      const attempts: Attempt[] = [];
      for (const ns of ['uts', 'mount', 'pid'] as const) {
        try {
          posix.unshare([ns]);
          attempts.push({ ns, ok: true });
        } catch (e) {
          attempts.push({ ns, ok: false, ...why(e, `unshare(CLONE_NEW${ns === 'mount' ? 'NS' : ns.toUpperCase()})`) });
        }
      }
      const has = (ns: posix.Namespace) => attempts.some((a) => a.ns === ns && a.ok);
      let privateMounts: string | null = null;
      if (has('mount')) {
        try {
          posix.mount(null, '/', null, ['rec', 'private']); // nothing mounted here may reach the host
          privateMounts = 'ok';
        } catch (e) {
          privateMounts = why(e, 'mount(NULL, "/", MS_REC|MS_PRIVATE)').reason;
        }
      }
      tl.mark(me, `unshare: ${attempts.filter((a) => a.ok).map((a) => a.ns).join(', ') || 'none permitted'}`);
      mail.put(M_RUNTIME, { attempts, privateMounts });
      const init = posix.forkAndRun(() => containerInit(has('uts'), has('mount') && privateMounts === 'ok', has('pid')));
      tl.record('fork', me, { peer: init });
      Atomics.store(w, G_PID, init);
      tl.state(me, 'sleeping');
      const st = posix.waitpid(init); // like `docker run`: the runtime waits for the container
      tl.record('reap', me, { peer: init, label: st.kind === 'exited' ? `exited ${st.code}` : st.kind });
      return st.kind === 'exited' ? st.code : 2;
    },
    { title: 'ns-runtime' },
  );

  /** The container's first process. */
  function containerInit(uts: boolean, mounts: boolean, pidns: boolean): never {
    const me = posix.getpid();
    const hostPid = (posix.nsPids('self') ?? [me])[0]!; // before /proc is replaced: the host's view
    process.title = 'container-init';
    tl.mark(hostPid, `getpid() = ${me}, pid ${hostPid} outside`);
    posix.setParentDeathSignal('SIGKILL'); // dies with the runtime (then the whole namespace dies with it)
    tl.state(hostPid, 'running');
    const rep: InitReport = {
      pid: me,
      ppid: posix.getppid(),
      nspidFromHostProc: posix.nsPids('self'),
      hostnameBefore: posix.gethostname(),
      hostname: '',
      sethostname: null,
      procMounted: false,
      mountError: null,
      procPids: [],
      ps: null,
      orphan: null,
      threads: readdirSync('/proc/self/task').length,
    };
    if (uts) {
      try {
        posix.sethostname(HOSTNAME);
        tl.mark(hostPid, `sethostname("${HOSTNAME}")`);
      } catch (e) {
        rep.sethostname = why(e, 'sethostname').reason;
      }
    }
    rep.hostname = posix.gethostname();
    if (mounts) {
      try {
        posix.mount('proc', '/proc', 'proc', ['nosuid', 'nodev', 'noexec']);
        rep.procMounted = true;
        tl.mark(hostPid, 'mount proc on /proc');
      } catch (e) {
        rep.mountError = why(e, 'mount("proc", "/proc")').reason;
      }
    }
    // An orphan of the container (with a PID namespace only: elsewhere it would go to the lab, the nearest
    // subreaper): a child forks a grandchild and exits; PID 1, this process, adopts the grandchild and
    // must reap it.
    let grand = 0;
    const start = Date.now();
    if (pidns) {
      const child = posix.forkAndRun(() => {
        const g = posix.forkAndRun(() => {
          process.title = 'container-orphan';
          while (posix.getppid() !== 1 && Date.now() - start < 5000) sleepSync(1);
          Atomics.store(w, O_PPID_AFTER, posix.getppid());
          while (Atomics.load(w, G_MAY_EXIT) === 0 && Date.now() - start < watchdog) sleepSync(2);
          posix.exit(0);
        });
        Atomics.store(w, O_PID, g);
        Atomics.store(w, O_PPID_BEFORE, posix.getpid());
        posix.exit(0);
      });
      posix.waitpid(child);
      while (Atomics.load(w, O_PPID_AFTER) === 0 && Date.now() - start < 5000) sleepSync(1);
      grand = Atomics.load(w, O_PID);
    }
    rep.procPids = numericEntries('/proc');
    rep.ps = runPs();
    mail.put(M_INIT, rep);
    Atomics.store(w, G_READY, 1);
    tl.state(hostPid, 'sleeping');
    while (Atomics.load(w, G_MAY_EXIT) === 0 && Date.now() - start < watchdog) sleepSync(2);
    tl.state(hostPid, 'running');
    if (grand) {
      const gs = posix.waitpid(grand); // init's duty: reap what it adopted
      rep.orphan = {
        pid: grand,
        ppidBefore: Atomics.load(w, O_PPID_BEFORE),
        ppidAfter: Atomics.load(w, O_PPID_AFTER),
        reapedBy: me,
        status: gs.kind === 'exited' ? `exited ${gs.code}` : gs.kind,
      };
      tl.mark(hostPid, `reaped its orphan (pid ${grand} inside)`);
    }
    mail.put(M_INIT, rep);
    return posix.exit(0);
  }

  if (!(await until(() => Atomics.load(w, G_READY) === 1, 10_000))) {
    throw new Error(`the container's first process did not get ready: ${JSON.stringify(mail.get(M_RUNTIME))}`);
  }
  const initHostPid = Atomics.load(w, G_PID);
  const rt = mail.get<{ attempts: Attempt[]; privateMounts: string | null }>(M_RUNTIME)!;
  const init = mail.get<InitReport>(M_INIT)!;
  const has = (ns: posix.Namespace) => rt.attempts.some((a) => a.ns === ns && a.ok);
  ctx.adopt(initHostPid, has('pid') ? 'PID 1 of the container' : 'the container\'s first process');
  for (const a of rt.attempts) {
    if (a.ok) out.ok(`unshare(CLONE_NEW${a.ns === 'mount' ? 'NS' : a.ns.toUpperCase()}) in the runtime (pid ${runtime})`);
    else out.bad(a.reason!);
  }
  if (rt.privateMounts && rt.privateMounts !== 'ok') out.bad(rt.privateMounts);
  if (rt.attempts.some((a) => a.code === 'EPERM')) out.say(out.paint('yellow', HOW_TO_PERMIT));

  // The container's processes, from the host: the children of its PID 1 (and theirs).
  const inner = posix.processTree(initHostPid).map((r) => r.pid).filter((pid) => pid !== initHostPid);
  for (const pid of inner) ctx.adopt(pid, `container process`, undefined, false);
  const hostView = posix.nsPids(initHostPid);
  const nsIds = (pid: number | 'self') => ({ pid: posix.namespaceId(pid, 'pid'), uts: posix.namespaceId(pid, 'uts'), mnt: posix.namespaceId(pid, 'mount') });
  const idsLab = nsIds('self');
  const idsInit = nsIds(initHostPid);

  out.step('PID 1 of the container, seen from inside and from the host');
  out.printTable(
    ['', 'INSIDE THE CONTAINER', 'ON THE HOST'],
    [
      ['getpid()', String(init.pid), `pid ${initHostPid} (NSpid in /proc/${initHostPid}/status: ${hostView?.join(' ') ?? '?'})`],
      ['getppid()', `${init.ppid}${init.ppid === 0 ? ' (its parent is outside the namespace)' : ''}`, `${posix.processInfo(initHostPid)?.ppid ?? '?'} (the runtime)`],
      ['hostname', init.hostname, os.hostname()],
      ['/proc', init.procMounted ? `its own: pids ${init.procPids.join(', ')}` : `the host's (${init.procPids.length} entries)`, `${numericEntries('/proc').length} processes`],
      ['namespace ids (pid, uts, mnt)', `${idsInit.pid}, ${idsInit.uts}, ${idsInit.mnt}`, `${idsLab.pid}, ${idsLab.uts}, ${idsLab.mnt}`],
    ],
  );
  if (init.ps && init.procMounted) {
    out.step('`ps -e` run inside the container (posix_spawn from its PID 1)');
    out.block(init.ps.trimEnd().split('\n'));
  } else if (init.ps) {
    out.say(`(ps inside would list all ${init.ps.trimEnd().split('\n').length - 1} processes of the host: without its own mount and PID namespaces there is no /proc of its own)`);
  }
  printProcTable(out, [procRow(runtime, 'runtime'), procRow(initHostPid, 'PID 1 of the container'), ...inner.map((p) => procRow(p, 'in the container'))], 'The same processes in the host\'s /proc (real pids):');

  // docker exec: join the container's UTS and mount namespaces.
  out.step('"docker exec": a second child joins the container with setns() (UTS and mount namespaces)');
  const exec = ctx.fork(
    'exec (setns)',
    () => {
      const me = posix.getpid();
      const joined: string[] = [];
      const errors: string[] = [];
      let uts: number | null = null;
      for (const ns of ['uts', 'mount'] as const) {
        let fd = -1;
        try {
          fd = openSync(`/proc/${initHostPid}/ns/${ns === 'mount' ? 'mnt' : ns}`, 'r');
          posix.setns(fd, ns);
          joined.push(ns);
          // (read before joining the mount namespace: /proc/self is not in the container's /proc)
          if (ns === 'uts') uts = posix.namespaceId('self', 'uts');
        } catch (e) {
          errors.push(why(e, `setns(${ns})`).reason);
        } finally {
          if (fd >= 0) closeSync(fd);
        }
      }
      tl.mark(me, `setns: ${joined.join(', ') || 'refused'}`);
      mail.put(M_EXEC, { joined, errors, hostname: posix.gethostname(), procPids: numericEntries('/proc'), uts: uts ?? posix.namespaceId('self', 'uts') });
      return 0;
    },
    { title: 'ns-exec' },
  );
  const es = await ctx.reap(exec);
  const ex = mail.get<{ joined: string[]; errors: string[]; hostname: string; procPids: number[]; uts: number | null }>(M_EXEC) ?? { joined: [], errors: ['no report'], hostname: '', procPids: [], uts: null };
  if (ex.joined.length) {
    out.say(`joined: ${ex.joined.join(', ')} → gethostname() = "${ex.hostname}", /proc lists ${ex.procPids.join(', ')}${ex.joined.includes('mount') ? ' (the container\'s /proc, in its mount namespace)' : ''}`);
    out.say('(This child did not join the PID namespace, so it is not among those pids; setns(CLONE_NEWPID) would move only its future children in.)');
  }
  for (const e of ex.errors) out.bad(e);
  if (ex.errors.some((e) => /EPERM/.test(e)) && !rt.attempts.some((a) => a.code === 'EPERM')) out.say(out.paint('yellow', HOW_TO_PERMIT));

  await ctx.hold('container running', [runtime, initHostPid, ...inner], [
    `ps -o pid,ppid,stat,comm -p ${[runtime, initHostPid, ...inner].join(',')}    # real pids, on the host`,
    `grep NSpid /proc/${initHostPid}/status`,
    `nsenter -t ${initHostPid} -p -u -m ps -e -o pid,ppid,stat,comm    # inside: pids from 1`,
    `nsenter -t ${initHostPid} -u hostname`,
  ]);

  out.step('PID 1 reaps the orphan it adopted, then exits; the runtime reaps PID 1');
  Atomics.store(w, G_MAY_EXIT, 1);
  const rs = await ctx.reap(runtime);
  ctx.reaped(initHostPid, null, runtime);
  for (const pid of inner) ctx.reaped(pid, null, initHostPid);
  const initFinal = mail.get<InitReport>(M_INIT)!;
  if (initFinal.orphan) {
    const o = initFinal.orphan;
    out.say(`orphan ${o.pid} (pid inside): parent ${o.ppidBefore} → ${o.ppidAfter} after its parent exited; waitpid(${o.pid}) in PID 1 → ${o.status}`);
  }
  const gone = [initHostPid, ...inner].every((pid) => posix.processInfo(pid) === null);
  const hostUnchanged = os.hostname() === hostHostname && sameList(procMounts(), hostProcBefore);
  out.say(`the host: hostname "${os.hostname()}" (was "${hostHostname}"), its /proc mounts ${hostUnchanged ? 'unchanged' : 'CHANGED (!)'}, ${numericEntries('/proc').length} processes in its /proc`);

  if (!initFinal.orphan && !has('pid')) out.say('(no orphan demonstration: without a PID namespace of its own, an orphan would go to the nearest subreaper, here the lab)');
  const notShown: string[] = [];
  for (const a of rt.attempts) if (!a.ok) notShown.push(a.reason!);
  if (rt.privateMounts && rt.privateMounts !== 'ok') notShown.push(rt.privateMounts);
  if (init.sethostname) notShown.push(init.sethostname);
  if (init.mountError) notShown.push(init.mountError);
  for (const e of ex.errors) notShown.push(e);

  const pidShown = !has('pid') || (init.pid === 1 && hostView?.[0] === initHostPid && hostView[hostView.length - 1] === 1 && init.ppid === 0);
  const utsShown = !has('uts') || init.sethostname !== null || (init.hostname === HOSTNAME && os.hostname() === hostHostname && idsInit.uts !== idsLab.uts);
  const procShown = !(has('mount') && has('pid') && init.procMounted) || (init.procPids[0] === 1 && init.procPids.every((p) => p < 100) && init.procPids.length <= 5);
  const orphanShown = !has('pid') || (initFinal.orphan?.ppidAfter === 1 && initFinal.orphan.status === 'exited 0');
  const execShown = ex.joined.length === 0 || (!ex.joined.includes('uts') || ex.hostname === init.hostname);
  const ok = rs.kind === 'exited' && rs.code === 0 && es.kind === 'exited' && gone && hostUnchanged && pidShown && utsShown && procShown && orphanShown && execShown;
  if (has('pid') && pidShown) out.ok(`one process, two pids: ${initHostPid} on the host, 1 inside`);
  if (has('uts') && utsShown && !init.sethostname) out.ok(`its own hostname "${init.hostname}"; the host's is still "${os.hostname()}"`);
  if (init.procMounted && procShown && has('pid')) out.ok(`its own /proc: it sees only pids ${init.procPids.join(', ')}`);
  if (has('pid') && orphanShown) out.ok('PID 1 adopted the orphan and reaped it');
  if (hostUnchanged) out.ok('the host\'s hostname and /proc are as they were');
  return {
    ok,
    notShown,
    facts: {
      permitted: Object.fromEntries(rt.attempts.map((a) => [a.ns, a.ok])),
      reasons: notShown,
      runtimePid: runtime,
      hostPid: initHostPid,
      pidInside: init.pid,
      ppidInside: init.ppid,
      nsPidsOnHost: hostView,
      hostnameInside: init.hostname,
      hostnameOutside: os.hostname(),
      hostnameBefore: hostHostname,
      procMountedInside: init.procMounted,
      procPidsInside: init.procPids,
      psInside: init.ps,
      innerHostPids: inner,
      orphan: initFinal.orphan,
      namespaceIds: { lab: idsLab, container: idsInit, exec: { uts: ex.uts } },
      exec: { pid: exec, joined: ex.joined, hostname: ex.hostname, procPids: ex.procPids },
      hostProcUnchanged: hostUnchanged,
      threadsInInit: init.threads,
      runtimeStatus: rs,
    },
  };
}

function numericEntries(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** The proc mounts of this mount namespace (to check that nothing was mounted on the host's /proc). */
function procMounts(): string[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => / - proc /.test(l));
  } catch {
    return [];
  }
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** `ps -e` run in this process's namespaces (posix_spawn, output through a pipe); null without ps. */
function runPs(): string | null {
  const exe = ['/usr/bin/ps', '/bin/ps'].find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!exe) return null;
  const [r, wr] = posix.pipe();
  let pid: number;
  try {
    // ps gets this environment minus LD_PRELOAD: a preloaded runtime meant for node (the sanitizer build's
    // libasan) makes procps' ps hang at start-up
    pid = posix.spawn(exe, ['ps', '-e', '-o', 'pid,ppid,stat,comm'], { fds: { 1: wr }, env: { ...process.env, LD_PRELOAD: undefined } });
  } finally {
    posix.close(wr);
  }
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    const n = posix.read(r, buf);
    if (n <= 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  posix.close(r);
  posix.waitpid(pid);
  return Buffer.concat(chunks).toString('utf8');
}

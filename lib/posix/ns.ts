// The namespace family of the posix layer: unshare(2), setns(2), sethostname(2)/gethostname(2), mount(2),
// umount2(2), and the proc(5) files that name a process's namespaces. These are the system calls a container
// is made of: a process in new PID, UTS and mount namespaces, with its own /proc, is what `docker run` starts.
//
// They need CAP_SYS_ADMIN (root, or root inside a user namespace of one's own): without it they fail with
// EPERM. unshare(['pid']) applies to the caller's children: the first child forked afterwards is PID 1 of
// the new namespace, and when it exits every process in the namespace is killed and no more can be forked
// there. A PID 1 must reap its children (orphans in the namespace are re-parented to it). Mounting in a
// new mount namespace only stays private after mount(null, '/', null, ['rec', 'private']): a namespace
// copied from a shared mount tree would otherwise propagate new mounts back to the host.
import { readFileSync, readlinkSync } from 'node:fs';
import { native, type NsConstants } from '../binding/addon.js';
import { typeError } from './errors.js';

const C = native.nsConstants;
const byName: Readonly<Record<string, number>> = C;

/** The kinds of namespace, as in /proc/[pid]/ns/ (mount is 'mnt' there). */
export type Namespace = 'mount' | 'uts' | 'ipc' | 'net' | 'pid' | 'user' | 'cgroup' | 'time';

const CLONE: Record<Namespace, keyof NsConstants> = {
  mount: 'CLONE_NEWNS',
  uts: 'CLONE_NEWUTS',
  ipc: 'CLONE_NEWIPC',
  net: 'CLONE_NEWNET',
  pid: 'CLONE_NEWPID',
  user: 'CLONE_NEWUSER',
  cgroup: 'CLONE_NEWCGROUP',
  time: 'CLONE_NEWTIME',
};
const PROC_NAME: Record<Namespace, string> = { mount: 'mnt', uts: 'uts', ipc: 'ipc', net: 'net', pid: 'pid', user: 'user', cgroup: 'cgroup', time: 'time' };

function cloneFlags(namespaces: Namespace[]): number {
  if (!Array.isArray(namespaces)) throw typeError(`The "namespaces" argument must be an array of namespace kinds. Received ${typeof namespaces}`);
  let flags = 0;
  for (const ns of namespaces) {
    const name = Object.hasOwn(CLONE, ns) ? CLONE[ns] : undefined; // not 'constructor' & co. from the prototype
    if (name === undefined) throw typeError(`Unknown namespace: ${String(ns)} (expected one of ${Object.keys(CLONE).join(', ')})`);
    flags |= C[name];
  }
  return flags;
}

/**
 * unshare(2): moves this process into new namespaces of the given kinds (['pid']: its children's). A UTS or
 * mount namespace takes effect at once, for this thread (in a forked child: the process).
 * @param namespaces the kinds to unshare ('mount', 'uts', 'ipc', 'net', 'pid', 'user', 'cgroup', 'time')
 * @throws Error EPERM without CAP_SYS_ADMIN (EINVAL for 'user' in a multi-threaded process: in a running
 *   Node, call it in a forked child); TypeError for an unknown kind
 * @see [unshare(2)](https://man7.org/linux/man-pages/man2/unshare.2.html), [namespaces(7)](https://man7.org/linux/man-pages/man7/namespaces.7.html)
 * @example
 * ```ts
 * // in a forked child, as root: a container's beginnings
 * posix.unshare(['uts', 'pid', 'mount']);
 * posix.sethostname('box');
 * const init = posix.fork();            // PID 1 of the new PID namespace
 * ```
 */
export function unshare(namespaces: Namespace[]): void {
  native.unshare(cloneFlags(namespaces));
}

/**
 * setns(2): joins the namespace an open /proc/[pid]/ns/<kind> file (or a pidfd) refers to; `kind` checks its kind.
 *
 * A mount namespace is joined by the calling thread only: the kernel refuses a caller whose filesystem context
 * (root, cwd) other threads share — every Node process has V8's and libuv's threads — so this thread first
 * takes its own copy (unshare(CLONE_FS)) and joins. libuv's threadpool (fs.promises, async fs calls) then still
 * resolves paths in the old mount namespace and cwd: use the synchronous fs calls after joining one.
 * @param fd an open /proc/[pid]/ns/<kind> file ({@link open}) or a pidfd
 * @param kind the kind `fd` must be (default: any)
 * @throws Error EINVAL when `fd` is not of that kind (or no namespace), EPERM without the capability
 * @see [setns(2)](https://man7.org/linux/man-pages/man2/setns.2.html)
 */
export function setns(fd: number, kind?: Namespace): void {
  native.setns(fd, kind === undefined ? 0 : cloneFlags([kind]));
}

/**
 * sethostname(2): the host name of this UTS namespace (at most 64 bytes). Do it in a new UTS namespace
 * ({@link unshare}(['uts'])), or the whole machine is renamed.
 * @param name the new host name
 * @throws Error EPERM without CAP_SYS_ADMIN in this UTS namespace's user namespace
 * @see [sethostname(2)](https://man7.org/linux/man-pages/man2/sethostname.2.html)
 */
export function sethostname(name: string): void {
  native.sethostname(name);
}

/**
 * gethostname(2): the host name of this process's UTS namespace.
 * @see [gethostname(2)](https://man7.org/linux/man-pages/man2/gethostname.2.html)
 */
export function gethostname(): string {
  return native.gethostname();
}

/** mount(2) flags, by name: MS_RDONLY is 'rdonly', MS_REC 'rec', MS_PRIVATE 'private'... */
export type MountFlag =
  | 'rdonly' | 'nosuid' | 'nodev' | 'noexec' | 'synchronous' | 'remount' | 'mandlock' | 'dirsync' | 'nosymfollow'
  | 'noatime' | 'nodiratime' | 'bind' | 'move' | 'rec' | 'silent' | 'unbindable' | 'private' | 'slave' | 'shared'
  | 'relatime' | 'strictatime' | 'lazytime';

function mountFlags(flags: MountFlag[]): number {
  if (!Array.isArray(flags)) throw typeError(`The "flags" argument must be an array of mount flags. Received ${typeof flags}`);
  let bits = 0;
  for (const f of flags) {
    const v = typeof f === 'string' ? byName[`MS_${f.toUpperCase()}`] : undefined;
    if (v === undefined) throw typeError(`Unknown mount flag: ${String(f)}`);
    bits |= v;
  }
  return bits;
}

/**
 * mount(2): mount('proc', '/proc', 'proc', ['nosuid', 'nodev', 'noexec']) mounts a procfs; mount(null, '/',
 * null, ['rec', 'private']) makes every mount of this namespace private (no propagation to or from others).
 * @param source the device or source ('proc', a directory for 'bind'), or null
 * @param target the mount point
 * @param fstype the file system type ('proc', 'tmpfs'), or null for a flags-only change
 * @param flags MS_* flags by name (default none); see {@link MountFlag}
 * @param data file-system options ('size=16m' for tmpfs)
 * @throws Error EPERM without CAP_SYS_ADMIN; TypeError for an unknown flag
 * @see [mount(2)](https://man7.org/linux/man-pages/man2/mount.2.html)
 */
export function mount(source: string | null, target: string, fstype: string | null, flags: MountFlag[] = [], data?: string): void {
  native.mount(source, target, fstype, mountFlags(flags), data ?? null);
}

/**
 * umount2(2): `detach` is MNT_DETACH (lazy), `force` MNT_FORCE, `expire` MNT_EXPIRE, `noFollow` UMOUNT_NOFOLLOW.
 * @param target the mount point
 * @param opts the flags as booleans (default none)
 * @see [umount2(2)](https://man7.org/linux/man-pages/man2/umount2.2.html)
 */
export function umount2(target: string, opts: { detach?: boolean; force?: boolean; expire?: boolean; noFollow?: boolean } = {}): void {
  const flags = (opts.detach ? C.MNT_DETACH! : 0) | (opts.force ? C.MNT_FORCE! : 0) | (opts.expire ? C.MNT_EXPIRE! : 0) | (opts.noFollow ? C.UMOUNT_NOFOLLOW! : 0);
  native.umount2(target, flags);
}

/**
 * The namespace a process is in, as the inode number of /proc/[pid]/ns/<kind> ('uts:[4026531838]' → 4026531838):
 * two processes are in the same namespace exactly when the numbers are equal. null when it cannot be read.
 * @param pid the process, or 'self'
 * @param kind which namespace
 * @see [namespaces(7)](https://man7.org/linux/man-pages/man7/namespaces.7.html)
 */
export function namespaceId(pid: number | 'self', kind: Namespace): number | null {
  try {
    const m = /\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/${PROC_NAME[kind]}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * A process's pid in each PID namespace it belongs to, outermost first, as /proc/[pid]/status (NSpid) shows
 * it from the PID namespace of the /proc being read: [28417, 1] is pid 28417 here and PID 1 inside. null
 * when there is no such process.
 * @param pid the process (as this /proc numbers it), or 'self'
 * @see [pid_namespaces(7)](https://man7.org/linux/man-pages/man7/pid_namespaces.7.html)
 */
export function nsPids(pid: number | 'self'): number[] | null {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? m[1]!.trim().split(/\s+/).map(Number) : null;
  } catch {
    return null;
  }
}

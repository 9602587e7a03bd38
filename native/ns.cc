// The namespace family: unshare(2), setns(2), sethostname(2)/gethostname(2), mount(2), umount2(2) — the
// system calls a container runtime is made of. A new PID namespace applies to the caller's children (the
// first child forked after unshare(CLONE_NEWPID) is PID 1 there); UTS and mount namespaces apply at once.
//
// All of them need CAP_SYS_ADMIN in the caller's user namespace (or a user namespace of one's own first):
// without it they fail with EPERM, which is reported like any syscall error. unshare(CLONE_NEWUSER) also
// needs a single-threaded caller (EINVAL in a running Node; a forked child has one thread).
//
// Every entry validates its arguments itself: namespace flags from the known set, strings without NUL bytes
// and within the kernel's limits, mount flags from the known set.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <string>

#include "addon.h"
#include "core/errors.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef UMOUNT_NOFOLLOW
#define UMOUNT_NOFOLLOW 0x00000008
#endif

namespace mp {

void InitNs(Napi::Env env, Napi::Object exports);

namespace {

constexpr int64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
                                    CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME;
constexpr int64_t kMountFlags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_REMOUNT |
                                MS_MANDLOCK | MS_DIRSYNC | MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME | MS_BIND |
                                MS_MOVE | MS_REC | MS_SILENT | MS_UNBINDABLE | MS_PRIVATE | MS_SLAVE | MS_SHARED |
                                MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME;
constexpr int64_t kUmountFlags = MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW;
constexpr size_t kHostNameMax = 64;  // HOST_NAME_MAX
constexpr size_t kPathMax = PATH_MAX;
constexpr size_t kDataMax = 4096;  // the kernel copies at most a page of mount data

// unshare(flags): flags is a set of CLONE_NEW* bits (0 is a valid no-op, as in C).
Napi::Value Unshare(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int64_t flags = ArgInteger(info, 0, "flags", 0, kNamespaceFlags);
  if ((flags & ~kNamespaceFlags) != 0) ThrowRangeError(info.Env(), "Unknown unshare flags (only CLONE_NEW* namespace flags are accepted)");
  if (unshare(static_cast<int>(flags)) != 0) ThrowErrno(info.Env(), errno, "unshare");
  return info.Env().Undefined();
}

// setns(fd, nstype): joins the namespace that `fd` (an open /proc/[pid]/ns/* file or a pidfd) refers to;
// nstype 0 accepts any kind, else one CLONE_NEW* bit (or several, with a pidfd).
//
// Joining a mount namespace needs a caller whose filesystem context (root, cwd, umask) no other task shares,
// and every thread of a process shares it: a Node process always has V8's and libuv's threads (and a forked
// child starts its worker threads on its first background task), so the kernel answers EINVAL. Then this
// thread gets its own copy of the context first — unshare(CLONE_FS), what Go's nsenter-style tools do — and
// joins. Only the calling (main) thread moves: libuv's threadpool (fs.promises, async fs calls) still resolves
// paths in the old mount namespace and cwd, and a later process.chdir() no longer reaches it.
Napi::Value Setns(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, INT_MAX));
  int64_t nstype = ArgInteger(info, 1, "nstype", 0, kNamespaceFlags);
  if ((nstype & ~kNamespaceFlags) != 0) ThrowRangeError(info.Env(), "Unknown setns nstype (only CLONE_NEW* namespace flags are accepted)");
  if (setns(fd, static_cast<int>(nstype)) == 0) return info.Env().Undefined();
  int err = errno;
  if (err == EINVAL && (nstype == CLONE_NEWNS || nstype == 0) && unshare(CLONE_FS) == 0) {
    if (setns(fd, static_cast<int>(nstype)) == 0) return info.Env().Undefined();
    err = errno;
  }
  ThrowErrno(info.Env(), err, "setns");
  return info.Env().Undefined();
}

Napi::Value Sethostname(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  std::string name = ArgString(info, 0, "name", kHostNameMax);
  if (sethostname(name.data(), name.size()) != 0) ThrowErrno(info.Env(), errno, "sethostname");
  return info.Env().Undefined();
}

Napi::Value Gethostname(const Napi::CallbackInfo& info) {
  char buf[kHostNameMax + 1];
  memset(buf, 0, sizeof buf);
  if (gethostname(buf, sizeof buf) != 0) ThrowErrno(info.Env(), errno, "gethostname");  // room for 64 bytes and the NUL
  return Napi::String::New(info.Env(), buf);
}

// A string argument or null/undefined (mount's source, fstype and data may be NULL in C).
bool OptionalString(const Napi::CallbackInfo& info, size_t i, const char* name, size_t max, std::string* out) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return false;
  *out = ArgString(info, i, name, max);
  return true;
}

// mount(source | null, target, fstype | null, flags, data | null)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  std::string source, fstype, data;
  bool hasSource = OptionalString(info, 0, "source", kPathMax, &source);
  std::string target = ArgString(info, 1, "target", kPathMax);
  if (target.empty()) ThrowRangeError(env, "The \"target\" argument must not be empty");
  bool hasType = OptionalString(info, 2, "fstype", 255, &fstype);
  int64_t flags = ArgInteger(info, 3, "flags", 0, kMountFlags);
  if ((flags & ~kMountFlags) != 0) ThrowRangeError(env, "Unknown mount flags");
  bool hasData = OptionalString(info, 4, "data", kDataMax, &data);
  if (mount(hasSource ? source.c_str() : nullptr, target.c_str(), hasType ? fstype.c_str() : nullptr,
            static_cast<unsigned long>(flags), hasData ? data.c_str() : nullptr) != 0) {
    ThrowErrno(env, errno, "mount");
  }
  return env.Undefined();
}

Napi::Value Umount2(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  std::string target = ArgString(info, 0, "target", kPathMax);
  if (target.empty()) ThrowRangeError(env, "The \"target\" argument must not be empty");
  int64_t flags = ArgIntegerOr(info, 1, "flags", 0, kUmountFlags, 0);
  if ((flags & ~kUmountFlags) != 0) ThrowRangeError(env, "Unknown umount2 flags");
  if (umount2(target.c_str(), static_cast<int>(flags)) != 0) ThrowErrno(env, errno, "umount2");
  return env.Undefined();
}

}  // namespace

void InitNs(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"unshare", Unshare},
      {"setns", Setns},
      {"sethostname", Sethostname},
      {"gethostname", Gethostname},
      {"mount", Mount},
      {"umount2", Umount2},
  });
  exports.Set("nsConstants", NumbersObject(env, {
      MP_CONSTANT(CLONE_NEWNS),
      MP_CONSTANT(CLONE_NEWUTS),
      MP_CONSTANT(CLONE_NEWIPC),
      MP_CONSTANT(CLONE_NEWNET),
      MP_CONSTANT(CLONE_NEWPID),
      MP_CONSTANT(CLONE_NEWUSER),
      MP_CONSTANT(CLONE_NEWCGROUP),
      MP_CONSTANT(CLONE_NEWTIME),
      MP_CONSTANT(MS_RDONLY),
      MP_CONSTANT(MS_NOSUID),
      MP_CONSTANT(MS_NODEV),
      MP_CONSTANT(MS_NOEXEC),
      MP_CONSTANT(MS_SYNCHRONOUS),
      MP_CONSTANT(MS_REMOUNT),
      MP_CONSTANT(MS_MANDLOCK),
      MP_CONSTANT(MS_DIRSYNC),
      MP_CONSTANT(MS_NOSYMFOLLOW),
      MP_CONSTANT(MS_NOATIME),
      MP_CONSTANT(MS_NODIRATIME),
      MP_CONSTANT(MS_BIND),
      MP_CONSTANT(MS_MOVE),
      MP_CONSTANT(MS_REC),
      MP_CONSTANT(MS_SILENT),
      MP_CONSTANT(MS_UNBINDABLE),
      MP_CONSTANT(MS_PRIVATE),
      MP_CONSTANT(MS_SLAVE),
      MP_CONSTANT(MS_SHARED),
      MP_CONSTANT(MS_RELATIME),
      MP_CONSTANT(MS_STRICTATIME),
      MP_CONSTANT(MS_LAZYTIME),
      MP_CONSTANT(MNT_FORCE),
      MP_CONSTANT(MNT_DETACH),
      MP_CONSTANT(MNT_EXPIRE),
      MP_CONSTANT(UMOUNT_NOFOLLOW),
  }));
}

}  // namespace mp

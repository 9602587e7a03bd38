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
Napi::Value Setns(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, INT_MAX));
  int64_t nstype = ArgInteger(info, 1, "nstype", 0, kNamespaceFlags);
  if ((nstype & ~kNamespaceFlags) != 0) ThrowRangeError(info.Env(), "Unknown setns nstype (only CLONE_NEW* namespace flags are accepted)");
  if (setns(fd, static_cast<int>(nstype)) != 0) ThrowErrno(info.Env(), errno, "setns");
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

Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* name, double v) { c.Set(name, Napi::Number::New(env, v)); };
  set("CLONE_NEWNS", CLONE_NEWNS);
  set("CLONE_NEWUTS", CLONE_NEWUTS);
  set("CLONE_NEWIPC", CLONE_NEWIPC);
  set("CLONE_NEWNET", CLONE_NEWNET);
  set("CLONE_NEWPID", CLONE_NEWPID);
  set("CLONE_NEWUSER", CLONE_NEWUSER);
  set("CLONE_NEWCGROUP", CLONE_NEWCGROUP);
  set("CLONE_NEWTIME", CLONE_NEWTIME);
  set("MS_RDONLY", MS_RDONLY);
  set("MS_NOSUID", MS_NOSUID);
  set("MS_NODEV", MS_NODEV);
  set("MS_NOEXEC", MS_NOEXEC);
  set("MS_SYNCHRONOUS", MS_SYNCHRONOUS);
  set("MS_REMOUNT", MS_REMOUNT);
  set("MS_MANDLOCK", MS_MANDLOCK);
  set("MS_DIRSYNC", MS_DIRSYNC);
  set("MS_NOSYMFOLLOW", MS_NOSYMFOLLOW);
  set("MS_NOATIME", MS_NOATIME);
  set("MS_NODIRATIME", MS_NODIRATIME);
  set("MS_BIND", MS_BIND);
  set("MS_MOVE", MS_MOVE);
  set("MS_REC", MS_REC);
  set("MS_SILENT", MS_SILENT);
  set("MS_UNBINDABLE", MS_UNBINDABLE);
  set("MS_PRIVATE", MS_PRIVATE);
  set("MS_SLAVE", MS_SLAVE);
  set("MS_SHARED", MS_SHARED);
  set("MS_RELATIME", MS_RELATIME);
  set("MS_STRICTATIME", MS_STRICTATIME);
  set("MS_LAZYTIME", MS_LAZYTIME);
  set("MNT_FORCE", MNT_FORCE);
  set("MNT_DETACH", MNT_DETACH);
  set("MNT_EXPIRE", MNT_EXPIRE);
  set("UMOUNT_NOFOLLOW", UMOUNT_NOFOLLOW);
  return c;
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
  exports.Set("nsConstants", Constants(env));
}

}  // namespace mp

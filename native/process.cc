// The process family: waitpid (sync, and async on a pidfd), kill, ids, sessions and groups, subreaper and
// parent-death signal (prctl), CPU affinity, resource limits, _exit. fork itself lives in the separate
// fork addon (native/fork/), because making fork safe in a running Node needs node.h/v8.h/uv.h.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <limits>
#include <memory>

#include "addon.h"
#include "async/reactor.h"
#include "core/errors.h"

#ifndef P_PIDFD
#define P_PIDFD 3  // linux/wait.h; glibc's idtype_t may not name it
#endif

namespace mp {

namespace {

constexpr int64_t kPidMax = 4194304;  // PID_MAX_LIMIT on 64-bit Linux
constexpr int64_t kIntMin = std::numeric_limits<int32_t>::min();
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

enum StatusKind { kExited = 0, kSignaled = 1, kStopped = 2, kContinued = 3, kRunning = 4 };

// [pid, kind, value, coreDumped] from a wait status (WIFEXITED & co. stay in C where they are defined).
Napi::Array DecodeStatus(Napi::Env env, pid_t pid, int status) {
  Napi::Array out = Napi::Array::New(env, 4);
  int kind = kRunning, value = 0;
  bool core = false;
  if (pid == 0) {
    kind = kRunning;
  } else if (WIFEXITED(status)) {
    kind = kExited;
    value = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    kind = kSignaled;
    value = WTERMSIG(status);
    core = WCOREDUMP(status);
  } else if (WIFSTOPPED(status)) {
    kind = kStopped;
    value = WSTOPSIG(status);
  } else if (WIFCONTINUED(status)) {
    kind = kContinued;
  }
  out.Set(0u, Napi::Number::New(env, pid));
  out.Set(1u, Napi::Number::New(env, kind));
  out.Set(2u, Napi::Number::New(env, value));
  out.Set(3u, Napi::Boolean::New(env, core));
  return out;
}

// The same array from waitid's siginfo (si_code says how the child ended).
Napi::Array DecodeSiginfo(Napi::Env env, const siginfo_t& info) {
  Napi::Array out = Napi::Array::New(env, 4);
  int kind = kExited;
  switch (info.si_code) {
    case CLD_EXITED: kind = kExited; break;
    case CLD_KILLED:
    case CLD_DUMPED: kind = kSignaled; break;
    case CLD_STOPPED:
    case CLD_TRAPPED: kind = kStopped; break;
    case CLD_CONTINUED: kind = kContinued; break;
  }
  out.Set(0u, Napi::Number::New(env, info.si_pid));
  out.Set(1u, Napi::Number::New(env, kind));
  out.Set(2u, Napi::Number::New(env, kind == kContinued ? 0 : info.si_status));
  out.Set(3u, Napi::Boolean::New(env, info.si_code == CLD_DUMPED));
  return out;
}

int ArgSignal(const Napi::CallbackInfo& info, size_t i, const char* name, int min) {
  return static_cast<int>(ArgInteger(info, i, name, min, SIGRTMAX));
}

// A process id argument from `min` (0: "this process" where the call allows it) to PID_MAX_LIMIT.
pid_t ArgPid(const Napi::CallbackInfo& info, size_t i, int64_t min = 0, const char* name = "pid") {
  return static_cast<pid_t>(ArgInteger(info, i, name, min, kPidMax));
}

// waitpid(pid, flags) -> [pid, kind, value, core]; with WNOHANG and no change: [0, running, 0, false].
Napi::Value Waitpid(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  pid_t pid = static_cast<pid_t>(ArgInteger(info, 0, "pid", kIntMin + 1, kIntMax));
  int flags = static_cast<int>(ArgInteger(info, 1, "flags", 0, WNOHANG | WUNTRACED | WCONTINUED));
  if ((flags & ~(WNOHANG | WUNTRACED | WCONTINUED)) != 0) ThrowRangeError(info.Env(), "Unknown waitpid flags");
  int status = 0;
  pid_t got;
  MP_RETRY_EINTR(got, waitpid(pid, &status, flags));
  if (got < 0) ThrowErrno(info.Env(), errno, "waitpid");
  return DecodeStatus(info.Env(), got, status);
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// waitpidAsync(pid, callback(err, [pid, kind, value, core])) -> watch id. Termination only; the wait is a
// pidfd registered with the reactor (no thread parked per child), then a WNOHANG reap.
Napi::Value WaitpidAsync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  pid_t pid = ArgPid(info, 0, 1);
  Napi::Function fn = ArgFunction(info, 1, "callback");

  // Refuse early (ECHILD) what waitpid would refuse later: a pid that is not our child.
  siginfo_t si{};
  int rc;
  MP_RETRY_EINTR(rc, waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT));
  if (rc < 0) ThrowErrno(env, errno, "waitpid");

  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) ThrowErrno(env, errno, "pidfd_open");
  auto callback = std::make_shared<Napi::FunctionReference>(Napi::Persistent(fn));
  uint64_t id = ReactorWatchFd(
      env, pidfd, EPOLLIN,
      [pid, callback](Napi::Env env, uint32_t, int fd) {
        // Reap through the pidfd, not the pid number: if someone else reaped the child and its pid was reused
        // by a new child meanwhile, waitpid(pid) would reap the wrong process.
        siginfo_t info{};
        int rc;
        MP_RETRY_EINTR(rc, waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &info, WEXITED | WNOHANG));
        Napi::Value err = env.Null(), result = env.Undefined();
        if (rc < 0) {
          err = ErrnoError(env, errno, "waitpid").Value();
        } else if (info.si_pid == 0) {
          err = ErrnoError(env, ECHILD, "waitpid").Value();  // readable but nothing to reap: reaped elsewhere
        } else {
          result = DecodeSiginfo(env, info);
        }
        callback->Value().Call({err, result});
      },
      /*adopt=*/true);
  return Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value PidfdOpenJs(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  pid_t pid = ArgPid(info, 0, 1);
  return NumberOrErrno(info.Env(), PidfdOpen(pid), "pidfd_open");
}

// pidfdSendSignal(pidfd, signal): pidfd_send_signal(2) — a signal to the process a pidfd refers to, which can
// never be another process that reused its pid (ESRCH once it has ended).
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = static_cast<int>(ArgInteger(info, 0, "pidfd", 0, kIntMax));
  int sig = ArgSignal(info, 1, "signal", 0);
  return UndefinedOrErrno(info.Env(), static_cast<int>(syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0)),
                          "pidfd_send_signal");
}

Napi::Value Kill(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  pid_t pid = static_cast<pid_t>(ArgInteger(info, 0, "pid", kIntMin + 1, kIntMax));
  int sig = ArgSignal(info, 1, "signal", 0);
  return UndefinedOrErrno(info.Env(), kill(pid, sig), "kill");
}

Napi::Value Getpid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getpid()); }
Napi::Value Getppid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), getppid()); }
Napi::Value Gettid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), gettid()); }

Napi::Value Setsid(const Napi::CallbackInfo& info) { return NumberOrErrno(info.Env(), setsid(), "setsid"); }

Napi::Value Getsid(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  pid_t pid = ArgPid(info, 0);
  return NumberOrErrno(info.Env(), getsid(pid), "getsid");
}

Napi::Value Setpgid(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  pid_t pid = ArgPid(info, 0);
  pid_t pgid = ArgPid(info, 1, 0, "pgid");
  return UndefinedOrErrno(info.Env(), setpgid(pid, pgid), "setpgid");
}

Napi::Value Getpgid(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  pid_t pid = ArgPid(info, 0);
  return NumberOrErrno(info.Env(), getpgid(pid), "getpgid");
}

Napi::Value SetSubreaper(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  bool on = ArgBool(info, 0, "on");
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) != 0) ThrowErrno(info.Env(), errno, "prctl");
  return info.Env().Undefined();
}

Napi::Value IsSubreaper(const Napi::CallbackInfo& info) {
  int value = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) != 0) ThrowErrno(info.Env(), errno, "prctl");
  return Napi::Boolean::New(info.Env(), value != 0);
}

Napi::Value SetPdeathsig(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int sig = ArgSignal(info, 0, "signal", 0);
  if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0) ThrowErrno(info.Env(), errno, "prctl");
  return info.Env().Undefined();
}

Napi::Value GetPdeathsig(const Napi::CallbackInfo& info) {
  int sig = 0;
  if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) != 0) ThrowErrno(info.Env(), errno, "prctl");
  return Napi::Number::New(info.Env(), sig);
}

Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  pid_t pid = ArgPid(info, 0);
  Napi::Array cpus = ArgArray(info, 1, "cpus", CPU_SETSIZE);
  if (cpus.Length() == 0) ThrowRangeError(env, "The \"cpus\" array must name at least one CPU");
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < cpus.Length(); i++) {
    CPU_SET(static_cast<int>(ElementInteger(env, cpus, i, "cpus", 0, CPU_SETSIZE - 1)), &set);
  }
  if (sched_setaffinity(pid, sizeof set, &set) != 0) ThrowErrno(env, errno, "sched_setaffinity");
  return env.Undefined();
}

Napi::Value GetAffinity(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  pid_t pid = ArgPid(info, 0);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) ThrowErrno(env, errno, "sched_getaffinity");
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set)) out.Set(n++, Napi::Number::New(env, cpu));
  }
  return out;
}

Napi::Value Getcpu(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), sched_getcpu());
}

double LimitToJs(rlim_t v) { return v == RLIM_INFINITY ? INFINITY : static_cast<double>(v); }

rlim_t LimitFromJs(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = ArgNumber(info, i, name, 0, INFINITY);
  if (std::isinf(d)) return RLIM_INFINITY;
  if (std::trunc(d) != d || d > 9007199254740991.0) {
    ThrowRangeError(info.Env(), std::string("The value of \"") + name +
                                    "\" is out of range. It must be a non-negative integer or Infinity");
  }
  return static_cast<rlim_t>(d);
}

Napi::Value Getrlimit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int resource = static_cast<int>(ArgInteger(info, 0, "resource", 0, RLIMIT_NLIMITS - 1));
  rlimit lim{};
  if (getrlimit(resource, &lim) != 0) ThrowErrno(info.Env(), errno, "getrlimit");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), LimitToJs(lim.rlim_cur)));
  out.Set(1u, Napi::Number::New(info.Env(), LimitToJs(lim.rlim_max)));
  return out;
}

Napi::Value Setrlimit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  int resource = static_cast<int>(ArgInteger(info, 0, "resource", 0, RLIMIT_NLIMITS - 1));
  rlimit lim{LimitFromJs(info, 1, "soft"), LimitFromJs(info, 2, "hard")};
  if (setrlimit(resource, &lim) != 0) ThrowErrno(info.Env(), errno, "setrlimit");
  return info.Env().Undefined();
}

// _exit(code): ends the process now. Stdio flushing is the caller's (lib/posix/process.ts exit()).
Napi::Value Exit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int code = static_cast<int>(ArgInteger(info, 0, "code", 0, 255));
  _exit(code);
}

// spawn(file, argv[], env[] | undefined, fds: [childFd, parentFd][], newGroup: boolean) -> pid
// posix_spawn(3) (no shell): the child's fds are exactly 0-2 plus those mapped here (everything else is
// O_CLOEXEC in this library), its signal mask is empty and every signal has its default action (Node ignores
// SIGPIPE; a fresh program must not inherit that).
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  RequireArgs(info, 5);
  Napi::Env env = info.Env();
  std::string file = ArgString(info, 0, "file");
  Napi::Array argvJs = ArgArray(info, 1, "argv", 65536);
  bool inheritEnv = info[2].IsUndefined();
  Napi::Array envJs = inheritEnv ? Napi::Array::New(env) : ArgArray(info, 2, "env", 65536);
  Napi::Array fdsJs = ArgArray(info, 3, "fds", 1024);
  bool newGroup = ArgBool(info, 4, "newGroup");

  auto strings = [&](const Napi::Array& a, const char* name) {
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (!v.IsString()) {
        ThrowTypeError(env, std::string("The \"") + name + "[" + std::to_string(i) + "]\" element must be of type string. Received " + Describe(v));
      }
      std::string s = v.As<Napi::String>().Utf8Value();
      if (s.find('\0') != std::string::npos) ThrowTypeError(env, std::string("The \"") + name + "\" strings must not contain null bytes");
      out.push_back(std::move(s));
    }
    return out;
  };
  std::vector<std::string> argv = strings(argvJs, "argv");
  std::vector<std::string> envv = strings(envJs, "env");
  if (argv.empty()) ThrowRangeError(env, "The \"argv\" array must have at least one element (the program name)");
  std::vector<std::pair<int, int>> fds;
  for (uint32_t i = 0; i < fdsJs.Length(); i++) {
    Napi::Value pair = fdsJs.Get(i);
    if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
      ThrowTypeError(env, "Each \"fds\" element must be a [childFd, parentFd] pair. Received " + Describe(pair));
    }
    Napi::Array p = pair.As<Napi::Array>();
    int childFd = static_cast<int>(ElementInteger(env, p, 0, "fds[i][0]", 0, 1 << 20));
    int parentFd = static_cast<int>(ElementInteger(env, p, 1, "fds[i][1]", 0, 1 << 30));
    fds.emplace_back(childFd, parentFd);
  }

  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envv) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  // 0, 1 and 2 are inherited unless mapped: Node marks them close-on-exec at startup
  // (uv_disable_stdio_inheritance), so they are mapped onto themselves explicitly (dup2 clears FD_CLOEXEC).
  for (int stdio = 0; stdio <= 2; stdio++) {
    bool mapped = false;
    for (auto& [c, p] : fds) mapped = mapped || c == stdio;
    if (!mapped && fcntl(stdio, F_GETFD) >= 0) fds.emplace_back(stdio, stdio);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  auto action = [&](int rc, const char* what) {
    if (rc != 0) {
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      ThrowErrno(env, rc, what);
    }
  };
  // Two passes, so that a mapping onto an fd number that is also a source does not clobber it: first every
  // source is moved above the highest target, then each lands on its target (dup2 clears FD_CLOEXEC).
  int high = 0;
  for (auto& [c, p] : fds) high = std::max(high, std::max(c, p));
  int temp = high + 1;
  std::vector<std::pair<int, int>> staged;
  for (auto& [c, p] : fds) {
    if (fcntl(p, F_GETFD) < 0) action(EBADF, "posix_spawn");  // a parent fd that is not open
    action(posix_spawn_file_actions_adddup2(&actions, p, temp), "posix_spawn_file_actions_adddup2");
    staged.emplace_back(c, temp++);
  }
  for (auto& [c, t] : staged) {
    action(posix_spawn_file_actions_adddup2(&actions, t, c), "posix_spawn_file_actions_adddup2");
    action(posix_spawn_file_actions_addclose(&actions, t), "posix_spawn_file_actions_addclose");
  }
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (newGroup) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid = 0;
  int err = posix_spawn(&pid, file.c_str(), &actions, &attr, cargv.data(), inheritEnv ? environ : cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) ThrowErrno(env, err, "posix_spawn");
  return Napi::Number::New(env, pid);
}

Napi::Object Signals(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  for (int sig = 1; sig < SIGRTMIN; sig++) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr) out.Set(std::string("SIG") + abbrev, Napi::Number::New(env, sig));
  }
  out.Set("SIGRTMIN", Napi::Number::New(env, SIGRTMIN));
  for (int sig = SIGRTMIN + 1; sig < SIGRTMAX; sig++) {
    out.Set("SIGRTMIN+" + std::to_string(sig - SIGRTMIN), Napi::Number::New(env, sig));
  }
  out.Set("SIGRTMAX", Napi::Number::New(env, SIGRTMAX));
  return out;
}

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"waitpid", Waitpid},
      {"waitpidAsync", WaitpidAsync},
      {"pidfdOpen", PidfdOpenJs},
      {"kill", Kill},
      {"pidfdSendSignal", PidfdSendSignal},
      {"getpid", Getpid},
      {"getppid", Getppid},
      {"gettid", Gettid},
      {"setsid", Setsid},
      {"getsid", Getsid},
      {"setpgid", Setpgid},
      {"getpgid", Getpgid},
      {"setSubreaper", SetSubreaper},
      {"isSubreaper", IsSubreaper},
      {"setPdeathsig", SetPdeathsig},
      {"getPdeathsig", GetPdeathsig},
      {"setAffinity", SetAffinity},
      {"getAffinity", GetAffinity},
      {"getcpu", Getcpu},
      {"getrlimit", Getrlimit},
      {"setrlimit", Setrlimit},
      {"_exit", Exit},
      {"spawn", Spawn},
  });
  exports.Set("signals", Signals(env));
  exports.Set("processConstants", NumbersObject(env, {
      MP_CONSTANT(WNOHANG),
      MP_CONSTANT(WUNTRACED),
      MP_CONSTANT(WCONTINUED),
      MP_CONSTANT(RLIMIT_CORE),
      MP_CONSTANT(RLIMIT_NPROC),
      MP_CONSTANT(RLIMIT_NOFILE),
      MP_CONSTANT(RLIMIT_AS),
      MP_CONSTANT(RLIMIT_CPU),
      MP_CONSTANT(RLIMIT_DATA),
      MP_CONSTANT(RLIMIT_FSIZE),
      MP_CONSTANT(RLIMIT_STACK),
      MP_CONSTANT(RLIMIT_MEMLOCK),
      MP_CONSTANT(CPU_SETSIZE),
  }));
}

}  // namespace mp

// The signal family: sigaction(2) with a recording handler, sigprocmask(2) (pthread_sigmask: the calling
// thread's mask), sigpending(2), sigsuspend(2) (as ppoll(2) with no fds, so that it can have a time limit),
// sigqueue(3).
//
// A JS function cannot run inside a signal handler, so the one handler this family installs is native: it
// records each delivery (signal, sender pid and uid, si_code, the sigqueue value, the CLOCK_MONOTONIC time)
// in a lock-free ring and counts it per signal; JS reads the records afterwards (signalRecords) or sleeps
// until a handler has run (sigsuspend). Everything the handler does is async-signal-safe: lock-free atomics,
// clock_gettime, and errno saved and restored.
//
// sigaction replaces whatever handler was installed, Node's and libuv's included (libuv's SIGCHLD handler,
// process.on('SIGINT') ...): meant for processes that own their signals, such as a forked child. The action
// in place before this family first changed a signal is kept, and disposition kOriginal puts it back.
//
// Every entry validates its arguments itself (signal numbers 1..SIGRTMAX, known flags, short arrays).
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <mutex>

#include "addon.h"
#include "core/errors.h"

namespace mp {

void InitSignal(Napi::Env env, Napi::Object exports);

namespace {

constexpr int64_t kPidMax = 4194304;   // PID_MAX_LIMIT on 64-bit Linux
constexpr uint32_t kMaxSignals = 128;  // longest signal list accepted (there are 64 signals)
constexpr size_t kRing = 1024;         // deliveries kept
constexpr double kMaxTimeoutMs = 1e12;

// Dispositions: sigaction's `disposition` argument (kOriginal: the action before this family changed it) and
// the previous disposition it returns (kWasOther: a handler that is not ours, e.g. libuv's).
enum Disposition { kDefault = 0, kIgnore = 1, kRecord = 2, kOriginal = 3 };
enum Previous { kWasDefault = 0, kWasIgnore = 1, kWasRecord = 2, kWasOther = 3 };

// sa_flags as unsigned bits (SA_RESETHAND is the sign bit of an int).
constexpr int64_t kAllowedFlags = static_cast<uint32_t>(SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_NOCLDSTOP | SA_NOCLDWAIT);

// One delivery. A seqlock: `published` is 0 while the handler writes the fields, then seq + 1; a reader
// checks it before and after reading them (a later delivery may reuse the slot meanwhile).
struct Record {
  std::atomic<uint64_t> published{0};
  std::atomic<int32_t> signo{0};
  std::atomic<int32_t> code{0};
  std::atomic<int32_t> pid{0};
  std::atomic<int32_t> uid{0};
  std::atomic<int32_t> value{0};
  std::atomic<int32_t> status{0};
  std::atomic<int64_t> timeNs{0};
};

Record g_ring[kRing];
std::atomic<uint64_t> g_seq{0};
std::atomic<uint64_t> g_count[_NSIG];
static_assert(std::atomic<uint64_t>::is_always_lock_free, "the signal handler needs lock-free atomics");

// The action each signal had before this family first changed it (kOriginal restores it).
std::mutex g_savedMu;
struct sigaction g_saved[_NSIG];
bool g_hasSaved[_NSIG];

void RecordHandler(int sig, siginfo_t* info, void*) {
  int savedErrno = errno;
  uint64_t seq = g_seq.fetch_add(1, std::memory_order_relaxed);
  Record& r = g_ring[seq % kRing];
  r.published.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  auto put = [](std::atomic<int32_t>& field, int32_t v) { field.store(v, std::memory_order_relaxed); };
  put(r.signo, sig);
  put(r.code, info ? info->si_code : 0);
  put(r.pid, info ? info->si_pid : 0);
  put(r.uid, info ? static_cast<int32_t>(info->si_uid) : 0);
  put(r.value, info && info->si_code == SI_QUEUE ? info->si_value.sival_int : 0);
  put(r.status, info && sig == SIGCHLD ? info->si_status : 0);
  r.timeNs.store(static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec, std::memory_order_relaxed);
  r.published.store(seq + 1, std::memory_order_release);
  if (sig > 0 && sig < _NSIG) g_count[sig].fetch_add(1, std::memory_order_relaxed);
  errno = savedErrno;
}

int ArgSig(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return static_cast<int>(ArgInteger(info, i, name, 1, SIGRTMAX));
}

// A signal set from an array of signal numbers (null/undefined: the empty set).
sigset_t ArgSigset(const Napi::CallbackInfo& info, size_t i, const char* name) {
  sigset_t set;
  sigemptyset(&set);
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return set;
  Napi::Array a = ArgArray(info, i, name, kMaxSignals);
  for (uint32_t k = 0; k < a.Length(); k++) {
    int sig = static_cast<int>(ElementInteger(info.Env(), a, k, name, 1, SIGRTMAX));
    sigaddset(&set, sig);
  }
  return set;
}

Napi::Array SigsetToArray(Napi::Env env, const sigset_t& set) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int sig = 1; sig <= SIGRTMAX; sig++) {
    if (sigismember(&set, sig) == 1) out.Set(n++, Napi::Number::New(env, sig));
  }
  return out;
}

// sigprocmask(how, signals | null) -> the previous mask (array). With how = SIG_BLOCK and null: reads the mask.
Napi::Value Sigprocmask(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  int how = static_cast<int>(ArgInteger(info, 0, "how", 0, 2));
  if (how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK) ThrowRangeError(env, "Unknown sigprocmask \"how\"");
  sigset_t set = ArgSigset(info, 1, "signals");
  sigset_t old;
  sigemptyset(&old);
  int rc = pthread_sigmask(how, &set, &old);
  if (rc != 0) ThrowErrno(env, rc, "sigprocmask");
  return SigsetToArray(env, old);
}

Napi::Value Sigpending(const Napi::CallbackInfo& info) {
  sigset_t set;
  sigemptyset(&set);
  if (sigpending(&set) != 0) ThrowErrno(info.Env(), errno, "sigpending");
  return SigsetToArray(info.Env(), set);
}

// sigaction(signal, disposition, flags, mask) -> [previous disposition, previous flags].
Napi::Value Sigaction(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  int sig = ArgSig(info, 0, "signal");
  int disposition = static_cast<int>(ArgInteger(info, 1, "disposition", kDefault, kOriginal));
  int64_t flagBits = ArgIntegerOr(info, 2, "flags", 0, UINT32_MAX, 0);
  if ((flagBits & ~kAllowedFlags) != 0) ThrowRangeError(env, "Unknown sigaction flags");
  int flags = static_cast<int>(static_cast<uint32_t>(flagBits));
  sigset_t mask = ArgSigset(info, 3, "mask");

  std::lock_guard<std::mutex> lock(g_savedMu);
  struct sigaction old;
  memset(&old, 0, sizeof old);
  if (sigaction(sig, nullptr, &old) != 0) ThrowErrno(env, errno, "sigaction");
  struct sigaction act;
  memset(&act, 0, sizeof act);
  if (disposition == kOriginal) {
    if (!g_hasSaved[sig]) {
      act = old;  // never changed here: nothing to restore
    } else {
      act = g_saved[sig];
    }
  } else {
    act.sa_flags = flags;
    act.sa_mask = mask;
    if (disposition == kRecord) {
      act.sa_sigaction = RecordHandler;
      act.sa_flags |= SA_SIGINFO;
    } else {
      act.sa_handler = disposition == kIgnore ? SIG_IGN : SIG_DFL;
    }
  }
  if (sigaction(sig, &act, nullptr) != 0) ThrowErrno(env, errno, "sigaction");
  if (disposition == kOriginal) {
    g_hasSaved[sig] = false;
  } else if (!g_hasSaved[sig]) {
    g_saved[sig] = old;
    g_hasSaved[sig] = true;
  }

  // sa_handler and sa_sigaction share storage; SA_RESETHAND leaves SA_SIGINFO set with SIG_DFL in it.
  int prev;
  if (old.sa_handler == SIG_DFL) {
    prev = kWasDefault;
  } else if (old.sa_handler == SIG_IGN) {
    prev = kWasIgnore;
  } else if ((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == RecordHandler) {
    prev = kWasRecord;
  } else {
    prev = kWasOther;
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, prev));
  out.Set(1u, Napi::Number::New(env, static_cast<double>(static_cast<uint32_t>(old.sa_flags) & kAllowedFlags)));
  return out;
}

// sigsuspend(mask, timeoutMs?) -> true when a handler ran, false when the time ran out. The mask replaces
// the thread's mask for the wait (atomically, as sigsuspend does); ppoll(2) with no fds does exactly that,
// with a time limit.
Napi::Value Sigsuspend(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  sigset_t mask = ArgSigset(info, 0, "mask");
  bool hasTimeout = info.Length() > 1 && !info[1].IsUndefined();
  double ms = hasTimeout ? ArgNumber(info, 1, "timeout", 0, kMaxTimeoutMs) : 0;
  timespec ts;
  ts.tv_sec = static_cast<time_t>(std::floor(ms / 1000));
  ts.tv_nsec = static_cast<long>((ms - static_cast<double>(ts.tv_sec) * 1000) * 1e6);
  if (ts.tv_nsec >= 1000000000) ts.tv_nsec = 999999999;
  int rc = ppoll(nullptr, 0, hasTimeout ? &ts : nullptr, &mask);
  if (rc < 0 && errno == EINTR) return Napi::Boolean::New(env, true);
  if (rc < 0) ThrowErrno(env, errno, "sigsuspend");
  return Napi::Boolean::New(env, false);
}

Napi::Value Sigqueue(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  pid_t pid = static_cast<pid_t>(ArgInteger(info, 0, "pid", 1, kPidMax));
  int sig = static_cast<int>(ArgInteger(info, 1, "signal", 0, SIGRTMAX));
  int value = static_cast<int>(ArgInteger(info, 2, "value", INT32_MIN, INT32_MAX));
  union sigval v;
  memset(&v, 0, sizeof v);
  v.sival_int = value;
  if (sigqueue(pid, sig, v) != 0) ThrowErrno(env, errno, "sigqueue");
  return env.Undefined();
}

// signalRecords(fromSeq) -> [seq, signo, code, pid, uid, value, status, timeMs][] for every delivery with
// seq >= fromSeq still in the ring (the oldest are overwritten after kRing deliveries).
Napi::Value SignalRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t from = ArgIntegerOr(info, 0, "fromSeq", 0, int64_t(1) << 53, 0);
  uint64_t end = g_seq.load(std::memory_order_acquire);
  uint64_t start = end > kRing ? end - kRing : 0;
  if (static_cast<uint64_t>(from) > start) start = static_cast<uint64_t>(from);
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (uint64_t seq = start; seq < end; seq++) {
    const Record& r = g_ring[seq % kRing];
    if (r.published.load(std::memory_order_acquire) != seq + 1) continue;  // being written, or overwritten
    double fields[7] = {
        double(r.signo.load(std::memory_order_relaxed)), double(r.code.load(std::memory_order_relaxed)),
        double(r.pid.load(std::memory_order_relaxed)),   double(r.uid.load(std::memory_order_relaxed)),
        double(r.value.load(std::memory_order_relaxed)), double(r.status.load(std::memory_order_relaxed)),
        double(r.timeNs.load(std::memory_order_relaxed)) / 1e6,
    };
    std::atomic_thread_fence(std::memory_order_acquire);
    if (r.published.load(std::memory_order_relaxed) != seq + 1) continue;  // reused while being read
    Napi::Array rec = Napi::Array::New(env, 8);
    rec.Set(0u, Napi::Number::New(env, static_cast<double>(seq)));
    for (uint32_t k = 0; k < 7; k++) rec.Set(k + 1, Napi::Number::New(env, fields[k]));
    out.Set(n++, rec);
  }
  return out;
}

// signalCount(signal) -> how many times the recording handler ran for it; signalSeq() -> deliveries so far.
Napi::Value SignalCount(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int sig = ArgSig(info, 0, "signal");
  return Napi::Number::New(info.Env(), static_cast<double>(g_count[sig].load(std::memory_order_relaxed)));
}

Napi::Value SignalSeq(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_seq.load(std::memory_order_acquire)));
}

}  // namespace

void InitSignal(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"sigprocmask", Sigprocmask},
      {"sigpending", Sigpending},
      {"sigaction", Sigaction},
      {"sigsuspend", Sigsuspend},
      {"sigqueue", Sigqueue},
      {"signalRecords", SignalRecords},
      {"signalCount", SignalCount},
      {"signalSeq", SignalSeq},
  });
  exports.Set("signalConstants", NumbersObject(env, {
      MP_CONSTANT(SIG_BLOCK),
      MP_CONSTANT(SIG_UNBLOCK),
      MP_CONSTANT(SIG_SETMASK),
      {"SA_RESTART", static_cast<double>(static_cast<uint32_t>(SA_RESTART))},
      {"SA_NODEFER", static_cast<double>(static_cast<uint32_t>(SA_NODEFER))},
      {"SA_RESETHAND", static_cast<double>(static_cast<uint32_t>(SA_RESETHAND))},
      MP_CONSTANT(SA_NOCLDSTOP),
      MP_CONSTANT(SA_NOCLDWAIT),
      MP_CONSTANT(SI_USER),
      MP_CONSTANT(SI_QUEUE),
      MP_CONSTANT(SI_KERNEL),
      MP_CONSTANT(SI_TKILL),
      MP_CONSTANT(CLD_EXITED),
      MP_CONSTANT(CLD_KILLED),
      MP_CONSTANT(CLD_DUMPED),
      MP_CONSTANT(CLD_STOPPED),
      MP_CONSTANT(CLD_CONTINUED),
      {"RING", static_cast<double>(kRing)},
  }));
}

}  // namespace mp

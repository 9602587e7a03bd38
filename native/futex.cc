// The futex family: futex(2) waits and wakes on a 32-bit word inside a shared Mapping, the building block of
// the multiprocessing layer's Lock, RLock, Semaphore, Condition, Event and Barrier (lib/mp/sync/sync.ts), which keep
// their state in such words and change it with JS Atomics; only a process that must sleep, or wake sleepers,
// calls in here.
//
// Words are shared between processes (MAP_SHARED memory, fork or a memfd mapped by a spawned child), so the
// operations are the shared ones (no FUTEX_PRIVATE_FLAG): the kernel keys them on the page, not on this
// process's address space. Timeouts are absolute CLOCK_MONOTONIC deadlines (FUTEX_WAIT_BITSET), so an EINTR
// resumes with the same deadline.
//
// Every entry validates its arguments itself: the mapping must be open, the offset a multiple of 4 inside it.
//
// Async waits (futexWaitAsync) run on threads of the addon (native/async/waiters.h): the mapping is pinned
// while the thread uses it, and the wait runs in slices so that a Mapping.close() is noticed. Cancellation
// (cancelWait: an AbortSignal in lib/) sets a flag and wakes every waiter of the word: futex waiters must
// tolerate spurious wake-ups anyway, and lib/ passes on a wake a cancelled waiter may have taken.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>
#include <utility>

#include "addon.h"
#include "async/waiters.h"
#include "core/errors.h"
#include "core/time.h"
#include "shm.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;

// Results (sync return value, async callback value).
enum Result { kWoken = 0, kNotEqual = 1, kTimedOut = 2, kCancelled = 3 };

// FUTEX_WAIT_BITSET (shared) with an absolute CLOCK_MONOTONIC deadline (nullptr: none). 0 or errno.
int FutexWaitUntil(int32_t* addr, int32_t expected, const timespec* deadline) {
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : errno;
}

long FutexWake(int32_t* addr, int count) { return syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0); }

// (mapping, offset) -> the word; the region is returned through `out`.
int32_t* ArgWord(const Napi::CallbackInfo& info, RegionPtr* out) {
  RegionPtr r = ArgRegion(info, 0, "mapping");
  int64_t offset = ArgInteger(info, 1, "offset", 0, kMaxOffset);
  int32_t* addr = reinterpret_cast<int32_t*>(RegionAt(info.Env(), r, offset, 4, 4));
  *out = std::move(r);
  return addr;
}

// futexWait(mapping, offset, expected, timeoutMs = Infinity) -> 0 woken (possibly spuriously, or by a signal),
// 1 the word did not hold `expected`, 2 timed out. Blocks this thread.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r;
  int32_t* addr = ArgWord(info, &r);
  int32_t expected = static_cast<int32_t>(ArgInteger(info, 2, "expected", INT32_MIN, UINT32_MAX));
  Deadline deadline = Deadline::After(ArgTimeoutMsOr(info, 3, "timeout"));
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  int err = FutexWaitUntil(addr, expected, deadline.none ? nullptr : &deadline.at);
  switch (err) {
    case 0:
    case EINTR: return Napi::Number::New(env, kWoken);
    case EAGAIN: return Napi::Number::New(env, kNotEqual);
    case ETIMEDOUT: return Napi::Number::New(env, kTimedOut);
    default: ThrowErrno(env, err, "futex");
  }
}

// futexWake(mapping, offset, count = 1) -> the number of waiters woken (in every process).
Napi::Value Wake(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  RegionPtr r;
  int32_t* addr = ArgWord(info, &r);
  int count = static_cast<int>(ArgIntegerOr(info, 2, "count", 0, INT_MAX, 1));
  if (count == 0) return Napi::Number::New(env, 0);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  long n = FutexWake(addr, count);
  if (n < 0) ThrowErrno(env, errno, "futex");
  return Napi::Number::New(env, static_cast<double>(n));
}

// ---------------------------------------------------------------------------------------------------------
// async waits (native/async/waiters.h)

// FUTEX_WAIT on a thread of its own. Interrupted by a flag and a FUTEX_WAKE of every waiter of the word.
class FutexJob : public WaitJob {
 public:
  FutexJob(int32_t* addr, int32_t expected, Deadline deadline)
      : WaitJob("futex", true), addr_(addr), expected_(expected), deadline_(deadline) {}

  void Block(const WaitThread& t) override {
    int e = 0;
    auto wait = [this](const timespec& end) { return FutexWaitUntil(addr_, expected_, &end); };
    switch (t.WaitInSlices(deadline_, wait, &e)) {
      case WaitThread::kStopped: result_ = kCancelled; break;
      case WaitThread::kTimedOut: result_ = kTimedOut; break;
      case WaitThread::kMappingClosed: result_ = -1, err_ = -1; break;
      case WaitThread::kReturned:
        if (e == 0) {
          result_ = kWoken;  // Settle makes it kCancelled if a cancel came meanwhile
        } else if (e == EAGAIN) {
          result_ = kNotEqual;
        } else {
          result_ = -1, err_ = e;
        }
        break;
    }
  }

  // The pin is held: the bytes are mapped. Wakes every waiter of the word (spurious for the others).
  void Interrupt(pthread_t) override { FutexWake(addr_, INT_MAX); }

  // A cancel that came before the end found the wait not done and returned true: the callback must report 3,
  // whatever the last FUTEX_WAIT said (the word changed, the last slice ended, another waiter's cancel woke
  // this one). lib/ relies on it: it never sees the abort event again.
  void Settle(StopReason why) override {
    if (result_ >= 0 && why != StopReason::kNone) result_ = kCancelled;
  }

  // Finished but not delivered: JS has not seen it, so the cancel wins (a finished wait consumed nothing but
  // a wake-up, which lib/ passes on).
  void CancelFinished() override {
    if (result_ >= 0) result_ = kCancelled;
  }

  std::pair<Napi::Value, Napi::Value> Arguments(Napi::Env env) override {
    if (result_ >= 0) return {env.Null(), Napi::Number::New(env, result_)};
    Napi::Error err = err_ == -1 ? CodedError(env, "ERR_MULTIPROC_CLOSED",
                                              "The mapping that holds the word was closed while waiting")
                                 : ErrnoError(env, err_, "futex");
    return {err.Value(), env.Undefined()};
  }

 private:
  int32_t* addr_;
  int32_t expected_;
  Deadline deadline_;
  int result_ = kWoken;
  int err_ = 0;  // errno of a failed wait; -1: the mapping was closed while waiting
};

// futexWaitAsync(mapping, offset, expected, timeoutMs, callback(err, result)) -> wait id. The callback gets
// 0 (woken), 1 (not equal), 2 (timed out) or 3 (cancelled by cancelWait).
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 5);
  RegionPtr r;
  int32_t* addr = ArgWord(info, &r);
  int32_t expected = static_cast<int32_t>(ArgInteger(info, 2, "expected", INT32_MIN, UINT32_MAX));
  double ms = ArgTimeoutMsOr(info, 3, "timeout");
  Napi::Function callback = ArgFunction(info, 4, "callback");
  auto job = std::make_unique<FutexJob>(addr, expected, Deadline::After(ms));
  uint64_t id = StartWait(info.Env(), std::move(job), std::move(r), callback, info[0].As<Napi::Object>());
  return Napi::Number::New(info.Env(), static_cast<double>(id));
}

}  // namespace

void InitFutex(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"futexWait", Wait},
      {"futexWake", Wake},
      {"futexWaitAsync", WaitAsync},
  });
}

}  // namespace mp

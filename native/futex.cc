// The futex family: futex(2) waits and wakes on a 32-bit word inside a shared Mapping, the building block of
// the multiprocessing layer's Lock, RLock, Semaphore, Condition, Event and Barrier (lib/sync.ts), which keep
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
// Async waits (futexWaitAsync) follow native/sync.cc's design: one thread per pending wait (small stack, all
// signals blocked) blocks in FUTEX_WAIT and reports through one thread-safe function per environment, ref'ed
// only while waits are pending; the mapping is pinned while the thread uses it, and the wait runs in slices of
// kSliceMs so that a Mapping.close() is noticed. Cancellation (futexCancel: an AbortSignal in lib/) sets a flag
// and wakes every waiter of the word: futex waiters must tolerate spurious wake-ups anyway, and lib/ passes on
// a wake a cancelled waiter may have taken. Fork: a pthread_atfork handler holds g_mu across fork(); the
// child drops the pins of the parent's waits (their threads do not exist there) and abandons the parent's
// manager on first use.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "addon.h"
#include "errors.h"
#include "shm.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;
constexpr double kSliceMs = 250;             // an async wait re-checks Mapping.close() and cancellation this often
constexpr size_t kWaiterStack = 128 * 1024;  // the waiting threads do almost nothing
constexpr double kForeverMs = 1e12;          // ~31 years: no timeout

// Results (sync return value, async callback value).
enum Result { kWoken = 0, kNotEqual = 1, kTimedOut = 2, kCancelled = 3 };

timespec Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

timespec AddMs(timespec t, double ms) {
  double whole = std::floor(ms / 1000);
  t.tv_sec += static_cast<time_t>(whole);
  t.tv_nsec += static_cast<long>((ms - whole * 1000) * 1e6);
  while (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  return t;
}

bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

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

double ArgTimeout(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return -1;
  double ms = ArgNumber(info, i, "timeout", 0, INFINITY);
  return ms >= kForeverMs ? -1 : ms;
}

// futexWait(mapping, offset, expected, timeoutMs = Infinity) -> 0 woken (possibly spuriously, or by a signal),
// 1 the word did not hold `expected`, 2 timed out. Blocks this thread.
Napi::Value Wait(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r;
  int32_t* addr = ArgWord(info, &r);
  int32_t expected = static_cast<int32_t>(ArgInteger(info, 2, "expected", INT32_MIN, UINT32_MAX));
  double ms = ArgTimeout(info, 3);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  timespec deadline;
  if (ms >= 0) deadline = AddMs(Now(), ms);
  int err = FutexWaitUntil(addr, expected, ms >= 0 ? &deadline : nullptr);
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
// async waits

std::mutex g_mu;  // guards Waiter::{done,result,err,pinned}, Manager::{finished,scheduled,closing}, g_live

struct Manager;

struct Waiter {
  uint64_t id = 0;
  RegionPtr region;
  int32_t* addr = nullptr;
  int32_t expected = 0;
  bool infinite = true;
  timespec deadline{};
  pthread_t thread{};
  std::atomic<bool> cancel{false};
  std::shared_ptr<Manager> mgr;
  // guarded by g_mu
  bool done = false;
  int result = kWoken;
  int err = 0;  // errno of a failed wait; -1: the mapping was closed while waiting
  bool pinned = false;
  // JS thread only
  bool joined = false;
};

std::unordered_set<Waiter*>* g_live = new std::unordered_set<Waiter*>();  // waits holding a pin (never freed)

struct Pending {
  std::shared_ptr<Waiter> waiter;
  Napi::FunctionReference callback;
  Napi::ObjectReference mapping;  // the JS Mapping stays alive while the wait is pending
};

struct Manager {
  pid_t owner = 0;
  napi_threadsafe_function tsfn = nullptr;
  bool refed = false;
  // guarded by g_mu
  std::deque<std::shared_ptr<Waiter>> finished;
  bool scheduled = false;
  bool closing = false;
  // JS thread only
  std::unordered_map<uint64_t, Pending> pending;
  uint64_t nextId = 1;

  void UpdateRef(napi_env env) { HoldLoop(env, tsfn, &refed, !pending.empty()); }
};

struct EnvState {
  std::shared_ptr<Manager> mgr;
};

void* WaitThread(void* arg) {
  auto* self = static_cast<std::shared_ptr<Waiter>*>(arg);
  Waiter* w = self->get();
  int result = kWoken, err = 0;
  for (;;) {
    if (w->cancel.load()) {
      result = kCancelled;
      break;
    }
    timespec slice = AddMs(Now(), kSliceMs);
    bool last = !w->infinite && !Before(slice, w->deadline);
    if (last) slice = w->deadline;
    int e = FutexWaitUntil(w->addr, w->expected, &slice);
    if (e == 0) {
      result = w->cancel.load() ? kCancelled : kWoken;
      break;
    }
    if (e == EAGAIN) {
      result = kNotEqual;
      break;
    }
    if (e == EINTR) continue;
    if (e != ETIMEDOUT) {
      result = -1;
      err = e;
      break;
    }
    if (last) {
      result = kTimedOut;
      break;
    }
    if (w->region->closed.load()) {
      result = -1;
      err = -1;
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    // A futexCancel that came before this point found the wait not done and returned true: the callback must
    // report 3, whatever the last FUTEX_WAIT said (the word changed, the last slice ended, another waiter's
    // cancel woke this one). lib/ relies on it: it never sees the abort event again.
    if (result >= 0 && w->cancel.load()) result = kCancelled;
    w->result = result;
    w->err = err;
    w->done = true;
    Manager* m = w->mgr.get();
    if (!m->closing) {
      m->finished.push_back(*self);
      if (!m->scheduled) {
        m->scheduled = true;
        napi_call_threadsafe_function(m->tsfn, nullptr, napi_tsfn_nonblocking);
      }
    }
  }
  delete self;
  return nullptr;
}

void JoinOnce(Waiter* w) {
  if (!w->joined) {
    pthread_join(w->thread, nullptr);
    w->joined = true;
  }
}

void ReleasePin(Waiter* w) {
  bool unpin;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    unpin = w->pinned;
    if (unpin) {
      w->pinned = false;
      g_live->erase(w);
    }
  }
  if (unpin) w->region->Unpin();
}

void Deliver(napi_env rawEnv, napi_value, void* context, void*) {
  if (rawEnv == nullptr) return;
  Manager* m = static_cast<Manager*>(context);
  if (m->owner != getpid()) return;
  std::deque<std::shared_ptr<Waiter>> batch;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    batch.swap(m->finished);
    m->scheduled = false;
  }
  Napi::Env env(rawEnv);
  for (auto& w : batch) {
    auto it = m->pending.find(w->id);
    if (it == m->pending.end()) continue;
    Pending p = std::move(it->second);
    m->pending.erase(it);
    JoinOnce(w.get());
    ReleasePin(w.get());
    w->mgr.reset();
    Napi::HandleScope scope(env);
    Napi::Value err = env.Null();
    if (w->result < 0) {
      err = w->err == -1 ? CodedError(env, "ERR_MULTIPROC_CLOSED", "The mapping that holds the word was closed while waiting").Value()
                         : ErrnoError(env, w->err, "futex").Value();
    }
    try {
      p.callback.Value().Call({err, err.IsNull() ? Napi::Number::New(env, w->result) : env.Undefined()});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
  m->UpdateRef(rawEnv);
}

std::shared_ptr<Manager> GetManager(Napi::Env env, EnvState* es) {
  if (es->mgr && es->mgr->owner != getpid()) {
    // Forked child: the parent's threads do not exist here; abandon its manager (nothing of it may run).
    if (es->mgr->refed) napi_unref_threadsafe_function(env, es->mgr->tsfn);
    for (auto& [id, p] : es->mgr->pending) {
      p.callback.SuppressDestruct();
      p.mapping.SuppressDestruct();
    }
    new std::shared_ptr<Manager>(std::move(es->mgr));  // leaked on purpose
    es->mgr = nullptr;
  }
  if (!es->mgr) {
    auto m = std::make_shared<Manager>();
    m->owner = getpid();
    napi_value name = Napi::String::New(env, "multiproc.futex");
    napi_status st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, m.get(),
                                                     &Deliver, &m->tsfn);
    if (st != napi_ok) throw Napi::Error::New(env, "multiproc: could not create the futex thread-safe function");
    napi_unref_threadsafe_function(env, m->tsfn);
    es->mgr = m;
  }
  return es->mgr;
}

// futexWaitAsync(mapping, offset, expected, timeoutMs, callback(err, result)) -> wait id. The callback gets
// 0 (woken), 1 (not equal), 2 (timed out) or 3 (cancelled by futexCancel).
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 5);
  Napi::Env env = info.Env();
  auto* es = static_cast<EnvState*>(info.Data());
  auto w = std::make_shared<Waiter>();
  w->addr = ArgWord(info, &w->region);
  w->expected = static_cast<int32_t>(ArgInteger(info, 2, "expected", INT32_MIN, UINT32_MAX));
  double ms = ArgTimeout(info, 3);
  Napi::Function callback = ArgFunction(info, 4, "callback");
  w->infinite = ms < 0;
  if (!w->infinite) w->deadline = AddMs(Now(), ms);
  std::shared_ptr<Manager> m = GetManager(env, es);
  if (!w->region->Pin()) ThrowClosed(env, "mapping");
  {
    std::lock_guard<std::mutex> lock(g_mu);
    w->pinned = true;
    g_live->insert(w.get());
  }
  w->id = m->nextId++;
  w->mgr = m;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWaiterStack);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // signals belong to the main thread (libuv's handlers)
  auto* arg = new std::shared_ptr<Waiter>(w);
  int err = pthread_create(&w->thread, &attr, &WaitThread, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete arg;
    ReleasePin(w.get());
    w->mgr.reset();
    ThrowErrno(env, err, "pthread_create");
  }
  m->pending.emplace(w->id, Pending{w, Napi::Persistent(callback), Napi::Persistent(info[0].As<Napi::Object>())});
  m->UpdateRef(env);
  return Napi::Number::New(env, static_cast<double>(w->id));
}

// futexCancel(id) -> true if the wait was pending: its callback reports 3 (cancelled) unless it had already
// finished (then its own result stands: a finished wait consumed nothing but a wake-up).
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  auto* es = static_cast<EnvState*>(info.Data());
  int64_t id = ArgInteger(info, 0, "id", 1, int64_t(1) << 53);
  std::shared_ptr<Manager> m = es->mgr;
  if (!m || m->owner != getpid()) return Napi::Boolean::New(info.Env(), false);
  auto it = m->pending.find(uint64_t(id));
  if (it == m->pending.end()) return Napi::Boolean::New(info.Env(), false);
  Waiter* w = it->second.waiter.get();
  std::lock_guard<std::mutex> lock(g_mu);
  if (!w->done && !w->cancel.exchange(true)) {
    // The pin is held: the bytes are mapped. Wakes every waiter of the word (spurious for the others).
    FutexWake(w->addr, INT_MAX);
  } else if (w->done && w->result != kCancelled && w->result >= 0) {
    w->result = kCancelled;  // finished but not delivered: JS has not seen it, so the cancel wins
  }
  return Napi::Boolean::New(info.Env(), true);
}

// futexPending() -> this environment's async waits not yet called back (tests, leak checks).
Napi::Value PendingCount(const Napi::CallbackInfo& info) {
  auto* es = static_cast<EnvState*>(info.Data());
  size_t n = es->mgr && es->mgr->owner == getpid() ? es->mgr->pending.size() : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void CleanupEnv(void* arg) {
  auto* es = static_cast<EnvState*>(arg);
  std::shared_ptr<Manager> m = es->mgr;
  if (m && m->owner == getpid()) {
    std::vector<std::shared_ptr<Waiter>> all;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      m->closing = true;
      for (auto& [id, p] : m->pending) {
        Waiter* w = p.waiter.get();
        if (!w->done && !w->cancel.exchange(true)) FutexWake(w->addr, INT_MAX);
        all.push_back(p.waiter);
      }
    }
    for (auto& w : all) {
      JoinOnce(w.get());
      ReleasePin(w.get());
    }
    for (auto& [id, p] : m->pending) {
      p.callback.SuppressDestruct();
      p.mapping.SuppressDestruct();
    }
    m->pending.clear();
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
  }
  es->mgr = nullptr;
}

void AtForkPrepare() { g_mu.lock(); }
void AtForkParent() { g_mu.unlock(); }
void AtForkChild() {
  for (Waiter* w : *g_live) {
    w->pinned = false;
    w->region->Unpin();
  }
  g_live->clear();
  g_mu.unlock();
}

}  // namespace

void InitFutex(Napi::Env env, Napi::Object exports) {
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(&AtForkPrepare, &AtForkParent, &AtForkChild); });
  auto* es = new EnvState();  // never freed (a pointer per environment): a late callback may still look
  napi_add_env_cleanup_hook(env, &CleanupEnv, es);
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name, es));
  };
  fn("futexWait", Wait);
  fn("futexWake", Wake);
  fn("futexWaitAsync", WaitAsync);
  fn("futexCancel", Cancel);
  fn("futexPending", PendingCount);
}

}  // namespace mp

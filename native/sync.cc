// The sync family: process-shared semaphores (sem_init(pshared = 1) inside a mapping, or sem_open by name),
// robust error-checking mutexes, condition variables on CLOCK_MONOTONIC and barriers — all placed inside a
// shared Mapping at a byte offset, so they work across fork() and in any process that maps the same memfd or
// shm object.
//
// Objects. Each primitive is an ObjectWrap (Semaphore, Mutex, Cond, Barrier) that holds a RegionPtr to the
// mapping it lives in, a strong reference to the JS Mapping (so the mapping cannot be collected while the
// object is alive), and checks before every use that neither the object (destroy()/close()) nor the mapping
// (Mapping.close()) was closed. Blocking calls on the JS thread need no pin: only this thread can close the
// mapping, and it is busy. Async waits run on threads of their own and pin the region while they wait.
// The hot operations (wait/post/tryWait, lock/unlock/tryLock, barrier wait) are also module-level "fast
// functions" of a numeric handle, which skip the ObjectWrap unwrap (see "fast functions" below).
//
// Async waits (Semaphore.waitAsync, Barrier.waitAsync) never use libuv's threadpool: each pending wait has a
// thread of its own (small stack, all signals blocked) that blocks in sem_clockwait / pthread_barrier_wait and
// reports through one thread-safe function per environment, which is ref'ed only while waits are pending.
//
// Cancellation (AbortSignal, destroy(), close()) uses deferred pthread_cancel: the waiting thread enables
// cancellation only around sem_clockwait, a cancellation point that acts on a pending request on entry and
// while blocked, and never after it has taken a token (glibc decrements the count with a CAS in user space,
// outside the cancellable futex wait; its cleanup handler unregisters the waiter). So a cancelled wait has
// consumed nothing; if the wait succeeded just before the request, the thread sees the request afterwards and
// posts the token back. Either way the count is as it was. The thread's finisher (a destructor, run both on
// return and during the forced unwind of cancellation) records the outcome and wakes the JS thread. The wait
// also runs in slices of kSliceMs so that a Mapping.close() during the wait is noticed (ERR_MULTIPROC_CLOSED)
// instead of keeping the mapping pinned for ever. pthread_barrier_wait is not a cancellation point: barrier
// waits cannot be cancelled.
//
// Fork. A forked child has none of these threads. A pthread_atfork handler holds g_mu (the one internal lock
// the threads take, and the only place they call napi_call_threadsafe_function) across fork(), so the child's
// copy is unlocked and no thread-safe function is mid-call; the child handler drops the pins the parent's
// waits held. The child abandons the parent's wait manager on first use (owner pid differs) and starts fresh.
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <type_traits>
#include <vector>

#include "addon.h"
#include "errors.h"
#include "shm.h"
#include "sync.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;
constexpr double kSliceMs = 250;                   // an async sem wait re-checks Mapping.close() this often
constexpr size_t kWaiterStack = 256 * 1024;        // the waiting threads do almost nothing
constexpr double kForeverMs = 1e12;                // ~31 years: treated as "no timeout"

// Type tags: an object is one of ours (not merely an instance of the prototype) only if it carries the tag.
constexpr napi_type_tag kSemTag = {0x6d756c746970726fULL, 0x632d73656d000001ULL};
constexpr napi_type_tag kMutexTag = {0x6d756c746970726fULL, 0x632d6d7574780002ULL};
constexpr napi_type_tag kCondTag = {0x6d756c746970726fULL, 0x632d636f6e640003ULL};
constexpr napi_type_tag kBarrierTag = {0x6d756c746970726fULL, 0x632d626172720004ULL};

[[noreturn]] void ThrowUseAfter(Napi::Env env, const std::string& message) {
  throw CodedError(env, "ERR_MULTIPROC_CLOSED", message);
}

// ---------------------------------------------------------------------------------------------------------
// time

timespec Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

timespec AddMs(timespec t, double ms) {
  double whole = std::floor(ms / 1000);
  int64_t sec = static_cast<int64_t>(whole);
  int64_t ns = static_cast<int64_t>((ms - whole * 1000) * 1e6);
  t.tv_sec += sec;
  t.tv_nsec += ns;
  while (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  return t;
}

bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// A timeout argument in milliseconds: a number >= 0 (fractions allowed); Infinity (or anything beyond ~31
// years) means no timeout and is returned as a negative value.
double ArgTimeout(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double ms = ArgNumber(info, i, name, 0, INFINITY);
  return ms >= kForeverMs ? -1 : ms;
}

// ---------------------------------------------------------------------------------------------------------
// async waits: one thread per pending wait, one thread-safe function per environment

std::mutex g_mu;  // guards Waiter::{state,cancel,result,err,pinned}, Manager::{done,scheduled,closing}, g_live

enum State { kPending, kDone };
enum Cancel { kNoCancel, kAbort, kClose };
enum Outcome { kNone, kTimeout, kAcquired, kSerial, kNotSerial, kCancelled, kClosed, kMappingClosed, kFailed };

struct Manager;

struct Waiter {
  uint64_t id = 0;
  bool barrier = false;
  sem_t* sem = nullptr;
  pthread_barrier_t* bar = nullptr;
  const void* owner = nullptr;         // the wrap that started it (close() of a named semaphore)
  RegionPtr region;                    // unnamed objects: the mapping, pinned while the thread uses it
  std::shared_ptr<void> keep;          // named semaphores: keeps sem_close away while waiting
  bool infinite = true;
  timespec deadline{};
  pthread_t thread{};
  std::shared_ptr<Manager> mgr;
  // guarded by g_mu
  State state = kPending;
  Cancel cancel = kNoCancel;
  Outcome result = kNone;
  int err = 0;
  bool pinned = false;
  // JS thread only
  bool joined = false;
};

std::unordered_set<Waiter*>* g_live = new std::unordered_set<Waiter*>();  // waits holding a pin (never freed)

struct Pending {
  std::shared_ptr<Waiter> waiter;
  Napi::FunctionReference callback;
  Napi::ObjectReference self;  // the object waited on stays alive (and so does its mapping)
};

struct Manager {
  pid_t owner = 0;
  napi_threadsafe_function tsfn = nullptr;
  bool refed = false;
  // guarded by g_mu
  std::deque<std::shared_ptr<Waiter>> done;
  bool scheduled = false;
  bool closing = false;
  // JS thread only
  std::unordered_map<uint64_t, Pending> pending;
  uint64_t nextId = 1;

  void UpdateRef(napi_env env) { HoldLoop(env, tsfn, &refed, !pending.empty()); }
};

struct Core;

// Per-environment state: the class constructors, the wait manager, and the handle table of the fast
// functions. Never freed (a few words per environment): wraps may be finalized after the environment's
// cleanup hook ran, and they release their handle here.
struct EnvState {
  Napi::FunctionReference semCtor, mutexCtor, condCtor, barrierCtor;
  std::shared_ptr<Manager> mgr;
  // JS thread only. A handle is index | generation << 24; a slot's generation changes when it is freed, so a
  // stale handle never reaches another object.
  struct Slot {
    Core* core = nullptr;
    uint32_t gen = 0;
  };
  std::vector<Slot> slots;
  std::vector<uint32_t> freeSlots;

  double Allocate(Core* core) {
    uint32_t index;
    if (!freeSlots.empty()) {
      index = freeSlots.back();
      freeSlots.pop_back();
    } else {
      index = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    slots[index].core = core;
    return static_cast<double>(index) + static_cast<double>(slots[index].gen) * kHandleIndexSpan;
  }

  void Free(double handle) {
    uint32_t index = static_cast<uint32_t>(std::fmod(handle, kHandleIndexSpan));
    Slot& slot = slots[index];
    slot.core = nullptr;
    slot.gen = (slot.gen + 1) & kHandleGenMask;
    freeSlots.push_back(index);
  }

  static constexpr double kHandleIndexSpan = 16777216.0;  // 2^24 live objects per environment
  static constexpr uint32_t kHandleGenMask = (1u << 28) - 1;  // handles stay below 2^52
};

void UnpinLocked(Waiter* w) {  // with g_mu held; returns the region to unpin outside the lock
  if (w->pinned) {
    w->pinned = false;
    g_live->erase(w);
  }
}

// Records the outcome of a wait and wakes the JS thread. Runs in the waiting thread, also during the forced
// unwind of pthread_cancel (hence a destructor: it must not throw, and it disables cancellation first).
struct Finisher {
  std::shared_ptr<Waiter>* self;
  Outcome result = kNone;
  int err = 0;

  explicit Finisher(std::shared_ptr<Waiter>* s) : self(s) {}
  ~Finisher() {
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    Waiter* w = self->get();
    {
      std::lock_guard<std::mutex> lock(g_mu);
      if (w->cancel != kNoCancel) {
        // Cancelled: if the wait succeeded before the request was seen, give the token back.
        if (result == kAcquired && w->sem != nullptr) sem_post(w->sem);
        result = w->cancel == kAbort ? kCancelled : kClosed;
      } else if (result == kNone) {
        result = kCancelled;  // unwound by a cancel request we did not make (cannot happen; be safe)
      }
      w->result = result;
      w->err = err;
      w->state = kDone;
      Manager* m = w->mgr.get();
      if (!m->closing) {
        m->done.push_back(*self);
        if (!m->scheduled) {
          m->scheduled = true;
          napi_call_threadsafe_function(m->tsfn, nullptr, napi_tsfn_nonblocking);
        }
      }
    }
    delete self;
  }
};

void* SemWaitThread(void* arg) {
  Finisher fin(static_cast<std::shared_ptr<Waiter>*>(arg));
  Waiter* w = fin.self->get();
  int old;
  for (;;) {
    timespec slice = AddMs(Now(), kSliceMs);
    bool last = !w->infinite && !Before(slice, w->deadline);
    if (last) slice = w->deadline;
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    int rc = sem_clockwait(w->sem, CLOCK_MONOTONIC, &slice);  // cancellation point
    int e = errno;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    if (rc == 0) {
      fin.result = kAcquired;
      break;
    }
    if (e == EINTR) continue;
    if (e != ETIMEDOUT) {
      fin.result = kFailed;
      fin.err = e;
      break;
    }
    if (last) {
      fin.result = kTimeout;
      break;
    }
    if (w->region && w->region->closed.load()) {
      fin.result = kMappingClosed;
      break;
    }
  }
  return nullptr;
}

void* BarrierWaitThread(void* arg) {
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  Finisher fin(static_cast<std::shared_ptr<Waiter>*>(arg));
  Waiter* w = fin.self->get();
  int rc = pthread_barrier_wait(w->bar);  // not a cancellation point; cancellation stays disabled anyway
  if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
    fin.result = kSerial;
  } else if (rc == 0) {
    fin.result = kNotSerial;
  } else {
    fin.result = kFailed;
    fin.err = rc;
  }
  return nullptr;
}

void JoinOnce(Waiter* w) {  // JS thread
  if (!w->joined) {
    pthread_join(w->thread, nullptr);
    w->joined = true;
  }
}

void ReleasePin(Waiter* w) {  // JS thread
  bool unpin;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    unpin = w->pinned;
    UnpinLocked(w);
  }
  if (unpin) w->region->Unpin();
}

// Calls the JS callback of a finished wait: callback(err, result) with result 1 (acquired / the serial
// process of a barrier cycle), 0 (timeout / not serial) or 2 (cancelled through cancelAsync: consumed nothing).
void Complete(Napi::Env env, Waiter* w, Napi::FunctionReference& callback) {
  Napi::HandleScope scope(env);
  Napi::Value err = env.Null();
  int value = 0;
  switch (w->result) {
    case kAcquired:
    case kSerial: value = 1; break;
    case kTimeout:
    case kNotSerial: value = 0; break;
    case kCancelled: value = 2; break;
    case kClosed:
      err = CodedError(env, "ERR_MULTIPROC_CLOSED",
                       w->barrier ? "The barrier was destroyed while waiting" : "The semaphore was closed while waiting")
                .Value();
      break;
    case kMappingClosed:
      err = CodedError(env, "ERR_MULTIPROC_CLOSED", "The mapping that holds the semaphore was closed while waiting")
                .Value();
      break;
    default:
      err = ErrnoError(env, w->err != 0 ? w->err : EIO, w->barrier ? "pthread_barrier_wait" : "sem_clockwait").Value();
      break;
  }
  try {
    callback.Value().Call({err, err.IsNull() ? Napi::Number::New(env, value) : env.Undefined()});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

void Deliver(napi_env rawEnv, napi_value, void* context, void*) {
  if (rawEnv == nullptr) return;  // environment tearing down
  Manager* m = static_cast<Manager*>(context);
  if (m->owner != getpid()) return;  // a forked child's copy of the parent's manager
  std::deque<std::shared_ptr<Waiter>> batch;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    batch.swap(m->done);
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
    Complete(env, w.get(), p.callback);
  }
  m->UpdateRef(rawEnv);
}

// The wait manager of this environment in this process (created on first use, and again in a forked child).
std::shared_ptr<Manager> GetManager(Napi::Env env, EnvState* es) {
  if (es->mgr && es->mgr->owner != getpid()) {
    // Forked child: the parent's threads do not exist here and its pending waits are not ours. Let go of its
    // thread-safe function's hold on the loop and abandon the rest (the pins were dropped at fork).
    if (es->mgr->refed) napi_unref_threadsafe_function(env, es->mgr->tsfn);
    for (auto& [id, p] : es->mgr->pending) {
      p.callback.SuppressDestruct();
      p.self.SuppressDestruct();
    }
    new std::shared_ptr<Manager>(std::move(es->mgr));  // leaked on purpose: nothing of it may run here
    es->mgr = nullptr;
  }
  if (!es->mgr) {
    auto m = std::make_shared<Manager>();
    m->owner = getpid();
    napi_value name = Napi::String::New(env, "multiproc.sync");
    napi_status st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, m.get(),
                                                     &Deliver, &m->tsfn);
    if (st != napi_ok) throw Napi::Error::New(env, "multiproc: could not create the sync thread-safe function");
    napi_unref_threadsafe_function(env, m->tsfn);
    es->mgr = m;
  }
  return es->mgr;
}

// Starts a waiting thread for `w`; registers the callback. Returns the wait id.
uint64_t StartWait(Napi::Env env, EnvState* es, std::shared_ptr<Waiter> w, Napi::Function callback,
                   Napi::Object self) {
  std::shared_ptr<Manager> m = GetManager(env, es);
  if (w->region) {
    if (!w->region->Pin()) ThrowUseAfter(env, "The mapping is closed");
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
  int err = pthread_create(&w->thread, &attr, w->barrier ? &BarrierWaitThread : &SemWaitThread, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete arg;
    ReleasePin(w.get());
    w->mgr.reset();
    ThrowErrno(env, err, "pthread_create");
  }
  m->pending.emplace(w->id, Pending{w, Napi::Persistent(callback), Napi::Persistent(self)});
  m->UpdateRef(env);
  return w->id;
}

// Cancels (and joins) this process's pending sem waits that match; used by destroy() and close().
template <typename Match>
void CancelWaits(EnvState* es, Match match) {
  std::shared_ptr<Manager> m = es->mgr;
  if (!m || m->owner != getpid()) return;
  std::vector<std::shared_ptr<Waiter>> victims;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto& [id, p] : m->pending) {
      Waiter* w = p.waiter.get();
      if (w->barrier || !match(*w)) continue;
      if (w->state == kPending && w->cancel == kNoCancel) {
        w->cancel = kClose;
        pthread_cancel(w->thread);
      }
      victims.push_back(p.waiter);
    }
  }
  for (auto& w : victims) JoinOnce(w.get());  // prompt: the thread was blocked in a cancellation point
}

bool HasPendingBarrierWait(EnvState* es, pthread_barrier_t* b) {
  std::shared_ptr<Manager> m = es->mgr;
  if (!m || m->owner != getpid()) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& [id, p] : m->pending) {
    if (p.waiter->bar == b && p.waiter->state == kPending) return true;
  }
  return false;
}

// Environment teardown (worker exit, process teardown): cancel what can be cancelled, detach barrier waits.
void CleanupEnv(void* arg) {
  auto* es = static_cast<EnvState*>(arg);
  std::shared_ptr<Manager> m = es->mgr;
  if (m && m->owner == getpid()) {
    std::vector<std::shared_ptr<Waiter>> join, detach;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      m->closing = true;
      for (auto& [id, p] : m->pending) {
        Waiter* w = p.waiter.get();
        if (w->state == kPending && !w->barrier) {
          w->cancel = kClose;
          pthread_cancel(w->thread);
        }
        (w->state == kPending && w->barrier ? detach : join).push_back(p.waiter);
      }
    }
    for (auto& w : join) {
      JoinOnce(w.get());
      ReleasePin(w.get());
    }
    for (auto& w : detach) pthread_detach(w->thread);  // still blocked in a barrier: it keeps its pin
    for (auto& [id, p] : m->pending) {
      p.callback.SuppressDestruct();
      p.self.SuppressDestruct();
    }
    m->pending.clear();
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
  }
  es->mgr = nullptr;
  es->semCtor.SuppressDestruct();
  es->mutexCtor.SuppressDestruct();
  es->condCtor.SuppressDestruct();
  es->barrierCtor.SuppressDestruct();
  // es itself stays: wraps finalized later release their handles into it.
}

void AtForkPrepare() { g_mu.lock(); }
void AtForkParent() { g_mu.unlock(); }
void AtForkChild() {
  // The waiting threads are not in the child: the pins they held would keep closed mappings mapped for ever.
  for (Waiter* w : *g_live) {
    w->pinned = false;
    w->region->Unpin();
  }
  g_live->clear();
  g_mu.unlock();
}

// ---------------------------------------------------------------------------------------------------------
// objects placed inside a mapping

// What native factories pass to a wrap's constructor (through an External): JS cannot construct one.
struct Placement {
  RegionPtr region;
  uint8_t* addr = nullptr;
  napi_value mapping = nullptr;
  std::shared_ptr<sem_t> named;  // named semaphores: sem_close on release
  std::string name;
};

[[noreturn]] void ThrowIllegalConstructor(Napi::Env env, const char* what) {
  Napi::TypeError e = Napi::TypeError::New(env, std::string(what) + " objects are created by the multiproc/posix " +
                                                    "factories (" + what + ".init / attach)");
  e.Set("code", Napi::String::New(env, "ERR_ILLEGAL_CONSTRUCTOR"));
  throw e;
}

const Placement& ArgPlacement(const Napi::CallbackInfo& info, const char* what) {
  if (info.Length() != 1 || !info[0].IsExternal()) ThrowIllegalConstructor(info.Env(), what);
  return *info[0].As<Napi::External<Placement>>().Data();
}

// The state of one object, shared by its wrap and by its fast functions (below), which may outlive the wrap.
// JS-thread only.
struct Core {
  const char* what;
  uint8_t* addr;
  RegionPtr region;              // unnamed objects
  std::shared_ptr<sem_t> named;  // named semaphores (reset by close())
  bool isNamed = false;
  bool done = false;             // destroyed / closed
  bool ownerDied = false;        // mutexes: the last acquisition inherited a dead owner's lock

  bool Closed() const { return done || (region && region->closed.load(std::memory_order_relaxed)); }

  // The object, or ERR_MULTIPROC_CLOSED if it was destroyed/closed or its mapping was closed.
  template <typename C>
  C* Use(Napi::Env env) {
    if (done) ThrowUseAfter(env, std::string("The ") + what + (isNamed ? " is closed" : " was destroyed"));
    if (region && region->closed.load(std::memory_order_relaxed)) {
      ThrowUseAfter(env, std::string("The mapping that holds the ") + what + " is closed");
    }
    if constexpr (std::is_same_v<C, pthread_barrier_t>) {
      if (!BarrierInitialised(reinterpret_cast<const pthread_barrier_t*>(addr))) {
        throw CodedError(env, "ERR_MULTIPROC_NOT_INITIALISED",
                         "This memory holds no initialised barrier (its count is 0): Barrier.init() it first");
      }
    }
    return reinterpret_cast<C*>(addr);
  }

  // A mutex this process holds pins its mapping: glibc keeps held robust mutexes on a list in the thread and
  // walks it on every robust lock/unlock and at exit, so their memory must stay mapped until they are unlocked
  // (Mapping.close() then detaches the views at once and unmaps at the last unlock).
  int heldPins = 0;
  void Held() {
    if (region && region->Pin()) heldPins++;
  }
  void Released() {
    if (heldPins > 0) {
      heldPins--;
      region->Unpin();
    }
  }
};

// ---- the operations, shared by the ObjectWrap methods and the fast functions ----

napi_value SemWaitOp(Napi::Env env, Core& c) {  // sem_wait(3), EINTR retried
  sem_t* s = c.Use<sem_t>(env);
  int rc;
  MP_RETRY_EINTR(rc, sem_wait(s));
  if (rc != 0) ThrowErrno(env, errno, "sem_wait");
  return nullptr;
}

napi_value SemPostOp(Napi::Env env, Core& c) {
  if (sem_post(c.Use<sem_t>(env)) != 0) ThrowErrno(env, errno, "sem_post");
  return nullptr;
}

napi_value SemTryWaitOp(Napi::Env env, Core& c) {
  sem_t* s = c.Use<sem_t>(env);
  int rc;
  MP_RETRY_EINTR(rc, sem_trywait(s));
  if (rc != 0 && errno != EAGAIN) ThrowErrno(env, errno, "sem_trywait");
  return Napi::Boolean::New(env, rc == 0);
}

// The result of a mutex acquisition: 1 (acquired), 2 (acquired from a dead owner and made consistent), 0
// (busy / timed out, when `busy` is that call's "not acquired" errno); anything else throws.
// `newHold`: false for Cond.wait, which returns holding the mutex it was called with (no new pin).
int Acquired(Napi::Env env, Core& c, pthread_mutex_t* m, int rc, int busy, const char* syscall, bool newHold = true) {
  if (rc == 0) {
    c.ownerDied = false;
    if (newHold) c.Held();
    return 1;
  }
  if (rc == EOWNERDEAD) {
    if (newHold) c.Held();
    int e = pthread_mutex_consistent(m);
    if (e != 0) ThrowErrno(env, e, "pthread_mutex_consistent");
    c.ownerDied = true;
    return 2;
  }
  if (busy != 0 && rc == busy) return 0;
  ThrowErrno(env, rc, syscall);
}

napi_value MutexLockOp(Napi::Env env, Core& c) {
  pthread_mutex_t* m = c.Use<pthread_mutex_t>(env);
  return Napi::Number::New(env, Acquired(env, c, m, pthread_mutex_lock(m), 0, "pthread_mutex_lock"));
}

napi_value MutexTryLockOp(Napi::Env env, Core& c) {
  pthread_mutex_t* m = c.Use<pthread_mutex_t>(env);
  return Napi::Number::New(env, Acquired(env, c, m, pthread_mutex_trylock(m), EBUSY, "pthread_mutex_trylock"));
}

// Unlocking a mutex this thread does not hold is EPERM (error-checking mutex), never undefined behaviour.
napi_value MutexUnlockOp(Napi::Env env, Core& c) {
  pthread_mutex_t* m = c.heldPins > 0 ? reinterpret_cast<pthread_mutex_t*>(c.addr) : c.Use<pthread_mutex_t>(env);
  int rc = pthread_mutex_unlock(m);  // a held mutex can be unlocked even after its mapping was closed
  if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_unlock");
  c.Released();
  return nullptr;
}

napi_value BarrierWaitOp(Napi::Env env, Core& c) {  // true in exactly one process per cycle
  int rc = pthread_barrier_wait(c.Use<pthread_barrier_t>(env));
  if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) ThrowErrno(env, rc, "pthread_barrier_wait");
  return Napi::Boolean::New(env, rc == PTHREAD_BARRIER_SERIAL_THREAD);
}

// ---- fast functions ----
//
// The hot operations are also module-level functions that take the object's handle (a number) instead of
// being ObjectWrap methods: semWaitFast(handle), semPostFast, semTryWaitFast, mutexLockFast, mutexUnlockFast,
// mutexTryLockFast, barrierWaitFast. A call then costs napi_get_cb_info, one number and a table lookup,
// where an ObjectWrap method also pays napi_unwrap (a TryCatch and a private-symbol lookup, ~40 ns: most of
// the difference to a native loop, measured in lib/bench/sync.ts). One function for all objects keeps every
// JS call site monomorphic (a function per object would make them polymorphic: ~20 ns more per call).

using Op = napi_value (*)(Napi::Env, Core&);

Core& LookupHandle(Napi::Env env, EnvState* es, size_t argc, napi_value arg, const char* kind) {
  double h;
  if (argc < 1 || napi_get_value_double(env, arg, &h) != napi_ok) {
    ThrowTypeError(env, std::string("The \"handle\" argument must be of type number. Received ") +
                            (argc < 1 ? "undefined" : Describe(Napi::Value(env, arg))));
  }
  if (!(h >= 0 && h < 4503599627370496.0) || std::trunc(h) != h) {
    ThrowRangeError(env, "The value of \"handle\" is out of range. It must be a handle of a multiproc " +
                             std::string(kind));
  }
  uint32_t index = static_cast<uint32_t>(std::fmod(h, EnvState::kHandleIndexSpan));
  uint32_t gen = static_cast<uint32_t>(std::floor(h / EnvState::kHandleIndexSpan));
  if (index >= es->slots.size() || es->slots[index].gen != gen || es->slots[index].core == nullptr) {
    ThrowUseAfter(env, std::string("No live ") + kind + " has this handle (it was collected)");
  }
  Core& core = *es->slots[index].core;
  if (core.what != kind) {
    ThrowTypeError(env, std::string("The \"handle\" argument must be the handle of a ") + kind + ", not of a " +
                            core.what);
  }
  return core;
}

template <Op op, const char* kind>
napi_value Fast(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg = nullptr;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, &data);
  try {
    return op(Napi::Env(env), LookupHandle(Napi::Env(env), static_cast<EnvState*>(data), argc, arg, kind));
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

constexpr char kSemKind[] = "semaphore";
constexpr char kMutexKind[] = "mutex";
constexpr char kBarrierKind[] = "barrier";

// ---- the wraps ----

// ---- receiver checks ----
//
// node-addon-api's InstanceMethod/InstanceAccessor unwrap `this` before any code of ours runs: a receiver that
// is not a wrapped object gives an Error without a code, and a getter (V8 does not check getter receivers)
// called on a wrapped object of another class reads it as the wrong type. The prototype's functions here check
// the receiver's type tag themselves, then unwrap: a wrong receiver is a TypeError ERR_INVALID_ARG_TYPE.
template <typename T>
struct Kind;

template <typename T>
T* CheckedThis(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value self = info.This();
  bool tagged = false;
  if (!info.IsConstructCall() && self.IsObject()) napi_check_object_type_tag(env, self, &Kind<T>::tag, &tagged);
  if (!tagged) {
    ThrowTypeError(env, std::string("Illegal receiver: expected a ") + Kind<T>::name + " object. Received " +
                            (info.IsConstructCall() ? std::string("a construct call") : Describe(self)));
  }
  void* p = nullptr;
  if (napi_unwrap(env, self, &p) != napi_ok || p == nullptr) {
    ThrowTypeError(env, std::string("Illegal receiver: a ") + Kind<T>::name + " object without its native part");
  }
  return static_cast<T*>(p);
}

template <typename T, Napi::Value (T::*M)(const Napi::CallbackInfo&)>
Napi::Value CheckedMember(const Napi::CallbackInfo& info) {
  return (CheckedThis<T>(info)->*M)(info);
}

// Added to the prototype after DefineClass (a class template's prototype may hold no function values).
template <typename T, Napi::Value (T::*M)(const Napi::CallbackInfo&)>
void CheckedMethod(Napi::Function cls, const char* name) {
  Napi::Env env = cls.Env();
  cls.Get("prototype").As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
      name, Napi::Function::New(env, CheckedMember<T, M>, name),
      static_cast<napi_property_attributes>(napi_writable | napi_configurable)));
}

template <typename T, Napi::Value (T::*M)(const Napi::CallbackInfo&)>
void CheckedGetter(Napi::Function cls, const char* name) {
  cls.Get("prototype").As<Napi::Object>().DefineProperty(
      Napi::PropertyDescriptor::Accessor<CheckedMember<T, M>>(name, napi_configurable));
}

class SemWrap;
class MutexWrap;
class CondWrap;
class BarrierWrap;
template <>
struct Kind<SemWrap> {
  static constexpr const napi_type_tag& tag = kSemTag;
  static constexpr const char* name = "Semaphore";
};
template <>
struct Kind<MutexWrap> {
  static constexpr const napi_type_tag& tag = kMutexTag;
  static constexpr const char* name = "Mutex";
};
template <>
struct Kind<CondWrap> {
  static constexpr const napi_type_tag& tag = kCondTag;
  static constexpr const char* name = "Cond";
};
template <>
struct Kind<BarrierWrap> {
  static constexpr const napi_type_tag& tag = kBarrierTag;
  static constexpr const char* name = "Barrier";
};

// The common part of the four wraps: the Core, a strong reference to the JS Mapping (it cannot be collected
// while the object lives), the type tag.
template <typename T>
class Placed : public Napi::ObjectWrap<T> {
 public:
  Placed(const Napi::CallbackInfo& info, const char* what, const napi_type_tag& tag) : Napi::ObjectWrap<T>(info) {
    const Placement& p = ArgPlacement(info, what);
    core_ = std::make_shared<Core>();
    core_->what = what;
    core_->addr = p.addr;
    core_->region = p.region;
    core_->named = p.named;
    core_->isNamed = p.named != nullptr;
    if (p.mapping != nullptr) mapping_ = Napi::Persistent(Napi::Value(info.Env(), p.mapping).As<Napi::Object>());
    es_ = static_cast<EnvState*>(info.Data());
    this->Value().TypeTag(&tag);
    handle_ = es_->Allocate(core_.get());
  }

  ~Placed() override { es_->Free(handle_); }

  Core& core() { return *core_; }

 protected:
  template <typename C>
  C* Use(Napi::Env env) {
    return core_->Use<C>(env);
  }

  void MarkDone() {
    core_->done = true;
    if (!mapping_.IsEmpty()) mapping_.Reset();
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), core_->Closed()); }
  Napi::Value GetHandle(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), handle_); }

  std::shared_ptr<Core> core_;
  double handle_ = 0;
  Napi::ObjectReference mapping_;
  EnvState* es_ = nullptr;
};

// ---- Semaphore ----

class SemWrap : public Placed<SemWrap> {
 public:
  static Napi::Function Define(Napi::Env env, EnvState* es) {
    Napi::Function cls = DefineClass(env, "Semaphore", {}, es);
    CheckedGetter<SemWrap, &SemWrap::Handle>(cls, "handle");
    CheckedGetter<SemWrap, &SemWrap::Closed>(cls, "closed");
    CheckedGetter<SemWrap, &SemWrap::GetName>(cls, "name");
    CheckedMethod<SemWrap, &SemWrap::Wait>(cls, "wait");
    CheckedMethod<SemWrap, &SemWrap::TryWait>(cls, "tryWait");
    CheckedMethod<SemWrap, &SemWrap::TimedWait>(cls, "timedWait");
    CheckedMethod<SemWrap, &SemWrap::Post>(cls, "post");
    CheckedMethod<SemWrap, &SemWrap::GetValue>(cls, "value");
    CheckedMethod<SemWrap, &SemWrap::WaitAsync>(cls, "waitAsync");
    CheckedMethod<SemWrap, &SemWrap::CancelAsync>(cls, "cancelAsync");
    CheckedMethod<SemWrap, &SemWrap::Destroy>(cls, "destroy");
    CheckedMethod<SemWrap, &SemWrap::Close>(cls, "close");
    return cls;
  }

  explicit SemWrap(const Napi::CallbackInfo& info) : Placed(info, kSemKind, kSemTag) {
    name_ = ArgPlacement(info, "Semaphore").name;
  }

  Napi::Value Closed(const Napi::CallbackInfo& info) { return GetClosed(info); }
  Napi::Value Handle(const Napi::CallbackInfo& info) { return GetHandle(info); }

 private:
  Napi::Value Wait(const Napi::CallbackInfo& info) { return Napi::Value(info.Env(), SemWaitOp(info.Env(), *core_)); }
  Napi::Value TryWait(const Napi::CallbackInfo& info) { return Napi::Value(info.Env(), SemTryWaitOp(info.Env(), *core_)); }
  Napi::Value Post(const Napi::CallbackInfo& info) { return Napi::Value(info.Env(), SemPostOp(info.Env(), *core_)); }


  // timedWait(ms) -> false on timeout. sem_clockwait(3) on CLOCK_MONOTONIC; EINTR resumes with the same deadline.
  Napi::Value TimedWait(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    double ms = ArgTimeout(info, 0, "timeout");
    sem_t* s = Use<sem_t>(info.Env());
    int rc;
    if (ms < 0) {
      MP_RETRY_EINTR(rc, sem_wait(s));
      if (rc != 0) ThrowErrno(info.Env(), errno, "sem_wait");
      return Napi::Boolean::New(info.Env(), true);
    }
    timespec deadline = AddMs(Now(), ms);
    MP_RETRY_EINTR(rc, sem_clockwait(s, CLOCK_MONOTONIC, &deadline));
    if (rc == 0) return Napi::Boolean::New(info.Env(), true);
    if (errno == ETIMEDOUT) return Napi::Boolean::New(info.Env(), false);
    ThrowErrno(info.Env(), errno, "sem_clockwait");
  }

  Napi::Value GetValue(const Napi::CallbackInfo& info) {
    int v = 0;
    if (sem_getvalue(Use<sem_t>(info.Env()), &v) != 0) ThrowErrno(info.Env(), errno, "sem_getvalue");
    return Napi::Number::New(info.Env(), v);
  }

  // waitAsync(timeoutMs, callback(err, result)) -> 0 if acquired at once (no callback), -1 if timed out at
  // once (timeout 0; no callback), else a wait id for cancelAsync; the callback gets 1 (acquired), 0
  // (timeout) or 2 (cancelled: nothing consumed).
  Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
    RequireArgs(info, 2);
    Napi::Env env = info.Env();
    double ms = ArgTimeout(info, 0, "timeout");
    Napi::Function callback = ArgFunction(info, 1, "callback");
    sem_t* s = Use<sem_t>(env);
    int rc;
    MP_RETRY_EINTR(rc, sem_trywait(s));
    if (rc == 0) return Napi::Number::New(env, 0);
    if (errno != EAGAIN) ThrowErrno(env, errno, "sem_trywait");
    if (ms == 0) return Napi::Number::New(env, -1);
    auto w = std::make_shared<Waiter>();
    w->sem = s;
    w->owner = this;
    w->region = core_->region;
    w->keep = core_->named;
    w->infinite = ms < 0;
    if (!w->infinite) w->deadline = AddMs(Now(), ms);
    return Napi::Number::New(env, static_cast<double>(StartWait(env, es_, w, callback, Value())));
  }

  // cancelAsync(id) -> true if the wait was still pending: its callback will report 2 (cancelled) and the
  // count is as before the wait (a token taken in the meantime is posted back).
  Napi::Value CancelAsync(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    int64_t id = ArgInteger(info, 0, "id", 1, int64_t(1) << 53);
    std::shared_ptr<Manager> m = es_->mgr;
    if (!m || m->owner != getpid()) return Napi::Boolean::New(info.Env(), false);
    auto it = m->pending.find(uint64_t(id));
    if (it == m->pending.end() || it->second.waiter->owner != this) return Napi::Boolean::New(info.Env(), false);
    Waiter* w = it->second.waiter.get();
    std::lock_guard<std::mutex> lock(g_mu);
    if (w->state == kPending) {
      if (w->cancel == kNoCancel) {
        w->cancel = kAbort;
        pthread_cancel(w->thread);
      }
    } else if (w->result == kAcquired || w->result == kTimeout) {
      // Finished but not yet delivered: JS has not seen it, so the abort wins. The bytes are still pinned
      // (or the named semaphore held by the waiter); a destroyed semaphore gets nothing back.
      if (w->result == kAcquired && !core_->done) sem_post(w->sem);
      w->result = kCancelled;
    }
    return Napi::Boolean::New(info.Env(), true);
  }

  // destroy(): sem_destroy(3) of an unnamed semaphore. This process's pending async waits on it end first
  // (ERR_MULTIPROC_CLOSED). Idempotent on this object.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!name_.empty()) {
      throw CodedError(env, "ERR_INVALID_STATE",
                       "A named semaphore is not destroyed: close() it, and remove its name with Semaphore.unlink()");
    }
    if (core_->done) return env.Undefined();
    sem_t* s = Use<sem_t>(env);
    CancelWaits(es_, [s](const Waiter& w) { return w.sem == s; });
    if (sem_destroy(s) != 0) ThrowErrno(env, errno, "sem_destroy");
    MarkDone();
    return env.Undefined();
  }

  // close(): sem_close(3) of a named semaphore (the name stays: Semaphore.unlink removes it). Waits started
  // through this object end first (ERR_MULTIPROC_CLOSED). Idempotent.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (name_.empty()) {
      throw CodedError(env, "ERR_INVALID_STATE",
                       "An unnamed semaphore is not closed: destroy() it once no process uses it any more");
    }
    if (core_->done) return env.Undefined();
    CancelWaits(es_, [this](const Waiter& w) { return w.owner == this; });
    MarkDone();
    core_->named.reset();  // sem_close once no undelivered wait holds it
    return env.Undefined();
  }

  Napi::Value GetName(const Napi::CallbackInfo& info) {
    return name_.empty() ? info.Env().Undefined() : Napi::String::New(info.Env(), name_);
  }

  std::string name_;
};

// ---- Mutex ----

class MutexWrap : public Placed<MutexWrap> {
 public:
  static Napi::Function Define(Napi::Env env, EnvState* es) {
    Napi::Function cls = DefineClass(env, "Mutex", {}, es);
    CheckedGetter<MutexWrap, &MutexWrap::Handle>(cls, "handle");
    CheckedGetter<MutexWrap, &MutexWrap::GetOwnerDied>(cls, "ownerDied");
    CheckedGetter<MutexWrap, &MutexWrap::Closed>(cls, "closed");
    CheckedMethod<MutexWrap, &MutexWrap::Lock>(cls, "lock");
    CheckedMethod<MutexWrap, &MutexWrap::TryLock>(cls, "tryLock");
    CheckedMethod<MutexWrap, &MutexWrap::TimedLock>(cls, "timedLock");
    CheckedMethod<MutexWrap, &MutexWrap::Unlock>(cls, "unlock");
    CheckedMethod<MutexWrap, &MutexWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit MutexWrap(const Napi::CallbackInfo& info) : Placed(info, kMutexKind, kMutexTag) {}

  Napi::Value Closed(const Napi::CallbackInfo& info) { return GetClosed(info); }
  Napi::Value Handle(const Napi::CallbackInfo& info) { return GetHandle(info); }

 private:
  Napi::Value Lock(const Napi::CallbackInfo& info) { return Napi::Value(info.Env(), MutexLockOp(info.Env(), *core_)); }
  Napi::Value TryLock(const Napi::CallbackInfo& info) {
    return Napi::Value(info.Env(), MutexTryLockOp(info.Env(), *core_));
  }
  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    return Napi::Value(info.Env(), MutexUnlockOp(info.Env(), *core_));
  }


  Napi::Value TimedLock(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    Napi::Env env = info.Env();
    double ms = ArgTimeout(info, 0, "timeout");
    pthread_mutex_t* m = Use<pthread_mutex_t>(env);
    if (ms < 0) return Napi::Number::New(env, Acquired(env, *core_, m, pthread_mutex_lock(m), 0, "pthread_mutex_lock"));
    timespec deadline = AddMs(Now(), ms);
    int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &deadline);
    return Napi::Number::New(env, Acquired(env, *core_, m, rc, ETIMEDOUT, "pthread_mutex_clocklock"));
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (core_->done) return info.Env().Undefined();
    int rc = pthread_mutex_destroy(Use<pthread_mutex_t>(info.Env()));
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_mutex_destroy");
    MarkDone();
    return info.Env().Undefined();
  }

  Napi::Value GetOwnerDied(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), core_->ownerDied);
  }
};

// ---- Cond ----

class CondWrap : public Placed<CondWrap> {
 public:
  static Napi::Function Define(Napi::Env env, EnvState* es) {
    Napi::Function cls = DefineClass(env, "Cond", {}, es);
    CheckedGetter<CondWrap, &CondWrap::Closed>(cls, "closed");
    CheckedGetter<CondWrap, &CondWrap::Handle>(cls, "handle");
    CheckedMethod<CondWrap, &CondWrap::Wait>(cls, "wait");
    CheckedMethod<CondWrap, &CondWrap::Signal>(cls, "signal");
    CheckedMethod<CondWrap, &CondWrap::Broadcast>(cls, "broadcast");
    CheckedMethod<CondWrap, &CondWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit CondWrap(const Napi::CallbackInfo& info) : Placed(info, "condition variable", kCondTag) {}

  Napi::Value Closed(const Napi::CallbackInfo& info) { return GetClosed(info); }
  Napi::Value Handle(const Napi::CallbackInfo& info) { return GetHandle(info); }

 private:
  // wait(mutex, timeoutMs = Infinity) -> 1 (woken; spurious wake-ups included), 0 (timed out), 2 (woken, and
  // re-acquiring the mutex inherited a dead owner's lock: made consistent). The mutex is held on return.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    Napi::Env env = info.Env();
    Napi::Value mv = info[0];
    if (!mv.IsObject() || !mv.As<Napi::Object>().CheckTypeTag(&kMutexTag)) {
      ThrowTypeError(env, "The \"mutex\" argument must be a Mutex. Received " + Describe(mv));
    }
    Core& mc = MutexWrap::Unwrap(mv.As<Napi::Object>())->core();
    double ms = info.Length() > 1 && !info[1].IsUndefined() ? ArgTimeout(info, 1, "timeout") : -1;
    pthread_cond_t* c = Use<pthread_cond_t>(env);
    pthread_mutex_t* m = mc.Use<pthread_mutex_t>(env);
    int rc;
    if (ms < 0) {
      rc = pthread_cond_wait(c, m);
    } else {
      timespec deadline = AddMs(Now(), ms);
      rc = pthread_cond_clockwait(c, m, CLOCK_MONOTONIC, &deadline);
    }
    if (rc == ETIMEDOUT) {
      Acquired(env, mc, m, 0, 0, "", /*newHold=*/false);  // timed out; the mutex was re-acquired normally
      return Napi::Number::New(env, 0);
    }
    return Napi::Number::New(
        env, Acquired(env, mc, m, rc, 0, ms < 0 ? "pthread_cond_wait" : "pthread_cond_clockwait", /*newHold=*/false));
  }

  Napi::Value Signal(const Napi::CallbackInfo& info) {
    int rc = pthread_cond_signal(Use<pthread_cond_t>(info.Env()));
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_cond_signal");
    return info.Env().Undefined();
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    int rc = pthread_cond_broadcast(Use<pthread_cond_t>(info.Env()));
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_cond_broadcast");
    return info.Env().Undefined();
  }

  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (core_->done) return info.Env().Undefined();
    int rc = pthread_cond_destroy(Use<pthread_cond_t>(info.Env()));
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_cond_destroy");
    MarkDone();
    return info.Env().Undefined();
  }
};

// ---- Barrier ----

class BarrierWrap : public Placed<BarrierWrap> {
 public:
  static Napi::Function Define(Napi::Env env, EnvState* es) {
    Napi::Function cls = DefineClass(env, "Barrier", {}, es);
    CheckedGetter<BarrierWrap, &BarrierWrap::Handle>(cls, "handle");
    CheckedGetter<BarrierWrap, &BarrierWrap::Closed>(cls, "closed");
    CheckedMethod<BarrierWrap, &BarrierWrap::Wait>(cls, "wait");
    CheckedMethod<BarrierWrap, &BarrierWrap::WaitAsync>(cls, "waitAsync");
    CheckedMethod<BarrierWrap, &BarrierWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit BarrierWrap(const Napi::CallbackInfo& info) : Placed(info, kBarrierKind, kBarrierTag) {}

  Napi::Value Closed(const Napi::CallbackInfo& info) { return GetClosed(info); }
  Napi::Value Handle(const Napi::CallbackInfo& info) { return GetHandle(info); }

 private:
  // wait() -> true in exactly one process per cycle (PTHREAD_BARRIER_SERIAL_THREAD).
  Napi::Value Wait(const Napi::CallbackInfo& info) { return Napi::Value(info.Env(), BarrierWaitOp(info.Env(), *core_)); }


  // waitAsync(callback(err, serial)) -> wait id. Not cancellable.
  Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    Napi::Env env = info.Env();
    Napi::Function callback = ArgFunction(info, 0, "callback");
    auto w = std::make_shared<Waiter>();
    w->barrier = true;
    w->bar = Use<pthread_barrier_t>(env);
    w->owner = this;
    w->region = core_->region;
    return Napi::Number::New(env, static_cast<double>(StartWait(env, es_, w, callback, Value())));
  }

  // destroy(): pthread_barrier_destroy(3); EBUSY while this process has a waitAsync pending on it.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (core_->done) return info.Env().Undefined();
    pthread_barrier_t* b = Use<pthread_barrier_t>(info.Env());
    if (HasPendingBarrierWait(es_, b)) ThrowErrno(info.Env(), EBUSY, "pthread_barrier_destroy");
    int rc = pthread_barrier_destroy(b);
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_barrier_destroy");
    MarkDone();
    return info.Env().Undefined();
  }
};

// ---------------------------------------------------------------------------------------------------------
// factories

EnvState* Es(const Napi::CallbackInfo& info) { return static_cast<EnvState*>(info.Data()); }

// (mapping, offset) -> the placement of an object of `size` bytes; RangeError when misaligned or outside.
Placement Place(const Napi::CallbackInfo& info, size_t size, size_t align, bool writable) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  int64_t offset = ArgInteger(info, 1, "offset", 0, kMaxOffset);
  Placement p;
  p.addr = RegionAt(env, r, offset, size, align);
  if (writable) {
    Napi::Value shared = info[0].As<Napi::Object>().Get("shared");
    if (shared.IsBoolean() && !shared.As<Napi::Boolean>().Value()) {
      throw CodedError(env, "ERR_INVALID_ARG_VALUE",
                       "A process-shared object needs a shared, writable mapping; this one is read-only "
                       "(private copy-on-write)");
    }
  }
  p.region = std::move(r);
  p.mapping = info[0];
  return p;
}

Napi::Object Make(Napi::Env env, Napi::FunctionReference& ctor, Placement& p) {
  return ctor.New({Napi::External<Placement>::New(env, &p)});
}

// semInit(mapping, offset, value) -> Semaphore   sem_init(3) with pshared = 1
Napi::Value SemInit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Placement p = Place(info, sizeof(sem_t), alignof(sem_t), true);
  unsigned value = static_cast<unsigned>(ArgInteger(info, 2, "value", 0, SEM_VALUE_MAX));
  if (sem_init(reinterpret_cast<sem_t*>(p.addr), 1, value) != 0) ThrowErrno(info.Env(), errno, "sem_init");
  return Make(info.Env(), Es(info)->semCtor, p);
}

// semAttach(mapping, offset) -> Semaphore   one that some process initialised there
Napi::Value SemAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(sem_t), alignof(sem_t), true);
  return Make(info.Env(), Es(info)->semCtor, p);
}

std::string ArgSemName(const Napi::CallbackInfo& info, size_t i) {
  std::string name = ArgString(info, i, "name", NAME_MAX);
  // glibc stores it as /dev/shm/sem.NAME: at most NAME_MAX - 4 characters after the '/'.
  if (name.size() < 2 || name.size() > NAME_MAX - 3 || name[0] != '/' || name.find('/', 1) != std::string::npos ||
      name == "/." || name == "/..") {
    ThrowRangeError(info.Env(), "A semaphore name is '/' followed by 1 to " + std::to_string(NAME_MAX - 4) +
                                    " characters other than '/'. Received '" + name + "'");
  }
  return name;
}

// semOpen(name, flags, mode, value) -> Semaphore   sem_open(3); flags: O_CREAT, O_EXCL
Napi::Value SemOpen(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  std::string name = ArgSemName(info, 0);
  int flags = static_cast<int>(ArgInteger(info, 1, "flags", 0, INT_MAX));
  if ((flags & ~(O_CREAT | O_EXCL)) != 0) ThrowRangeError(env, "sem_open flags are O_CREAT and O_EXCL only");
  mode_t mode = static_cast<mode_t>(ArgIntegerOr(info, 2, "mode", 0, 0777, 0600));
  unsigned value = static_cast<unsigned>(ArgIntegerOr(info, 3, "value", 0, SEM_VALUE_MAX, 0));
  sem_t* s = sem_open(name.c_str(), flags, mode, value);
  if (s == SEM_FAILED) ThrowErrno(env, errno, "sem_open");
  Placement p;
  p.addr = reinterpret_cast<uint8_t*>(s);
  p.named = std::shared_ptr<sem_t>(s, [](sem_t* x) { sem_close(x); });
  p.name = name;
  return Make(env, Es(info)->semCtor, p);
}

Napi::Value SemUnlink(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  std::string name = ArgSemName(info, 0);
  if (sem_unlink(name.c_str()) != 0) ThrowErrno(info.Env(), errno, "sem_unlink");
  return info.Env().Undefined();
}

// mutexInit(mapping, offset) -> Mutex   PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST, PTHREAD_MUTEX_ERRORCHECK
Napi::Value MutexInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Placement p = Place(info, sizeof(pthread_mutex_t), alignof(pthread_mutex_t), true);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (rc == 0) rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(p.addr), &a);
  pthread_mutexattr_destroy(&a);
  if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_init");
  return Make(env, Es(info)->mutexCtor, p);
}

Napi::Value MutexAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_mutex_t), alignof(pthread_mutex_t), true);
  return Make(info.Env(), Es(info)->mutexCtor, p);
}

// condInit(mapping, offset) -> Cond   PTHREAD_PROCESS_SHARED, clock CLOCK_MONOTONIC
Napi::Value CondInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Placement p = Place(info, sizeof(pthread_cond_t), alignof(pthread_cond_t), true);
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  int rc = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(reinterpret_cast<pthread_cond_t*>(p.addr), &a);
  pthread_condattr_destroy(&a);
  if (rc != 0) ThrowErrno(env, rc, "pthread_cond_init");
  return Make(env, Es(info)->condCtor, p);
}

Napi::Value CondAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_cond_t), alignof(pthread_cond_t), true);
  return Make(info.Env(), Es(info)->condCtor, p);
}

// barrierInit(mapping, offset, count) -> Barrier   PTHREAD_PROCESS_SHARED
Napi::Value BarrierInit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  Placement p = Place(info, sizeof(pthread_barrier_t), alignof(pthread_barrier_t), true);
  unsigned count = static_cast<unsigned>(ArgInteger(info, 2, "count", 1, INT_MAX / 2));
  pthread_barrierattr_t a;
  pthread_barrierattr_init(&a);
  int rc = pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_barrier_init(reinterpret_cast<pthread_barrier_t*>(p.addr), &a, count);
  pthread_barrierattr_destroy(&a);
  if (rc != 0) ThrowErrno(env, rc, "pthread_barrier_init");
  return Make(env, Es(info)->barrierCtor, p);
}

Napi::Value BarrierAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_barrier_t), alignof(pthread_barrier_t), true);
  return Make(info.Env(), Es(info)->barrierCtor, p);
}

// syncPending() -> number of async waits of this environment not yet delivered (tests, leak checks).
Napi::Value SyncPending(const Napi::CallbackInfo& info) {
  EnvState* es = Es(info);
  size_t n = es->mgr && es->mgr->owner == getpid() ? es->mgr->pending.size() : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

Napi::Object Layout(Napi::Env env, bool align) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("sem", Napi::Number::New(env, static_cast<double>(align ? alignof(sem_t) : sizeof(sem_t))));
  o.Set("mutex",
        Napi::Number::New(env, static_cast<double>(align ? alignof(pthread_mutex_t) : sizeof(pthread_mutex_t))));
  o.Set("cond", Napi::Number::New(env, static_cast<double>(align ? alignof(pthread_cond_t) : sizeof(pthread_cond_t))));
  o.Set("barrier",
        Napi::Number::New(env, static_cast<double>(align ? alignof(pthread_barrier_t) : sizeof(pthread_barrier_t))));
  return o;
}

}  // namespace

void InitSync(Napi::Env env, Napi::Object exports) {
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(&AtForkPrepare, &AtForkParent, &AtForkChild); });

  auto* es = new EnvState();
  napi_add_env_cleanup_hook(env, &CleanupEnv, es);
  Napi::Function sem = SemWrap::Define(env, es);
  Napi::Function mutex = MutexWrap::Define(env, es);
  Napi::Function cond = CondWrap::Define(env, es);
  Napi::Function barrier = BarrierWrap::Define(env, es);
  es->semCtor = Napi::Persistent(sem);
  es->mutexCtor = Napi::Persistent(mutex);
  es->condCtor = Napi::Persistent(cond);
  es->barrierCtor = Napi::Persistent(barrier);
  exports.Set("Semaphore", sem);
  exports.Set("Mutex", mutex);
  exports.Set("Cond", cond);
  exports.Set("Barrier", barrier);

  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name, es));
  };
  fn("semInit", SemInit);
  fn("semAttach", SemAttach);
  fn("semOpen", SemOpen);
  fn("semUnlink", SemUnlink);
  fn("mutexInit", MutexInit);
  fn("mutexAttach", MutexAttach);
  fn("condInit", CondInit);
  fn("condAttach", CondAttach);
  fn("barrierInit", BarrierInit);
  fn("barrierAttach", BarrierAttach);
  fn("syncPending", SyncPending);
  auto fast = [&](const char* name, napi_callback cb) {
    napi_value f;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, es, &f));
    exports.Set(name, Napi::Value(env, f));
  };
  fast("semWaitFast", &Fast<SemWaitOp, kSemKind>);
  fast("semPostFast", &Fast<SemPostOp, kSemKind>);
  fast("semTryWaitFast", &Fast<SemTryWaitOp, kSemKind>);
  fast("mutexLockFast", &Fast<MutexLockOp, kMutexKind>);
  fast("mutexUnlockFast", &Fast<MutexUnlockOp, kMutexKind>);
  fast("mutexTryLockFast", &Fast<MutexTryLockOp, kMutexKind>);
  fast("barrierWaitFast", &Fast<BarrierWaitOp, kBarrierKind>);
  exports.Set("syncSizes", Layout(env, false));
  exports.Set("syncAlign", Layout(env, true));
  Napi::Object c = Napi::Object::New(env);
  c.Set("O_CREAT", Napi::Number::New(env, O_CREAT));
  c.Set("O_EXCL", Napi::Number::New(env, O_EXCL));
  c.Set("SEM_VALUE_MAX", Napi::Number::New(env, SEM_VALUE_MAX));
  exports.Set("syncConstants", c);
}

}  // namespace mp

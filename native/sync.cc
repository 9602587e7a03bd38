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
// Async waits (Semaphore.waitAsync, Barrier.waitAsync) run on threads of the addon (native/async/waiters.h),
// never in libuv's threadpool: a sem wait blocks in sem_clockwait, a barrier wait in pthread_barrier_wait.
//
// Cancellation (cancelWait: an AbortSignal in lib/; destroy(), close()) uses deferred pthread_cancel: the
// waiting thread enables cancellation only around sem_clockwait, a cancellation point that acts on a pending
// request on entry and while blocked, and never after it has taken a token (glibc decrements the count with a
// CAS in user space, outside the cancellable futex wait; its cleanup handler unregisters the waiter). So a
// cancelled wait has consumed nothing; if the wait succeeded just before the request, the thread sees the
// request afterwards and posts the token back. Either way the count is as it was. The wait also runs in
// slices so that a Mapping.close() during the wait is noticed (ERR_MULTIPROC_CLOSED) instead of keeping the
// mapping pinned for ever. pthread_barrier_wait is not a cancellation point: barrier waits cannot be
// cancelled (and a destroy() while this process has one pending is EBUSY).
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "addon.h"
#include "async/waiters.h"
#include "core/errors.h"
#include "core/time.h"
#include "shm.h"
#include "sync.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;

// Type tags: an object is one of ours (not merely an instance of the prototype) only if it carries the tag.
constexpr napi_type_tag kSemTag = {0x6d756c746970726fULL, 0x632d73656d000001ULL};
constexpr napi_type_tag kMutexTag = {0x6d756c746970726fULL, 0x632d6d7574780002ULL};
constexpr napi_type_tag kCondTag = {0x6d756c746970726fULL, 0x632d636f6e640003ULL};
constexpr napi_type_tag kBarrierTag = {0x6d756c746970726fULL, 0x632d626172720004ULL};

[[noreturn]] void ThrowUseAfter(Napi::Env env, const std::string& message) {
  throw CodedError(env, "ERR_MULTIPROC_CLOSED", message);
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

}  // namespace

// The state of one object, shared by its wrap, by its fast functions (below) and by its async waits, which may
// outlive the wrap. JS-thread only.
struct SyncCore {
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

namespace {

using Core = SyncCore;

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

// ---- async waits (native/async/waiters.h) ----

constexpr char kSyncFamily[] = "sync";  // PendingThreadWaits(..., "sync"): pendingWaits('sync')

enum Outcome { kNone, kTimeout, kAcquired, kSerial, kNotSerial, kCancelled, kClosed, kMappingClosed, kFailed };

// What semaphore and barrier waits share: what they wait on, and how the outcome becomes callback(err, value)
// with value 1 (acquired / the serial process of a barrier cycle), 0 (timeout / not serial) or 2 (cancelled
// through cancelWait: consumed nothing).
class SyncJob : public WaitJob {
 public:
  SyncJob(bool barrier, const void* object, const void* owner)
      : WaitJob(kSyncFamily, !barrier), barrier(barrier), object(object), owner(owner) {}

  const bool barrier;
  const void* const object;  // the sem_t or pthread_barrier_t
  const void* const owner;   // the wrap that started it (close() of a named semaphore)

  // Whether `job` is a wait on `object` (any owner: nullptr) started by `owner` (any: nullptr).
  static bool Matches(const WaitJob& job, bool barrier, const void* object, const void* owner) {
    if (job.family() != kSyncFamily) return false;
    const auto& j = static_cast<const SyncJob&>(job);
    return j.barrier == barrier && (object == nullptr || j.object == object) && (owner == nullptr || j.owner == owner);
  }

  std::pair<Napi::Value, Napi::Value> Arguments(Napi::Env env) override {
    Napi::Value err = env.Null();
    int value = 0;
    switch (result_) {
      case kAcquired:
      case kSerial: value = 1; break;
      case kTimeout:
      case kNotSerial: value = 0; break;
      case kCancelled: value = 2; break;
      case kClosed:
        err = CodedError(env, "ERR_MULTIPROC_CLOSED",
                         barrier ? "The barrier was destroyed while waiting" : "The semaphore was closed while waiting")
                  .Value();
        break;
      case kMappingClosed:
        err = CodedError(env, "ERR_MULTIPROC_CLOSED", "The mapping that holds the semaphore was closed while waiting")
                  .Value();
        break;
      default:
        err = ErrnoError(env, err_ != 0 ? err_ : EIO, barrier ? "pthread_barrier_wait" : "sem_clockwait").Value();
        break;
    }
    return {err, err.IsNull() ? Napi::Number::New(env, value) : env.Undefined()};
  }

 protected:
  Outcome result_ = kNone;
  int err_ = 0;
};

// sem_clockwait on a thread of its own, interrupted by pthread_cancel (see the top of this file).
class SemJob : public SyncJob {
 public:
  SemJob(sem_t* sem, const void* owner, std::shared_ptr<Core> core, Deadline deadline)
      : SyncJob(false, sem, owner), sem_(sem), core_(std::move(core)), keep_(core_->named), deadline_(deadline) {}

  void Block(const WaitThread& t) override {
    int e = 0;
    auto wait = [this](const timespec& end) {
      int old;
      pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
      int rc = sem_clockwait(sem_, CLOCK_MONOTONIC, &end);  // cancellation point
      int err = errno;
      pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
      return rc == 0 ? 0 : err;
    };
    switch (t.WaitInSlices(deadline_, wait, &e)) {
      case WaitThread::kReturned:
        result_ = e == 0 ? kAcquired : kFailed;
        err_ = e;
        break;
      case WaitThread::kTimedOut: result_ = kTimeout; break;
      case WaitThread::kMappingClosed: result_ = kMappingClosed; break;
      case WaitThread::kStopped: break;  // Settle reports the stop
    }
  }

  void Interrupt(pthread_t thread) override { pthread_cancel(thread); }

  void Settle(StopReason why) override {
    if (why != StopReason::kNone) {
      // Stopped: if the wait succeeded before the request was seen, give the token back.
      if (result_ == kAcquired) sem_post(sem_);
      result_ = why == StopReason::kCancel ? kCancelled : kClosed;
    } else if (result_ == kNone) {
      result_ = kCancelled;  // unwound by a cancel request we did not make (cannot happen; be safe)
    }
  }

  void CancelFinished() override {
    if (result_ == kAcquired || result_ == kTimeout) {
      // The bytes are still pinned (or the named semaphore held by keep_); a destroyed semaphore gets nothing
      // back.
      if (result_ == kAcquired && !core_->done) sem_post(sem_);
      result_ = kCancelled;
    }
  }

 private:
  sem_t* sem_;
  std::shared_ptr<Core> core_;  // JS thread only (CancelFinished)
  std::shared_ptr<sem_t> keep_;  // named semaphores: keeps sem_close away until the callback ran
  Deadline deadline_;
};

// pthread_barrier_wait on a thread of its own: not a cancellation point, so not cancellable.
class BarrierJob : public SyncJob {
 public:
  BarrierJob(pthread_barrier_t* bar, const void* owner) : SyncJob(true, bar, owner), bar_(bar) {}

  void Block(const WaitThread&) override {
    int rc = pthread_barrier_wait(bar_);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD) {
      result_ = kSerial;
    } else if (rc == 0) {
      result_ = kNotSerial;
    } else {
      result_ = kFailed;
      err_ = rc;
    }
  }

 private:
  pthread_barrier_t* bar_;
};

// ---- fast functions ----
//
// The hot operations are also module-level functions that take the object's handle (a number) instead of
// being ObjectWrap methods: semWaitFast(handle), semPostFast, semTryWaitFast, mutexLockFast, mutexUnlockFast,
// mutexTryLockFast, barrierWaitFast. A call then costs napi_get_cb_info, one number and a table lookup,
// where an ObjectWrap method also pays napi_unwrap (a TryCatch and a private-symbol lookup, ~40 ns: most of
// the difference to a native loop, measured in lib/tools/bench/sync.ts). One function for all objects keeps every
// JS call site monomorphic (a function per object would make them polymorphic: ~20 ns more per call).

using Op = napi_value (*)(Napi::Env, Core&);

Core& LookupHandle(Napi::Env env, const SyncState& sync, size_t argc, napi_value arg, const char* kind) {
  double h;
  if (argc < 1 || napi_get_value_double(env, arg, &h) != napi_ok) {
    ThrowTypeError(env, std::string("The \"handle\" argument must be of type number. Received ") +
                            (argc < 1 ? "undefined" : Describe(Napi::Value(env, arg))));
  }
  if (!(h >= 0 && h < 4503599627370496.0) || std::trunc(h) != h) {
    ThrowRangeError(env, "The value of \"handle\" is out of range. It must be a handle of a multiproc " +
                             std::string(kind));
  }
  uint32_t index = static_cast<uint32_t>(std::fmod(h, SyncState::kHandleIndexSpan));
  uint32_t gen = static_cast<uint32_t>(std::floor(h / SyncState::kHandleIndexSpan));
  if (index >= sync.slots.size() || sync.slots[index].gen != gen || sync.slots[index].core == nullptr) {
    ThrowUseAfter(env, std::string("No live ") + kind + " has this handle (it was collected)");
  }
  Core& core = *sync.slots[index].core;
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
    return op(Napi::Env(env), LookupHandle(Napi::Env(env), static_cast<AddonData*>(data)->sync, argc, arg, kind));
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
    sync_ = &static_cast<AddonData*>(info.Data())->sync;
    this->Value().TypeTag(&tag);
    handle_ = sync_->Allocate(core_.get());
  }

  ~Placed() override { sync_->Free(handle_); }

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

  // Starts an async wait on this object (the mapping pinned, the object referenced until the callback ran).
  Napi::Value StartAsync(Napi::Env env, std::unique_ptr<WaitJob> job, Napi::Function callback) {
    uint64_t id = StartWait(env, std::move(job), core_->region, callback, this->Value());
    return Napi::Number::New(env, static_cast<double>(id));
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), core_->Closed()); }
  Napi::Value GetHandle(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), handle_); }

  std::shared_ptr<Core> core_;
  double handle_ = 0;
  Napi::ObjectReference mapping_;
  SyncState* sync_ = nullptr;  // AddonData::sync, which outlives every wrap
};

// ---- Semaphore ----

class SemWrap : public Placed<SemWrap> {
 public:
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefineClass(env, "Semaphore", {}, data);
    CheckedGetter<SemWrap, &SemWrap::Handle>(cls, "handle");
    CheckedGetter<SemWrap, &SemWrap::Closed>(cls, "closed");
    CheckedGetter<SemWrap, &SemWrap::GetName>(cls, "name");
    CheckedMethod<SemWrap, &SemWrap::Wait>(cls, "wait");
    CheckedMethod<SemWrap, &SemWrap::TryWait>(cls, "tryWait");
    CheckedMethod<SemWrap, &SemWrap::TimedWait>(cls, "timedWait");
    CheckedMethod<SemWrap, &SemWrap::Post>(cls, "post");
    CheckedMethod<SemWrap, &SemWrap::GetValue>(cls, "value");
    CheckedMethod<SemWrap, &SemWrap::WaitAsync>(cls, "waitAsync");
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
    double ms = ArgTimeoutMs(info, 0, "timeout");
    sem_t* s = Use<sem_t>(info.Env());
    int rc;
    if (ms < 0) {
      MP_RETRY_EINTR(rc, sem_wait(s));
      if (rc != 0) ThrowErrno(info.Env(), errno, "sem_wait");
      return Napi::Boolean::New(info.Env(), true);
    }
    timespec deadline = DeadlineAfter(ms);
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
  // once (timeout 0; no callback), else a wait id for cancelWait; the callback gets 1 (acquired), 0
  // (timeout) or 2 (cancelled: nothing consumed, the count is as before the wait).
  Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
    RequireArgs(info, 2);
    Napi::Env env = info.Env();
    double ms = ArgTimeoutMs(info, 0, "timeout");
    Napi::Function callback = ArgFunction(info, 1, "callback");
    sem_t* s = Use<sem_t>(env);
    int rc;
    MP_RETRY_EINTR(rc, sem_trywait(s));
    if (rc == 0) return Napi::Number::New(env, 0);
    if (errno != EAGAIN) ThrowErrno(env, errno, "sem_trywait");
    if (ms == 0) return Napi::Number::New(env, -1);
    auto job = std::make_unique<SemJob>(s, this, core_, Deadline::After(ms));
    return StartAsync(env, std::move(job), callback);
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
    StopWaits(env, [s](const WaitJob& j) { return SyncJob::Matches(j, false, s, nullptr); });
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
    StopWaits(env, [this](const WaitJob& j) { return SyncJob::Matches(j, false, nullptr, this); });
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
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefineClass(env, "Mutex", {}, data);
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
    double ms = ArgTimeoutMs(info, 0, "timeout");
    pthread_mutex_t* m = Use<pthread_mutex_t>(env);
    if (ms < 0) return Napi::Number::New(env, Acquired(env, *core_, m, pthread_mutex_lock(m), 0, "pthread_mutex_lock"));
    timespec deadline = DeadlineAfter(ms);
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
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefineClass(env, "Cond", {}, data);
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
    double ms = ArgTimeoutMsOr(info, 1, "timeout");
    pthread_cond_t* c = Use<pthread_cond_t>(env);
    pthread_mutex_t* m = mc.Use<pthread_mutex_t>(env);
    int rc;
    if (ms < 0) {
      rc = pthread_cond_wait(c, m);
    } else {
      timespec deadline = DeadlineAfter(ms);
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
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefineClass(env, "Barrier", {}, data);
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
    auto job = std::make_unique<BarrierJob>(Use<pthread_barrier_t>(env), this);
    return StartAsync(env, std::move(job), callback);
  }

  // destroy(): pthread_barrier_destroy(3); EBUSY while this process has a waitAsync pending on it.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (core_->done) return info.Env().Undefined();
    pthread_barrier_t* b = Use<pthread_barrier_t>(info.Env());
    if (AnyBlocked(info.Env(), [b](const WaitJob& j) { return SyncJob::Matches(j, true, b, nullptr); })) {
      ThrowErrno(info.Env(), EBUSY, "pthread_barrier_destroy");
    }
    int rc = pthread_barrier_destroy(b);
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_barrier_destroy");
    MarkDone();
    return info.Env().Undefined();
  }
};

// ---------------------------------------------------------------------------------------------------------
// factories

SyncState& Sync(const Napi::CallbackInfo& info) { return static_cast<AddonData*>(info.Data())->sync; }

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
  return Make(info.Env(), Sync(info).semCtor, p);
}

// semAttach(mapping, offset) -> Semaphore   one that some process initialised there
Napi::Value SemAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(sem_t), alignof(sem_t), true);
  return Make(info.Env(), Sync(info).semCtor, p);
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
  return Make(env, Sync(info).semCtor, p);
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
  return Make(env, Sync(info).mutexCtor, p);
}

Napi::Value MutexAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_mutex_t), alignof(pthread_mutex_t), true);
  return Make(info.Env(), Sync(info).mutexCtor, p);
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
  return Make(env, Sync(info).condCtor, p);
}

Napi::Value CondAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_cond_t), alignof(pthread_cond_t), true);
  return Make(info.Env(), Sync(info).condCtor, p);
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
  return Make(env, Sync(info).barrierCtor, p);
}

Napi::Value BarrierAttach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(pthread_barrier_t), alignof(pthread_barrier_t), true);
  return Make(info.Env(), Sync(info).barrierCtor, p);
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
  AddonData* data = GetAddonData(env);
  SyncState& sync = data->sync;
  Napi::Function sem = SemWrap::Define(env, data);
  Napi::Function mutex = MutexWrap::Define(env, data);
  Napi::Function cond = CondWrap::Define(env, data);
  Napi::Function barrier = BarrierWrap::Define(env, data);
  sync.semCtor = Napi::Persistent(sem);
  sync.mutexCtor = Napi::Persistent(mutex);
  sync.condCtor = Napi::Persistent(cond);
  sync.barrierCtor = Napi::Persistent(barrier);
  exports.Set("Semaphore", sem);
  exports.Set("Mutex", mutex);
  exports.Set("Cond", cond);
  exports.Set("Barrier", barrier);

  ExportFunctions(env, exports, {
      {"semInit", SemInit},
      {"semAttach", SemAttach},
      {"semOpen", SemOpen},
      {"semUnlink", SemUnlink},
      {"mutexInit", MutexInit},
      {"mutexAttach", MutexAttach},
      {"condInit", CondInit},
      {"condAttach", CondAttach},
      {"barrierInit", BarrierInit},
      {"barrierAttach", BarrierAttach},
  }, data);
  auto fast = [&](const char* name, napi_callback cb) {
    napi_value f;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &f));
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

// The sync family's classes: Semaphore, Mutex, Cond and Barrier, each an ObjectWrap that holds its SyncCore
// (native/sync/internal.h), a RegionPtr to the mapping it lives in and a strong reference to the JS Mapping (so
// the mapping cannot be collected while the object is alive), and checks before every use that neither the
// object (destroy()/close()) nor the mapping (Mapping.close()) was closed. Blocking calls on the JS thread need
// no pin: only this thread can close the mapping, and it is busy. Async waits (native/sync/jobs.cc) run on
// threads of their own and pin the region while they wait.
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "internal.h"

namespace mp {

namespace {

// Type tags: an object is one of ours (not merely an instance of the prototype) only if it carries the tag.
constexpr napi_type_tag kSemTag = {0x6d756c746970726fULL, 0x632d73656d000001ULL};
constexpr napi_type_tag kMutexTag = {0x6d756c746970726fULL, 0x632d6d7574780002ULL};
constexpr napi_type_tag kCondTag = {0x6d756c746970726fULL, 0x632d636f6e640003ULL};
constexpr napi_type_tag kBarrierTag = {0x6d756c746970726fULL, 0x632d626172720004ULL};

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

template <typename T, auto M>
Napi::Value CheckedMember(const Napi::CallbackInfo& info) {
  return (CheckedThis<T>(info)->*M)(info);
}

// Added to the prototype after DefineClass (a class template's prototype may hold no function values).
template <typename T, auto M>
void CheckedMethod(Napi::Function cls, const char* name) {
  Napi::Env env = cls.Env();
  cls.Get("prototype").As<Napi::Object>().DefineProperty(Napi::PropertyDescriptor::Value(
      name, Napi::Function::New(env, CheckedMember<T, M>, name),
      static_cast<napi_property_attributes>(napi_writable | napi_configurable)));
}

template <typename T, auto M>
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

// The common part of the four wraps: the SyncCore, a strong reference to the JS Mapping (it cannot be
// collected while the object lives), the type tag, the getters handle and closed, and the methods that run an
// operation (native/sync/ops.cc).
template <typename T>
class Placed : public Napi::ObjectWrap<T> {
 public:
  Placed(const Napi::CallbackInfo& info, const char* what, const napi_type_tag& tag) : Napi::ObjectWrap<T>(info) {
    const Placement& p = ArgPlacement(info, what);
    core_ = std::make_shared<SyncCore>();
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

  SyncCore& core() { return *core_; }

 protected:
  // The class `name` with the getters every wrap has (handle, closed); the wrap adds the rest.
  static Napi::Function DefinePlaced(Napi::Env env, const char* name, AddonData* data) {
    Napi::Function cls = Napi::ObjectWrap<T>::DefineClass(env, name, {}, data);
    CheckedGetter<T, &Placed::GetHandle>(cls, "handle");
    CheckedGetter<T, &Placed::GetClosed>(cls, "closed");
    return cls;
  }

  // A method that runs `op` on this object (wait/post/tryWait, lock/unlock/tryLock, barrier wait).
  template <SyncOp op>
  Napi::Value Run(const Napi::CallbackInfo& info) {
    return Napi::Value(info.Env(), op(info.Env(), *core_));
  }

  template <typename C>
  C* Use(Napi::Env env) {
    return core_->Use<C>(env);
  }

  void MarkDone() {
    core_->done = true;
    if (!mapping_.IsEmpty()) mapping_.Reset();
  }

  // destroy(): `destroy` (pthread_mutex_destroy(3), pthread_cond_destroy(3)) once; idempotent on this object.
  template <typename C>
  Napi::Value DestroyWith(Napi::Env env, int (*destroy)(C*), const char* syscall) {
    if (core_->done) return env.Undefined();
    int rc = destroy(Use<C>(env));
    if (rc != 0) ThrowErrno(env, rc, syscall);
    MarkDone();
    return env.Undefined();
  }

  // Starts an async wait on this object (the mapping pinned, the object referenced until the callback ran).
  Napi::Value StartAsync(Napi::Env env, std::unique_ptr<WaitJob> job, Napi::Function callback) {
    uint64_t id = StartWait(env, std::move(job), core_->region, callback, this->Value());
    return Napi::Number::New(env, static_cast<double>(id));
  }

  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), core_->Closed()); }
  Napi::Value GetHandle(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), handle_); }

  std::shared_ptr<SyncCore> core_;
  double handle_ = 0;
  Napi::ObjectReference mapping_;
  SyncState* sync_ = nullptr;  // AddonData::sync, which outlives every wrap
};

// ---- Semaphore ----

class SemWrap : public Placed<SemWrap> {
 public:
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefinePlaced(env, "Semaphore", data);
    CheckedGetter<SemWrap, &SemWrap::GetName>(cls, "name");
    CheckedMethod<SemWrap, &SemWrap::Run<SemWaitOp>>(cls, "wait");
    CheckedMethod<SemWrap, &SemWrap::Run<SemTryWaitOp>>(cls, "tryWait");
    CheckedMethod<SemWrap, &SemWrap::TimedWait>(cls, "timedWait");
    CheckedMethod<SemWrap, &SemWrap::Run<SemPostOp>>(cls, "post");
    CheckedMethod<SemWrap, &SemWrap::GetValue>(cls, "value");
    CheckedMethod<SemWrap, &SemWrap::WaitAsync>(cls, "waitAsync");
    CheckedMethod<SemWrap, &SemWrap::Destroy>(cls, "destroy");
    CheckedMethod<SemWrap, &SemWrap::Close>(cls, "close");
    return cls;
  }

  explicit SemWrap(const Napi::CallbackInfo& info) : Placed(info, kSemKind, kSemTag) {
    name_ = ArgPlacement(info, "Semaphore").name;
  }

 private:
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
    return StartAsync(env, SemWaitJob(s, this, core_, Deadline::After(ms)), callback);
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
    StopWaits(env, [s](const WaitJob& j) { return IsSyncWait(j, false, s, nullptr); });
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
    StopWaits(env, [this](const WaitJob& j) { return IsSyncWait(j, false, nullptr, this); });
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
    Napi::Function cls = DefinePlaced(env, "Mutex", data);
    CheckedGetter<MutexWrap, &MutexWrap::GetOwnerDied>(cls, "ownerDied");
    CheckedMethod<MutexWrap, &MutexWrap::Run<MutexLockOp>>(cls, "lock");
    CheckedMethod<MutexWrap, &MutexWrap::Run<MutexTryLockOp>>(cls, "tryLock");
    CheckedMethod<MutexWrap, &MutexWrap::TimedLock>(cls, "timedLock");
    CheckedMethod<MutexWrap, &MutexWrap::Run<MutexUnlockOp>>(cls, "unlock");
    CheckedMethod<MutexWrap, &MutexWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit MutexWrap(const Napi::CallbackInfo& info) : Placed(info, kMutexKind, kMutexTag) {}

 private:
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
    return DestroyWith(info.Env(), pthread_mutex_destroy, "pthread_mutex_destroy");
  }

  Napi::Value GetOwnerDied(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), core_->ownerDied);
  }
};

// ---- Cond ----

class CondWrap : public Placed<CondWrap> {
 public:
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefinePlaced(env, "Cond", data);
    CheckedMethod<CondWrap, &CondWrap::Wait>(cls, "wait");
    CheckedMethod<CondWrap, &CondWrap::Signal>(cls, "signal");
    CheckedMethod<CondWrap, &CondWrap::Broadcast>(cls, "broadcast");
    CheckedMethod<CondWrap, &CondWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit CondWrap(const Napi::CallbackInfo& info) : Placed(info, kCondKind, kCondTag) {}

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
    SyncCore& mc = MutexWrap::Unwrap(mv.As<Napi::Object>())->core();
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

  Napi::Value Destroy(const Napi::CallbackInfo& info) { return DestroyWith(info.Env(), pthread_cond_destroy, "pthread_cond_destroy"); }
};

// ---- Barrier ----

class BarrierWrap : public Placed<BarrierWrap> {
 public:
  static Napi::Function Define(Napi::Env env, AddonData* data) {
    Napi::Function cls = DefinePlaced(env, "Barrier", data);
    CheckedMethod<BarrierWrap, &BarrierWrap::Run<BarrierWaitOp>>(cls, "wait");
    CheckedMethod<BarrierWrap, &BarrierWrap::WaitAsync>(cls, "waitAsync");
    CheckedMethod<BarrierWrap, &BarrierWrap::Destroy>(cls, "destroy");
    return cls;
  }

  explicit BarrierWrap(const Napi::CallbackInfo& info) : Placed(info, kBarrierKind, kBarrierTag) {}

 private:
  // waitAsync(callback(err, serial)) -> wait id. Not cancellable.
  Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
    RequireArgs(info, 1);
    Napi::Env env = info.Env();
    Napi::Function callback = ArgFunction(info, 0, "callback");
    return StartAsync(env, BarrierWaitJob(Use<pthread_barrier_t>(env), this), callback);
  }

  // destroy(): pthread_barrier_destroy(3); EBUSY while this process has a waitAsync pending on it.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    if (core_->done) return info.Env().Undefined();
    pthread_barrier_t* b = Use<pthread_barrier_t>(info.Env());
    if (AnyBlocked(info.Env(), [b](const WaitJob& j) { return IsSyncWait(j, true, b, nullptr); })) {
      ThrowErrno(info.Env(), EBUSY, "pthread_barrier_destroy");
    }
    int rc = pthread_barrier_destroy(b);
    if (rc != 0) ThrowErrno(info.Env(), rc, "pthread_barrier_destroy");
    MarkDone();
    return info.Env().Undefined();
  }
};

}  // namespace

void DefineSyncClasses(Napi::Env env, Napi::Object exports, AddonData* data) {
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
}

}  // namespace mp

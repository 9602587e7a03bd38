// The sync family's operations (native/sync/internal.h), run by the wraps' methods and by the "fast
// functions", and the fast functions themselves.
#include <pthread.h>
#include <semaphore.h>

#include <cerrno>
#include <cmath>
#include <string>

#include "internal.h"

namespace mp {

napi_value SemWaitOp(Napi::Env env, SyncCore& c) {  // sem_wait(3), EINTR retried
  sem_t* s = c.Use<sem_t>(env);
  int rc;
  MP_RETRY_EINTR(rc, sem_wait(s));
  if (rc != 0) ThrowErrno(env, errno, "sem_wait");
  return nullptr;
}

napi_value SemPostOp(Napi::Env env, SyncCore& c) {
  if (sem_post(c.Use<sem_t>(env)) != 0) ThrowErrno(env, errno, "sem_post");
  return nullptr;
}

napi_value SemTryWaitOp(Napi::Env env, SyncCore& c) {
  sem_t* s = c.Use<sem_t>(env);
  int rc;
  MP_RETRY_EINTR(rc, sem_trywait(s));
  if (rc != 0 && errno != EAGAIN) ThrowErrno(env, errno, "sem_trywait");
  return Napi::Boolean::New(env, rc == 0);
}

int Acquired(Napi::Env env, SyncCore& c, pthread_mutex_t* m, int rc, int busy, const char* syscall, bool newHold) {
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

napi_value MutexLockOp(Napi::Env env, SyncCore& c) {
  pthread_mutex_t* m = c.Use<pthread_mutex_t>(env);
  return Napi::Number::New(env, Acquired(env, c, m, pthread_mutex_lock(m), 0, "pthread_mutex_lock"));
}

napi_value MutexTryLockOp(Napi::Env env, SyncCore& c) {
  pthread_mutex_t* m = c.Use<pthread_mutex_t>(env);
  return Napi::Number::New(env, Acquired(env, c, m, pthread_mutex_trylock(m), EBUSY, "pthread_mutex_trylock"));
}

// Unlocking a mutex this thread does not hold is EPERM (error-checking mutex), never undefined behaviour.
napi_value MutexUnlockOp(Napi::Env env, SyncCore& c) {
  pthread_mutex_t* m = c.heldPins > 0 ? reinterpret_cast<pthread_mutex_t*>(c.addr) : c.Use<pthread_mutex_t>(env);
  int rc = pthread_mutex_unlock(m);  // a held mutex can be unlocked even after its mapping was closed
  if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_unlock");
  c.Released();
  return nullptr;
}

napi_value BarrierWaitOp(Napi::Env env, SyncCore& c) {  // true in exactly one process per cycle
  int rc = pthread_barrier_wait(c.Use<pthread_barrier_t>(env));
  if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) ThrowErrno(env, rc, "pthread_barrier_wait");
  return Napi::Boolean::New(env, rc == PTHREAD_BARRIER_SERIAL_THREAD);
}

namespace {

// ---- fast functions ----
//
// The hot operations are also module-level functions that take the object's handle (a number) instead of
// being ObjectWrap methods: semWaitFast(handle), semPostFast, semTryWaitFast, mutexLockFast, mutexUnlockFast,
// mutexTryLockFast, barrierWaitFast. A call then costs napi_get_cb_info, one number and a table lookup,
// where an ObjectWrap method also pays napi_unwrap (a TryCatch and a private-symbol lookup, ~40 ns: most of
// the difference to a native loop, measured in lib/tools/bench/sync.ts). One function for all objects keeps every
// JS call site monomorphic (a function per object would make them polymorphic: ~20 ns more per call).

SyncCore& LookupHandle(Napi::Env env, const SyncState& sync, size_t argc, napi_value arg, const char* kind) {
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
  SyncCore& core = *sync.slots[index].core;
  if (core.what != kind) {
    ThrowTypeError(env, std::string("The \"handle\" argument must be the handle of a ") + kind + ", not of a " +
                            core.what);
  }
  return core;
}

template <SyncOp op, const char* kind>
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

}  // namespace

void ExportFastFunctions(Napi::Env env, Napi::Object exports, AddonData* data) {
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
}

}  // namespace mp

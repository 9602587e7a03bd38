// The sync family: process-shared semaphores (sem_init(pshared = 1) inside a mapping, or sem_open by name),
// robust error-checking mutexes, condition variables on CLOCK_MONOTONIC and barriers — all placed inside a
// shared Mapping at a byte offset, so they work across fork() and in any process that maps the same memfd or
// shm object.
//
// This file holds the factories (semInit, mutexAttach, ...: what places an object in a mapping) and the
// family's init; the rest is in native/sync/: the objects' state and what the files share (internal.h), the
// classes (wraps.cc: each primitive an ObjectWrap), the operations and the "fast functions" of a numeric handle
// that skip the ObjectWrap unwrap for the hot operations (ops.cc), and the async waits, their cancellation
// included (jobs.cc).
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>
#include <string>
#include <utility>

#include "sync/internal.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;

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

// semAttach, mutexAttach, condAttach, barrierAttach(mapping, offset) -> the object of type C that some
// process initialised there, as the class `ctor`.
template <typename C, Napi::FunctionReference SyncState::*ctor>
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Placement p = Place(info, sizeof(C), alignof(C), true);
  return Make(info.Env(), Sync(info).*ctor, p);
}

// semInit(mapping, offset, value) -> Semaphore   sem_init(3) with pshared = 1
Napi::Value SemInit(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Placement p = Place(info, sizeof(sem_t), alignof(sem_t), true);
  unsigned value = static_cast<unsigned>(ArgInteger(info, 2, "value", 0, SEM_VALUE_MAX));
  if (sem_init(reinterpret_cast<sem_t*>(p.addr), 1, value) != 0) ThrowErrno(info.Env(), errno, "sem_init");
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
  return UndefinedOrErrno(info.Env(), sem_unlink(name.c_str()), "sem_unlink");
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
  DefineSyncClasses(env, exports, data);
  ExportFunctions(env, exports, {
      {"semInit", SemInit},
      {"semAttach", Attach<sem_t, &SyncState::semCtor>},
      {"semOpen", SemOpen},
      {"semUnlink", SemUnlink},
      {"mutexInit", MutexInit},
      {"mutexAttach", Attach<pthread_mutex_t, &SyncState::mutexCtor>},
      {"condInit", CondInit},
      {"condAttach", Attach<pthread_cond_t, &SyncState::condCtor>},
      {"barrierInit", BarrierInit},
      {"barrierAttach", Attach<pthread_barrier_t, &SyncState::barrierCtor>},
  }, data);
  ExportFastFunctions(env, exports, data);
  exports.Set("syncSizes", Layout(env, false));
  exports.Set("syncAlign", Layout(env, true));
  exports.Set("syncConstants", NumbersObject(env, {
      MP_CONSTANT(O_CREAT),
      MP_CONSTANT(O_EXCL),
      MP_CONSTANT(SEM_VALUE_MAX),
  }));
}

}  // namespace mp

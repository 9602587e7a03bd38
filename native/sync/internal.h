// What the files of the sync family share (native/sync.cc: the factories; native/sync/ops.cc: the operations
// and the fast functions; native/sync/jobs.cc: the async waits; native/sync/wraps.cc: the ObjectWraps): the
// state of one object placed in a mapping, how a factory hands a placement to a wrap, and the entry points
// of each file.
#pragma once

#include <napi.h>
#include <pthread.h>
#include <semaphore.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

#include "../addon.h"
#include "../async/waiters.h"
#include "../core/errors.h"
#include "../core/time.h"
#include "../shm.h"
#include "../sync.h"

namespace mp {

// What an object is, in messages and in handle checks: a handle's object must be of the kind its fast
// function takes (compared by address: one array of each for the whole addon).
inline constexpr char kSemKind[] = "semaphore";
inline constexpr char kMutexKind[] = "mutex";
inline constexpr char kCondKind[] = "condition variable";
inline constexpr char kBarrierKind[] = "barrier";

[[noreturn]] inline void ThrowUseAfter(Napi::Env env, const std::string& message) {
  throw CodedError(env, "ERR_MULTIPROC_CLOSED", message);
}

// What native factories pass to a wrap's constructor (through an External): JS cannot construct one.
struct Placement {
  RegionPtr region;
  uint8_t* addr = nullptr;
  napi_value mapping = nullptr;
  std::shared_ptr<sem_t> named;  // named semaphores: sem_close on release
  std::string name;
};

// The state of one object, shared by its wrap, by its fast functions and by its async waits, which may
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

// ---- native/sync/ops.cc: the operations, shared by the wraps' methods and the fast functions ----

// One operation on an object; returns its JS result (nullptr: undefined).
using SyncOp = napi_value (*)(Napi::Env, SyncCore&);
napi_value SemWaitOp(Napi::Env env, SyncCore& c);     // sem_wait(3), EINTR retried
napi_value SemPostOp(Napi::Env env, SyncCore& c);     // sem_post(3)
napi_value SemTryWaitOp(Napi::Env env, SyncCore& c);  // sem_trywait(3) -> acquired
napi_value MutexLockOp(Napi::Env env, SyncCore& c);     // -> 1, or 2 (a dead owner's lock, made consistent)
napi_value MutexTryLockOp(Napi::Env env, SyncCore& c);  // -> 0 (busy), 1 or 2
napi_value MutexUnlockOp(Napi::Env env, SyncCore& c);
napi_value BarrierWaitOp(Napi::Env env, SyncCore& c);  // -> true in exactly one process per cycle

// The result of a mutex acquisition: 1 (acquired), 2 (acquired from a dead owner and made consistent), 0
// (busy / timed out, when `busy` is that call's "not acquired" errno); anything else throws.
// `newHold`: false for Cond.wait, which returns holding the mutex it was called with (no new pin).
int Acquired(Napi::Env env, SyncCore& c, pthread_mutex_t* m, int rc, int busy, const char* syscall,
             bool newHold = true);

// Sets the fast functions (semWaitFast(handle), ...) on `exports`.
void ExportFastFunctions(Napi::Env env, Napi::Object exports, AddonData* data);

// ---- native/sync/jobs.cc: async waits on threads of the addon (native/async/waiters.h) ----

// sem_clockwait until `deadline`, cancellable (cancelWait, destroy(), close()); `owner` is the wrap.
std::unique_ptr<WaitJob> SemWaitJob(sem_t* sem, const void* owner, std::shared_ptr<SyncCore> core, Deadline deadline);
// pthread_barrier_wait; not cancellable.
std::unique_ptr<WaitJob> BarrierWaitJob(pthread_barrier_t* bar, const void* owner);
// Whether `job` is a semaphore (barrier: false) or barrier wait on `object` (any: nullptr) started by
// `owner` (any: nullptr).
bool IsSyncWait(const WaitJob& job, bool barrier, const void* object, const void* owner);

// ---- native/sync/wraps.cc: the classes Semaphore, Mutex, Cond, Barrier ----

// Defines the four classes, keeps their constructors in data->sync and sets them on `exports`.
void DefineSyncClasses(Napi::Env env, Napi::Object exports, AddonData* data);

}  // namespace mp

// The sync family's async waits (Semaphore.waitAsync, Barrier.waitAsync): they run on threads of the addon
// (native/async/waiters.h), never in libuv's threadpool: a sem wait blocks in sem_clockwait, a barrier wait in
// pthread_barrier_wait.
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
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cerrno>
#include <memory>
#include <utility>

#include "internal.h"

namespace mp {

namespace {

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
  SemJob(sem_t* sem, const void* owner, std::shared_ptr<SyncCore> core, Deadline deadline)
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
  std::shared_ptr<SyncCore> core_;  // JS thread only (CancelFinished)
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

}  // namespace

std::unique_ptr<WaitJob> SemWaitJob(sem_t* sem, const void* owner, std::shared_ptr<SyncCore> core, Deadline deadline) {
  return std::make_unique<SemJob>(sem, owner, std::move(core), deadline);
}

std::unique_ptr<WaitJob> BarrierWaitJob(pthread_barrier_t* bar, const void* owner) {
  return std::make_unique<BarrierJob>(bar, owner);
}

bool IsSyncWait(const WaitJob& job, bool barrier, const void* object, const void* owner) {
  if (job.family() != kSyncFamily) return false;
  const auto& j = static_cast<const SyncJob&>(job);
  return j.barrier == barrier && (object == nullptr || j.object == object) && (owner == nullptr || j.owner == owner);
}

}  // namespace mp

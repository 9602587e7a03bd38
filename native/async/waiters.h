// Blocking waits on threads of their own: the one mechanism behind futexWaitAsync (native/futex.cc) and
// Semaphore.waitAsync / Barrier.waitAsync (native/sync.cc). What has a file descriptor waits in the reactor
// (native/async/reactor.h) instead; FUTEX_WAIT, sem_clockwait and pthread_barrier_wait have none.
//
// - One thread per pending wait (small stack, all signals blocked: they belong to the main thread and libuv's
//   handlers; cancellation disabled except where a job enables it), never libuv's threadpool: any number of
//   waits may be pending while fs and crypto work goes on.
// - One thread-safe function per environment, ref'ed only while waits are pending. A finished wait is queued;
//   one call on the JS thread delivers every wait that finished meanwhile (joins its thread, unpins, calls
//   back).
// - A wait on bytes of a Mapping pins the region while its thread may touch them; jobs wait in slices of
//   kWaitSliceMs and end with ERR_MULTIPROC_CLOSED when the mapping was closed meanwhile, instead of keeping it
//   mapped for ever.
// - Ids come from the environment's one counter (AddonData::NextWaitId), shared with the reactor's watches:
//   cancelWait(id) finds either.
// - Cancellation: CancelThreadWait sets the stop reason and Interrupt()s the job (pthread_cancel, FUTEX_WAKE),
//   whose Settle() then decides what the callback reports; a cancel that comes after the wait finished but
//   before its callback ran goes to CancelFinished() (JS has not seen the result: the cancel wins).
//   StopWaits() does the same with reason kClose for an object being destroyed, and joins.
// - Fork: a pthread_atfork handler holds the one internal lock (the only place the threads call the
//   thread-safe function) across fork(), so the child's copy is unlocked and no call is half done; the child
//   drops the pins of the parent's waits (their threads do not exist there) and abandons the parent's manager
//   on first use (owner pid differs), leaking it on purpose: nothing of it may run there.
// - Environment teardown (TeardownWaits, from the addon's cleanup hook): stops and joins every cancellable
//   wait; a wait that cannot be interrupted (a barrier) is detached and keeps its pin until it ends.
#pragma once

#include <napi.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <memory>
#include <utility>

#include "../core/time.h"
#include "../shm.h"

namespace mp {

struct AddonData;

// A wait re-checks Mapping.close() (and, for jobs that poll, a stop request) this often.
constexpr double kWaitSliceMs = 250;

// Why a wait was asked to end before it finished by itself.
enum class StopReason : int { kNone = 0, kCancel = 1, kClose = 2 };

// What a job's Block may consult on its thread.
class WaitThread {
 public:
  WaitThread(const std::atomic<int>& stop, const Region* region) : stop_(stop), region_(region) {}
  StopReason Stop() const { return static_cast<StopReason>(stop_.load()); }
  bool Stopping() const { return Stop() != StopReason::kNone; }
  bool MappingClosed() const { return region_ != nullptr && region_->closed.load(); }

  // How WaitInSlices ended.
  enum Ended { kReturned, kTimedOut, kMappingClosed, kStopped };
  // Calls `wait(sliceEnd)` (0 or an errno) in slices of kWaitSliceMs until `deadline`: EINTR and the end of a
  // slice go round again; any other result (0 included) ends with kReturned and *rc. Before each slice a stop
  // request ends with kStopped; after one, a closed mapping ends with kMappingClosed.
  template <typename Wait>
  Ended WaitInSlices(const Deadline& deadline, Wait wait, int* rc) const {
    for (;;) {
      if (Stopping()) return kStopped;
      bool last;
      int e = wait(deadline.Slice(kWaitSliceMs, &last));
      if (e == EINTR) continue;
      if (e != ETIMEDOUT) {
        *rc = e;
        return kReturned;
      }
      if (last) return kTimedOut;
      if (MappingClosed()) return kMappingClosed;
    }
  }

 private:
  const std::atomic<int>& stop_;
  const Region* region_;
};

// One blocking wait: how it blocks, how it is interrupted, what a cancel does to its outcome, and how the
// outcome becomes callback arguments. The job keeps its own outcome fields.
class WaitJob {
 public:
  // `family` groups jobs for PendingThreadWaits ("futex", "sync"); a job that is not `cancellable` is never
  // Interrupt()ed: cancelWait refuses it and teardown detaches it.
  WaitJob(const char* family, bool cancellable) : family_(family), cancellable_(cancellable) {}
  virtual ~WaitJob() = default;
  const char* family() const { return family_; }
  bool cancellable() const { return cancellable_; }

  // The wait's thread: blocks until the wait is over, recording the outcome. A job that is interrupted by
  // pthread_cancel enables cancellation around its cancellation point only; the forced unwind is fine
  // (Settle still runs).
  virtual void Block(const WaitThread& t) = 0;
  // JS thread, internal lock held, at most once and only while the thread may still block: wake it.
  virtual void Interrupt(pthread_t thread) {}
  // The wait's thread, internal lock held, when Block returned or was unwound: reconcile the outcome with a
  // stop request (`why`, kNone if there was none).
  virtual void Settle(StopReason why) {}
  // JS thread, internal lock held: cancelWait after the wait ended but before its callback ran.
  virtual void CancelFinished() {}
  // JS thread, once the thread was joined: the callback's (err, value).
  virtual std::pair<Napi::Value, Napi::Value> Arguments(Napi::Env env) = 0;

 private:
  const char* family_;
  bool cancellable_;
};

// Starts `job` on a thread of its own and returns its id. `region` (may be null) is pinned until the
// callback ran (ERR_MULTIPROC_CLOSED if it is closed already); `keep` stays referenced until then too.
uint64_t StartWait(Napi::Env env, std::unique_ptr<WaitJob> job, RegionPtr region, Napi::Function callback,
                   Napi::Object keep);
// cancelWait for a thread wait: false if `id` is no pending wait of this environment or cannot be cancelled;
// true: its callback will report what the job's Settle/CancelFinished made of it.
bool CancelThreadWait(Napi::Env env, uint64_t id);
// Stops (kClose) this environment's pending cancellable waits whose job matches, and joins their threads.
void StopWaits(Napi::Env env, const std::function<bool(const WaitJob&)>& match);
// Whether a wait whose job matches is still blocked.
bool AnyBlocked(Napi::Env env, const std::function<bool(const WaitJob&)>& match);
// Thread waits not yet called back, of one family (nullptr: all).
size_t PendingThreadWaits(Napi::Env env, const char* family);
// Environment teardown (the addon's cleanup hook).
void TeardownWaits(AddonData* data);

}  // namespace mp

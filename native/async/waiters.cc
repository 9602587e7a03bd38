// Blocking waits on threads of their own; see waiters.h for the design.
#include "waiters.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "../addon.h"
#include "../core/errors.h"

namespace mp {

namespace {

constexpr size_t kWaiterStack = 256 * 1024;  // the waiting threads do little (a forced unwind at most)

// The one internal lock: guards Waiter::{done,pinned,live links} (and the stop reason's transitions), the
// managers' finished/scheduled/closing, g_live, and every job's outcome fields once the thread may run.
std::mutex g_mu;

struct Waiter {
  uint64_t id = 0;
  std::unique_ptr<WaitJob> job;
  RegionPtr region;  // pinned while the thread may use it (null: nothing to pin)
  pthread_t thread{};
  std::shared_ptr<WaitManager> mgr;
  std::atomic<int> stop{0};  // StopReason; changed with g_mu held, read by polling jobs without it
  // guarded by g_mu
  bool done = false;
  bool pinned = false;
  Waiter* livePrev = nullptr;  // the list of waits holding a pin (g_live)
  Waiter* liveNext = nullptr;
  // JS thread only
  bool joined = false;
};

// The waits holding a pin, as an intrusive list: the fork child handler walks and drops it without touching
// the heap (in the child of a multi-threaded process an allocator lock may be held by a thread that is not
// there: ASan's allocator, for one, is not made fork-safe the way glibc's malloc is).
Waiter* g_live = nullptr;

void LinkLive(Waiter* w) {  // g_mu held
  w->pinned = true;
  w->livePrev = nullptr;
  w->liveNext = g_live;
  if (g_live != nullptr) g_live->livePrev = w;
  g_live = w;
}

void UnlinkLive(Waiter* w) {  // g_mu held
  w->pinned = false;
  if (w->livePrev != nullptr) w->livePrev->liveNext = w->liveNext;
  if (w->liveNext != nullptr) w->liveNext->livePrev = w->livePrev;
  if (g_live == w) g_live = w->liveNext;
  w->livePrev = w->liveNext = nullptr;
}

struct Pending {
  std::shared_ptr<Waiter> waiter;
  Napi::FunctionReference callback;
  Napi::ObjectReference keep;  // what the wait is on (the JS Mapping or object) stays alive meanwhile
};

}  // namespace

// One per environment and process (AddonData::waits).
struct WaitManager {
  pid_t owner = 0;
  napi_threadsafe_function tsfn = nullptr;
  bool refed = false;
  // guarded by g_mu
  std::deque<std::shared_ptr<Waiter>> finished;
  bool scheduled = false;
  bool closing = false;
  // JS thread only
  std::unordered_map<uint64_t, Pending> pending;

  void UpdateRef(napi_env env) { HoldLoop(env, tsfn, &refed, !pending.empty()); }

  // Forgets the pending waits without touching their JS references (a forked child, or teardown).
  void Drop() {
    for (auto& [id, p] : pending) {
      p.callback.SuppressDestruct();
      p.keep.SuppressDestruct();
    }
    pending.clear();
  }
};

namespace {

// Records the end of a wait and wakes the JS thread. Runs on the waiting thread, also during the forced
// unwind of pthread_cancel (hence a destructor: it must not throw, and it disables cancellation first).
struct Finisher {
  std::shared_ptr<Waiter>* self;

  ~Finisher() {
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    Waiter* w = self->get();
    bool unpin = false;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      w->job->Settle(static_cast<StopReason>(w->stop.load()));
      w->done = true;
      WaitManager* m = w->mgr.get();
      if (!m->closing) {
        m->finished.push_back(*self);
        if (!m->scheduled) {
          m->scheduled = true;
          napi_call_threadsafe_function(m->tsfn, nullptr, napi_tsfn_nonblocking);
        }
      } else if (w->pinned) {
        UnlinkLive(w);  // the environment is gone: no delivery will let go of the pin (a detached barrier wait)
        unpin = true;
      }
    }
    if (unpin) w->region->Unpin();
    delete self;
  }
};

void* ThreadMain(void* arg) {
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  Finisher fin{static_cast<std::shared_ptr<Waiter>*>(arg)};
  Waiter* w = fin.self->get();
  w->job->Block(WaitThread(w->stop, w->region.get()));
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
    if (unpin) UnlinkLive(w);
  }
  if (unpin) w->region->Unpin();
}

// With g_mu held: asks a still-blocked cancellable wait to stop, once.
void RequestStop(Waiter* w, StopReason why) {
  if (!w->done && w->stop.load() == int(StopReason::kNone)) {
    w->stop.store(int(why));
    w->job->Interrupt(w->thread);
  }
}

void Deliver(napi_env rawEnv, napi_value, void* context, void*) {
  if (rawEnv == nullptr) return;  // environment tearing down
  WaitManager* m = static_cast<WaitManager*>(context);
  if (m->owner != getpid()) return;  // a forked child's copy of the parent's manager
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
    auto [err, value] = w->job->Arguments(env);
    try {
      p.callback.Value().Call({err, value});
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }
  m->UpdateRef(rawEnv);
}

void AtForkPrepare() { g_mu.lock(); }
void AtForkParent() { g_mu.unlock(); }
void AtForkChild() {
  // The waiting threads are not in the child: the pins they held would keep closed mappings mapped for ever.
  for (Waiter* w = g_live; w != nullptr; w = w->liveNext) {
    w->pinned = false;
    w->region->Unpin();
  }
  g_live = nullptr;  // the parent's waits are abandoned here, links and all
  g_mu.unlock();
}

// This environment's manager in this process, if it has one (not the parent's in a forked child).
WaitManager* Current(Napi::Env env) {
  WaitManager* m = GetAddonData(env)->waits.get();
  return m != nullptr && m->owner == getpid() ? m : nullptr;
}

// The manager of this environment in this process (created on first use, and again in a forked child).
std::shared_ptr<WaitManager> GetManager(Napi::Env env, AddonData* data) {
  static std::once_flag atfork;
  std::call_once(atfork, [] { pthread_atfork(&AtForkPrepare, &AtForkParent, &AtForkChild); });
  std::shared_ptr<WaitManager>& mgr = data->waits;
  if (mgr && mgr->owner != getpid()) {
    // Forked child: the parent's threads do not exist here and its pending waits are not ours. Let go of its
    // thread-safe function's hold on the loop and abandon the rest (the pins were dropped at fork).
    if (mgr->refed) napi_unref_threadsafe_function(env, mgr->tsfn);
    mgr->Drop();
    new std::shared_ptr<WaitManager>(std::move(mgr));  // leaked on purpose: nothing of it may run here
    mgr = nullptr;
  }
  if (!mgr) {
    auto m = std::make_shared<WaitManager>();
    m->owner = getpid();
    napi_value name = Napi::String::New(env, "multiproc.waits");
    napi_status st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, m.get(),
                                                     &Deliver, &m->tsfn);
    if (st != napi_ok) throw Napi::Error::New(env, "multiproc: could not create the waits' thread-safe function");
    napi_unref_threadsafe_function(env, m->tsfn);
    mgr = m;
  }
  return mgr;
}

}  // namespace

uint64_t StartWait(Napi::Env env, std::unique_ptr<WaitJob> job, RegionPtr region, Napi::Function callback,
                   Napi::Object keep) {
  AddonData* data = GetAddonData(env);
  std::shared_ptr<WaitManager> m = GetManager(env, data);
  auto w = std::make_shared<Waiter>();
  w->job = std::move(job);
  w->region = std::move(region);
  if (w->region) {
    if (!w->region->Pin()) ThrowClosed(env, "The mapping");
    std::lock_guard<std::mutex> lock(g_mu);
    LinkLive(w.get());
  }
  w->id = data->NextWaitId();
  w->mgr = m;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWaiterStack);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // signals belong to the main thread (libuv's handlers)
  auto* arg = new std::shared_ptr<Waiter>(w);
  int err = pthread_create(&w->thread, &attr, &ThreadMain, arg);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete arg;
    ReleasePin(w.get());
    w->mgr.reset();
    ThrowErrno(env, err, "pthread_create");
  }
  m->pending.emplace(w->id, Pending{w, Napi::Persistent(callback), Napi::Persistent(keep)});
  m->UpdateRef(env);
  return w->id;
}

bool CancelThreadWait(Napi::Env env, uint64_t id) {
  WaitManager* m = Current(env);
  if (m == nullptr) return false;
  auto it = m->pending.find(id);
  if (it == m->pending.end() || !it->second.waiter->job->cancellable()) return false;
  Waiter* w = it->second.waiter.get();
  std::lock_guard<std::mutex> lock(g_mu);
  if (w->done) {
    w->job->CancelFinished();
  } else {
    RequestStop(w, StopReason::kCancel);
  }
  return true;
}

void StopWaits(Napi::Env env, const std::function<bool(const WaitJob&)>& match) {
  WaitManager* m = Current(env);
  if (m == nullptr) return;
  std::vector<std::shared_ptr<Waiter>> victims;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (auto& [id, p] : m->pending) {
      Waiter* w = p.waiter.get();
      if (!w->job->cancellable() || !match(*w->job)) continue;
      RequestStop(w, StopReason::kClose);
      victims.push_back(p.waiter);
    }
  }
  for (auto& w : victims) JoinOnce(w.get());  // prompt: the threads were interrupted
}

bool AnyBlocked(Napi::Env env, const std::function<bool(const WaitJob&)>& match) {
  WaitManager* m = Current(env);
  if (m == nullptr) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& [id, p] : m->pending) {
    if (!p.waiter->done && match(*p.waiter->job)) return true;
  }
  return false;
}

size_t PendingThreadWaits(Napi::Env env, const char* family) {
  WaitManager* m = Current(env);
  if (m == nullptr) return 0;
  if (family == nullptr) return m->pending.size();
  size_t n = 0;
  for (auto& [id, p] : m->pending) n += std::strcmp(p.waiter->job->family(), family) == 0;
  return n;
}

void TeardownWaits(AddonData* data) {
  std::shared_ptr<WaitManager> m = data->waits;
  if (m && m->owner == getpid()) {
    std::vector<std::shared_ptr<Waiter>> join, detach;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      m->closing = true;
      for (auto& [id, p] : m->pending) {
        Waiter* w = p.waiter.get();
        bool blocked = !w->done && !w->job->cancellable();
        if (!blocked) RequestStop(w, StopReason::kClose);
        (blocked ? detach : join).push_back(p.waiter);
      }
    }
    for (auto& w : join) {
      JoinOnce(w.get());
      ReleasePin(w.get());
    }
    for (auto& w : detach) pthread_detach(w->thread);  // still blocked (a barrier): pinned until it ends
    m->Drop();
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
  }
  data->waits = nullptr;
}

}  // namespace mp

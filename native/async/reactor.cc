#include "reactor.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <utility>

#include "../addon.h"
#include "../core/errors.h"

namespace mp {

namespace {

constexpr uint64_t kWakeId = 0;

struct Watch {
  int fd;
  ReadyFdCallback callback;
};

}  // namespace

class Reactor {
 public:
  pid_t owner = 0;
  int epfd = -1;
  int wakefd = -1;
  pthread_t thread{};
  bool threadStarted = false;
  napi_threadsafe_function tsfn = nullptr;
  bool refed = false;

  std::mutex mu;                                    // guards ready, scheduled, stopping
  std::deque<std::pair<uint64_t, uint32_t>> ready;  // fired, not yet delivered
  bool scheduled = false;
  bool stopping = false;

  // JS-thread only:
  std::unordered_map<uint64_t, Watch> watches;

  static void* Run(void* arg);
  static void Deliver(napi_env env, napi_value, void* context, void*);
  void UpdateRef(napi_env env);
  void End(uint64_t id, Watch& w);
};

void* Reactor::Run(void* arg) {
  Reactor* r = static_cast<Reactor*>(arg);
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(r->epfd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return nullptr;  // epfd closed under us: the environment is going away
    }
    bool notify = false;
    {
      std::lock_guard<std::mutex> lock(r->mu);
      for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == kWakeId) {
          if (r->stopping) return nullptr;
          uint64_t drain;
          (void)!read(r->wakefd, &drain, sizeof drain);
          continue;
        }
        uint64_t id = events[i].data.u64;
        uint32_t ev = events[i].events;
        r->ready.emplace_back(id, ev);
      }
      if (!r->ready.empty() && !r->scheduled) {
        r->scheduled = true;
        notify = true;
      }
    }
    if (notify) napi_call_threadsafe_function(r->tsfn, nullptr, napi_tsfn_nonblocking);
  }
}

void Reactor::End(uint64_t id, Watch& w) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, w.fd, nullptr);
  close(w.fd);
  (void)id;
}

void Reactor::UpdateRef(napi_env env) { HoldLoop(env, tsfn, &refed, !watches.empty()); }

void Reactor::Deliver(napi_env rawEnv, napi_value, void* context, void*) {
  if (rawEnv == nullptr) return;  // environment tearing down
  Reactor* r = static_cast<Reactor*>(context);
  if (r->owner != getpid()) return;  // a forked child's copy of the parent's reactor
  std::deque<std::pair<uint64_t, uint32_t>> batch;
  {
    std::lock_guard<std::mutex> lock(r->mu);
    batch.swap(r->ready);
    r->scheduled = false;
  }
  Napi::Env env(rawEnv);
  for (auto& [id, events] : batch) {
    auto it = r->watches.find(id);
    if (it == r->watches.end()) continue;  // cancelled after it fired
    Watch w = std::move(it->second);
    r->watches.erase(it);
    try {
      w.callback(env, events, w.fd);  // the watched fd is still open here
    } catch (const Napi::Error& e) {
      napi_fatal_exception(rawEnv, e.Value());
    }
    r->End(id, w);
  }
  r->UpdateRef(rawEnv);
}

// Every live reactor of this process, so that a forked child can drop their fds at once: a child that kept
// the reactor's duplicate of a pipe's write end would stop its reader from ever seeing EOF.
static std::mutex registryMu;
static std::vector<Reactor*>* registry = nullptr;

static void Register(Reactor* r) {
  static std::once_flag once;
  std::call_once(once, [] {
    registry = new std::vector<Reactor*>();
    pthread_atfork([] { registryMu.lock(); }, [] { registryMu.unlock(); },
                   [] {
                     // Child: only this thread exists; the registry is consistent (its lock was held across fork).
                     for (Reactor* r : *registry) {
                       if (r->epfd >= 0) close(r->epfd);
                       if (r->wakefd >= 0) close(r->wakefd);
                       for (auto& [id, w] : r->watches) {
                         if (w.fd >= 0) close(w.fd);
                         w.fd = -1;
                       }
                       r->epfd = r->wakefd = -1;
                     }
                     registryMu.unlock();
                   });
  });
  std::lock_guard<std::mutex> lock(registryMu);
  registry->push_back(r);
}

static void Unregister(Reactor* r) {
  std::lock_guard<std::mutex> lock(registryMu);
  if (registry == nullptr) return;
  for (auto it = registry->begin(); it != registry->end(); ++it) {
    if (*it == r) {
      registry->erase(it);
      break;
    }
  }
}

static void StopReactor(Reactor* r) {
  if (r->owner == getpid()) {
    {
      std::lock_guard<std::mutex> lock(r->mu);
      r->stopping = true;
    }
    uint64_t one = 1;
    (void)!write(r->wakefd, &one, sizeof one);
    if (r->threadStarted) pthread_join(r->thread, nullptr);
    for (auto& [id, w] : r->watches) close(w.fd);
    r->watches.clear();
  }
  if (r->epfd >= 0) close(r->epfd);
  if (r->wakefd >= 0) close(r->wakefd);
  r->epfd = r->wakefd = -1;
}

static Reactor* NewReactor(Napi::Env env) {
  Reactor* r = new Reactor();
  r->owner = getpid();
  r->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (r->epfd < 0) {
    int err = errno;
    delete r;
    ThrowErrno(env, err, "epoll_create1");
  }
  r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->wakefd < 0) {
    int err = errno;
    close(r->epfd);
    delete r;
    ThrowErrno(env, err, "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev);

  napi_value name = Napi::String::New(env, "multiproc.reactor");
  napi_status st = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, r,
                                                   &Reactor::Deliver, &r->tsfn);
  if (st != napi_ok) {
    StopReactor(r);
    delete r;
    throw Napi::Error::New(env, "multiproc: could not create the reactor's thread-safe function");
  }
  napi_unref_threadsafe_function(env, r->tsfn);

  // Block all signals in the reactor thread: they belong to the main thread (libuv's handlers).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&r->thread, nullptr, &Reactor::Run, r);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err != 0) {
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    StopReactor(r);
    delete r;
    ThrowErrno(env, err, "pthread_create");
  }
  r->threadStarted = true;
  Register(r);
  return r;
}

Reactor* GetReactor(Napi::Env env) {
  AddonData* data = GetAddonData(env);
  Reactor* r = data->reactor;
  if (r != nullptr && r->owner != getpid()) {
    // Forked child: the thread is gone and the registrations are the parent's pending waits. Their fds were
    // closed at the fork (the atfork handler above); let go of the thread-safe function's hold on the loop.
    // The struct itself is abandoned (its mutex may have been copied in a locked state).
    Unregister(r);
    if (r->refed) napi_unref_threadsafe_function(env, r->tsfn);
    r = data->reactor = nullptr;
  }
  if (r == nullptr) r = data->reactor = NewReactor(env);
  return r;
}

uint64_t ReactorWatch(Napi::Env env, int fd, uint32_t events, ReadyCallback callback, bool adopt) {
  return ReactorWatchFd(
      env, fd, events, [cb = std::move(callback)](Napi::Env e, uint32_t ev, int) { cb(e, ev); }, adopt);
}

uint64_t ReactorWatchFd(Napi::Env env, int fd, uint32_t events, ReadyFdCallback callback, bool adopt) {
  Reactor* r = GetReactor(env);
  int watched = fd;
  if (!adopt) {
    watched = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (watched < 0) ThrowErrno(env, errno, "fcntl");
  }
  uint64_t id = GetAddonData(env)->NextWaitId();
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = id;
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, watched, &ev) != 0) {
    int err = errno;
    if (!adopt) close(watched);
    ThrowErrno(env, err, "epoll_ctl");
  }
  r->watches.emplace(id, Watch{watched, std::move(callback)});
  r->UpdateRef(env);
  return id;
}

bool ReactorCancel(Napi::Env env, uint64_t id) {
  AddonData* data = GetAddonData(env);
  Reactor* r = data->reactor;
  if (r == nullptr || r->owner != getpid()) return false;
  auto it = r->watches.find(id);
  if (it == r->watches.end()) return false;
  r->End(id, it->second);
  r->watches.erase(it);
  r->UpdateRef(env);
  return true;
}

size_t ReactorPending(Napi::Env env) {
  AddonData* data = GetAddonData(env);
  Reactor* r = data->reactor;
  if (r == nullptr || r->owner != getpid()) return 0;
  return r->watches.size();
}

void DestroyReactor(Reactor* r) {
  if (r == nullptr) return;
  Unregister(r);
  StopReactor(r);
  if (r->owner == getpid()) delete r;
}

}  // namespace mp

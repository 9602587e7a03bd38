// Worker threads for a forked child.
//
// The child has none of the platform's worker threads, so V8's background work posted in the child (TurboFan
// compile jobs above all: without them new hot code is never optimised and runs ~12x slower; GC jobs) would
// wait forever in NodePlatform's queue, and a fork of the child would wait for workers that do not exist. The
// child therefore gets a pool of its own: the platform object's worker-task methods are redirected to it by
// giving the object a patched copy of its vtable. Slot positions come from the v8::Platform declarations
// themselves (Itanium C++ ABI: a pointer to a virtual member function holds 1 + its vtable offset); which
// methods those are depends on the V8 version (internals.h #3). The pool waits on a futex word, never on a
// condition variable, so that a later fork of this child can quiesce it exactly as the first fork quiesced
// Node's workers.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <type_traits>
#include <utility>

#include "internals.h"

namespace mpfork {

namespace {

struct ChildPool {
  std::mutex mu;
  std::deque<std::unique_ptr<v8::Task>> ready;
  std::vector<std::pair<double, std::unique_ptr<v8::Task>>> delayed;  // (due, task), unsorted: few of them
  std::atomic<int> signal{0};
  int target = 0;               // threads this pool runs once started (what V8 is told)
  std::atomic<int> started{0};  // threads running (what a later fork must quiesce); 0 until the first task
};
ChildPool* pool = nullptr;
bool poolInstalled = false;  // this process's platform methods go to `pool`

double MonoSeconds() { return double(NowNs()) / 1e9; }

void* PoolThread(void* arg) {
  auto* p = static_cast<ChildPool*>(arg);
  for (;;) {
    std::unique_ptr<v8::Task> task;
    double wait = -1;
    int seen = p->signal.load();
    {
      std::lock_guard<std::mutex> lock(p->mu);
      double now = MonoSeconds();
      for (auto it = p->delayed.begin(); it != p->delayed.end();) {
        if (it->first <= now) {
          p->ready.push_back(std::move(it->second));
          it = p->delayed.erase(it);
        } else {
          wait = wait < 0 ? it->first - now : std::min(wait, it->first - now);
          ++it;
        }
      }
      if (!p->ready.empty()) {
        task = std::move(p->ready.front());
        p->ready.pop_front();
      }
    }
    if (task) {
      task->Run();
      continue;
    }
    if (wait < 0) {
      Futex(&p->signal, FUTEX_WAIT_PRIVATE, seen, nullptr);
    } else {
      timespec ts{time_t(wait), long((wait - double(time_t(wait))) * 1e9)};
      Futex(&p->signal, FUTEX_WAIT_PRIVATE, seen, &ts);
    }
  }
  return nullptr;
}

// Starts the pool's threads (on its first task: a child that never posts background work pays nothing).
void PoolStart(ChildPool* p) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int i = 0; i < p->target; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &attr, PoolThread, p) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    p->started.fetch_add(1);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void PoolPost(std::unique_ptr<v8::Task> task, double delaySeconds) {
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    if (pool->started.load() == 0) PoolStart(pool);
    if (delaySeconds > 0) {
      pool->delayed.emplace_back(MonoSeconds() + delaySeconds, std::move(task));
    } else {
      pool->ready.push_back(std::move(task));
    }
  }
  pool->signal.fetch_add(1);
  Futex(&pool->signal, FUTEX_WAKE_PRIVATE, delaySeconds > 0 ? INT32_MAX : 1, nullptr);
}

// Stand-ins for the platform's virtual methods: free functions with `this` first, as the Itanium ABI calls a
// member function. Their parameter lists are checked against the declarations below (static_assert), so a V8
// that changes a signature fails to compile instead of calling through a mismatched slot.
int PoolNumberOfWorkerThreads(v8::Platform*) { return pool->target; }

#if MPFORK_V8_POST_IMPL
struct PlatformAccess : v8::Platform {  // the *Impl methods are protected: name them through a subclass
  using v8::Platform::PostDelayedTaskOnWorkerThreadImpl;
  using v8::Platform::PostTaskOnWorkerThreadImpl;
};
void PoolPostImpl(v8::Platform*, v8::TaskPriority, std::unique_ptr<v8::Task> task, const v8::SourceLocation&) {
  PoolPost(std::move(task), 0);
}
void PoolPostDelayedImpl(v8::Platform*, v8::TaskPriority, std::unique_ptr<v8::Task> task, double delay,
                         const v8::SourceLocation&) {
  PoolPost(std::move(task), delay);
}
static_assert(std::is_same_v<decltype(&PlatformAccess::PostTaskOnWorkerThreadImpl),
                             void (v8::Platform::*)(v8::TaskPriority, std::unique_ptr<v8::Task>,
                                                    const v8::SourceLocation&)>,
              "v8::Platform::PostTaskOnWorkerThreadImpl changed its signature: update PoolPostImpl");
static_assert(std::is_same_v<decltype(&PlatformAccess::PostDelayedTaskOnWorkerThreadImpl),
                             void (v8::Platform::*)(v8::TaskPriority, std::unique_ptr<v8::Task>, double,
                                                    const v8::SourceLocation&)>,
              "v8::Platform::PostDelayedTaskOnWorkerThreadImpl changed its signature: update PoolPostDelayedImpl");
#else
void PoolCallOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task) { PoolPost(std::move(task), 0); }
void PoolCallDelayedOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task, double delay) {
  PoolPost(std::move(task), delay);
}
static_assert(std::is_same_v<decltype(&v8::Platform::CallOnWorkerThread),
                             void (v8::Platform::*)(std::unique_ptr<v8::Task>)>,
              "v8::Platform::CallOnWorkerThread changed its signature");
static_assert(std::is_same_v<decltype(&v8::Platform::CallDelayedOnWorkerThread),
                             void (v8::Platform::*)(std::unique_ptr<v8::Task>, double)>,
              "v8::Platform::CallDelayedOnWorkerThread changed its signature");
#endif
static_assert(std::is_same_v<decltype(&v8::Platform::NumberOfWorkerThreads), int (v8::Platform::*)()>,
              "v8::Platform::NumberOfWorkerThreads changed its signature");

template <typename M>
long VirtualSlot(M member) {
  struct {
    uintptr_t ptr;
    ptrdiff_t adj;
  } raw;
  static_assert(sizeof(member) == sizeof(raw), "Itanium C++ ABI member function pointer expected");
  memcpy(&raw, &member, sizeof raw);
  if ((raw.ptr & 1) == 0 || raw.adj != 0) return -1;  // not virtual (or not in the primary vtable)
  return long((raw.ptr - 1) / sizeof(void*));
}

}  // namespace

PlatformSlots WorkerSlots() {
  PlatformSlots s;
  s.numberOfWorkerThreads = VirtualSlot(&v8::Platform::NumberOfWorkerThreads);
#if MPFORK_V8_POST_IMPL
  s.post = VirtualSlot(&PlatformAccess::PostTaskOnWorkerThreadImpl);
  s.postDelayed = VirtualSlot(&PlatformAccess::PostDelayedTaskOnWorkerThreadImpl);
#else
  s.post = VirtualSlot(&v8::Platform::CallOnWorkerThread);
  s.postDelayed = VirtualSlot(&v8::Platform::CallDelayedOnWorkerThread);
  s.postBlocking = VirtualSlot(&v8::Platform::CallBlockingTaskOnWorkerThread);
  s.postLowPriority = VirtualSlot(&v8::Platform::CallLowPriorityTaskOnWorkerThread);
#endif
  s.highest = std::max({s.numberOfWorkerThreads, s.post, s.postDelayed, s.postBlocking, s.postLowPriority});
  return s;
}

void InstallChildPool(node::MultiIsolatePlatform* platform, int threads) {
  pool = new ChildPool();  // any previous pool is abandoned: its threads do not exist in this process
  pool->target = threads;
  if (poolInstalled) return;  // inherited from our own parent: the object already points at our table
  PlatformSlots s = WorkerSlots();
  void*** object = reinterpret_cast<void***>(static_cast<v8::Platform*>(platform));
  void** vtable = *object;
  void** copy = new void*[kVtableCopy + 2];
  memcpy(copy, vtable - 2, sizeof(void*) * (kVtableCopy + 2));  // offset-to-top and RTTI precede the slots
  void** slots = copy + 2;
  slots[s.numberOfWorkerThreads] = reinterpret_cast<void*>(&PoolNumberOfWorkerThreads);
#if MPFORK_V8_POST_IMPL
  slots[s.post] = reinterpret_cast<void*>(&PoolPostImpl);
  slots[s.postDelayed] = reinterpret_cast<void*>(&PoolPostDelayedImpl);
#else
  slots[s.post] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slots[s.postBlocking] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slots[s.postLowPriority] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slots[s.postDelayed] = reinterpret_cast<void*>(&PoolCallDelayedOnWorkerThread);
#endif
  *object = slots;
  poolInstalled = true;
}

bool ChildPoolInstalled() { return poolInstalled; }
int ChildPoolTarget() { return pool != nullptr ? pool->target : 0; }
int ChildPoolStarted() { return pool != nullptr ? pool->started.load() : 0; }

}  // namespace mpfork

// The bench family: pure-native loops that are the baselines of lib/tools/bench/. Each runs, entirely in C, the
// same loop a benchmark drives from JavaScript through the addon, on objects that JS placed in a shared
// Mapping (posix.Semaphore.init & co.), and returns the elapsed nanoseconds (CLOCK_MONOTONIC) of the loop.
// The region is pinned for the duration, so a Mapping.close() during the loop cannot unmap it.
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "core/errors.h"
#include "core/time.h"
#include "sync.h"
#include "shm.h"

extern char** environ;

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;
constexpr int64_t kMaxIterations = int64_t(1) << 40;

template <typename T>
T* At(const Napi::CallbackInfo& info, const RegionPtr& r, size_t i, const char* name) {
  int64_t offset = ArgInteger(info, i, name, 0, kMaxOffset);
  return reinterpret_cast<T*>(RegionAt(info.Env(), r, offset, sizeof(T), alignof(T)));
}

// Runs `step(i)` for i in [0, n) and returns the elapsed nanoseconds (CLOCK_MONOTONIC): every bench's clock.
template <typename Step>
Napi::Value TimeLoop(Napi::Env env, int64_t n, Step step) {
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < n; i++) step(i);
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// TimeLoop with the mapping `r` pinned: a Mapping.close() during the loop cannot unmap it.
template <typename Step>
Napi::Value TimeLoopPinned(Napi::Env env, const RegionPtr& r, int64_t n, Step step) {
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  return TimeLoop(env, n, step);
}

void SemWait(Napi::Env env, sem_t* s) {
  int rc;
  MP_RETRY_EINTR(rc, sem_wait(s));
  if (rc != 0) ThrowErrno(env, errno, "sem_wait");
}

void SemPost(Napi::Env env, sem_t* s) {
  if (sem_post(s) != 0) ThrowErrno(env, errno, "sem_post");
}

// semPingPongBench(mapping, pingOffset, pongOffset, iterations, side) -> ns
//   side 0 (ping): post(ping); wait(pong)   side 1 (pong): wait(ping); post(pong)   — one round trip each.
Napi::Value SemPingPongBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 5);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  sem_t* ping = At<sem_t>(info, r, 1, "pingOffset");
  sem_t* pong = At<sem_t>(info, r, 2, "pongOffset");
  int64_t n = ArgInteger(info, 3, "iterations", 0, kMaxIterations);
  int64_t side = ArgInteger(info, 4, "side", 0, 1);
  return TimeLoopPinned(env, r, n, [&](int64_t) {
    if (side == 0) {
      SemPost(env, ping);
      SemWait(env, pong);
    } else {
      SemWait(env, ping);
      SemPost(env, pong);
    }
  });
}

// semUncontendedBench(mapping, offset, iterations) -> ns   iterations × { sem_post; sem_wait } in one
// process: no other process, no syscall — the cost of the calls themselves.
Napi::Value SemUncontendedBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  sem_t* s = At<sem_t>(info, r, 1, "offset");
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  return TimeLoopPinned(env, r, n, [&](int64_t) {
    SemPost(env, s);
    SemWait(env, s);
  });
}

// barrierBench(mapping, offset, iterations) -> ns   iterations × pthread_barrier_wait
Napi::Value BarrierBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  pthread_barrier_t* b = At<pthread_barrier_t>(info, r, 1, "offset");
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  if (!BarrierInitialised(b)) {
    throw CodedError(env, "ERR_MULTIPROC_NOT_INITIALISED", "This memory holds no initialised barrier (its count is 0)");
  }
  return TimeLoopPinned(env, r, n, [&](int64_t) {
    int rc = pthread_barrier_wait(b);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) ThrowErrno(env, rc, "pthread_barrier_wait");
  });
}

// mutexBench(mapping, mutexOffset, counterOffset, iterations) -> ns
//   iterations × { pthread_mutex_lock; (*int32 counter)++ (plain read-modify-write); pthread_mutex_unlock }
Napi::Value MutexBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  pthread_mutex_t* m = At<pthread_mutex_t>(info, r, 1, "mutexOffset");
  volatile int32_t* counter = At<int32_t>(info, r, 2, "counterOffset");
  int64_t n = ArgInteger(info, 3, "iterations", 0, kMaxIterations);
  return TimeLoopPinned(env, r, n, [&](int64_t) {
    int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) {
      rc = pthread_mutex_consistent(m);
    }
    if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_lock");
    *counter = *counter + 1;
    rc = pthread_mutex_unlock(m);
    if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_unlock");
  });
}


// ---- futex ping-pong -------------------------------------------------------------------------------------
// One int32 word in a shared mapping, 0 = "ping's turn", 1 = "pong's turn". Shared (not _PRIVATE) futex ops:
// the word lives in a MAP_SHARED mapping seen by two processes. The atomics and the futex syscalls are the
// work; neither can be dropped by the compiler.

long Futex(std::atomic<int32_t>* word, int op, int32_t val) {
  return syscall(SYS_futex, reinterpret_cast<int32_t*>(word), op, val, nullptr, nullptr, 0);
}

void FutexWaitWhile(Napi::Env env, std::atomic<int32_t>* word, int32_t value) {
  while (word->load(std::memory_order_acquire) == value) {
    if (Futex(word, FUTEX_WAIT, value) != 0 && errno != EAGAIN && errno != EINTR) ThrowErrno(env, errno, "futex");
  }
}

void FutexSet(Napi::Env env, std::atomic<int32_t>* word, int32_t value) {
  word->store(value, std::memory_order_release);
  if (Futex(word, FUTEX_WAKE, 1) < 0) ThrowErrno(env, errno, "futex");
}

// futexPingPongBench(mapping, offset, iterations, side) -> ns
//   side 0 (ping): set 1 + wake; wait while 1   side 1 (pong): wait while 0; set 0 + wake   — one round trip.
Napi::Value FutexPingPongBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  auto* word = At<std::atomic<int32_t>>(info, r, 1, "offset");
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  int64_t side = ArgInteger(info, 3, "side", 0, 1);
  return TimeLoopPinned(env, r, n, [&](int64_t) {
    if (side == 0) {
      FutexSet(env, word, 1);
      FutexWaitWhile(env, word, 1);
    } else {
      FutexWaitWhile(env, word, 0);
      FutexSet(env, word, 0);
    }
  });
}

// ---- stream bandwidth ------------------------------------------------------------------------------------
// streamBench(fd, totalBytes, chunkBytes, side) -> ns
//   side 0 writes totalBytes in write(2)s of chunkBytes; side 1 reads until it has totalBytes (read(2)s of at
//   most chunkBytes). The buffer is allocated and touched before the clock starts. Small chunks measure
//   messages per second, big ones bandwidth. Every byte goes through a syscall: nothing to optimise away.
Napi::Value StreamBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, int64_t(1) << 30));
  int64_t total = ArgInteger(info, 1, "totalBytes", 0, int64_t(1) << 46);
  int64_t chunk = ArgInteger(info, 2, "chunkBytes", 1, int64_t(64) << 20);
  int64_t side = ArgInteger(info, 3, "side", 0, 1);
  std::vector<uint8_t> buf(static_cast<size_t>(chunk), 0x5a);  // value-initialised: every page touched
  int64_t t0 = NowNs();
  int64_t done = 0;
  while (done < total) {
    size_t want = static_cast<size_t>(std::min<int64_t>(chunk, total - done));
    ssize_t k;
    if (side == 0) {
      MP_RETRY_EINTR(k, write(fd, buf.data(), want));
      if (k < 0) ThrowErrno(env, errno, "write");
    } else {
      MP_RETRY_EINTR(k, read(fd, buf.data(), want));
      if (k < 0) ThrowErrno(env, errno, "read");
      if (k == 0) throw CodedError(env, "ERR_MULTIPROC_EOF", "streamBench: the writer closed its end early");
    }
    done += k;
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// ---- process creation ------------------------------------------------------------------------------------

// Reaps child `pid`, which must have exited with 0 (`what` names the bench in the error otherwise).
void ReapZero(Napi::Env env, pid_t pid, const char* what) {
  int status = 0;
  pid_t w;
  MP_RETRY_EINTR(w, waitpid(pid, &status, 0));
  if (w < 0) ThrowErrno(env, errno, "waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw CodedError(env, "ERR_MULTIPROC_CHILD_FAILED", std::string(what) + ": a child did not exit with 0");
  }
}

// forkWaitBench(iterations) -> ns   iterations × { fork(); child: _exit(0) at once; parent: waitpid }. The child
// runs nothing but _exit (async-signal-safe), so a raw fork() of this multithreaded process is sound here.
Napi::Value ForkWaitBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  int64_t n = ArgInteger(info, 0, "iterations", 0, kMaxIterations);
  return TimeLoop(env, n, [&](int64_t) {
    pid_t pid = fork();
    if (pid < 0) ThrowErrno(env, errno, "fork");
    if (pid == 0) _exit(0);
    ReapZero(env, pid, "forkWaitBench");
  });
}

// spawnWaitBench(path, iterations) -> ns   iterations × { posix_spawn(path, [path]) with this environment;
// waitpid }. Each child must exit with 0 (e.g. /bin/true).
Napi::Value SpawnWaitBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  if (path.find('\0') != std::string::npos) ThrowTypeError(env, "The \"path\" string must not contain null bytes");
  int64_t n = ArgInteger(info, 1, "iterations", 0, kMaxIterations);
  char* argv[] = {path.data(), nullptr};
  return TimeLoop(env, n, [&](int64_t) {
    pid_t pid = 0;
    int err = posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, environ);
    if (err != 0) ThrowErrno(env, err, "posix_spawn");
    ReapZero(env, pid, "spawnWaitBench");
  });
}

// ---- shared-memory write bandwidth -----------------------------------------------------------------------
// copyBench(mapping, bytes, iterations) -> ns   iterations × memcpy of `bytes` from a private buffer into the
// start of the mapping. The source is allocated and touched before the clock starts (no first-touch faults
// in the figure); each copy differs (its first byte) and is observable (compiler barrier after it).
Napi::Value CopyBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  int64_t bytes = ArgInteger(info, 1, "bytes", 1, int64_t(r->length));
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  std::vector<uint8_t> src(static_cast<size_t>(bytes), 0x5a);
  return TimeLoopPinned(env, r, n, [&](int64_t i) {
    src[0] = uint8_t(i);
    memcpy(r->base, src.data(), size_t(bytes));
    asm volatile("" ::: "memory");
  });
}

}  // namespace

void InitBench(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"semPingPongBench", SemPingPongBench},
      {"semUncontendedBench", SemUncontendedBench},
      {"barrierBench", BarrierBench},
      {"mutexBench", MutexBench},
      {"futexPingPongBench", FutexPingPongBench},
      {"streamBench", StreamBench},
      {"forkWaitBench", ForkWaitBench},
      {"spawnWaitBench", SpawnWaitBench},
      {"copyBench", CopyBench},
  });
}

}  // namespace mp

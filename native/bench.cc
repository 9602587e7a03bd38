// The bench family: pure-native loops that are the baselines of lib/bench/. Each runs, entirely in C, the
// same loop a benchmark drives from JavaScript through the addon, on objects that JS placed in a shared
// Mapping (posix.Semaphore.init & co.), and returns the elapsed nanoseconds (CLOCK_MONOTONIC) of the loop.
// The region is pinned for the duration, so a Mapping.close() during the loop cannot unmap it.
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

#include "addon.h"
#include "errors.h"
#include "sync.h"
#include "shm.h"

namespace mp {

namespace {

constexpr int64_t kMaxOffset = int64_t(1) << 46;
constexpr int64_t kMaxIterations = int64_t(1) << 40;

int64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

template <typename T>
T* At(const Napi::CallbackInfo& info, const RegionPtr& r, size_t i, const char* name) {
  int64_t offset = ArgInteger(info, i, name, 0, kMaxOffset);
  return reinterpret_cast<T*>(RegionAt(info.Env(), r, offset, sizeof(T), alignof(T)));
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
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  int64_t t0 = NowNs();
  if (side == 0) {
    for (int64_t i = 0; i < n; i++) {
      SemPost(env, ping);
      SemWait(env, pong);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      SemWait(env, ping);
      SemPost(env, pong);
    }
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// semUncontendedBench(mapping, offset, iterations) -> ns   iterations × { sem_post; sem_wait } in one
// process: no other process, no syscall — the cost of the calls themselves.
Napi::Value SemUncontendedBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  sem_t* s = At<sem_t>(info, r, 1, "offset");
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < n; i++) {
    SemPost(env, s);
    SemWait(env, s);
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// barrierBench(mapping, offset, iterations) -> ns   iterations × pthread_barrier_wait
Napi::Value BarrierBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  RegionPtr r = ArgRegion(info, 0, "mapping");
  pthread_barrier_t* b = At<pthread_barrier_t>(info, r, 1, "offset");
  int64_t n = ArgInteger(info, 2, "iterations", 0, kMaxIterations);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  if (!BarrierInitialised(b)) {
    throw CodedError(env, "ERR_MULTIPROC_NOT_INITIALISED", "This memory holds no initialised barrier (its count is 0)");
  }
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < n; i++) {
    int rc = pthread_barrier_wait(b);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) ThrowErrno(env, rc, "pthread_barrier_wait");
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
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
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(env, "mapping");
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < n; i++) {
    int rc = pthread_mutex_lock(m);
    if (rc == EOWNERDEAD) {
      rc = pthread_mutex_consistent(m);
    }
    if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_lock");
    *counter = *counter + 1;
    rc = pthread_mutex_unlock(m);
    if (rc != 0) ThrowErrno(env, rc, "pthread_mutex_unlock");
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

}  // namespace

void InitBench(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("semPingPongBench", SemPingPongBench);
  fn("semUncontendedBench", SemUncontendedBench);
  fn("barrierBench", BarrierBench);
  fn("mutexBench", MutexBench);
}

}  // namespace mp

// Module init of the main addon (Node-API only, ABI-stable): the per-environment state, every syscall family,
// and the one cancel entry and pending count of all async waits (reactor watches and thread waits alike).
#include "addon.h"

#include <string>

#include "async/reactor.h"
#include "async/waiters.h"
#include "core/errors.h"

namespace mp {

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

void InitNs(Napi::Env env, Napi::Object exports);      // native/ns.cc
void InitSignal(Napi::Env env, Napi::Object exports);  // native/signal.cc

namespace {

// cancelWait(id) -> true if the async wait was pending and is cancelled. Per kind, as the JS layer relies on:
// a reactor watch (waitpidAsync, readAsync/writeAsync/recvFdsAsync/waitReady, mq async) never calls back
// after a successful cancel; a futex wait calls back with 3, a semaphore wait with 2 (nothing consumed); a
// barrier wait cannot be cancelled (false).
Napi::Value CancelWait(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  uint64_t id = static_cast<uint64_t>(ArgInteger(info, 0, "id", 1, int64_t(1) << 53));
  return Napi::Boolean::New(env, ReactorCancel(env, id) || CancelThreadWait(env, id));
}

// pendingWaits(kind?) -> the number of this environment's async waits not yet called back: all, or of one
// kind: 'reactor' (fd watches), 'futex' (futexWaitAsync), 'sync' (Semaphore/Barrier waitAsync). For tests and
// leak checks.
Napi::Value PendingWaits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t n;
  if (info.Length() == 0 || info[0].IsUndefined()) {
    n = ReactorPending(env) + PendingThreadWaits(env, nullptr);
  } else {
    std::string kind = ArgString(info, 0, "kind", 16);
    if (kind == "reactor") {
      n = ReactorPending(env);
    } else if (kind == "futex" || kind == "sync") {
      n = PendingThreadWaits(env, kind == "futex" ? "futex" : "sync");
    } else {
      ThrowRangeError(env, "The \"kind\" argument must be 'reactor', 'futex' or 'sync'. Received '" + kind + "'");
    }
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// Environment teardown (worker exit, process teardown): end the thread waits.
void CleanupEnv(void* arg) { TeardownWaits(static_cast<AddonData*>(arg)); }

// When the napi_env goes: stop the reactor. The AddonData itself stays (see addon.h).
void FinalizeData(napi_env, void* data, void*) {
  auto* d = static_cast<AddonData*>(data);
  DestroyReactor(d->reactor);
  d->reactor = nullptr;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  NAPI_THROW_IF_FAILED(env, napi_set_instance_data(env, data, &FinalizeData, nullptr), exports);
  napi_add_env_cleanup_hook(env, &CleanupEnv, data);
  InitProcess(env, exports);
  InitFd(env, exports);
  InitShm(env, exports);
  InitSync(env, exports);
  InitMqueue(env, exports);
  InitBench(env, exports);
  InitFutex(env, exports);
  InitNs(env, exports);
  InitSignal(env, exports);
  ExportFunctions(env, exports, {
      {"cancelWait", CancelWait},
      {"pendingWaits", PendingWaits},
  });
  exports.Set("abi", Napi::String::New(env, "napi"));
  return exports;
}

}  // namespace mp

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return mp::Init(env, exports); }

NODE_API_MODULE(multiproc, InitAddon)

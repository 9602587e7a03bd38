// Per-environment state of the main addon (napi instance data), shared by the families.
#pragma once

#include <napi.h>

namespace mp {

class Reactor;
void DestroyReactor(Reactor* r);

struct AddonData {
  Reactor* reactor = nullptr;
  ~AddonData() { DestroyReactor(reactor); }
};

AddonData* GetAddonData(Napi::Env env);

// Keeps the event loop alive through `tsfn` only while there is pending work (`want`); `refed` records the
// current state so that ref/unref are called on changes only. JS thread only.
inline void HoldLoop(napi_env env, napi_threadsafe_function tsfn, bool* refed, bool want) {
  if (want == *refed) return;
  if (want) {
    napi_ref_threadsafe_function(env, tsfn);
  } else {
    napi_unref_threadsafe_function(env, tsfn);
  }
  *refed = want;
}

// Family initialisers (one per native/*.cc).
void InitProcess(Napi::Env env, Napi::Object exports);
void InitReactor(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitShm(Napi::Env env, Napi::Object exports);
void InitSync(Napi::Env env, Napi::Object exports);
void InitMqueue(Napi::Env env, Napi::Object exports);
void InitBench(Napi::Env env, Napi::Object exports);

}  // namespace mp

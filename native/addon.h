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

// Family initialisers (one per native/*.cc).
void InitProcess(Napi::Env env, Napi::Object exports);
void InitReactor(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitShm(Napi::Env env, Napi::Object exports);
void InitSync(Napi::Env env, Napi::Object exports);
void InitMqueue(Napi::Env env, Napi::Object exports);
void InitBench(Napi::Env env, Napi::Object exports);

}  // namespace mp

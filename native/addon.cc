// Module init of the main addon (Node-API only, ABI-stable): registers every syscall family.
#include "addon.h"

#include <sys/utsname.h>

namespace mp {

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

void InitFutex(Napi::Env env, Napi::Object exports);   // native/futex.cc
void InitNs(Napi::Env env, Napi::Object exports);      // native/ns.cc
void InitSignal(Napi::Env env, Napi::Object exports);  // native/signal.cc

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  InitProcess(env, exports);
  InitReactor(env, exports);
  InitFd(env, exports);
  InitShm(env, exports);
  InitSync(env, exports);
  InitMqueue(env, exports);
  InitBench(env, exports);
  InitFutex(env, exports);
  InitNs(env, exports);
  InitSignal(env, exports);
  exports.Set("abi", Napi::String::New(env, "napi"));
  return exports;
}

}  // namespace mp

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return mp::Init(env, exports); }

NODE_API_MODULE(multiproc, InitAddon)

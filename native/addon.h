// Per-environment state of the main addon (napi instance data): one AddonData per Node environment (the main
// thread, each worker), holding what the families share: the id counter of async waits, the reactor, the
// thread waits' manager, and the sync family's class constructors and handle table.
//
// Lifetime: created by the module init and never freed (a few words per environment): wraps may be finalized
// after the environment's cleanup hook ran, and they release their handle into it. The cleanup hook ends the
// thread waits; the instance-data finalizer (later, when the napi_env goes) stops the reactor.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <memory>

#include "sync.h"

namespace mp {

class Reactor;        // native/async/reactor.cc
struct WaitManager;   // native/async/waiters.cc

struct AddonData {
  // Every async wait's id, reactor watches and thread waits alike: one space, so that one cancelWait(id)
  // serves them all. JS thread only.
  uint64_t nextWaitId = 1;
  Reactor* reactor = nullptr;
  std::shared_ptr<WaitManager> waits;
  SyncState sync;

  uint64_t NextWaitId() { return nextWaitId++; }
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

// Sets exports[name] to a native function for each entry; `data` is every callback's info.Data().
struct NativeFunction {
  const char* name;
  Napi::Function::Callback callback;
};
inline void ExportFunctions(Napi::Env env, Napi::Object exports, std::initializer_list<NativeFunction> functions,
                            void* data = nullptr) {
  for (const NativeFunction& f : functions) exports.Set(f.name, Napi::Function::New(env, f.callback, f.name, data));
}

// A family's constants for JS (flags, limits): an object of named numbers.
struct NamedNumber {
  const char* name;
  double value;
};
inline Napi::Object NumbersObject(Napi::Env env, std::initializer_list<NamedNumber> numbers) {
  Napi::Object o = Napi::Object::New(env);
  for (const NamedNumber& n : numbers) o.Set(n.name, Napi::Number::New(env, n.value));
  return o;
}
// A C constant under its own name: MP_CONSTANT(O_RDONLY) is {"O_RDONLY", O_RDONLY}.
#define MP_CONSTANT(name) ::mp::NamedNumber{#name, static_cast<double>(name)}

// Family initialisers (one per native/*.cc).
void InitProcess(Napi::Env env, Napi::Object exports);
void InitFd(Napi::Env env, Napi::Object exports);
void InitShm(Napi::Env env, Napi::Object exports);
void InitSync(Napi::Env env, Napi::Object exports);
void InitFutex(Napi::Env env, Napi::Object exports);
void InitMqueue(Napi::Env env, Napi::Object exports);
void InitBench(Napi::Env env, Napi::Object exports);

}  // namespace mp

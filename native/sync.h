// What the sync family (native/sync.cc, native/sync/) shares: with native/bench.cc, about the objects placed in
// mappings; with the addon's per-environment state (addon.h), the sync family's part of it.
#pragma once

#include <napi.h>
#include <pthread.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace mp {

// A pthread_barrier_t that was never initialised (zeroed or foreign memory) has a count of 0, and glibc's
// pthread_barrier_wait/destroy divide by it (SIGFPE). glibc (>= 2.25) lays the barrier out as
// { unsigned in, current_round, count; int shared; unsigned out }: we read `count` before any call.
inline bool BarrierInitialised(const pthread_barrier_t* b) {
  static_assert(sizeof(pthread_barrier_t) >= 3 * sizeof(unsigned), "unexpected pthread_barrier_t");
  return reinterpret_cast<const unsigned*>(b)[2] != 0;
}

struct SyncCore;  // one object placed in a mapping (native/sync/internal.h)

// The sync family's per-environment state (AddonData::sync): the class constructors, and the handle table of
// the fast functions. JS thread only.
struct SyncState {
  Napi::FunctionReference semCtor, mutexCtor, condCtor, barrierCtor;

  // A handle is index + generation * kHandleIndexSpan; a slot's generation changes when it is freed, so a
  // stale handle never reaches another object.
  struct Slot {
    SyncCore* core = nullptr;
    uint32_t gen = 0;
  };
  std::vector<Slot> slots;
  std::vector<uint32_t> freeSlots;

  static constexpr double kHandleIndexSpan = 16777216.0;      // 2^24 live objects per environment
  static constexpr uint32_t kHandleGenMask = (1u << 28) - 1;  // handles stay below 2^52

  double Allocate(SyncCore* core) {
    uint32_t index;
    if (!freeSlots.empty()) {
      index = freeSlots.back();
      freeSlots.pop_back();
    } else {
      index = static_cast<uint32_t>(slots.size());
      slots.emplace_back();
    }
    slots[index].core = core;
    return static_cast<double>(index) + static_cast<double>(slots[index].gen) * kHandleIndexSpan;
  }

  void Free(double handle) {
    uint32_t index = static_cast<uint32_t>(std::fmod(handle, kHandleIndexSpan));
    Slot& slot = slots[index];
    slot.core = nullptr;
    slot.gen = (slot.gen + 1) & kHandleGenMask;
    freeSlots.push_back(index);
  }
};

}  // namespace mp

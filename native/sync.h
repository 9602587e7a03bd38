// What native/sync.cc and native/bench.cc share about the objects placed in mappings.
#pragma once

#include <pthread.h>

namespace mp {

// A pthread_barrier_t that was never initialised (zeroed or foreign memory) has a count of 0, and glibc's
// pthread_barrier_wait/destroy divide by it (SIGFPE). glibc (>= 2.25) lays the barrier out as
// { unsigned in, current_round, count; int shared; unsigned out }: we read `count` before any call.
inline bool BarrierInitialised(const pthread_barrier_t* b) {
  static_assert(sizeof(pthread_barrier_t) >= 3 * sizeof(unsigned), "unexpected pthread_barrier_t");
  return reinterpret_cast<const unsigned*>(b)[2] != 0;
}

}  // namespace mp

// Clock and deadline helpers shared by every family that waits with a timeout.
//
// Timeouts arrive in milliseconds (fractions allowed) and become absolute deadlines, so that an EINTR retry
// (or the next slice of a sliced wait) keeps the same end. Waits on CLOCK_MONOTONIC unless the syscall only
// takes CLOCK_REALTIME (mq_timedsend/mq_timedreceive).
#pragma once

#include <time.h>

#include <cmath>
#include <cstdint>

#include "errors.h"

namespace mp {

// ~31 years: a timeout at least this long means "no timeout".
constexpr double kForeverMs = 1e12;

inline timespec Now(clockid_t clock = CLOCK_MONOTONIC) {
  timespec t;
  clock_gettime(clock, &t);
  return t;
}

// Nanoseconds on CLOCK_MONOTONIC (the benchmark loops' stopwatch).
inline int64_t NowNs() {
  timespec t = Now();
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

inline timespec AddMs(timespec t, double ms) {
  double whole = std::floor(ms / 1000);
  t.tv_sec += static_cast<time_t>(whole);
  t.tv_nsec += static_cast<long>((ms - whole * 1000) * 1e6);
  while (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  return t;
}

// The absolute deadline `ms` from now on `clock`.
inline timespec DeadlineAfter(double ms, clockid_t clock = CLOCK_MONOTONIC) { return AddMs(Now(clock), ms); }

inline bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// The end of a wait: none, or an absolute CLOCK_MONOTONIC time.
struct Deadline {
  bool none = true;
  timespec at{};

  // `ms` < 0: no deadline (what ArgTimeoutMs returns for Infinity).
  static Deadline After(double ms) {
    Deadline d;
    d.none = ms < 0;
    if (!d.none) d.at = DeadlineAfter(ms);
    return d;
  }
  // The end of the next slice of `sliceMs` or the deadline, whichever comes first; `*last`: the deadline.
  timespec Slice(double sliceMs, bool* last) const {
    timespec end = DeadlineAfter(sliceMs);
    *last = !none && !Before(end, at);
    return *last ? at : end;
  }
};

// A timeout argument in milliseconds: a number >= 0 (fractions allowed); Infinity (or anything beyond
// kForeverMs) means no timeout and is returned as a negative value.
inline double ArgTimeoutMs(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double ms = ArgNumber(info, i, name, 0, INFINITY);
  return ms >= kForeverMs ? -1 : ms;
}

// The same for an optional argument: missing or undefined is no timeout.
inline double ArgTimeoutMsOr(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || info[i].IsUndefined()) return -1;
  return ArgTimeoutMs(info, i, name);
}

}  // namespace mp

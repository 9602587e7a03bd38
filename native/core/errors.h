// One errno path and one set of argument checks for every native entry point.
//
// Every function exported by the addons validates its own arguments with the helpers below (never trusting
// the TypeScript layer: anyone can call the binding directly) and reports a failed syscall through
// ErrnoError. Errors follow Node's conventions:
//   syscall failure  Error      { code: 'ECHILD', errno: 10, syscall: 'waitpid' }  "waitpid ECHILD: No child processes"
//   wrong type       TypeError  { code: 'ERR_INVALID_ARG_TYPE' }  'The "pid" argument must be of type number. Received ...'
//   out of range     RangeError { code: 'ERR_OUT_OF_RANGE' }      'The value of "pid" is out of range. It must be ...'
//   use after close  Error      { code: 'ERR_MULTIPROC_CLOSED' }
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <string>

namespace mp {

// An Error describing errno `err` as the result of `syscall`, with code/errno/syscall set.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall);
// Throws ErrnoError (as a C++ exception that node-addon-api turns into a JS exception).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall);
// The symbolic name of an errno value ("EAGAIN"), or "E<n>" when unknown.
std::string ErrnoName(int err);

// The errno path of calls that return -1 (or another negative value) and set errno: the call's result as a
// JS number (an fd, a pid, a byte count), or undefined for calls whose result is only 0 on success.
inline Napi::Value NumberOrErrno(Napi::Env env, int64_t result, const char* syscall) {
  if (result < 0) ThrowErrno(env, errno, syscall);
  return Napi::Number::New(env, static_cast<double>(result));
}
inline Napi::Value UndefinedOrErrno(Napi::Env env, int result, const char* syscall) {
  if (result != 0) ThrowErrno(env, errno, syscall);
  return env.Undefined();
}

// An Error with a Node-style string code (ERR_MULTIPROC_CLOSED, ...).
Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void ThrowClosed(Napi::Env env, const char* what);
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

// A short description of a JS value for error messages: "type string ('abc')", "an instance of Object", ...
std::string Describe(const Napi::Value& value);

// Argument checks. `name` is the parameter name shown in the message.
void RequireArgs(const Napi::CallbackInfo& info, size_t count);
int64_t ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max);
int64_t ArgIntegerOr(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max,
                     int64_t fallback);  // undefined -> fallback
double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBoolOr(const Napi::CallbackInfo& info, size_t i, const char* name, bool fallback);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, size_t maxLength = 4096);
Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::Array ArgArray(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t maxLength);

// A byte range of a Uint8Array argument; throws on a detached buffer or a range outside the view.
struct Bytes {
  uint8_t* data;
  size_t length;
};
// An empty view may have no backing store (a null pointer), which libc functions declared nonnull must not
// get even for a length of 0: this gives such views a valid address.
inline uint8_t* NonNull(void* p) {
  static uint8_t empty[1];
  return p != nullptr ? static_cast<uint8_t*>(p) : empty;
}
Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name);

// The hot path of calls taking (fd, Uint8Array) first (read/write, mq_send/mq_receive: what a JS-driven
// ping-pong pays per call): both checked with one napi_get_typedarray_info instead of the generic helpers'
// several calls. Anything unusual (not a small non-negative integer, not a non-empty Uint8Array, detached)
// returns false, and the caller takes the checked path, which reports the error.
bool QuickFdAndBytes(const Napi::CallbackInfo& info, int* fd, Bytes* bytes);
// The same for (fd, bytes) and (fd, bytes, offset, length) with the range inside the array (read, write,
// writeAllSync): a zero length or anything unusual returns false for the checked path.
bool QuickFdAndRange(const Napi::CallbackInfo& info, int* fd, Bytes* bytes);

// An element of an array argument, checked like ArgInteger ("cpus[3]").
int64_t ElementInteger(Napi::Env env, const Napi::Array& array, uint32_t index, const char* name, int64_t min,
                       int64_t max);

}  // namespace mp

// Retries `expr` while it fails with EINTR; for restartable calls only.
#define MP_RETRY_EINTR(result, expr) \
  do {                               \
    (result) = (expr);               \
  } while ((result) == -1 && errno == EINTR)

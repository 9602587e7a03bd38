#include "errors.h"

#include <cmath>
#include <cstring>
#include <string.h>

namespace mp {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);  // glibc >= 2.32
  if (name != nullptr) return name;
  return "E" + std::to_string(err);
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  std::string code = ErrnoName(err);
  char buf[256];
  const char* text = strerror_r(err, buf, sizeof buf);  // GNU variant returns the string
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + " " + code + ": " + text);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall) { throw ErrnoError(env, err, syscall); }

Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void ThrowClosed(Napi::Env env, const char* what) {
  throw CodedError(env, "ERR_MULTIPROC_CLOSED", std::string(what) + " is closed");
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  throw error;
}

static std::string NumberText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("type boolean (") + (value.As<Napi::Boolean>().Value() ? "true" : "false") + ")";
    case napi_number: return "type number (" + NumberText(value.As<Napi::Number>().DoubleValue()) + ")";
    case napi_bigint: return "type bigint";
    case napi_symbol: return "type symbol";
    case napi_function: return "function";
    case napi_string: {
      std::string s = value.As<Napi::String>().Utf8Value();
      if (s.size() > 28) s = s.substr(0, 25) + "...";
      return "type string ('" + s + "')";
    }
    case napi_object: {
      if (value.IsArray()) return "an instance of Array";
      if (value.IsTypedArray()) return "an instance of TypedArray";
      if (value.IsArrayBuffer()) return "an instance of ArrayBuffer";
      return "an instance of Object";
    }
    default: return "an unknown value";
  }
}

void RequireArgs(const Napi::CallbackInfo& info, size_t count) {
  if (info.Length() < count) {
    Napi::TypeError error = Napi::TypeError::New(
        info.Env(), "Expected " + std::to_string(count) + " argument" + (count == 1 ? "" : "s") + " but received " +
                        std::to_string(info.Length()));
    error.Set("code", Napi::String::New(info.Env(), "ERR_MISSING_ARGS"));
    throw error;
  }
}

static std::string ArgTypeMessage(const char* name, const char* expected, const Napi::Value& got) {
  return std::string("The \"") + name + "\" argument must be " + expected + ". Received " + Describe(got);
}

static int64_t CheckInteger(Napi::Env env, const Napi::Value& v, const char* name, int64_t min, int64_t max) {
  if (!v.IsNumber()) ThrowTypeError(env, ArgTypeMessage(name, "of type number", v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d) {
    ThrowRangeError(env, std::string("The value of \"") + name + "\" is out of range. It must be an integer. Received " +
                             NumberText(d));
  }
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    ThrowRangeError(env, std::string("The value of \"") + name + "\" is out of range. It must be >= " +
                             std::to_string(min) + " && <= " + std::to_string(max) + ". Received " + NumberText(d));
  }
  return static_cast<int64_t>(d);
}

int64_t ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  return CheckInteger(info.Env(), info[i], name, min, max);
}

int64_t ArgIntegerOr(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max,
                     int64_t fallback) {
  if (i >= info.Length() || info[i].IsUndefined()) return fallback;
  return ArgInteger(info, i, name, min, max);
}

int64_t ElementInteger(Napi::Env env, const Napi::Array& array, uint32_t index, const char* name, int64_t min,
                       int64_t max) {
  std::string label = std::string(name) + "[" + std::to_string(index) + "]";
  return CheckInteger(env, array.Get(index), label.c_str(), min, max);
}

double ArgNumber(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowTypeError(info.Env(), ArgTypeMessage(name, "of type number", v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d) || d < min || d > max) {
    ThrowRangeError(info.Env(), std::string("The value of \"") + name + "\" is out of range. It must be >= " +
                                    NumberText(min) + " && <= " + NumberText(max) + ". Received " + NumberText(d));
  }
  return d;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsBoolean()) ThrowTypeError(info.Env(), ArgTypeMessage(name, "of type boolean", v));
  return v.As<Napi::Boolean>().Value();
}

bool ArgBoolOr(const Napi::CallbackInfo& info, size_t i, const char* name, bool fallback) {
  if (i >= info.Length() || info[i].IsUndefined()) return fallback;
  return ArgBool(info, i, name);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, size_t maxLength) {
  Napi::Value v = info[i];
  if (!v.IsString()) ThrowTypeError(info.Env(), ArgTypeMessage(name, "of type string", v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() > maxLength) {
    ThrowRangeError(info.Env(), std::string("The \"") + name + "\" argument is too long: at most " +
                                    std::to_string(maxLength) + " bytes, received " + std::to_string(s.size()));
  }
  if (s.find('\0') != std::string::npos) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must not contain null bytes");
  }
  return s;
}

Napi::Function ArgFunction(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsFunction()) ThrowTypeError(info.Env(), ArgTypeMessage(name, "of type function", v));
  return v.As<Napi::Function>();
}

Napi::Array ArgArray(const Napi::CallbackInfo& info, size_t i, const char* name, uint32_t maxLength) {
  Napi::Value v = info[i];
  if (!v.IsArray()) ThrowTypeError(info.Env(), ArgTypeMessage(name, "an instance of Array", v));
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > maxLength) {
    ThrowRangeError(info.Env(), std::string("The \"") + name + "\" array is too long: at most " +
                                    std::to_string(maxLength) + " elements, received " + std::to_string(a.Length()));
  }
  return a;
}

Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowTypeError(info.Env(), ArgTypeMessage(name, "an instance of Uint8Array", v));
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  Napi::ArrayBuffer ab = a.ArrayBuffer();
  if (ab.IsDetached()) {
    throw CodedError(info.Env(), "ERR_INVALID_STATE", std::string("The \"") + name + "\" buffer is detached");
  }
  return Bytes{NonNull(a.Data()), a.ByteLength()};
}

bool QuickFdAndBytes(const Napi::CallbackInfo& info, int* fd, Bytes* bytes) {
  if (info.Length() < 2) return false;
  napi_env env = info.Env();
  double d;
  if (napi_get_value_double(env, info[0], &d) != napi_ok || !(d >= 0 && d <= double(1 << 30)) || d != double(int(d))) {
    return false;
  }
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(env, info[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array || length == 0) {
    return false;
  }
  *fd = int(d);
  *bytes = Bytes{NonNull(data), length};
  return true;
}

bool QuickFdAndRange(const Napi::CallbackInfo& info, int* fd, Bytes* bytes) {
  size_t argc = info.Length();
  if ((argc != 2 && argc != 4) || !QuickFdAndBytes(info, fd, bytes)) return false;
  if (argc == 2) return true;
  // (fd, bytes, offset, length): both integers inside the array, else the checked path says why
  napi_env env = info.Env();
  double off, len;
  if (napi_get_value_double(env, info[2], &off) != napi_ok || napi_get_value_double(env, info[3], &len) != napi_ok ||
      !(off >= 0 && off <= double(bytes->length)) || off != double(size_t(off)) ||
      !(len >= 0 && len <= double(bytes->length) - off) || len != double(size_t(len))) {
    return false;
  }
  *bytes = Bytes{bytes->data + size_t(off), size_t(len)};
  return true;
}

}  // namespace mp

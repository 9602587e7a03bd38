// The mqueue family: POSIX message queues (mq_overview(7)) — mq_open(3), mq_send(3)/mq_timedsend(3),
// mq_receive(3)/mq_timedreceive(3), mq_getattr(3)/mq_setattr(3), mq_close(3), mq_unlink(3).
//
// On Linux an mqd_t is a file descriptor (O_CLOEXEC, pollable): the async forms first try the call without
// waiting and otherwise wait for readiness in the reactor (epoll), never in libuv's threadpool. "Without
// waiting" works whatever the queue's O_NONBLOCK flag: mq_timedsend/mq_timedreceive with an absolute timeout
// that has already passed (the epoch) return ETIMEDOUT at once instead of sleeping.
//
// These functions are thin: the limit-naming messages (msg_max, msgsize_max, queues_max, RLIMIT_MSGQUEUE)
// are added by lib/posix/mqueue.ts, which knows what the caller asked for.
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <memory>

#include "addon.h"
#include "async/reactor.h"
#include "core/errors.h"
#include "core/time.h"

namespace mp {

namespace {

constexpr int64_t kFdMax = 1 << 30;
constexpr int64_t kPrioMax = 32767;                      // sysconf(_SC_MQ_PRIO_MAX) - 1 on Linux
constexpr int64_t kIntMax = 0x7fffffff;
const struct timespec kPast = {0, 0};                    // an absolute CLOCK_REALTIME deadline long gone

mqd_t ArgMqd(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<mqd_t>(ArgInteger(info, i, "mqd", 0, kFdMax));
}

// A queue name: '/' followed by 1..NAME_MAX characters other than '/' (mq_overview(7)).
std::string ArgMqName(const Napi::CallbackInfo& info, size_t i) {
  std::string name = ArgString(info, i, "name", NAME_MAX + 1);
  if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos) {
    ThrowRangeError(info.Env(), "A message queue name is '/' followed by 1 to 255 characters other than '/'. Received '" +
                                    name + "'");
  }
  return name;
}

unsigned ArgPriority(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<unsigned>(ArgInteger(info, i, "priority", 0, kPrioMax));
}

// The optional priority out-parameter of the receives: a Uint32Array whose element 0 gets the priority
// (mq_receive's `unsigned* msg_prio`). Returns nullptr when the argument is undefined.
uint32_t* ArgPriorityOut(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return nullptr;
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      v.As<Napi::Uint32Array>().ElementLength() < 1) {
    ThrowTypeError(info.Env(), "The \"priorityOut\" argument must be a Uint32Array of at least 1 element. Received " +
                                   Describe(v));
  }
  return v.As<Napi::Uint32Array>().Data();
}

// The hot path of mqSend/mqReceive: an mqd_t is an fd on Linux.
bool QuickMqdAndBytes(const Napi::CallbackInfo& info, mqd_t* q, Bytes* bytes) {
  int fd;
  if (!QuickFdAndBytes(info, &fd, bytes)) return false;
  *q = mqd_t(fd);
  return true;
}

bool QuickPriority(const Napi::CallbackInfo& info, size_t i, unsigned* prio) {
  double d;
  if (napi_get_value_double(info.Env(), info[i], &d) != napi_ok || !(d >= 0 && d <= double(kPrioMax)) ||
      d != double(int(d))) {
    return false;
  }
  *prio = unsigned(d);
  return true;
}

bool QuickPriorityOut(const Napi::CallbackInfo& info, size_t i, uint32_t** out) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint32_array || length == 0) {
    return false;
  }
  *out = static_cast<uint32_t*>(data);
  return true;
}

// mqOpen(name, oflag, mode, maxMessages?, messageSize?) -> mqd. oflag: O_RDONLY/O_WRONLY/O_RDWR with
// O_CREAT, O_EXCL, O_NONBLOCK. The attributes are used only when the queue is created; given neither, the
// kernel's defaults apply (/proc/sys/fs/mqueue/msg_default, msgsize_default). The kernel sets O_CLOEXEC.
Napi::Value MqOpen(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  std::string name = ArgMqName(info, 0);
  const int known = O_ACCMODE | O_CREAT | O_EXCL | O_NONBLOCK;
  int oflag = static_cast<int>(ArgInteger(info, 1, "oflag", 0, kIntMax));
  if ((oflag & ~known) != 0 || (oflag & O_ACCMODE) == O_ACCMODE) {
    ThrowRangeError(env, "mq_open flags may be O_RDONLY, O_WRONLY or O_RDWR with O_CREAT, O_EXCL and O_NONBLOCK");
  }
  mode_t mode = static_cast<mode_t>(ArgInteger(info, 2, "mode", 0, 0777));
  int64_t maxMessages = ArgIntegerOr(info, 3, "maxMessages", 1, kIntMax, 0);
  int64_t messageSize = ArgIntegerOr(info, 4, "messageSize", 1, kIntMax, 0);
  if ((maxMessages == 0) != (messageSize == 0)) {
    ThrowTypeError(env, "The \"maxMessages\" and \"messageSize\" arguments must be given together (or neither)");
  }
  struct mq_attr attr{};
  attr.mq_maxmsg = maxMessages;
  attr.mq_msgsize = messageSize;
  mqd_t q;
  MP_RETRY_EINTR(q, mq_open(name.c_str(), oflag, mode, maxMessages == 0 ? nullptr : &attr));
  if (q == static_cast<mqd_t>(-1)) ThrowErrno(env, errno, "mq_open");
  return Napi::Number::New(env, q);
}

Napi::Value MqUnlink(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  std::string name = ArgMqName(info, 0);
  return UndefinedOrErrno(info.Env(), mq_unlink(name.c_str()), "mq_unlink");
}

Napi::Value MqClose(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  // mq_close is close(2): never retried on EINTR (the fd is released already).
  if (mq_close(ArgMqd(info, 0)) != 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "mq_close");
  return info.Env().Undefined();
}

// mqGetattr(mqd) -> { maxMessages, messageSize, currentMessages, nonBlocking }
Napi::Value MqGetattr(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  struct mq_attr attr{};
  if (mq_getattr(ArgMqd(info, 0), &attr) != 0) ThrowErrno(env, errno, "mq_getattr");
  Napi::Object o = Napi::Object::New(env);
  o.Set("maxMessages", Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
  o.Set("messageSize", Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
  o.Set("currentMessages", Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
  o.Set("nonBlocking", Napi::Boolean::New(env, (attr.mq_flags & O_NONBLOCK) != 0));
  return o;
}

// mqSetNonBlocking(mqd, on): mq_setattr(2) of mq_flags (the only attribute it can change).
Napi::Value MqSetNonBlocking(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  mqd_t q = ArgMqd(info, 0);
  bool on = ArgBool(info, 1, "on");
  struct mq_attr attr{};
  attr.mq_flags = on ? O_NONBLOCK : 0;
  if (mq_setattr(q, &attr, nullptr) != 0) ThrowErrno(info.Env(), errno, "mq_setattr");
  return info.Env().Undefined();
}

// mqSend(mqd, data, priority): blocks while the queue is full (EAGAIN if the queue is non-blocking).
Napi::Value MqSend(const Napi::CallbackInfo& info) {
  mqd_t q;
  Bytes b;
  unsigned prio;
  if (info.Length() != 3 || !QuickMqdAndBytes(info, &q, &b) || !QuickPriority(info, 2, &prio)) {
    RequireArgs(info, 3);
    q = ArgMqd(info, 0);
    b = ArgBytes(info, 1, "data");
    prio = ArgPriority(info, 2);
  }
  int rc;
  MP_RETRY_EINTR(rc, mq_send(q, reinterpret_cast<const char*>(b.data), b.length, prio));
  if (rc != 0) ThrowErrno(info.Env(), errno, "mq_send");
  return info.Env().Undefined();
}

// mqTimedSend(mqd, data, priority, timeoutMs) -> false when the queue stayed full until the deadline.
Napi::Value MqTimedSend(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  mqd_t q = ArgMqd(info, 0);
  Bytes b = ArgBytes(info, 1, "data");
  unsigned prio = ArgPriority(info, 2);
  double ms = ArgNumber(info, 3, "timeout", 0, kForeverMs);
  struct timespec deadline = DeadlineAfter(ms, CLOCK_REALTIME);  // absolute: EINTR retries keep the same deadline
  int rc;
  MP_RETRY_EINTR(rc, mq_timedsend(q, reinterpret_cast<const char*>(b.data), b.length, prio, &deadline));
  if (rc != 0) {
    if (errno == ETIMEDOUT) return Napi::Boolean::New(info.Env(), false);
    ThrowErrno(info.Env(), errno, "mq_timedsend");
  }
  return Napi::Boolean::New(info.Env(), true);
}

// mqReceive(mqd, buffer, priorityOut?) -> length: the oldest message of the highest priority, whose priority
// goes to priorityOut[0] (a Uint32Array). The buffer must hold the queue's messageSize (EMSGSIZE otherwise).
Napi::Value MqReceive(const Napi::CallbackInfo& info) {
  mqd_t q;
  Bytes b;
  uint32_t* out = nullptr;
  if (info.Length() != 3 || !QuickMqdAndBytes(info, &q, &b) || !QuickPriorityOut(info, 2, &out)) {
    RequireArgs(info, 2);
    q = ArgMqd(info, 0);
    b = ArgBytes(info, 1, "buffer");
    out = ArgPriorityOut(info, 2);
  }
  unsigned prio = 0;
  ssize_t n;
  MP_RETRY_EINTR(n, mq_receive(q, reinterpret_cast<char*>(b.data), b.length, &prio));
  if (n < 0) ThrowErrno(info.Env(), errno, "mq_receive");
  if (out != nullptr) *out = prio;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// mqTimedReceive(mqd, buffer, timeoutMs, priorityOut?) -> length, or null when nothing came before the
// deadline.
Napi::Value MqTimedReceive(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  mqd_t q = ArgMqd(info, 0);
  Bytes b = ArgBytes(info, 1, "buffer");
  double ms = ArgNumber(info, 2, "timeout", 0, kForeverMs);
  uint32_t* out = ArgPriorityOut(info, 3);
  struct timespec deadline = DeadlineAfter(ms, CLOCK_REALTIME);
  unsigned prio = 0;
  ssize_t n;
  MP_RETRY_EINTR(n, mq_timedreceive(q, reinterpret_cast<char*>(b.data), b.length, &prio, &deadline));
  if (n < 0) {
    if (errno == ETIMEDOUT) return info.Env().Null();
    ThrowErrno(info.Env(), errno, "mq_timedreceive");
  }
  if (out != nullptr) *out = prio;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// One attempt that never sleeps, whatever the queue's O_NONBLOCK flag. Returns -1 with errno EAGAIN when it
// would have to wait, -1 with another errno on failure, else the byte count (receive) or 0 (send).
ssize_t TryMq(bool receiving, mqd_t q, uint8_t* data, size_t length, unsigned* prio) {
  ssize_t n;
  if (receiving) {
    MP_RETRY_EINTR(n, mq_timedreceive(q, reinterpret_cast<char*>(data), length, prio, &kPast));
  } else {
    int rc;
    MP_RETRY_EINTR(rc, mq_timedsend(q, reinterpret_cast<const char*>(data), length, *prio, &kPast));
    n = rc;
  }
  if (n < 0 && errno == ETIMEDOUT) errno = EAGAIN;
  return n;
}

// mqSendAsync(mqd, data, priority, callback(err, n)) / mqReceiveAsync(mqd, buffer, callback(err, n, priority))
// -> watch id (0 when done at once, the callback having run). n is the received length (0 for a send), or
// -1 when the readiness was taken by another receiver/sender: the caller starts again. The buffer is kept
// alive by a reference until the callback runs.
Napi::Value MqAsync(const Napi::CallbackInfo& info, bool receiving) {
  Napi::Env env = info.Env();
  RequireArgs(info, receiving ? 3 : 4);
  mqd_t q = ArgMqd(info, 0);
  Bytes b = ArgBytes(info, 1, receiving ? "buffer" : "data");
  unsigned prio = receiving ? 0 : ArgPriority(info, 2);
  Napi::Function fn = ArgFunction(info, receiving ? 2 : 3, "callback");
  const char* syscall = receiving ? "mq_receive" : "mq_send";

  auto report = [syscall](Napi::Env env, const Napi::Function& cb, ssize_t n, unsigned prio) {
    Napi::Value err = n < 0 ? ErrnoError(env, errno, syscall).Value() : env.Null();
    cb.Call({err, Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n)), Napi::Number::New(env, prio)});
  };
  ssize_t n = TryMq(receiving, q, b.data, b.length, &prio);
  if (n >= 0 || errno != EAGAIN) {
    report(env, fn, n, prio);
    return Napi::Number::New(env, 0);
  }
  auto callback = std::make_shared<Napi::FunctionReference>(Napi::Persistent(fn));
  auto buffer = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[1].As<Napi::Object>()));
  size_t offset = size_t(b.data - info[1].As<Napi::Uint8Array>().Data());
  size_t length = b.length;
  // The deferred call uses the descriptor the reactor watched (its own duplicate), never a number that may
  // have been closed and reused meanwhile.
  uint64_t id = ReactorWatchFd(
      env, q, receiving ? EPOLLIN : EPOLLOUT,
      [receiving, callback, buffer, offset, length, prio, report](Napi::Env env, uint32_t, int watched) mutable {
        Napi::Uint8Array v = buffer->Value().As<Napi::Uint8Array>();
        if (v.ArrayBuffer().IsDetached() || offset + length > v.ByteLength()) {
          callback->Value().Call({CodedError(env, "ERR_INVALID_STATE", "the buffer was detached").Value(),
                                  Napi::Number::New(env, 0), Napi::Number::New(env, 0)});
          return;
        }
        ssize_t n = TryMq(receiving, watched, NonNull(v.Data()) + offset, length, &prio);
        if (n < 0 && errno == EAGAIN) {
          callback->Value().Call({env.Null(), Napi::Number::New(env, -1), Napi::Number::New(env, 0)});
          return;
        }
        report(env, callback->Value(), n, prio);
      });
  return Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value MqSendAsync(const Napi::CallbackInfo& info) { return MqAsync(info, false); }
Napi::Value MqReceiveAsync(const Napi::CallbackInfo& info) { return MqAsync(info, true); }

// mqPingPongBench(receiveMqd, sendMqd, iterations, initiator) -> elapsed ns. One side of a ping-pong of
// 1-byte messages run entirely in C (the benchmark's native baseline). The initiator sends first.
Napi::Value MqPingPongBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  mqd_t in = static_cast<mqd_t>(ArgInteger(info, 0, "receiveMqd", 0, kFdMax));
  mqd_t out = static_cast<mqd_t>(ArgInteger(info, 1, "sendMqd", 0, kFdMax));
  int64_t iterations = ArgInteger(info, 2, "iterations", 0, int64_t(1) << 40);
  bool initiator = ArgBool(info, 3, "initiator");
  struct mq_attr attr{};
  if (mq_getattr(in, &attr) != 0) ThrowErrno(env, errno, "mq_getattr");
  std::unique_ptr<char[]> buf(new char[size_t(attr.mq_msgsize)]);
  char byte = 'x';
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < iterations; i++) {
    ssize_t n;
    int rc;
    if (initiator) {
      MP_RETRY_EINTR(rc, mq_send(out, &byte, 1, 0));
      if (rc != 0) ThrowErrno(env, errno, "mq_send");
    }
    MP_RETRY_EINTR(n, mq_receive(in, buf.get(), size_t(attr.mq_msgsize), nullptr));
    if (n < 0) ThrowErrno(env, errno, "mq_receive");
    if (!initiator) {
      MP_RETRY_EINTR(rc, mq_send(out, &byte, 1, 0));
      if (rc != 0) ThrowErrno(env, errno, "mq_send");
    }
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// MQ_PRIO_MAX as this system says (sysconf), or the POSIX minimum we assume otherwise.
double MqPrioMax() {
  long prioMax = sysconf(_SC_MQ_PRIO_MAX);
  return prioMax > 0 ? double(prioMax) : double(kPrioMax + 1);
}

}  // namespace

void InitMqueue(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"mqOpen", MqOpen},
      {"mqUnlink", MqUnlink},
      {"mqClose", MqClose},
      {"mqGetattr", MqGetattr},
      {"mqSetNonBlocking", MqSetNonBlocking},
      {"mqSend", MqSend},
      {"mqTimedSend", MqTimedSend},
      {"mqReceive", MqReceive},
      {"mqTimedReceive", MqTimedReceive},
      {"mqSendAsync", MqSendAsync},
      {"mqReceiveAsync", MqReceiveAsync},
      {"mqPingPongBench", MqPingPongBench},
  });
  exports.Set("mqConstants", NumbersObject(env, {
      MP_CONSTANT(O_RDONLY),
      MP_CONSTANT(O_WRONLY),
      MP_CONSTANT(O_RDWR),
      MP_CONSTANT(O_CREAT),
      MP_CONSTANT(O_EXCL),
      MP_CONSTANT(O_NONBLOCK),
      {"MQ_PRIO_MAX", MqPrioMax()},
      MP_CONSTANT(NAME_MAX),
  }));
}

}  // namespace mp

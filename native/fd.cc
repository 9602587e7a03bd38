// The fd family: pipe2, socketpair, mkfifo, read/write (sync, and async on readiness), close, dup/dup2,
// O_NONBLOCK, pipe capacity. Async I/O never holds a libuv threadpool thread: it first tries the call with
// RWF_NOWAIT and, on EAGAIN, waits for readiness in the reactor (native/reactor.cc).
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <memory>

#include "addon.h"
#include "errors.h"
#include "reactor.h"

namespace mp {

namespace {

constexpr int64_t kFdMax = 1 << 30;

int ArgFd(const Napi::CallbackInfo& info, size_t i, const char* name = "fd") {
  return static_cast<int>(ArgInteger(info, i, name, 0, kFdMax));
}

// The byte range [offset, offset + length) of the Uint8Array argument `i`, checked against its length.
Bytes ArgRange(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Bytes b = ArgBytes(info, i, name);
  int64_t offset = ArgIntegerOr(info, i + 1, "offset", 0, static_cast<int64_t>(b.length), 0);
  int64_t length = ArgIntegerOr(info, i + 2, "length", 0, static_cast<int64_t>(b.length) - offset,
                                static_cast<int64_t>(b.length) - offset);
  return Bytes{b.data + offset, static_cast<size_t>(length)};
}

Napi::Value Pair(Napi::Env env, int a, int b) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, a));
  out.Set(1u, Napi::Number::New(env, b));
  return out;
}

// pipe(flags) -> [readFd, writeFd]; O_CLOEXEC is always added.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int flags = static_cast<int>(ArgIntegerOr(info, 0, "flags", 0, O_NONBLOCK | O_DIRECT, 0));
  if ((flags & ~(O_NONBLOCK | O_DIRECT)) != 0) ThrowRangeError(info.Env(), "pipe flags may be O_NONBLOCK and O_DIRECT");
  int fds[2];
  if (pipe2(fds, flags | O_CLOEXEC) != 0) ThrowErrno(info.Env(), errno, "pipe2");
  return Pair(info.Env(), fds[0], fds[1]);
}

// socketpair(type) -> [fd, fd]; AF_UNIX, type SOCK_STREAM (default), SOCK_DGRAM or SOCK_SEQPACKET; CLOEXEC.
Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int type = static_cast<int>(ArgIntegerOr(info, 0, "type", 0, 16, SOCK_STREAM));
  bool nonblock = ArgBoolOr(info, 1, "nonBlocking", false);
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
    ThrowRangeError(info.Env(), "socketpair type must be SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET");
  }
  int fds[2];
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0, fds) != 0) {
    ThrowErrno(info.Env(), errno, "socketpair");
  }
  return Pair(info.Env(), fds[0], fds[1]);
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  std::string path = ArgString(info, 0, "path");
  mode_t mode = static_cast<mode_t>(ArgInteger(info, 1, "mode", 0, 07777));
  if (mkfifo(path.c_str(), mode) != 0) ThrowErrno(info.Env(), errno, "mkfifo");
  return info.Env().Undefined();
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  std::string path = ArgString(info, 0, "path");
  int flags = static_cast<int>(ArgInteger(info, 1, "flags", 0, 0x7fffffff));
  mode_t mode = static_cast<mode_t>(ArgIntegerOr(info, 2, "mode", 0, 07777, 0600));
  int fd;
  MP_RETRY_EINTR(fd, open(path.c_str(), flags | O_CLOEXEC, mode));
  if (fd < 0) ThrowErrno(info.Env(), errno, "open");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int fd = ArgFd(info, 0);
  // Never retry close on EINTR (Linux has released the fd already).
  if (close(fd) != 0 && errno != EINTR) ThrowErrno(info.Env(), errno, "close");
  return info.Env().Undefined();
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  Bytes b = ArgRange(info, 1, "buffer");
  ssize_t n;
  MP_RETRY_EINTR(n, read(fd, b.data, b.length));
  if (n < 0) ThrowErrno(info.Env(), errno, "read");
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  Bytes b = ArgRange(info, 1, "buffer");
  ssize_t n;
  MP_RETRY_EINTR(n, write(fd, b.data, b.length));
  if (n < 0) ThrowErrno(info.Env(), errno, "write");
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// writeAllSync(fd, buffer): writes every byte, waiting with poll() when a non-blocking fd is full.
Napi::Value WriteAllSync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  Bytes b = ArgRange(info, 1, "buffer");
  size_t done = 0;
  while (done < b.length) {
    ssize_t n = write(fd, b.data + done, b.length - done);
    if (n >= 0) {
      done += size_t(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      int rc;
      MP_RETRY_EINTR(rc, poll(&p, 1, -1));
      continue;
    }
    ThrowErrno(info.Env(), errno, "write");
  }
  return Napi::Number::New(info.Env(), static_cast<double>(done));
}

// One attempt that never blocks, whatever the fd's O_NONBLOCK flag. Returns -1 with errno on failure.
ssize_t TryIo(bool reading, int fd, uint8_t* data, size_t length) {
  iovec v{data, length};
  ssize_t n;
  MP_RETRY_EINTR(n, reading ? preadv2(fd, &v, 1, -1, RWF_NOWAIT) : pwritev2(fd, &v, 1, -1, RWF_NOWAIT));
  if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL)) {
    // Not a pipe or socket (a tty, a regular file): ask poll, then do the plain call.
    pollfd p{fd, short(reading ? POLLIN : POLLOUT), 0};
    int rc;
    MP_RETRY_EINTR(rc, poll(&p, 1, 0));
    if (rc == 0) {
      errno = EAGAIN;
      return -1;
    }
    MP_RETRY_EINTR(n, reading ? read(fd, data, length) : write(fd, data, length));
  }
  return n;
}

// readAsync/writeAsync(fd, buffer, offset, length, callback(err, n)) -> watch id (0 when done at once).
// The buffer is kept alive by a reference until the callback runs.
Napi::Value IoAsync(const Napi::CallbackInfo& info, bool reading) {
  RequireArgs(info, 5);
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  Bytes b = ArgRange(info, 1, "buffer");
  Napi::Function fn = ArgFunction(info, 4, "callback");
  const char* syscall = reading ? "read" : "write";

  ssize_t n = TryIo(reading, fd, b.data, b.length);
  if (n >= 0 || errno != EAGAIN) {
    Napi::Value err = n < 0 ? ErrnoError(env, errno, syscall).Value() : env.Null();
    fn.Call({err, Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n))});
    return Napi::Number::New(env, 0);
  }
  auto callback = std::make_shared<Napi::FunctionReference>(Napi::Persistent(fn));
  auto buffer = std::make_shared<Napi::ObjectReference>(Napi::Persistent(info[1].As<Napi::Object>()));
  Napi::Uint8Array view = info[1].As<Napi::Uint8Array>();
  size_t offset = size_t(b.data - view.Data());
  size_t length = b.length;
  uint64_t id = ReactorWatch(
      env, fd, reading ? EPOLLIN : EPOLLOUT,
      [reading, fd, callback, buffer, offset, length, syscall](Napi::Env env, uint32_t) {
        Napi::Uint8Array v = buffer->Value().As<Napi::Uint8Array>();
        if (v.ArrayBuffer().IsDetached() || offset + length > v.ByteLength()) {
          callback->Value().Call({CodedError(env, "ERR_INVALID_STATE", "the buffer was detached").Value(),
                                  Napi::Number::New(env, 0)});
          return;
        }
        ssize_t n = TryIo(reading, fd, v.Data() + offset, length);
        if (n < 0 && errno == EAGAIN) {
          // Spurious readiness (another reader was first): wait again.
          n = 0;
          callback->Value().Call({env.Null(), Napi::Number::New(env, -1)});
          return;
        }
        Napi::Value err = n < 0 ? ErrnoError(env, errno, syscall).Value() : env.Null();
        callback->Value().Call({err, Napi::Number::New(env, n < 0 ? 0 : static_cast<double>(n))});
      });
  return Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value ReadAsync(const Napi::CallbackInfo& info) { return IoAsync(info, true); }
Napi::Value WriteAsync(const Napi::CallbackInfo& info) { return IoAsync(info, false); }

Napi::Value Dup(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int fd = fcntl(ArgFd(info, 0), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(info.Env(), errno, "dup");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Dup2(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int from = ArgFd(info, 0, "from"), to = ArgFd(info, 1, "to");
  int rc;
  MP_RETRY_EINTR(rc, dup2(from, to));
  if (rc < 0) ThrowErrno(info.Env(), errno, "dup2");
  return info.Env().Undefined();
}

Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  bool on = ArgBool(info, 1, "on");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(info.Env(), errno, "fcntl");
  if (fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) != 0) {
    ThrowErrno(info.Env(), errno, "fcntl");
  }
  return info.Env().Undefined();
}

Napi::Value GetFlags(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int fd = ArgFd(info, 0);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) ThrowErrno(info.Env(), errno, "fcntl");
  int fdfl = fcntl(fd, F_GETFD);
  if (fdfl < 0) ThrowErrno(info.Env(), errno, "fcntl");
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("nonBlocking", Napi::Boolean::New(info.Env(), (fl & O_NONBLOCK) != 0));
  o.Set("cloexec", Napi::Boolean::New(info.Env(), (fdfl & FD_CLOEXEC) != 0));
  o.Set("accessMode", Napi::Number::New(info.Env(), fl & O_ACCMODE));
  return o;
}

Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  bool on = ArgBool(info, 1, "on");
  if (fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) != 0) ThrowErrno(info.Env(), errno, "fcntl");
  return info.Env().Undefined();
}

Napi::Value SetPipeSize(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = ArgFd(info, 0);
  int size = static_cast<int>(ArgInteger(info, 1, "size", 1, 1 << 30));
  int rc = fcntl(fd, F_SETPIPE_SZ, size);
  if (rc < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), rc);
}

Napi::Value GetPipeSize(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int rc = fcntl(ArgFd(info, 0), F_GETPIPE_SZ);
  if (rc < 0) ThrowErrno(info.Env(), errno, "fcntl");
  return Napi::Number::New(info.Env(), rc);
}

// poll(fd, events, timeoutMs) -> revents (0 on timeout). Blocking, like C.
Napi::Value PollFd(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  int fd = ArgFd(info, 0);
  short events = static_cast<short>(ArgInteger(info, 1, "events", 0, 0xffff));
  int timeout = static_cast<int>(ArgInteger(info, 2, "timeout", -1, 0x7fffffff));
  pollfd p{fd, events, 0};
  int rc = poll(&p, 1, timeout);  // EINTR surfaces: the caller recomputes its remaining time
  if (rc < 0) ThrowErrno(info.Env(), errno, "poll");
  return Napi::Number::New(info.Env(), rc == 0 ? 0 : p.revents);
}

Napi::Object FdConstants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  auto set = [&](const char* k, int v) { c.Set(k, Napi::Number::New(env, v)); };
  set("O_RDONLY", O_RDONLY);
  set("O_WRONLY", O_WRONLY);
  set("O_RDWR", O_RDWR);
  set("O_NONBLOCK", O_NONBLOCK);
  set("O_DIRECT", O_DIRECT);
  set("O_CREAT", O_CREAT);
  set("O_EXCL", O_EXCL);
  set("O_TRUNC", O_TRUNC);
  set("O_APPEND", O_APPEND);
  set("SOCK_STREAM", SOCK_STREAM);
  set("SOCK_DGRAM", SOCK_DGRAM);
  set("SOCK_SEQPACKET", SOCK_SEQPACKET);
  set("POLLIN", POLLIN);
  set("POLLOUT", POLLOUT);
  set("POLLERR", POLLERR);
  set("POLLHUP", POLLHUP);
  set("POLLNVAL", POLLNVAL);
  return c;
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Function::Callback cb) {
    exports.Set(name, Napi::Function::New(env, cb, name));
  };
  fn("pipe", Pipe);
  fn("socketpair", Socketpair);
  fn("mkfifo", Mkfifo);
  fn("open", Open);
  fn("close", Close);
  fn("read", Read);
  fn("write", Write);
  fn("writeAllSync", WriteAllSync);
  fn("readAsync", ReadAsync);
  fn("writeAsync", WriteAsync);
  fn("dup", Dup);
  fn("dup2", Dup2);
  fn("setNonBlocking", SetNonBlocking);
  fn("getFlags", GetFlags);
  fn("setCloexec", SetCloexec);
  fn("setPipeSize", SetPipeSize);
  fn("getPipeSize", GetPipeSize);
  fn("poll", PollFd);
  exports.Set("fdConstants", FdConstants(env));
}

}  // namespace mp

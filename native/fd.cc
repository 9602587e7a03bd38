// The fd family: pipe2, socketpair, mkfifo, read/write (sync, and async on readiness), close, dup/dup2,
// O_NONBLOCK, pipe capacity, fd passing over Unix sockets (SCM_RIGHTS), and the native side of the pipe
// ping-pong benchmark. Async I/O never holds a libuv threadpool thread: it first tries the call with
// RWF_NOWAIT (or MSG_DONTWAIT) and, on EAGAIN, waits for readiness in the reactor (native/reactor.cc).
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <time.h>

#include <cstring>
#include <memory>
#include <vector>

#include "addon.h"
#include "async/reactor.h"
#include "core/errors.h"
#include "core/time.h"

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

// fd and byte range of read/write(fd, buffer, offset?, length?), the quick way when possible.
void FdAndRange(const Napi::CallbackInfo& info, int* fd, Bytes* bytes) {
  if (QuickFdAndRange(info, fd, bytes)) return;
  RequireArgs(info, 2);
  *fd = ArgFd(info, 0);
  *bytes = ArgRange(info, 1, "buffer");
}

// read/write(fd, buffer, offset?, length?) -> bytes moved; EINTR retried.
Napi::Value Io(const Napi::CallbackInfo& info, bool reading) {
  int fd;
  Bytes b;
  FdAndRange(info, &fd, &b);
  ssize_t n;
  MP_RETRY_EINTR(n, reading ? read(fd, b.data, b.length) : write(fd, b.data, b.length));
  return NumberOrErrno(info.Env(), n, reading ? "read" : "write");
}
Napi::Value Read(const Napi::CallbackInfo& info) { return Io(info, true); }
Napi::Value Write(const Napi::CallbackInfo& info) { return Io(info, false); }

// writeAllSync(fd, buffer): writes every byte, waiting with poll() when a non-blocking fd is full.
Napi::Value WriteAllSync(const Napi::CallbackInfo& info) {
  int fd;
  Bytes b;
  FdAndRange(info, &fd, &b);
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
  // The deferred I/O uses the fd the reactor watched (its own duplicate): the caller's fd number may have
  // been closed, and reused for another file, by the time readiness arrives.
  uint64_t id = ReactorWatchFd(
      env, fd, reading ? EPOLLIN : EPOLLOUT,
      [reading, callback, buffer, offset, length, syscall](Napi::Env env, uint32_t, int watched) {
        Napi::Uint8Array v = buffer->Value().As<Napi::Uint8Array>();
        if (v.ArrayBuffer().IsDetached() || offset + length > v.ByteLength()) {
          callback->Value().Call({CodedError(env, "ERR_INVALID_STATE", "the buffer was detached").Value(),
                                  Napi::Number::New(env, 0)});
          return;
        }
        ssize_t n = TryIo(reading, watched, NonNull(v.Data()) + offset, length);
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

// ---- SCM_RIGHTS: passing fds over a Unix socket (unix(7), cmsg(3)) ----

constexpr int kScmMaxFd = 253;  // SCM_MAX_FD: the most fds one message may carry

// sendFds(sock, fds, data?) -> bytes sent. sendmsg(2) of `data` with the fds as SCM_RIGHTS ancillary data,
// MSG_NOSIGNAL. A stream socket carries ancillary data only with payload, so without data (or with an empty
// one) a single zero byte is sent.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  Napi::Env env = info.Env();
  int sock = ArgFd(info, 0, "sock");
  Napi::Array list = ArgArray(info, 1, "fds", kScmMaxFd);
  // The length is read once: an array whose element getters grow it must not make us write past the vector.
  uint32_t count = list.Length();
  std::vector<int> fds(count);
  for (uint32_t i = 0; i < count; i++) fds[i] = int(ElementInteger(env, list, i, "fds", 0, kFdMax));
  static uint8_t zero = 0;
  Bytes data{&zero, 1};
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    Bytes given = ArgBytes(info, 2, "data");
    if (given.length > 0) data = given;
  }
  iovec iov{data.data, data.length};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  MP_RETRY_EINTR(n, sendmsg(sock, &msg, MSG_NOSIGNAL));
  if (n < 0) ThrowErrno(env, errno, "sendmsg");
  return Napi::Number::New(env, static_cast<double>(n));
}

struct Received {
  ssize_t n = -1;  // bytes, or -1 with `err`
  int err = 0;
  int flags = 0;   // msg_flags
  std::vector<int> fds;
};

// One recvmsg(2) with MSG_CMSG_CLOEXEC (received fds are close-on-exec). Collects every SCM_RIGHTS fd.
Received RecvOnce(int sock, uint8_t* data, size_t length, int maxFds, int flags) {
  Received r;
  iovec iov{data, length};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * size_t(maxFds)));
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  MP_RETRY_EINTR(r.n, recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC));
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  r.flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* p = CMSG_DATA(c);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, p + i * sizeof(int), sizeof fd);
      r.fds.push_back(fd);
    }
  }
  return r;
}

// Failed, or truncated. The control buffer is rounded up to 8 bytes, so one more fd than maxFds may fit
// without MSG_CTRUNC: more than maxFds is treated as truncation too.
bool RecvFailed(const Received& r, int maxFds) {
  return r.n < 0 || (r.flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || r.fds.size() > size_t(maxFds);
}

// The error of a failed receive. When the kernel had to truncate — more fds than maxFds (MSG_CTRUNC: it
// closed the extra ones) or a datagram/seqpacket message longer than maxBytes (MSG_TRUNC: its tail is
// lost) — every fd that did arrive is closed first.
Napi::Error RecvError(Napi::Env env, const Received& r, int maxFds, size_t maxBytes) {
  if (r.n < 0) return ErrnoError(env, r.err, "recvmsg");
  for (int fd : r.fds) close(fd);
  std::string what;
  if ((r.flags & MSG_CTRUNC) != 0 || r.fds.size() > size_t(maxFds)) {
    what = "more file descriptors than maxFds (" + std::to_string(maxFds) + ") arrived (MSG_CTRUNC)";
  }
  if ((r.flags & MSG_TRUNC) != 0) {
    if (!what.empty()) what += " and ";
    what += "the message was longer than maxBytes (" + std::to_string(maxBytes) + ") (MSG_TRUNC: its tail is lost)";
  }
  return CodedError(env, "ERR_MULTIPROC_TRUNCATED",
                    "recvmsg: " + what + "; the " + std::to_string(r.fds.size()) +
                        " file descriptor(s) that arrived were closed");
}

// { fds, data } of a successful receive.
Napi::Object RecvObject(Napi::Env env, const Received& r, const uint8_t* data) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array fds = Napi::Array::New(env, r.fds.size());
  for (uint32_t i = 0; i < r.fds.size(); i++) fds.Set(i, Napi::Number::New(env, r.fds[i]));
  Napi::Uint8Array bytes = Napi::Uint8Array::New(env, size_t(r.n));
  if (r.n > 0) memcpy(bytes.Data(), data, size_t(r.n));
  o.Set("fds", fds);
  o.Set("data", bytes);
  return o;
}

constexpr int64_t kMaxRecvBytes = int64_t(1) << 26;

// The (sock, maxFds = 16, maxBytes = 4096) arguments of recvFds and recvFdsAsync.
struct RecvArgs {
  int sock;
  int maxFds;
  size_t maxBytes;
};
RecvArgs ArgRecv(const Napi::CallbackInfo& info) {
  return {ArgFd(info, 0, "sock"), int(ArgIntegerOr(info, 1, "maxFds", 1, kScmMaxFd, 16)),
          size_t(ArgIntegerOr(info, 2, "maxBytes", 1, kMaxRecvBytes, 4096))};
}

// recvFds(sock, maxFds = 16, maxBytes = 4096) -> { fds, data }. Blocks unless the socket is non-blocking.
// At end of stream: no fds and empty data.
Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  const RecvArgs a = ArgRecv(info);
  std::vector<uint8_t> buf(a.maxBytes);
  Received r = RecvOnce(a.sock, buf.data(), buf.size(), a.maxFds, 0);
  if (RecvFailed(r, a.maxFds)) throw RecvError(env, r, a.maxFds, a.maxBytes);
  return RecvObject(env, r, buf.data());
}

// recvFdsAsync(sock, maxFds, maxBytes, callback(err, result)) -> watch id (0 when done at once). The
// receive is tried with MSG_DONTWAIT, then waits for EPOLLIN in the reactor. result undefined (with no
// error) means another reader was first: the caller starts again.
Napi::Value RecvFdsAsync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  const RecvArgs a = ArgRecv(info);
  Napi::Function fn = ArgFunction(info, 3, "callback");
  auto attempt = [a](Napi::Env env, int s, const Napi::Function& cb) -> bool {
    std::vector<uint8_t> buf(a.maxBytes);
    Received r = RecvOnce(s, buf.data(), buf.size(), a.maxFds, MSG_DONTWAIT);
    if (r.n < 0 && (r.err == EAGAIN || r.err == EWOULDBLOCK)) return false;
    if (RecvFailed(r, a.maxFds)) {
      cb.Call({RecvError(env, r, a.maxFds, a.maxBytes).Value(), env.Undefined()});
    } else {
      cb.Call({env.Null(), RecvObject(env, r, buf.data())});
    }
    return true;
  };
  if (attempt(env, a.sock, fn)) return Napi::Number::New(env, 0);
  auto callback = std::make_shared<Napi::FunctionReference>(Napi::Persistent(fn));
  uint64_t id = ReactorWatchFd(env, a.sock, EPOLLIN, [attempt, callback](Napi::Env env, uint32_t, int watched) {
    if (!attempt(env, watched, callback->Value())) callback->Value().Call({env.Null(), env.Undefined()});
  });
  return Napi::Number::New(env, static_cast<double>(id));
}

// waitReady(fd, writable, callback(null, events)) -> watch id: calls back once `fd` is readable (or writable), with
// the epoll events (EPOLLHUP/EPOLLERR included), from the reactor; cancelWait(id) drops it. No I/O is done: the
// caller reads or writes itself (a message layer that must not cut a frame in half waits for readiness
// first and then reads whole frames).
Napi::Value WaitReady(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  Napi::Env env = info.Env();
  int fd = ArgFd(info, 0);
  bool writable = ArgBool(info, 1, "writable");
  Napi::Function fn = ArgFunction(info, 2, "callback");
  auto callback = std::make_shared<Napi::FunctionReference>(Napi::Persistent(fn));
  uint64_t id = ReactorWatch(env, fd, writable ? EPOLLOUT : EPOLLIN, [callback](Napi::Env env, uint32_t events) {
    callback->Value().Call({env.Null(), Napi::Number::New(env, events)});
  });
  return Napi::Number::New(env, static_cast<double>(id));
}


// pingPongBench(readFd, writeFd, iterations, initiator) -> elapsed ns. One side of a 1-byte ping-pong run
// entirely in C with blocking read(2)/write(2): the native baseline of the pipe/socket benchmark. The
// initiator writes first; the other side answers each byte it reads.
Napi::Value PingPongBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 4);
  Napi::Env env = info.Env();
  int in = ArgFd(info, 0, "readFd");
  int out = ArgFd(info, 1, "writeFd");
  int64_t iterations = ArgInteger(info, 2, "iterations", 0, int64_t(1) << 40);
  bool initiator = ArgBool(info, 3, "initiator");
  char byte = 'x';
  int64_t t0 = NowNs();
  for (int64_t i = 0; i < iterations; i++) {
    ssize_t n;
    if (initiator) {
      MP_RETRY_EINTR(n, write(out, &byte, 1));
      if (n < 0) ThrowErrno(env, errno, "write");
    }
    MP_RETRY_EINTR(n, read(in, &byte, 1));
    if (n < 0) ThrowErrno(env, errno, "read");
    if (n == 0) throw CodedError(env, "ERR_MULTIPROC_EOF", "pingPongBench: the other side closed its end");
    if (!initiator) {
      MP_RETRY_EINTR(n, write(out, &byte, 1));
      if (n < 0) ThrowErrno(env, errno, "write");
    }
  }
  return Napi::Number::New(env, static_cast<double>(NowNs() - t0));
}

// unixConnect(path) -> fd: socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) + connect(2) to the socket at `path`
// (unix(7)), blocking. Gives a synchronous client (Manager's ...Sync calls) a connected fd without the event
// loop. A connect that blocks (the listener's backlog is full) and is interrupted by a signal whose handler lacks
// SA_RESTART (Node's SIGUSR1 inspector handler) fails with EINTR and, unlike TCP, does not go on in the
// background: the socket is left unconnected (poll would say POLLOUT|POLLHUP and SO_ERROR 0), so connect again.
Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  std::string path = ArgString(info, 0, "path", sizeof addr.sun_path - 1);
  if (path.empty()) ThrowRangeError(info.Env(), "unixConnect path must not be empty");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(info.Env(), errno, "socket");
  int rc;
  MP_RETRY_EINTR(rc, connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr));
  if (rc != 0) {
    int err = errno;
    close(fd);
    ThrowErrno(info.Env(), err, "connect");
  }
  return Napi::Number::New(info.Env(), fd);
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"pipe", Pipe},
      {"socketpair", Socketpair},
      {"mkfifo", Mkfifo},
      {"open", Open},
      {"close", Close},
      {"read", Read},
      {"write", Write},
      {"writeAllSync", WriteAllSync},
      {"readAsync", ReadAsync},
      {"writeAsync", WriteAsync},
      {"dup", Dup},
      {"dup2", Dup2},
      {"setNonBlocking", SetNonBlocking},
      {"getFlags", GetFlags},
      {"setCloexec", SetCloexec},
      {"setPipeSize", SetPipeSize},
      {"getPipeSize", GetPipeSize},
      {"poll", PollFd},
      {"sendFds", SendFds},
      {"recvFds", RecvFds},
      {"recvFdsAsync", RecvFdsAsync},
      {"waitReady", WaitReady},
      {"pingPongBench", PingPongBench},
      {"unixConnect", UnixConnect},
  });
  exports.Set("fdConstants", NumbersObject(env, {
      MP_CONSTANT(O_RDONLY),
      MP_CONSTANT(O_WRONLY),
      MP_CONSTANT(O_RDWR),
      MP_CONSTANT(O_NONBLOCK),
      MP_CONSTANT(O_DIRECT),
      MP_CONSTANT(O_CREAT),
      MP_CONSTANT(O_EXCL),
      MP_CONSTANT(O_TRUNC),
      MP_CONSTANT(O_APPEND),
      MP_CONSTANT(SOCK_STREAM),
      MP_CONSTANT(SOCK_DGRAM),
      MP_CONSTANT(SOCK_SEQPACKET),
      MP_CONSTANT(POLLIN),
      MP_CONSTANT(POLLOUT),
      MP_CONSTANT(POLLERR),
      MP_CONSTANT(POLLHUP),
      MP_CONSTANT(POLLNVAL),
      {"SCM_MAX_FD", static_cast<double>(kScmMaxFd)},
  }));
}

}  // namespace mp

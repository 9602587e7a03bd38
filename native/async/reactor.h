// The addon's readiness reactor: one epoll thread per Node environment that turns "this fd became readable /
// writable" into a callback on the JS thread (through a thread-safe function). Async waits (waitpidAsync on a
// pidfd, readAsync/writeAsync on pipes and sockets) park nothing in libuv's threadpool: 1,000 pending waits
// cost 1,000 epoll registrations and one thread.
//
// Fork: the reactor thread does not exist in a forked child. A pthread_atfork handler holds the reactor lock
// across fork(), and the child abandons the parent's reactor (its registrations are the parent's pending
// waits) and starts a fresh one on first use.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>

namespace mp {

class Reactor;

// Called on the JS thread with the epoll events that fired (EPOLLIN, EPOLLHUP, ...).
using ReadyCallback = std::function<void(Napi::Env env, uint32_t events)>;
// The same, also given the fd that was watched (the reactor's duplicate, or the adopted fd), still open
// during the call: do the I/O on it, not on the caller's fd number, which may have been closed and reused.
using ReadyFdCallback = std::function<void(Napi::Env env, uint32_t events, int fd)>;

// The reactor of this environment (created on first use, and again in a forked child).
Reactor* GetReactor(Napi::Env env);

// Watches `fd` once for `events` (EPOLLIN/EPOLLOUT). Returns an id (from the environment's one counter of async
// waits, AddonData::NextWaitId) for ReactorCancel. With `adopt` the
// reactor owns `fd` and closes it when the watch ends; otherwise it registers a private duplicate, so the
// same fd may be watched twice and closing the caller's fd early cannot confuse epoll.
uint64_t ReactorWatch(Napi::Env env, int fd, uint32_t events, ReadyCallback callback, bool adopt = false);
uint64_t ReactorWatchFd(Napi::Env env, int fd, uint32_t events, ReadyFdCallback callback, bool adopt = false);
// Drops a pending watch without calling its callback. False if it already fired (or never existed).
bool ReactorCancel(Napi::Env env, uint64_t id);
// Number of pending watches (for tests and leak checks).
size_t ReactorPending(Napi::Env env);
// Stops the reactor's thread and closes its fds (when the environment goes).
void DestroyReactor(Reactor* r);

}  // namespace mp

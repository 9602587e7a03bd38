// fork() made safe for a running Node process: the fork itself, the child's repair, and how the child ends.
// (What it relies on is listed in internals.h; quiescing in quiesce.cc; the child's worker pool in
// child_platform.cc.)
//
//  1. Quiesce the V8 platform (quiesce.cc), re-mark the heap MADV_DOFORK, fork with every signal blocked.
//  2. Repair the child: its own worker pool (child_platform.cc), uv_loop_fork() on the default loop (new epoll
//     and signal/async fds), then make the parent's I/O handles inert: each inherited stream/udp/poll fd above 2
//     is replaced (dup2) by the read end of a pipe that never becomes ready, and the handle is unref'ed, so the
//     child never accepts, reads or writes on the parent's sockets and drops its reference to them. Inherited
//     fs watchers are stopped, process and async handles unref'ed.
//  3. Leave by _exit. node::SetProcessExitHandler routes process.exit() and fatal exceptions to _exit (Node's
//     teardown joins platform threads the child does not have). A uv_prepare handle notices when the child's
//     loop has nothing left to do and calls back into JS ('beforeExit', then 'exit', then _exit), because a
//     natural end of Node's loop would block forever in NodePlatform::DrainTasks.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "internals.h"

namespace mpfork {

using v8::Context;
using v8::Exception;
using v8::Function;
using v8::FunctionCallbackInfo;
using v8::HandleScope;
using v8::Isolate;
using v8::Local;
using v8::Number;
using v8::Object;
using v8::String;
using v8::Value;

// ---- errors (the same shapes as native/core/errors.h, in V8 terms) ----

Local<String> Str(Isolate* isolate, const std::string& s) {
  return String::NewFromUtf8(isolate, s.c_str()).ToLocalChecked();
}

void ThrowCoded(Isolate* isolate, Local<Value> error, const std::string& code) {
  Local<Context> context = isolate->GetCurrentContext();
  error.As<Object>()->Set(context, Str(isolate, "code"), Str(isolate, code)).Check();
  isolate->ThrowException(error);
}

void ThrowErrno(Isolate* isolate, int err, const char* syscall) {
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "E" + std::to_string(err);
  char buf[256];
  std::string msg = std::string(syscall) + " " + code + ": " + strerror_r(err, buf, sizeof buf);
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> error = Exception::Error(Str(isolate, msg)).As<Object>();
  error->Set(context, Str(isolate, "errno"), Number::New(isolate, err)).Check();
  error->Set(context, Str(isolate, "syscall"), Str(isolate, syscall)).Check();
  ThrowCoded(isolate, error, code);
}

struct Stats {
  double workers = 0, quiesceNs = 0, remarkNs = 0, forkNs = 0, remarked = 0, forks = 0;
} stats;

// Where a child's time goes, for forkStats() and the benchmarks: CLOCK_MONOTONIC stamps written by the last
// child into one shared page that every later child inherits (the parent reads them once the child ended).
enum Mark { kForkCall, kChildStart, kChildPool, kChildLoop, kChildWalk, kRepairStart, kRepairEnd, kExit, kMarks };
std::atomic<uint64_t>* marks = nullptr;

void Stamp(int mark) {
  if (marks != nullptr) marks[mark].store(NowNs(), std::memory_order_relaxed);
}

// The context fork() was called in: every later call into JS from a child's native callbacks enters it.
v8::Global<Context> mainContext;

// ---- repairing the child's loop ----

int deadPipe[2] = {-1, -1};  // the child's "never ready" fd (read end) and its writer, kept open

void Neutralize(uv_handle_t* handle, void*) {
  if (uv_is_closing(handle)) return;
  uv_os_fd_t fd = -1;
  switch (handle->type) {
    case UV_TCP:
    case UV_NAMED_PIPE:
    case UV_TTY:
    case UV_UDP:
    case UV_POLL:
      if (uv_fileno(handle, &fd) == 0 && fd > 2) {
        dup2(deadPipe[0], fd);  // keeps the fd number valid for libuv, drops our reference to the socket
      } else if (fd == 0 && handle->type != UV_UDP && handle->type != UV_POLL) {
        uv_read_stop(reinterpret_cast<uv_stream_t*>(handle));  // do not compete for the parent's stdin
      }
      uv_unref(handle);
      break;
    case UV_FS_EVENT:
      uv_fs_event_stop(reinterpret_cast<uv_fs_event_t*>(handle));
      uv_unref(handle);
      break;
    case UV_FS_POLL:
      uv_fs_poll_stop(reinterpret_cast<uv_fs_poll_t*>(handle));
      uv_unref(handle);
      break;
    case UV_PROCESS:  // the parent's children are not ours to wait for
    case UV_ASYNC:    // cross-thread wake-ups (worker MessagePorts...) from threads the child does not have
      uv_unref(handle);
      break;
    default:  // timers, check/idle/prepare and signals are Node's own machinery; JS disarms what it owns
      break;
  }
}

// ---- ending the child ----

struct DryWatch {
  uv_prepare_t prepare;
  Isolate* isolate = nullptr;
  v8::Global<Function> onDry;
  unsigned int deadReqs = 0;  // requests inherited from the parent: their threadpool work is gone
  bool inside = false;
};
DryWatch* dry = nullptr;

// internals.h #4: the same fields uv_loop_alive() reads, minus our own prepare handle and the dead requests.
bool LoopDry(uv_loop_t* loop) {
  if (loop->active_handles > 1) return false;  // more than our own prepare handle
  if (loop->active_reqs.count < dry->deadReqs) dry->deadReqs = loop->active_reqs.count;
  if (loop->active_reqs.count > dry->deadReqs) return false;
  if (loop->closing_handles != nullptr) return false;
  return true;
}

// Calls a JS function as Node calls callbacks from the event loop (ticks and microtasks drained after it, an
// exception reported to 'uncaughtException').
v8::MaybeLocal<Value> CallFromLoop(Isolate* isolate, Local<Function> fn, int argc, Local<Value>* argv) {
  Local<Context> context = mainContext.Get(isolate);
  Context::Scope contextScope(context);
  return node::MakeCallback(isolate, context->Global(), fn, argc, argv, {0, 0});
}

// Set while a forkAndRun child runs its loop nested inside fork(): Node drains nextTicks and microtasks only
// when the outermost callback scope closes, and we are inside one, so the child drains them itself.
v8::Global<Function>* nestedTick = nullptr;

void DrainNested(Isolate* isolate) {
  if (nestedTick == nullptr) return;
  HandleScope scope(isolate);
  Local<Context> context = mainContext.Get(isolate);
  Context::Scope contextScope(context);
  v8::TryCatch tryCatch(isolate);  // an exception in a tick is reported by Node's own handlers
  if (nestedTick->Get(isolate)->Call(context, context->Global(), 0, nullptr).IsEmpty()) return;
}

void OnPrepare(uv_prepare_t* handle) {
  uv_loop_t* loop = handle->loop;
  if (dry->inside) return;
  DrainNested(dry->isolate);  // callbacks of this loop turn may have queued ticks and microtasks
  if (!LoopDry(loop)) return;
  dry->inside = true;
  Isolate* isolate = dry->isolate;
  HandleScope scope(isolate);
  Local<Function> fn = dry->onDry.Get(isolate);
  Local<Value> argv[1] = {v8::False(isolate)};
  // 'beforeExit' may schedule more work; only a loop that is still dry afterwards ends.
  CallFromLoop(isolate, fn, 1, argv);
  if (LoopDry(loop)) {
    argv[0] = v8::True(isolate);
    Local<Value> code;
    int exitCode = 0;
    if (CallFromLoop(isolate, fn, 1, argv).ToLocal(&code) && code->IsInt32()) {
      exitCode = code.As<v8::Int32>()->Value();
    }
    fflush(nullptr);
    _exit(exitCode & 0xff);
  }
  dry->inside = false;
}

void ChildExitHandler(node::Environment*, int code) {
  fflush(nullptr);
  _exit(code & 0xff);
}

// ---- forkAndRun: a child that never returns into its caller ----
//
// The code after `p.start()` is the parent's: the child must run its entry instead and never resume the
// caller's frames. Which way out is sound depends on where fork() was called (measured on 14 call sites:
// top-level ESM, timers, intervals, immediates, fs callbacks, nextTicks, promise reactions, after awaits,
// inside EventEmitter listeners, with AsyncLocalStorage and async hooks enabled):
//  - Inside a running microtask checkpoint (after an `await`, in a .then, ESM top level): V8 runs no nested
//    checkpoint on a running queue, so the child leaves: TerminateExecution() unwinds the microtask's frames
//    (no catch or finally of the caller runs), V8 aborts that checkpoint and drops the microtasks the parent
//    had queued, and the MicrotasksCompleted callback, fired right after, cancels the termination before any
//    native caller can call into JS again. The entry then runs from an idle handle, after `resetAsync` has
//    emptied the async-context stack whose pops the unwound frames skipped (internals.h #8).
//  - Anywhere else (a timer, an immediate, an I/O callback): the child runs the entry inside this call and
//    drives the event loop from here, nested, draining ticks and microtasks itself (the queue is not running,
//    so checkpoints work); the caller's frames stay below, never resumed.
// Either way the child ends through exit()/_exit or when its loop runs dry (the DryWatch).

struct EntryRun {
  uv_idle_t idle;
  Isolate* isolate = nullptr;
  v8::Global<Function> entry;
  v8::Global<Function> tick;
  v8::Global<Function> resetAsync;
};

// resetAsync throws a value only its own one-shot 'uncaughtException' listener takes. A verbose TryCatch reports
// a caught exception as if uncaught (as Node's own timers do), so Node handles it as any uncaught exception and
// empties its async-id stack on the way (internals.h #8) — no internal binding needed. It must run before any
// native frame of Node's that the child returns through checks that stack (InternalCallbackScope::Close does).
void ResetAsyncContext(EntryRun* run) {
  Isolate* isolate = run->isolate;
  HandleScope scope(isolate);
  Local<Context> context = mainContext.Get(isolate);
  Context::Scope contextScope(context);
  v8::TryCatch tryCatch(isolate);
  tryCatch.SetVerbose(true);
  if (run->resetAsync.Get(isolate)->Call(context, context->Global(), 0, nullptr).IsEmpty()) {
    // the expected outcome: the exception was reported (and handled) through Node's listener
  }
}

void CallEntry(EntryRun* run) {
  HandleScope scope(run->isolate);
  CallFromLoop(run->isolate, run->entry.Get(run->isolate), 0, nullptr);
}

void RunEntryFromIdle(uv_idle_t* handle) {
  uv_idle_stop(handle);
  CallEntry(static_cast<EntryRun*>(handle->data));
}

// Fired when the terminated checkpoint ends, before control returns into any of Node's native frames.
void OnUnwound(Isolate* isolate, void* data) {
  auto* run = static_cast<EntryRun*>(data);
  if (isolate->IsExecutionTerminating()) isolate->CancelTerminateExecution();
  mainContext.Get(isolate)->GetMicrotaskQueue()->RemoveMicrotasksCompletedCallback(OnUnwound, data);
  ResetAsyncContext(run);
}

// The nested path: microtasks the parent queued before fork() (a .then registered earlier in the same timer or
// I/O callback) are the parent's continuations and must not run in the child. V8 has no call to drop queued
// microtasks, but it empties the queue when execution terminates during a checkpoint: request termination, run
// a checkpoint (the first microtask's entry into JS is where the termination lands, before any of its code),
// then cancel the termination. An empty queue runs nothing, and the termination is cancelled all the same.
void DropQueuedMicrotasks(Isolate* isolate, v8::MicrotaskQueue* queue) {
  isolate->TerminateExecution();
  queue->PerformCheckpoint(isolate);
  // Unconditionally: with nothing queued the request is still pending as an interrupt (IsExecutionTerminating
  // is false until it lands), and it would land on the entry instead.
  isolate->CancelTerminateExecution();
}

[[noreturn]] void RunNested(uv_loop_t* loop, EntryRun* run) {
  nestedTick = &run->tick;
  ResetAsyncContext(run);  // the caller's frames are never resumed: their pushes are never popped
  CallEntry(run);
  for (;;) {
    DrainNested(run->isolate);
    uv_run(loop, UV_RUN_ONCE);
  }
}

// ---- fork(onDry, quiesceTimeoutMs[, repair, entry, tick, resetAsync]): number ----
// With the optional arguments (forkAndRun), the call never returns in the child (see above).

void Fork(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  if (args.Length() < 2 || !args[0]->IsFunction() || !args[1]->IsNumber()) {
    Local<Value> e = Exception::TypeError(Str(isolate, "fork(onDry: function, quiesceTimeoutMs: number) expected"));
    return ThrowCoded(isolate, e, "ERR_INVALID_ARG_TYPE");
  }
  bool withEntry = args.Length() >= 3 && !args[2]->IsUndefined();
  if (withEntry && (args.Length() < 6 || !args[2]->IsFunction() || !args[3]->IsFunction() ||
                    !args[4]->IsFunction() || !args[5]->IsFunction())) {
    Local<Value> e = Exception::TypeError(Str(isolate,
        "fork(onDry, quiesceTimeoutMs, repair: function, entry: function, tick: function, resetAsync: function) "
        "expected"));
    return ThrowCoded(isolate, e, "ERR_INVALID_ARG_TYPE");
  }
  double timeoutMs = args[1].As<Number>()->Value();
  if (!(timeoutMs >= 1 && timeoutMs <= 600000)) {
    Local<Value> e = Exception::RangeError(Str(isolate, "The value of \"quiesceTimeoutMs\" is out of range. It must be >= 1 && <= 600000"));
    return ThrowCoded(isolate, e, "ERR_OUT_OF_RANGE");
  }
  if (gettid() != getpid()) {
    Local<Value> e = Exception::Error(Str(isolate,
        "fork() must be called from the main thread: a child forked from a worker_thread would have no main "
        "thread and no event loop. Use the spawn start method from workers."));
    return ThrowCoded(isolate, e, "ERR_MULTIPROC_FORK_THREAD");
  }
  node::Environment* env = node::GetCurrentEnvironment(context);
  node::MultiIsolatePlatform* platform = env != nullptr ? node::GetMultiIsolatePlatform(env) : nullptr;
  uv_loop_t* loop = node::GetCurrentEventLoop(isolate);
  if (env == nullptr || platform == nullptr || loop == nullptr) {
    Local<Value> e = Exception::Error(Str(isolate, "fork() needs a Node.js main-thread environment"));
    return ThrowCoded(isolate, e, "ERR_MULTIPROC_FORK_THREAD");
  }
  for (const Probe& p : RunProbes(platform, loop)) {
    if (p.ok) continue;
    Local<Value> e = Exception::Error(Str(isolate,
        std::string("fork() is not safe on this Node (") + NODE_VERSION + "): the probe '" + p.name +
        "' of native/fork/internals.h failed: " + p.detail + ". Supported Node lines: 20, 22, 24, 26; use the "
        "spawn start method here."));
    return ThrowCoded(isolate, e, "ERR_MULTIPROC_FORK_PROBE");
  }

  if (marks == nullptr) {
    // A named memfd, so that leak checks can tell this one process-wide page from a mapping someone forgot.
    int fd = memfd_create("multiproc-fork-marks", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, 4096) == 0) {
      void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (page != MAP_FAILED) marks = static_cast<std::atomic<uint64_t>*>(page);
    }
    if (fd >= 0) close(fd);
  }
  uint64_t t0 = NowNs();
  if (marks != nullptr) {
    for (int i = 0; i < kMarks; i++) marks[i].store(0, std::memory_order_relaxed);
    marks[kForkCall].store(t0, std::memory_order_relaxed);
  }
  auto gate = std::make_shared<Gate>();
  // Node's NodePlatform counts its delayed-task scheduler thread among its worker threads (it runs a uv loop,
  // never a task, and does not wait on the task queue's condition variable): N - 1 threads run tasks. We post
  // N tasks (the spare one runs, and returns at once, after the release) and wait for N - 1.
  bool inPool = ChildPoolInstalled();
  int parentWorkers = inPool ? ChildPoolTarget() : std::max(platform->NumberOfWorkerThreads() - 1, 1);
  // In a forked child the platform's methods lead to our own pool, whose size is exact.
  int workers = inPool ? ChildPoolStarted() : platform->NumberOfWorkerThreads() - 1;
  if (workers < 0) workers = 0;
  if (workers > 0 && !Quiesce(platform, gate, workers, inPool ? workers : workers + 1, timeoutMs)) {
    Release(gate);
    Local<Value> e = Exception::Error(Str(isolate,
        "fork: the V8 platform's worker threads did not become idle within " + std::to_string(int(timeoutMs)) +
        " ms (a long background task is running); not forking, as a child could hang"));
    return ThrowCoded(isolate, e, "ERR_MULTIPROC_FORK_QUIESCE");
  }
  uint64_t t1 = NowNs();
  int remarked = RemarkDoFork();
  uint64_t t2 = NowNs();

  // As libuv's own process spawning does: no signal handler may run in the child before its loop is repaired
  // (libuv's handler would write to the parent's signal pipe).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  int err = errno;

  if (pid == 0) {
    // ---- child: only this thread exists ----
    Stamp(kChildStart);
    InstallChildPool(platform, parentWorkers);
    Stamp(kChildPool);
    uv_loop_fork(loop);
    Stamp(kChildLoop);
    // Node's SIGUSR1 handler wakes its inspector thread, which the child does not have: default action again.
    signal(SIGUSR1, SIG_DFL);
    if (deadPipe[0] >= 0) {
      close(deadPipe[0]);
      close(deadPipe[1]);
    }
    if (pipe2(deadPipe, O_CLOEXEC) != 0) {
      deadPipe[0] = open("/dev/null", O_WRONLY | O_CLOEXEC);  // never readable is what matters most
    }
    uv_walk(loop, Neutralize, nullptr);
    Stamp(kChildWalk);
    node::SetProcessExitHandler(env, ChildExitHandler);
    mainContext.Reset(isolate, context);
    if (dry == nullptr) {  // a grandchild inherits its parent's watch: reuse it rather than add a second one
      dry = new DryWatch();
      uv_prepare_init(loop, &dry->prepare);
      uv_prepare_start(&dry->prepare, OnPrepare);
    }
    dry->isolate = isolate;
    dry->onDry.Reset(isolate, args[0].As<Function>());
    dry->deadReqs = loop->active_reqs.count;
    dry->inside = false;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (withEntry) {
      v8::TryCatch tryCatch(isolate);
      if (args[2].As<Function>()->Call(context, context->Global(), 0, nullptr).IsEmpty()) {
        v8::String::Utf8Value text(isolate, tryCatch.Exception());
        fprintf(stderr, "multiproc: the forked child could not be repaired: %s\n", *text ? *text : "?");
        fflush(nullptr);
        _exit(70);  // EX_SOFTWARE: this child cannot run safely
      }
      auto* run = new EntryRun();
      run->isolate = isolate;
      run->entry.Reset(isolate, args[3].As<Function>());
      run->tick.Reset(isolate, args[4].As<Function>());
      run->resetAsync.Reset(isolate, args[5].As<Function>());
      v8::MicrotaskQueue* queue = context->GetMicrotaskQueue();
      if (queue->IsRunningMicrotasks()) {
        queue->AddMicrotasksCompletedCallback(OnUnwound, run);
        uv_idle_init(loop, &run->idle);
        run->idle.data = run;
        uv_idle_start(&run->idle, RunEntryFromIdle);
        isolate->TerminateExecution();
        return;
      }
      DropQueuedMicrotasks(isolate, queue);
      RunNested(loop, run);
    }
    args.GetReturnValue().Set(0);
    return;
  }

  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  Release(gate);
  uint64_t t3 = NowNs();
  stats.workers = workers;
  stats.quiesceNs = double(t1 - t0);
  stats.remarkNs = double(t2 - t1);
  stats.forkNs = double(t3 - t2);
  stats.remarked = remarked;
  stats.forks++;
  if (pid < 0) return ThrowErrno(isolate, err, "fork");
  args.GetReturnValue().Set(pid);
}

void GetStats(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> o = Object::New(isolate);
  auto set = [&](const char* k, double v) { o->Set(context, Str(isolate, k), Number::New(isolate, v)).Check(); };
  set("workers", stats.workers);
  set("quiesceNs", stats.quiesceNs);
  set("remarkNs", stats.remarkNs);
  set("forkNs", stats.forkNs);
  set("remarkedMappings", stats.remarked);
  set("forks", stats.forks);
  // The last child's phases, in ns from the fork() call (0 where the child did not get there).
  if (marks != nullptr) {
    Local<Object> c = Object::New(isolate);
    const char* names[] = {"forkCall", "start", "pool", "loopFork", "handles", "repairStart", "repairEnd", "exit"};
    uint64_t base = marks[kForkCall].load();
    for (int i = 1; i < kMarks; i++) {
      uint64_t v = marks[i].load();
      c->Set(context, Str(isolate, names[i]), Number::New(isolate, v > base ? double(v - base) : 0)).Check();
    }
    o->Set(context, Str(isolate, "child"), c).Check();
  }
  args.GetReturnValue().Set(o);
}

// mark(phase): a child records when it reached a phase of its JS side ('repairStart', 'repairEnd', 'exit').
void MarkPhase(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsInt32()) {
    return ThrowCoded(isolate, Exception::TypeError(Str(isolate, "mark(phase: integer) expected")), "ERR_INVALID_ARG_TYPE");
  }
  int32_t m = args[0].As<v8::Int32>()->Value();
  if (m < kRepairStart || m >= kMarks) {
    Local<Value> e = Exception::RangeError(Str(isolate, "The value of \"phase\" is out of range. It must be >= " +
                                                          std::to_string(int(kRepairStart)) + " && < " +
                                                          std::to_string(int(kMarks)) + ". Received " + std::to_string(m)));
    return ThrowCoded(isolate, e, "ERR_OUT_OF_RANGE");
  }
  Stamp(m);
}

// probes(): [{ name, ok, detail }] — the load-time probes of internals.h, as fork() sees them.
void GetProbes(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  node::Environment* env = node::GetCurrentEnvironment(context);
  node::MultiIsolatePlatform* platform = env != nullptr ? node::GetMultiIsolatePlatform(env) : nullptr;
  const std::vector<Probe>& probes = RunProbes(platform, node::GetCurrentEventLoop(isolate));
  Local<v8::Array> out = v8::Array::New(isolate, int(probes.size()));
  for (size_t i = 0; i < probes.size(); i++) {
    Local<Object> o = Object::New(isolate);
    o->Set(context, Str(isolate, "name"), Str(isolate, probes[i].name)).Check();
    o->Set(context, Str(isolate, "ok"), v8::Boolean::New(isolate, probes[i].ok)).Check();
    o->Set(context, Str(isolate, "detail"), Str(isolate, probes[i].detail)).Check();
    out->Set(context, uint32_t(i), o).Check();
  }
  args.GetReturnValue().Set(out);
}

}  // namespace mpfork

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();  // Context::GetIsolate() is gone from V8 14 (Node 26)
  auto set = [&](const char* name, v8::FunctionCallback cb) {
    v8::Local<v8::FunctionTemplate> t = v8::FunctionTemplate::New(isolate, cb);
    v8::Local<v8::Function> fn = t->GetFunction(context).ToLocalChecked();
    fn->SetName(mpfork::Str(isolate, name));
    exports->Set(context, mpfork::Str(isolate, name), fn).Check();
  };
  set("fork", mpfork::Fork);
  set("stats", mpfork::GetStats);
  set("probes", mpfork::GetProbes);
  set("mark", mpfork::MarkPhase);
  exports->Set(context, mpfork::Str(isolate, "abi"), v8::Integer::New(isolate, NODE_MODULE_VERSION)).Check();
}

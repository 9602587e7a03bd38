// The fork addon: fork() made safe for a running Node process.
//
// This is the only code of multiproc that uses node.h, v8.h and uv.h directly, so it is a separate addon,
// built against the Node ABI (NODE_MODULE_VERSION) it is loaded into and refused by Node itself under any
// other; the main addon stays Node-API. Why it needs them (README, "Fork safety"):
//
//  1. Quiesce the V8 platform. A glibc condition variable copied into a child while platform worker threads
//     wait on it makes the child's first pthread_cond_signal block forever (the waiters do not exist in the
//     child), and V8 posts background work (GC jobs, compiles) all the time. Before fork() we occupy every
//     platform worker with a task that blocks on a private futex, wait until all of them have arrived (so no
//     worker waits on the task queue's condition variable at the fork instant), fork, and release them in the
//     parent. Needs node::GetMultiIsolatePlatform() and v8::Task.
//  2. Re-mark the heap MADV_DOFORK. Node's V8 marks its pages MADV_DONTFORK (private-mapping fork
//     optimisation): a plain child would have no JS heap and crash on the first JS instruction.
//  3. Repair the child: uv_loop_fork() on the default loop (new epoll and signal/async fds), then make the
//     parent's I/O handles inert: each inherited stream/udp/poll fd above 2 is replaced (dup2) by the read end
//     of a pipe that never becomes ready, and the handle is unref'ed, so the child never accepts, reads or
//     writes on the parent's sockets and drops its reference to them. Inherited fs watchers are stopped,
//     process and async handles unref'ed.
//  4. Leave by _exit. node::SetProcessExitHandler routes process.exit() and fatal exceptions to _exit (Node's
//     teardown joins platform threads the child does not have). A uv_prepare handle notices when the child's
//     loop has nothing left to do and calls back into JS ('beforeExit', then 'exit', then _exit), because a
//     natural end of Node's loop would block forever in NodePlatform::DrainTasks.
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <node.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>
#include <cstdint>
#include <memory>
#include <string>

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

// ---- errors (the same shapes as native/errors.h, in V8 terms) ----

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

// ---- 1. quiescing the platform's worker threads ----

long Futex(std::atomic<int>* addr, int op, int value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<int*>(addr), op, value, timeout, nullptr, 0);
}

struct Gate {
  std::atomic<int> arrived{0};
  std::atomic<int> released{0};
};

class HoldTask : public v8::Task {
 public:
  explicit HoldTask(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  void Run() override {
    gate_->arrived.fetch_add(1);
    Futex(&gate_->arrived, FUTEX_WAKE_PRIVATE, 1, nullptr);
    while (gate_->released.load() == 0) Futex(&gate_->released, FUTEX_WAIT_PRIVATE, 0, nullptr);
  }

 private:
  std::shared_ptr<Gate> gate_;  // shared: a task that starts late still finds its gate
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

struct Stats {
  double workers = 0, quiesceNs = 0, remarkNs = 0, forkNs = 0, remarked = 0, forks = 0;
} stats;

// Occupies every platform worker. Returns false if they did not all arrive within timeoutMs.
bool Quiesce(node::MultiIsolatePlatform* platform, const std::shared_ptr<Gate>& gate, int workers, int posts,
             double timeoutMs) {
  for (int i = 0; i < posts; i++) platform->CallOnWorkerThread(std::make_unique<HoldTask>(gate));
  uint64_t deadline = NowNs() + uint64_t(timeoutMs * 1e6);
  for (;;) {
    int seen = gate->arrived.load();
    if (seen >= workers) return true;
    uint64_t now = NowNs();
    if (now >= deadline) return false;
    uint64_t left = deadline - now;
    if (left > 10000000u) left = 10000000u;  // re-check every 10 ms at most
    timespec ts{time_t(left / 1000000000u), long(left % 1000000000u)};
    Futex(&gate->arrived, FUTEX_WAIT_PRIVATE, seen, &ts);
  }
}

void Release(const std::shared_ptr<Gate>& gate) {
  gate->released.store(1);
  Futex(&gate->released, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr);
}

// ---- 2. MADV_DOFORK on every anonymous mapping ----

int RemarkDoFork() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::string maps;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    maps.append(buf, size_t(n));
  }
  close(fd);
  int count = 0;
  size_t pos = 0;
  while (pos < maps.size()) {
    size_t end = maps.find('\n', pos);
    if (end == std::string::npos) end = maps.size();
    std::string line = maps.substr(pos, end - pos);
    pos = end + 1;
    unsigned long start = 0, stop = 0, offset = 0, inode = 0;
    char perms[8] = {0}, dev[16] = {0};
    int consumed = 0;
    if (sscanf(line.c_str(), "%lx-%lx %7s %lx %15s %lu %n", &start, &stop, perms, &offset, dev, &inode, &consumed) <
        6)
      continue;
    if (inode != 0) continue;  // file-backed
    const char* path = consumed > 0 && size_t(consumed) <= line.size() ? line.c_str() + consumed : "";
    if (path[0] == '[' && strncmp(path, "[heap]", 6) != 0 && strncmp(path, "[anon", 5) != 0 &&
        strncmp(path, "[stack", 6) != 0)
      continue;  // [vvar], [vdso], [vsyscall]: not ours to touch
    if (madvise(reinterpret_cast<void*>(start), stop - start, MADV_DOFORK) == 0) count++;
  }
  return count;
}

// ---- 2b. worker threads for the child ----
//
// The child has none of the platform's worker threads, so V8's background work posted in the child (TurboFan
// compile jobs above all: without them new hot code is never optimised and runs ~12x slower; GC jobs) would
// wait forever in NodePlatform's queue. The child therefore gets a pool of its own: the platform object's
// worker-task methods (CallOnWorkerThread and friends, NumberOfWorkerThreads) are redirected to it by giving
// the object a patched copy of its vtable. Slot positions come from the v8::Platform declarations themselves
// (Itanium C++ ABI: a pointer to a virtual member function holds 1 + its vtable offset). The pool waits on a
// futex word, never on a condition variable, so that a later fork of this child can quiesce it exactly as the
// first fork quiesced Node's workers.

struct ChildPool {
  pid_t owner = 0;
  std::mutex mu;
  std::deque<std::unique_ptr<v8::Task>> ready;
  std::vector<std::pair<double, std::unique_ptr<v8::Task>>> delayed;  // (due, task), unsorted: few of them
  std::atomic<int> signal{0};
  int target = 0;               // threads this pool runs once started (what V8 is told)
  std::atomic<int> started{0};  // threads running (what a later fork must quiesce); 0 until the first task
};
ChildPool* pool = nullptr;
bool poolInstalled = false;  // this process's platform methods go to `pool`

double MonoSeconds() { return double(NowNs()) / 1e9; }

void* PoolThread(void* arg) {
  auto* p = static_cast<ChildPool*>(arg);
  for (;;) {
    std::unique_ptr<v8::Task> task;
    double wait = -1;
    int seen = p->signal.load();
    {
      std::lock_guard<std::mutex> lock(p->mu);
      double now = MonoSeconds();
      for (auto it = p->delayed.begin(); it != p->delayed.end();) {
        if (it->first <= now) {
          p->ready.push_back(std::move(it->second));
          it = p->delayed.erase(it);
        } else {
          wait = wait < 0 ? it->first - now : std::min(wait, it->first - now);
          ++it;
        }
      }
      if (!p->ready.empty()) {
        task = std::move(p->ready.front());
        p->ready.pop_front();
      }
    }
    if (task) {
      task->Run();
      continue;
    }
    if (wait < 0) {
      Futex(&p->signal, FUTEX_WAIT_PRIVATE, seen, nullptr);
    } else {
      timespec ts{time_t(wait), long((wait - double(time_t(wait))) * 1e9)};
      Futex(&p->signal, FUTEX_WAIT_PRIVATE, seen, &ts);
    }
  }
  return nullptr;
}

// Starts the pool's threads (on its first task: a child that never posts background work pays nothing).
void PoolStart(ChildPool* p) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (int i = 0; i < p->target; i++) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t, &attr, PoolThread, p) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    p->started.fetch_add(1);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void PoolPost(std::unique_ptr<v8::Task> task, double delaySeconds) {
  {
    std::lock_guard<std::mutex> lock(pool->mu);
    if (pool->started.load() == 0) PoolStart(pool);
    if (delaySeconds > 0) {
      pool->delayed.emplace_back(MonoSeconds() + delaySeconds, std::move(task));
    } else {
      pool->ready.push_back(std::move(task));
    }
  }
  pool->signal.fetch_add(1);
  Futex(&pool->signal, FUTEX_WAKE_PRIVATE, delaySeconds > 0 ? INT32_MAX : 1, nullptr);
}

// Stand-ins for the platform's virtual methods (same calling convention: `this` first).
int PoolNumberOfWorkerThreads(v8::Platform*) { return pool->target; }
void PoolCallOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task) { PoolPost(std::move(task), 0); }
void PoolCallDelayedOnWorkerThread(v8::Platform*, std::unique_ptr<v8::Task> task, double delay) {
  PoolPost(std::move(task), delay);
}

template <typename M>
long VirtualSlot(M member) {
  struct {
    uintptr_t ptr;
    ptrdiff_t adj;
  } raw;
  static_assert(sizeof(member) == sizeof(raw), "Itanium C++ ABI member function pointer expected");
  memcpy(&raw, &member, sizeof raw);
  if ((raw.ptr & 1) == 0) return -1;  // not virtual
  return long((raw.ptr - 1) / sizeof(void*));
}

// In the child, right after fork: a fresh pool (the parent's, if this child's parent was itself a forked
// child, has no threads here) and, once per address space, the vtable redirection.
void InstallChildPool(node::MultiIsolatePlatform* platform, int threads) {
  pool = new ChildPool();  // any previous pool is abandoned: its threads do not exist in this process
  pool->owner = getpid();
  pool->target = threads;
  if (poolInstalled) return;  // inherited from our own parent: the object already points at our table
  constexpr long kCopy = 160;   // more slots than v8::Platform + MultiIsolatePlatform + NodePlatform have
  long slots[] = {
      VirtualSlot(&v8::Platform::NumberOfWorkerThreads),
      VirtualSlot(&v8::Platform::CallOnWorkerThread),
      VirtualSlot(&v8::Platform::CallBlockingTaskOnWorkerThread),
      VirtualSlot(&v8::Platform::CallLowPriorityTaskOnWorkerThread),
      VirtualSlot(&v8::Platform::CallDelayedOnWorkerThread),
  };
  for (long s : slots) {
    if (s < 0 || s >= kCopy) return;  // unexpected layout: leave the platform alone
  }
  void*** object = reinterpret_cast<void***>(static_cast<v8::Platform*>(platform));
  void** vtable = *object;
  void** copy = new void*[kCopy + 2];
  memcpy(copy, vtable - 2, sizeof(void*) * (kCopy + 2));  // offset-to-top and RTTI precede the slots
  void** slotsCopy = copy + 2;
  slotsCopy[slots[0]] = reinterpret_cast<void*>(&PoolNumberOfWorkerThreads);
  slotsCopy[slots[1]] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slotsCopy[slots[2]] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slotsCopy[slots[3]] = reinterpret_cast<void*>(&PoolCallOnWorkerThread);
  slotsCopy[slots[4]] = reinterpret_cast<void*>(&PoolCallDelayedOnWorkerThread);
  *object = slotsCopy;
  poolInstalled = true;
}

// ---- 3. repairing the child's loop ----

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

// ---- 4. ending the child ----

struct DryWatch {
  uv_prepare_t prepare;
  Isolate* isolate = nullptr;
  v8::Global<Function> onDry;
  unsigned int deadReqs = 0;  // requests inherited from the parent: their threadpool work is gone
  bool inside = false;
};
DryWatch* dry = nullptr;

bool LoopDry(uv_loop_t* loop) {
  if (loop->active_handles > 1) return false;  // more than our own prepare handle
  if (loop->active_reqs.count < dry->deadReqs) dry->deadReqs = loop->active_reqs.count;
  if (loop->active_reqs.count > dry->deadReqs) return false;
  if (loop->closing_handles != nullptr) return false;
  return true;
}

// Set while a forkAndRun child runs its loop nested inside fork(): Node drains nextTicks and microtasks only
// when the outermost callback scope closes, and we are inside one, so the child drains them itself.
v8::Global<Function>* nestedTick = nullptr;

void DrainNested(Isolate* isolate) {
  if (nestedTick == nullptr) return;
  HandleScope scope(isolate);
  Local<Function> tick = nestedTick->Get(isolate);
  Local<Context> context = tick->GetCreationContextChecked();
  Context::Scope contextScope(context);
  v8::TryCatch tryCatch(isolate);  // an exception in a tick is reported by Node's own handlers
  if (tick->Call(context, context->Global(), 0, nullptr).IsEmpty()) return;
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
  Local<Context> context = fn->GetCreationContextChecked();
  Context::Scope contextScope(context);
  Local<Value> argv[1] = {v8::False(isolate)};
  // 'beforeExit' may schedule more work; only a loop that is still dry afterwards ends.
  node::MakeCallback(isolate, context->Global(), fn, 1, argv, {0, 0});
  if (LoopDry(loop)) {
    argv[0] = v8::True(isolate);
    Local<Value> code;
    int exitCode = 0;
    if (node::MakeCallback(isolate, context->Global(), fn, 1, argv, {0, 0}).ToLocal(&code) && code->IsInt32()) {
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
//    native caller can call into JS again. The async-context stack, whose pops the unwound frames skipped, is
//    emptied there as Node does after an uncaught exception. The entry then runs from an idle handle.
//  - Anywhere else (a timer, an immediate, an I/O callback): the child runs the entry inside this call and
//    drives the event loop from here, nested, draining ticks and microtasks itself (the queue is not running,
//    so checkpoints work); the caller's frames stay below, never resumed.
// Either way the child ends through exit()/_exit or when its loop runs dry (the DryWatch).

struct EntryRun {
  uv_idle_t idle;
  Isolate* isolate = nullptr;
  v8::Global<Function> entry;
  v8::Global<Function> tick;
};

uint32_t* hookFields = nullptr;  // async_wrap's async_hook_fields (over Node's AliasedBuffer)
double* idFields = nullptr;      // async_wrap's async_id_fields
int stackLengthIndex = -1;       // async_wrap's constants.kStackLength

void CallEntry(EntryRun* run) {
  Isolate* isolate = run->isolate;
  HandleScope scope(isolate);
  Local<Function> fn = run->entry.Get(isolate);
  Local<Context> context = fn->GetCreationContextChecked();
  Context::Scope contextScope(context);
  node::MakeCallback(isolate, context->Global(), fn, 0, nullptr, {0, 0});
}

void RunEntryFromIdle(uv_idle_t* handle) {
  uv_idle_stop(handle);
  CallEntry(static_cast<EntryRun*>(handle->data));
}

void OnUnwound(Isolate* isolate, void*) {
  if (isolate->IsExecutionTerminating()) isolate->CancelTerminateExecution();
  if (hookFields != nullptr && stackLengthIndex >= 0) hookFields[stackLengthIndex] = 0;
  if (idFields != nullptr) idFields[0] = idFields[1] = 0;  // kExecutionAsyncId, kTriggerAsyncId
  isolate->GetCurrentContext()->GetMicrotaskQueue()->RemoveMicrotasksCompletedCallback(OnUnwound, nullptr);
}

// The nested path: microtasks the parent queued before fork() (a .then registered earlier in the same timer or
// I/O callback) are the parent's continuations and must not run in the child. V8 has no call to drop queued
// microtasks, but it empties the queue when execution terminates during a checkpoint: request termination, run
// a checkpoint (the first microtask's entry into JS is where the termination lands, before any of its code),
// then cancel the termination and reset the async-context stack as OnUnwound does. An empty queue runs
// nothing, and the termination is cancelled all the same.
void DropQueuedMicrotasks(Isolate* isolate, v8::MicrotaskQueue* queue) {
  isolate->TerminateExecution();
  queue->PerformCheckpoint(isolate);
  // Unconditionally: with nothing queued the request is still pending as an interrupt (IsExecutionTerminating
  // is false until it lands), and it would land on the entry instead.
  isolate->CancelTerminateExecution();
  if (hookFields != nullptr && stackLengthIndex >= 0) hookFields[stackLengthIndex] = 0;
  if (idFields != nullptr) idFields[0] = idFields[1] = 0;
}

[[noreturn]] void RunNested(uv_loop_t* loop, EntryRun* run) {
  nestedTick = &run->tick;
  CallEntry(run);
  for (;;) {
    DrainNested(run->isolate);
    uv_run(loop, UV_RUN_ONCE);
  }
}

template <typename T>
T* TypedArrayData(Local<Value> v) {
  auto a = v.As<v8::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a->Buffer()->Data()) + a->ByteOffset());
}

// ---- fork(onDry, quiesceTimeoutMs[, repair, entry, tick, hookFields, idFields, kStackLength]): number ----
// With the optional arguments (forkAndRun), the call never returns in the child (see above).

void Fork(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  if (args.Length() < 2 || !args[0]->IsFunction() || !args[1]->IsNumber()) {
    Local<Value> e = Exception::TypeError(Str(isolate, "fork(onDry: function, quiesceTimeoutMs: number) expected"));
    return ThrowCoded(isolate, e, "ERR_INVALID_ARG_TYPE");
  }
  bool withEntry = args.Length() >= 8 && !args[2]->IsUndefined();
  if (withEntry && (!args[2]->IsFunction() || !args[3]->IsFunction() || !args[4]->IsFunction() ||
                    !args[5]->IsUint32Array() || !args[6]->IsFloat64Array() || !args[7]->IsInt32() ||
                    args[7].As<v8::Int32>()->Value() < 0 ||
                    uint32_t(args[7].As<v8::Int32>()->Value()) >= args[5].As<v8::Uint32Array>()->Length() ||
                    args[6].As<v8::Float64Array>()->Length() < 2)) {
    Local<Value> e = Exception::TypeError(Str(isolate,
        "fork(onDry, quiesceTimeoutMs, repair: function, entry: function, tick: function, hookFields: Uint32Array, "
        "idFields: Float64Array, kStackLength: index) expected"));
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

  uint64_t t0 = NowNs();
  auto gate = std::make_shared<Gate>();
  // Node's NodePlatform counts its delayed-task scheduler thread among its worker threads (it runs a uv loop,
  // never a task, and does not wait on the task queue's condition variable): N - 1 threads run tasks. We post
  // N tasks (the spare one runs, and returns at once, after the release) and wait for N - 1.
  int parentWorkers = poolInstalled ? pool->target : std::max(platform->NumberOfWorkerThreads() - 1, 1);
  // In a forked child the platform's methods lead to our own pool, whose size is exact.
  int workers = poolInstalled ? pool->started.load() : platform->NumberOfWorkerThreads() - 1;
  if (workers < 0) workers = 0;
  if (workers > 0 && !Quiesce(platform, gate, workers, poolInstalled ? workers : workers + 1, timeoutMs)) {
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
    InstallChildPool(platform, parentWorkers);
    uv_loop_fork(loop);
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
    node::SetProcessExitHandler(env, ChildExitHandler);
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
      hookFields = TypedArrayData<uint32_t>(args[5]);
      idFields = TypedArrayData<double>(args[6]);
      stackLengthIndex = args[7].As<v8::Int32>()->Value();
      auto* run = new EntryRun();
      run->isolate = isolate;
      run->entry.Reset(isolate, args[3].As<Function>());
      run->tick.Reset(isolate, args[4].As<Function>());
      v8::MicrotaskQueue* queue = context->GetMicrotaskQueue();
      if (queue->IsRunningMicrotasks()) {
        queue->AddMicrotasksCompletedCallback(OnUnwound, nullptr);
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
  args.GetReturnValue().Set(o);
}

}  // namespace mpfork

NODE_MODULE_INIT(/* exports, module, context */) {
  v8::Isolate* isolate = context->GetIsolate();
  auto set = [&](const char* name, v8::FunctionCallback cb) {
    v8::Local<v8::FunctionTemplate> t = v8::FunctionTemplate::New(isolate, cb);
    v8::Local<v8::Function> fn = t->GetFunction(context).ToLocalChecked();
    fn->SetName(mpfork::Str(isolate, name));
    exports->Set(context, mpfork::Str(isolate, name), fn).Check();
  };
  set("fork", mpfork::Fork);
  set("stats", mpfork::GetStats);
  exports->Set(context, mpfork::Str(isolate, "abi"), v8::Integer::New(isolate, NODE_MODULE_VERSION)).Check();
}

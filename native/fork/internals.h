// The fork addon's dependence on Node, V8 and libuv, in one place.
//
// This is the only code of multiproc that uses node.h, v8.h and uv.h, so it is a separate addon built against
// the Node ABI (NODE_MODULE_VERSION) it is loaded into; the main addon stays Node-API. Everything it assumes
// about the internals of the runtime is listed here with the Node lines it was checked on, and every assumption
// that can be checked in a running process is probed when the addon loads (probes.cc): fork() refuses with
// ERR_MULTIPROC_FORK_PROBE, naming the probe, on a Node where one fails — never a hang or a crash.
//
// | # | assumption                                                              | probe              | checked on |
// |---|-------------------------------------------------------------------------|--------------------|------------|
// | 1 | node::GetCurrentEnvironment / GetMultiIsolatePlatform / GetCurrentEventLoop / SetProcessExitHandler / MakeCallback: public node.h API | node-api | 20 22 24 26 |
// | 2 | NodePlatform::NumberOfWorkerThreads() counts its delayed-task scheduler thread: N - 1 threads run  | platform-workers   | 20 22 24 26 |
// |   | worker tasks, each waiting on the task queue's one condition variable when idle (Node names them  |                    |            |
// |   | "V8Worker" and "DelayedTaskSche" from 24 on; 22 names only the scheduler; 20 names none)           |                    |            |
// | 3 | the platform's worker-task methods are virtual slots of v8::Platform found from member pointers    | platform-vtable    | 20 22 24 26 |
// |   | (Itanium C++ ABI): V8 11 (Node 20) CallOnWorkerThread & 3 siblings; V8 12+ (Node 22+) the protected |                    |            |
// |   | PostTaskOnWorkerThreadImpl / PostDelayedTaskOnWorkerThreadImpl behind inline Call*OnWorkerThread;   |                    |            |
// |   | the object's vtable is readable for kVtableCopy slots                                              |                    |            |
// | 4 | uv_loop_t's active_handles, active_reqs.count, closing_handles mean what libuv's uv_loop_alive uses | uv-loop-fields     | 20 22 24 26 |
// | 5 | uv_loop_fork() re-creates the loop's backend (epoll fd, signal pipe, async fd; from libuv 1.45 the  | uv-version         | 20 22 24 26 |
// |   | io_uring rings too); the rings of the parent's worker-thread loops stay mapped, unused (22+)       |                    |            |
// | 6 | V8 marks heap pages MADV_DONTFORK; MADV_DOFORK gives the child its heap. Applied to whole ranges:    | (tests: every fork)| 20 22 24 26 |
// |   | Linux applies the advice VMA by VMA and stops with EINVAL at a VM_IO one ([vvar], found once below  |                    |            |
// |   | the vDSO); any other VM_IO mapping makes it fall back to the /proc/self/maps walk                   |                    |            |
// | 7 | a microtask checkpoint interrupted by TerminateExecution empties V8's microtask queue; the          | (tests: 11 call    | 20 22 24 26 |
// |   | MicrotasksCompleted callback fires after it; CancelTerminateExecution makes the isolate usable again| sites in fork.test)|            |
// | 8 | a handled uncaught exception makes Node empty its async-id stack (lib/internal/process/execution.js | (tests: async hooks| 20 22 24 26 |
// |   | createOnGlobalUncaughtException → clearAsyncIdStack): how the child drops the frames it unwound     | + fork in microtask)|           |
// | 9 | JS side (lib/posix/child.ts, probed there): process._tickCallback runs Node's nextTick + microtask  | js: tick-callback, | 20 22 24 26 |
// |   | pass; process._exiting; Timeout/Immediate constructors assign _idleTimeout/_onImmediate; stdout and | timers, stdio,     |            |
// |   | stderr streams have a replaceable _write; process.nextTick is looked up on `process` by Node's own  | next-tick          |            |
// |   | modules                                                                                             |                    |            |
//
// Deprecated on 24/26 and not used: v8::Platform::Call*OnWorkerThread (the Post* forms are protected, so the
// quiescing tasks are posted through PostTaskOnWorkerThreadImpl's public wrapper where one exists), and
// GetCreationContextChecked() without an isolate; removed on 26: v8::Context::GetIsolate().
#pragma once

#include <node.h>
#include <uv.h>
#include <v8.h>
#include <v8-version.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// V8 12 (Node 22) moved the worker-task entry points to protected virtual *Impl methods.
#if V8_MAJOR_VERSION >= 12
#define MPFORK_V8_POST_IMPL 1
#else
#define MPFORK_V8_POST_IMPL 0
#endif

namespace mpfork {

// ---- probes.cc ----
struct Probe {
  const char* name;
  bool ok;
  std::string detail;
};
// Runs every probe (once per process; fork() reads the stored result). `platform` and `loop` are this
// environment's.
const std::vector<Probe>& RunProbes(node::MultiIsolatePlatform* platform, uv_loop_t* loop);

// ---- quiesce.cc ----
uint64_t NowNs();
long Futex(std::atomic<int>* addr, int op, int value, const struct timespec* timeout);

struct Gate {
  std::atomic<int> arrived{0};
  std::atomic<int> released{0};
};
// Posts `posts` tasks that block on `gate` and waits until `workers` of them run. False after timeoutMs.
bool Quiesce(v8::Platform* platform, const std::shared_ptr<Gate>& gate, int workers, int posts, double timeoutMs);
void Release(const std::shared_ptr<Gate>& gate);
// Posts one task to the platform's worker threads (whichever entry point this V8 has).
void PostWorkerTask(v8::Platform* platform, std::unique_ptr<v8::Task> task);
// MADV_DOFORK on every mapping: two whole-range calls (0), or, where a VM_IO mapping stops those, one call per
// anonymous mapping of /proc/self/maps (how many were marked; -1 if it is unreadable).
int RemarkDoFork();

// ---- child_platform.cc ----
// Slot numbers of the worker-task methods in v8::Platform's vtable (-1 where not virtual).
struct PlatformSlots {
  long numberOfWorkerThreads = -1;
  long post = -1;          // V8 12+: PostTaskOnWorkerThreadImpl; V8 11: CallOnWorkerThread
  long postDelayed = -1;   // V8 12+: PostDelayedTaskOnWorkerThreadImpl; V8 11: CallDelayedOnWorkerThread
  long postBlocking = -1;  // V8 11 only: CallBlockingTaskOnWorkerThread
  long postLowPriority = -1;  // V8 11 only: CallLowPriorityTaskOnWorkerThread
  long highest = -1;
};
constexpr long kVtableCopy = 160;  // more slots than v8::Platform + MultiIsolatePlatform + NodePlatform have
PlatformSlots WorkerSlots();
// In the child, right after fork(): worker tasks go to a pool of this process's own (threads started on the
// first task). Needs the platform-vtable probe to have passed.
void InstallChildPool(node::MultiIsolatePlatform* platform, int threads);
bool ChildPoolInstalled();
int ChildPoolTarget();
int ChildPoolStarted();

}  // namespace mpfork

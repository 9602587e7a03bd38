// Before fork(): occupy every V8 platform worker, and give the child the heap.
//
// A glibc condition variable copied into a child while platform worker threads wait on it makes the child's
// first pthread_cond_signal block forever (the waiters do not exist in the child), and V8 posts background
// work (GC jobs, compiles) all the time. Before fork() we occupy every platform worker with a task that blocks
// on a private futex, wait until all of them have arrived (so no worker waits on the task queue's condition
// variable at the fork instant), fork, and release them in the parent. (internals.h #2, #3)
//
// Node's V8 marks its heap pages MADV_DONTFORK (a private-mapping fork optimisation): a plain child would have
// no JS heap and crash on its first JS instruction, so every anonymous mapping is re-marked MADV_DOFORK.
// (internals.h #6)
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internals.h"

namespace mpfork {

long Futex(std::atomic<int>* addr, int op, int value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<int*>(addr), op, value, timeout, nullptr, 0);
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

namespace {

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

}  // namespace

void PostWorkerTask(v8::Platform* platform, std::unique_ptr<v8::Task> task) {
#if V8_MAJOR_VERSION >= 13
  platform->PostTaskOnWorkerThread(v8::TaskPriority::kUserBlocking, std::move(task));
#else
  platform->CallOnWorkerThread(std::move(task));
#endif
}

bool Quiesce(v8::Platform* platform, const std::shared_ptr<Gate>& gate, int workers, int posts, double timeoutMs) {
  for (int i = 0; i < posts; i++) PostWorkerTask(platform, std::make_unique<HoldTask>(gate));
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

namespace {

// The fast way: madvise(MADV_DOFORK) over whole address ranges. The kernel applies the advice to every mapping in
// the range (holes make it answer ENOMEM, after the fact), so two calls re-mark everything in ~5 us where reading
// /proc/self/maps costs ~150 us. It stops with EINVAL at a VM_IO mapping: [vvar], right below the vDSO, is one,
// so the ranges are [first page, vvar) and [vDSO, top of user space). Another VM_IO mapping anywhere (a device
// mapping) makes a call fail, and the fork falls back to the per-mapping walk below.
struct Ranges {
  bool planned = false;
  bool usable = false;
  uintptr_t lowEnd = 0;     // where [vvar] starts
  uintptr_t highStart = 0;  // the vDSO
};
Ranges ranges;
constexpr uintptr_t kUserTop = (uintptr_t(1) << 47) - 4096;  // x86-64, 4-level paging (mappings above need a hint)

void PlanRanges() {
  ranges.planned = true;
  uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  long page = sysconf(_SC_PAGESIZE);
  if (vdso == 0 || page <= 0) return;
  uintptr_t p = vdso;
  for (int n = 0; n < 64; n++) {  // the VM_IO pages right below the vDSO: madvise answers them EINVAL
    if (madvise(reinterpret_cast<void*>(p - page), size_t(page), MADV_DOFORK) == 0 || errno != EINVAL) break;
    p -= page;
  }
  if (p == vdso) return;  // no [vvar] where expected: use the walk
  ranges.lowEnd = p;
  ranges.highStart = vdso;
  ranges.usable = true;
}

bool RemarkRange(uintptr_t from, uintptr_t to) {
  if (to <= from) return true;
  return madvise(reinterpret_cast<void*>(from), to - from, MADV_DOFORK) == 0 || errno == ENOMEM;
}

}  // namespace

int RemarkDoFork() {
  if (!ranges.planned) PlanRanges();
  if (ranges.usable && RemarkRange(4096, ranges.lowEnd) && RemarkRange(ranges.highStart, kUserTop)) return 0;
  ranges.usable = false;  // a VM_IO mapping somewhere: walk the mappings from now on
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

}  // namespace mpfork

// Load-time probes of the assumptions listed in internals.h. Each checks, in this very process, that the
// runtime still looks the way fork() relies on; fork() refuses (ERR_MULTIPROC_FORK_PROBE, naming the probe)
// when one fails, so a new Node line that changed an internal gives a clear error, never a hung child.
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mutex>

#include "internals.h"

namespace mpfork {

namespace {

std::string ReadSmallFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return "";
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  return s;
}

bool EndsWith(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// #2: the worker count. Where Node names its threads (24+: "V8Worker"; 22: only "DelayedTaskSche"), the names
// are counted and compared with what NumberOfWorkerThreads() says; unnamed threads (Node 20) cannot be told
// apart, and the count stands as checked against Node 20's src/node_platform.cc.
Probe ProbeWorkers(v8::Platform* platform) {
  int n = platform->NumberOfWorkerThreads();
  int named = 0, scheduler = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string comm = ReadSmallFile(std::string("/proc/self/task/") + e->d_name + "/comm");
      if (EndsWith(comm, "V8Worker")) named++;
      if (comm.rfind("DelayedTaskSch", 0) == 0) scheduler++;
    }
    closedir(d);
  }
  std::string detail = "NumberOfWorkerThreads() = " + std::to_string(n) + ", threads named V8Worker: " +
                       std::to_string(named) + ", DelayedTaskScheduler: " + std::to_string(scheduler);
  bool ok = n >= 2;
  if (named > 0) ok = ok && named == n - 1;
  if (scheduler > 0 || named > 0) ok = ok && scheduler == 1;
  return {"platform-workers", ok, detail + (ok ? "" : " (expected N - 1 task workers and one scheduler)")};
}

// #3: the vtable slots. Calls NumberOfWorkerThreads through the slot the member pointer names and compares it
// with the virtual call; checks that every slot to redirect lies inside the copied range, and that the range
// [vtable - 2, vtable + kVtableCopy) lies in one readable mapping.
Probe ProbeVtable(v8::Platform* platform) {
  PlatformSlots s = WorkerSlots();
  std::string detail = "slots: NumberOfWorkerThreads " + std::to_string(s.numberOfWorkerThreads) + ", post " +
                       std::to_string(s.post) + ", postDelayed " + std::to_string(s.postDelayed);
  if (s.numberOfWorkerThreads < 0 || s.post < 0 || s.postDelayed < 0 || s.highest >= kVtableCopy) {
    return {"platform-vtable", false, detail + " (a method is not virtual or lies beyond the copied range)"};
  }
#if !MPFORK_V8_POST_IMPL
  if (s.postBlocking < 0 || s.postLowPriority < 0) return {"platform-vtable", false, detail + " (V8 11 siblings)"};
#endif
  void** vtable = *reinterpret_cast<void***>(platform);
  uintptr_t lo = reinterpret_cast<uintptr_t>(vtable - 2), hi = reinterpret_cast<uintptr_t>(vtable + kVtableCopy);
  bool mapped = false;
  if (FILE* f = fopen("/proc/self/maps", "re")) {
    char line[512];
    while (fgets(line, sizeof line, f) != nullptr) {
      unsigned long a = 0, b = 0;
      char perms[8] = {0};
      if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && a <= lo && hi <= b && perms[0] == 'r') mapped = true;
    }
    fclose(f);
  }
  if (!mapped) return {"platform-vtable", false, detail + " (the vtable copy range is not in one readable mapping)"};
  using CountFn = int (*)(v8::Platform*);
  int viaSlot = reinterpret_cast<CountFn>(vtable[s.numberOfWorkerThreads])(platform);
  int direct = platform->NumberOfWorkerThreads();
  bool ok = viaSlot == direct;
  return {"platform-vtable", ok,
          detail + (ok ? "" : "; the slot answers " + std::to_string(viaSlot) + ", the call " + std::to_string(direct))};
}

// #4: the loop fields the child's "nothing left to do" check reads, exercised on a scratch loop.
Probe ProbeLoopFields() {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return {"uv-loop-fields", false, "uv_loop_init failed"};
  uv_prepare_t prepare;
  uv_prepare_init(&loop, &prepare);
  bool idle0 = loop.active_handles == 0 && loop.active_reqs.count == 0 && loop.closing_handles == nullptr;
  uv_prepare_start(&prepare, [](uv_prepare_t*) {});
  bool active1 = loop.active_handles == 1 && uv_loop_alive(&loop) != 0;
  uv_prepare_stop(&prepare);
  bool idle2 = loop.active_handles == 0 && uv_loop_alive(&loop) == 0;
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare), nullptr);
  bool closing = loop.closing_handles != nullptr;
  uv_run(&loop, UV_RUN_NOWAIT);
  bool closed = loop.closing_handles == nullptr;
  bool ok = idle0 && active1 && idle2 && closing && closed && uv_loop_close(&loop) == 0;
  return {"uv-loop-fields", ok, ok ? "active_handles, active_reqs.count, closing_handles behave" : "a field misbehaves"};
}

// #5: libuv's version at run time is the one compiled against, or newer in the same major.
Probe ProbeUvVersion() {
  unsigned v = uv_version();
  bool ok = (v >> 16) == UV_VERSION_MAJOR && v >= unsigned(UV_VERSION_HEX);
  return {"uv-version", ok, std::string("libuv ") + uv_version_string() + ", built against " +
                                std::to_string(UV_VERSION_MAJOR) + "." + std::to_string(UV_VERSION_MINOR)};
}

}  // namespace

const std::vector<Probe>& RunProbes(node::MultiIsolatePlatform* platform, uv_loop_t* loop) {
  static std::vector<Probe> results;
  static std::once_flag once;
  std::call_once(once, [&] {
    results.push_back({"node-api", platform != nullptr && loop != nullptr,
                       "node::GetMultiIsolatePlatform / GetCurrentEventLoop"});
    if (platform != nullptr) {
      results.push_back(ProbeWorkers(platform));
      results.push_back(ProbeVtable(platform));
    }
    results.push_back(ProbeLoopFields());
    results.push_back(ProbeUvVersion());
  });
  return results;
}

}  // namespace mpfork

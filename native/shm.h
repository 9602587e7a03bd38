// Shared mappings (mmap MAP_SHARED of anonymous memory, a memfd or a shm_open name) and their lifetime.
//
// A mapping is exposed to JS as an external ArrayBuffer over the mapped bytes (no copy). Lifetime rules:
//  - Mapping.close() detaches the ArrayBuffer (every view then has length 0: no JS code can touch unmapped
//    memory) and unmaps — at once, or, while native code still uses the bytes (a thread blocked in sem_wait
//    on a semaphore that lives there), as soon as the last such user lets go.
//  - If the user forgets close(), the ArrayBuffer's finalizer unmaps. The unmap happens exactly once
//    whichever comes first (an atomic flag), never twice.
//  - Objects placed inside a mapping (native/sync.cc) hold a RegionRef: a shared reference to the mapping's
//    state plus a "pin" while they use the bytes, and check `Region::closed` before every use.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mp {

struct Region {
  uint8_t* base = nullptr;
  size_t length = 0;
  std::atomic<bool> closed{false};   // close() was called (or the buffer was collected): no new use
  std::atomic<bool> unmapped{false}; // munmap done (exactly once)
  std::atomic<int> pins{0};          // native users in progress (blocked waits); munmap waits for 0

  ~Region();
  void Unmap();       // munmap now, once
  void Close();       // mark closed; unmap when no pins remain
  bool Pin();         // false if closed; otherwise the bytes stay mapped until Unpin()
  void Unpin();
};

using RegionPtr = std::shared_ptr<Region>;

// The Region behind a JS Mapping handle (the object returned by native.mmap); throws TypeError if `value`
// is not one, ERR_MULTIPROC_CLOSED if it was closed.
RegionPtr ArgRegion(const Napi::CallbackInfo& info, size_t i, const char* name);

// Checks that [offset, offset + size) lies in the region and offset is a multiple of `align`
// (RangeError otherwise); returns the address.
uint8_t* RegionAt(Napi::Env env, const RegionPtr& region, int64_t offset, size_t size, size_t align);

// RAII pin: the mapping stays mapped while it lives.
class RegionPin {
 public:
  explicit RegionPin(RegionPtr r) : region_(std::move(r)), ok_(region_->Pin()) {}
  ~RegionPin() {
    if (ok_) region_->Unpin();
  }
  bool ok() const { return ok_; }
  RegionPin(const RegionPin&) = delete;
  RegionPin& operator=(const RegionPin&) = delete;

 private:
  RegionPtr region_;
  bool ok_;
};

void InitShm(Napi::Env env, Napi::Object exports);

// What the machine can back: RAM + swap, capped by the memory cgroup's limit (see shm.cc).
struct MemoryLimit {
  uint64_t limit = 0, ram = 0, swap = 0;
  int64_t cgroup = -1;  // the tightest memory cgroup limit, -1: none
  std::string source;   // for messages
};
MemoryLimit ComputeMemoryLimit();
// Below this many bytes no check reads /proc (no machine that runs Node has less memory).
constexpr uint64_t kSmallShared = 16ull << 20;
// Throws an ENOMEM Error (message with the request and the limit) when `bytes` of shared memory are more than
// the machine can back; with fd >= 0 also ENOSPC when they do not fit in the free space of fd's (sized)
// tmpfs. Called before memory is committed: memfd/shm ftruncate and fallocate, anonymous shared mmap.
void CheckSharedSize(Napi::Env env, uint64_t bytes, const char* syscall, int fd);
// Whether fd is a file of a tmpfs/hugetlbfs (memfd, /dev/shm): its size is memory.
bool IsShmemFd(int fd);

}  // namespace mp

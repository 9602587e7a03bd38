// The shm family: mmap(MAP_SHARED) of anonymous memory, a memfd or a shm_open object, exposed as an external
// ArrayBuffer; shm_open/shm_unlink, memfd_create, ftruncate, and fallocate (space reserved up front, so that
// a full /dev/shm is an ENOSPC error rather than a SIGBUS on first touch). Lifetime rules in shm.h.
#include "shm.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "addon.h"
#include "core/errors.h"

namespace mp {

Region::~Region() { Unmap(); }

void Region::Unmap() {
  if (base != nullptr && !unmapped.exchange(true)) munmap(base, length);
}

void Region::Close() {
  closed.store(true);
  if (pins.load() == 0) Unmap();
}

bool Region::Pin() {
  pins.fetch_add(1);
  if (closed.load()) {
    Unpin();
    return false;
  }
  return true;
}

void Region::Unpin() {
  if (pins.fetch_sub(1) == 1 && closed.load()) Unmap();
}

namespace {

constexpr int64_t kMaxLength = int64_t(1) << 46;  // 64 TiB: beyond any real mapping, below double precision

// A Mapping handle is a plain object tagged with this Node-API type tag (checked without running any proxy
// trap or getter) and wrapping a MappingData. lib/posix/shm.ts gives it Mapping.prototype.
const napi_type_tag kMappingTag = {0x6d756c746970726fULL, 0x632d6d6170706e67ULL};

struct MappingData {
  RegionPtr region;
  Napi::Reference<Napi::ArrayBuffer> buffer;
};

MappingData* HandleData(Napi::Env env, Napi::Value v, const char* name) {
  bool tagged = false;
  if (v.IsObject()) napi_check_object_type_tag(env, v, &kMappingTag, &tagged);
  if (!tagged) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a Mapping (from mmap). Received " + Describe(v));
  }
  void* data = nullptr;
  if (napi_unwrap(env, v, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, std::string("The \"") + name + "\" argument is not a live Mapping");
  }
  return static_cast<MappingData*>(data);
}

Napi::Object NewMapping(Napi::Env env, const RegionPtr& region, bool shared) {
  // The buffer's finalizer (a mapping the user forgot to close, collected) unmaps through its own reference.
  auto* hint = new RegionPtr(region);
  napi_value ab;
  napi_status st = napi_create_external_arraybuffer(
      env, region->base, region->length,
      [](napi_env, void*, void* h) {
        auto* r = static_cast<RegionPtr*>(h);
        (*r)->Close();
        delete r;
      },
      hint, &ab);
  if (st != napi_ok) {
    delete hint;
    region->Close();
    throw CodedError(env, "ERR_MULTIPROC_NO_EXTERNAL_BUFFERS",
                     "this Node.js runtime does not allow external ArrayBuffers (V8 sandbox), so shared memory "
                     "cannot be exposed without copying; use a Node.js build without the V8 sandbox");
  }
  Napi::Object handle = Napi::Object::New(env);
  handle.DefineProperties({
      Napi::PropertyDescriptor::Value("buffer", Napi::Value(env, ab), napi_enumerable),
      Napi::PropertyDescriptor::Value("shared", Napi::Boolean::New(env, shared), napi_enumerable),
  });
  auto* data = new MappingData{region, Napi::Persistent(Napi::Value(env, ab).As<Napi::ArrayBuffer>())};
  napi_status ws = napi_wrap(
      env, handle, data, [](napi_env, void* d, void*) { delete static_cast<MappingData*>(d); }, nullptr, nullptr);
  if (ws != napi_ok) {
    delete data;
    throw Napi::Error::New(env, "multiproc: could not wrap the mapping");
  }
  napi_type_tag_object(env, handle, &kMappingTag);
  return handle;
}

// mappingClose(m): detach the buffer (every view gets length 0), then unmap (or when the last pin goes).
Napi::Value MappingClose(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  MappingData* d = HandleData(info.Env(), info[0], "mapping");
  if (!d->region->closed) {
    Napi::ArrayBuffer ab = d->buffer.Value();
    if (!ab.IsDetached()) ab.Detach();
    d->region->Close();
  }
  return info.Env().Undefined();
}

// mappingState(m) -> [length (0 once closed), closed]
Napi::Value MappingState(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  MappingData* d = HandleData(info.Env(), info[0], "mapping");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  bool closed = d->region->closed;
  out.Set(0u, Napi::Number::New(info.Env(), closed ? 0 : static_cast<double>(d->region->length)));
  out.Set(1u, Napi::Boolean::New(info.Env(), closed));
  return out;
}

// mappingMsync(m, offset, length): msync(MS_SYNC) of a range (file-backed mappings).
Napi::Value MappingMsync(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  RegionPtr r = ArgRegion(info, 0, "mapping");
  int64_t offset = ArgIntegerOr(info, 1, "offset", 0, int64_t(r->length), 0);
  int64_t length = ArgIntegerOr(info, 2, "length", 0, int64_t(r->length) - offset, int64_t(r->length) - offset);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(info.Env(), "mapping");
  long page = sysconf(_SC_PAGESIZE);
  int64_t start = offset / page * page;
  if (msync(r->base + start, size_t(offset - start + length), MS_SYNC) != 0) ThrowErrno(info.Env(), errno, "msync");
  return info.Env().Undefined();
}

// ---- what the machine can back ----------------------------------------------------------------------------
// A request for shared memory larger than the machine can back is refused before anything is committed: a
// memfd (on the kernel's internal tmpfs, which has no size limit) fallocated to 8 TiB otherwise takes pages
// until the OOM killer starts killing processes. The limit is RAM + swap, capped by the tightest memory cgroup
// limit on the way from this process's cgroup to the root (v2 memory.max + memory.swap.max; v1
// memory.limit_in_bytes, and memory.memsw.limit_in_bytes for memory + swap).

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::string s;
  std::getline(f, s);
  return s;
}

// A cgroup limit file: a number of bytes, or -1 for none ("max", absent, or v1's "unlimited" near 2^63).
int64_t CgroupValue(const std::string& path) {
  std::string s = ReadSmall(path);
  if (s.empty() || s[0] < '0' || s[0] > '9') return -1;
  unsigned long long v = strtoull(s.c_str(), nullptr, 10);
  if (v >= (1ULL << 62)) return -1;
  return int64_t(v);
}

struct CgroupMount {
  std::string root;   // the mount's root inside the hierarchy (mountinfo field 4)
  std::string point;  // where it is mounted
};

// The mounts of the cgroup2 hierarchy (v2 = true) or of the v1 hierarchy with the memory controller.
std::vector<CgroupMount> CgroupMounts(bool v2) {
  std::vector<CgroupMount> out;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash)), post(line.substr(dash + 3));
    std::string id, parent, dev, root, point, fstype, source, opts;
    pre >> id >> parent >> dev >> root >> point;
    post >> fstype >> source >> opts;
    if (v2 ? fstype == "cgroup2" : (fstype == "cgroup" && ("," + opts + ",").find(",memory,") != std::string::npos)) {
      out.push_back({root, point});
    }
  }
  return out;
}

// The directory of cgroup `path` under one of `mounts`, or "".
std::string CgroupDir(const std::vector<CgroupMount>& mounts, const std::string& path) {
  for (const auto& m : mounts) {
    if (m.root == "/") return m.point + (path == "/" ? "" : path);
    if (path.compare(0, m.root.size(), m.root) == 0 && (path.size() == m.root.size() || path[m.root.size()] == '/')) {
      return m.point + path.substr(m.root.size());
    }
  }
  return "";
}

// The tightest memory and swap limits from `dir` up to `top` (-1: none).
void WalkLimits(std::string dir, const std::string& top, const char* memFile, const char* swapFile, int64_t* mem,
                int64_t* swap, bool swapIsTotal) {
  for (;;) {
    int64_t m = CgroupValue(dir + "/" + memFile);
    if (m >= 0 && (*mem < 0 || m < *mem)) *mem = m;
    int64_t s = CgroupValue(dir + "/" + swapFile);
    if (s >= 0 && swapIsTotal) s = m >= 0 ? std::max<int64_t>(0, s - m) : -1;  // v1 memsw = memory + swap
    if (s >= 0 && (*swap < 0 || s < *swap)) *swap = s;
    if (dir.size() <= top.size()) break;
    size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash < top.size()) break;
    dir = dir.substr(0, slash);
  }
}

std::string Human(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(n);
  int i = 0;
  while (v >= 1024 && i < 6) {
    v /= 1024;
    i++;
  }
  char buf[48];
  if (i == 0) snprintf(buf, sizeof buf, "%llu B", (unsigned long long)n);
  else if (v == double(int64_t(v))) snprintf(buf, sizeof buf, "%lld %s", (long long)v, units[i]);
  else snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  return buf;
}

}  // namespace

MemoryLimit ComputeMemoryLimit() {
  MemoryLimit r;
  struct sysinfo si;
  if (sysinfo(&si) == 0) {
    r.ram = uint64_t(si.totalram) * si.mem_unit;
    r.swap = uint64_t(si.totalswap) * si.mem_unit;
  }
  int64_t mem = -1, swap = -1;
  std::ifstream f("/proc/self/cgroup");
  std::string line;
  while (std::getline(f, line)) {
    size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, 2, "0:") == 0 && controllers.empty()) {
      auto mounts = CgroupMounts(true);
      std::string dir = CgroupDir(mounts, path);
      if (!dir.empty()) WalkLimits(dir, mounts[0].point, "memory.max", "memory.swap.max", &mem, &swap, false);
    } else if (("," + controllers + ",").find(",memory,") != std::string::npos) {
      auto mounts = CgroupMounts(false);
      std::string dir = CgroupDir(mounts, path);
      if (!dir.empty()) {
        WalkLimits(dir, mounts[0].point, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", &mem, &swap, true);
      }
    }
  }
  uint64_t machine = r.ram + r.swap;
  r.limit = machine;
  r.source = "RAM " + Human(r.ram) + " + swap " + Human(r.swap);
  if (mem >= 0) {
    r.cgroup = mem;
    uint64_t cg = uint64_t(mem) + (swap >= 0 ? std::min<uint64_t>(uint64_t(swap), r.swap) : r.swap);
    if (cg < machine) {
      r.limit = cg;
      r.source = "the memory cgroup's limit " + Human(uint64_t(mem)) + (r.swap > 0 ? " + swap " + Human(cg - uint64_t(mem)) : "");
    }
  }
  return r;
}

bool IsShmemFd(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0) return false;
  return sf.f_type == TMPFS_MAGIC || sf.f_type == HUGETLBFS_MAGIC;
}

void CheckSharedSize(Napi::Env env, uint64_t bytes, const char* syscall, int fd) {
  if (bytes <= kSmallShared) return;  // below any machine that runs Node: not worth reading /proc
  MemoryLimit m = ComputeMemoryLimit();
  if (bytes > m.limit) {
    Napi::Error e = ErrnoError(env, ENOMEM, syscall);
    e.Set("message", Napi::String::New(env, std::string(syscall) + " ENOMEM: a shared allocation of " + std::to_string(bytes) +
                                                " bytes (" + Human(bytes) + ") is more than this machine can back: " +
                                                std::to_string(m.limit) + " bytes (" + Human(m.limit) + ", " + m.source + ")"));
    e.Set("requested", Napi::Number::New(env, double(bytes)));
    e.Set("limit", Napi::Number::New(env, double(m.limit)));
    throw e;
  }
  if (fd < 0) return;
  // A size-limited tmpfs (/dev/shm): the kernel would say ENOSPC too; say it with the figures.
  struct statfs sf;
  struct stat st;
  if (fstatfs(fd, &sf) == 0 && sf.f_blocks > 0 && fstat(fd, &st) == 0) {
    uint64_t space = uint64_t(sf.f_bavail) * uint64_t(sf.f_bsize) + uint64_t(st.st_blocks) * 512;
    if (bytes > space) {
      Napi::Error e = ErrnoError(env, ENOSPC, syscall);
      e.Set("message", Napi::String::New(env, std::string(syscall) + " ENOSPC: a shared allocation of " + std::to_string(bytes) +
                                                  " bytes (" + Human(bytes) + ") does not fit in the " + Human(space) +
                                                  " free on its file system (/dev/shm? df -h /dev/shm)"));
      e.Set("requested", Napi::Number::New(env, double(bytes)));
      e.Set("limit", Napi::Number::New(env, double(space)));
      throw e;
    }
  }
}

namespace {

// memoryLimit() -> { limit, ram, swap, cgroup (-1: none), source }
Napi::Value MemoryLimitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MemoryLimit m = ComputeMemoryLimit();
  Napi::Object o = Napi::Object::New(env);
  o.Set("limit", Napi::Number::New(env, double(m.limit)));
  o.Set("ram", Napi::Number::New(env, double(m.ram)));
  o.Set("swap", Napi::Number::New(env, double(m.swap)));
  o.Set("cgroup", Napi::Number::New(env, double(m.cgroup)));
  o.Set("source", Napi::String::New(env, m.source));
  return o;
}

// Reserves [offset, offset + length) of a file for real (tmpfs pages allocated now): ENOSPC surfaces here,
// not as SIGBUS when the bytes are first touched.
int Reserve(int fd, off_t offset, off_t length) {
  int err;
  do {
    err = posix_fallocate(fd, offset, length);
  } while (err == EINTR);
  return err;
}

// mmap(length, fd = -1, offset = 0, readOnly = false) -> Mapping
Napi::Value Mmap(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  Napi::Env env = info.Env();
  int64_t length = ArgInteger(info, 0, "length", 1, kMaxLength);
  int fd = static_cast<int>(ArgIntegerOr(info, 1, "fd", -1, INT_MAX, -1));
  int64_t offset = ArgIntegerOr(info, 2, "offset", 0, kMaxLength, 0);
  bool readOnly = ArgBoolOr(info, 3, "readOnly", false);
  long page = sysconf(_SC_PAGESIZE);
  if (offset % page != 0) {
    ThrowRangeError(env, "The value of \"offset\" is out of range. It must be a multiple of the page size (" +
                             std::to_string(page) + "). Received " + std::to_string(offset));
  }
  int flags = MAP_SHARED;
  int prot = PROT_READ | PROT_WRITE;
  if (fd < 0) {
    if (offset != 0) ThrowRangeError(env, "An anonymous mapping has no offset");
    CheckSharedSize(env, uint64_t(length), "mmap", -1);
    flags |= MAP_ANONYMOUS;
  } else {
    struct stat st;
    if (fstat(fd, &st) != 0) ThrowErrno(env, errno, "fstat");
    if (offset + length > st.st_size) {
      ThrowRangeError(env, "The mapping [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                               ") reaches past the end of the file (" + std::to_string(st.st_size) +
                               " bytes): touching those bytes would kill the process with SIGBUS. Size the "
                               "file first (ftruncate).");
    }
    int acc = fcntl(fd, F_GETFL);
    if (acc < 0) ThrowErrno(env, errno, "fcntl");
    if (readOnly || (acc & O_ACCMODE) == O_RDONLY) {
      // A PROT_READ page written from JavaScript would be a SIGSEGV. A private copy-on-write mapping reads
      // the shared bytes and keeps this process's writes to itself (never visible to others).
      flags = MAP_PRIVATE;
      readOnly = true;
    } else if (S_ISREG(st.st_mode)) {
      if (IsShmemFd(fd)) CheckSharedSize(env, uint64_t(offset + length), "fallocate", fd);
      int err = Reserve(fd, offset, length);
      if (err != 0 && err != EOPNOTSUPP && err != EINVAL) {
        Napi::Error e = ErrnoError(env, err, "fallocate");
        if (err == ENOSPC) {
          e.Set("message", Napi::String::New(env, "fallocate ENOSPC: not enough space for a shared mapping of " +
                                                      std::to_string(length) +
                                                      " bytes (is /dev/shm full or too small? df -h /dev/shm)"));
        }
        throw e;
      }
    }
  }
  void* base = mmap(nullptr, size_t(length), prot, flags, fd, off_t(offset));
  if (base == MAP_FAILED) ThrowErrno(env, errno, "mmap");
  auto region = std::make_shared<Region>();
  region->base = static_cast<uint8_t*>(base);
  region->length = size_t(length);
  return NewMapping(env, region, !readOnly);
}

std::string ArgShmName(const Napi::CallbackInfo& info, size_t i) {
  std::string name = ArgString(info, i, "name", NAME_MAX);
  if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos) {
    ThrowRangeError(info.Env(), "A shared memory name is '/' followed by 1 to 254 characters other than '/'. Received '" +
                                    name + "'");
  }
  return name;
}

// shmOpen(name, oflag, mode) -> fd   (O_CLOEXEC is implied by shm_open)
Napi::Value ShmOpen(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  std::string name = ArgShmName(info, 0);
  int oflag = static_cast<int>(ArgInteger(info, 1, "flags", 0, INT_MAX));
  mode_t mode = static_cast<mode_t>(ArgIntegerOr(info, 2, "mode", 0, 07777, 0600));
  int fd = shm_open(name.c_str(), oflag, mode);
  if (fd < 0) ThrowErrno(info.Env(), errno, "shm_open");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  std::string name = ArgShmName(info, 0);
  return UndefinedOrErrno(info.Env(), shm_unlink(name.c_str()), "shm_unlink");
}

// memfdCreate(name, allowSealing = false) -> fd (MFD_CLOEXEC)
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  std::string name = ArgString(info, 0, "name", 249);
  bool sealing = ArgBoolOr(info, 1, "allowSealing", false);
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | (sealing ? MFD_ALLOW_SEALING : 0));
  if (fd < 0) ThrowErrno(info.Env(), errno, "memfd_create");
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  RequireArgs(info, 2);
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, INT_MAX));
  int64_t size = ArgInteger(info, 1, "size", 0, kMaxLength);
  // A shared-memory file (memfd, /dev/shm) larger than the machine can back would fill memory when touched.
  if (IsShmemFd(fd)) CheckSharedSize(info.Env(), uint64_t(size), "ftruncate", -1);
  int rc;
  MP_RETRY_EINTR(rc, ftruncate(fd, off_t(size)));
  if (rc != 0) ThrowErrno(info.Env(), errno, "ftruncate");
  return info.Env().Undefined();
}

Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, INT_MAX));
  int64_t offset = ArgInteger(info, 1, "offset", 0, kMaxLength);
  int64_t length = ArgInteger(info, 2, "length", 1, kMaxLength);
  if (IsShmemFd(fd)) CheckSharedSize(info.Env(), uint64_t(offset + length), "fallocate", fd);
  int err = Reserve(fd, off_t(offset), off_t(length));
  if (err != 0) ThrowErrno(info.Env(), err, "fallocate");
  return info.Env().Undefined();
}

Napi::Value FdSize(const Napi::CallbackInfo& info) {
  RequireArgs(info, 1);
  int fd = static_cast<int>(ArgInteger(info, 0, "fd", 0, INT_MAX));
  struct stat st;
  if (fstat(fd, &st) != 0) ThrowErrno(info.Env(), errno, "fstat");
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_size));
}

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sysconf(_SC_PAGESIZE)));
}

// memcpyBench(mapping, bytes, iterations): the native baseline for shared-memory write bandwidth.
Napi::Value FillBench(const Napi::CallbackInfo& info) {
  RequireArgs(info, 3);
  RegionPtr r = ArgRegion(info, 0, "mapping");
  int64_t bytes = ArgInteger(info, 1, "bytes", 1, int64_t(r->length));
  int64_t iterations = ArgInteger(info, 2, "iterations", 1, int64_t(1) << 40);
  RegionPin pin(r);
  if (!pin.ok()) ThrowClosed(info.Env(), "mapping");
  std::unique_ptr<uint8_t[]> src(new uint8_t[size_t(bytes)]);
  memset(src.get(), 0x5a, size_t(bytes));
  for (int64_t i = 0; i < iterations; i++) {
    src[0] = uint8_t(i);
    memcpy(r->base, src.get(), size_t(bytes));
    asm volatile("" ::: "memory");  // the copy is observable: the compiler may not drop it
  }
  return info.Env().Undefined();
}

}  // namespace

RegionPtr ArgRegion(const Napi::CallbackInfo& info, size_t i, const char* name) {
  RegionPtr r = HandleData(info.Env(), info[i], name)->region;
  if (r->closed) ThrowClosed(info.Env(), "mapping");
  return r;
}

uint8_t* RegionAt(Napi::Env env, const RegionPtr& region, int64_t offset, size_t size, size_t align) {
  if (offset < 0 || uint64_t(offset) + size > region->length) {
    ThrowRangeError(env, "The object [" + std::to_string(offset) + ", " + std::to_string(offset + int64_t(size)) +
                             ") does not fit in the mapping of " + std::to_string(region->length) + " bytes");
  }
  if (align > 1 && offset % int64_t(align) != 0) {
    ThrowRangeError(env, "The value of \"offset\" is out of range. It must be a multiple of " + std::to_string(align) +
                             ". Received " + std::to_string(offset));
  }
  return region->base + offset;
}

void InitShm(Napi::Env env, Napi::Object exports) {
  ExportFunctions(env, exports, {
      {"mmap", Mmap},
      {"mappingClose", MappingClose},
      {"mappingState", MappingState},
      {"mappingMsync", MappingMsync},
      {"shmOpen", ShmOpen},
      {"shmUnlink", ShmUnlink},
      {"memfdCreate", MemfdCreate},
      {"ftruncate", Ftruncate},
      {"fallocate", Fallocate},
      {"fdSize", FdSize},
      {"pageSize", PageSize},
      {"memoryLimit", MemoryLimitJs},
      {"fillBench", FillBench},
  });
  exports.Set("shmConstants", NumbersObject(env, {
      MP_CONSTANT(O_RDONLY),
      MP_CONSTANT(O_RDWR),
      MP_CONSTANT(O_CREAT),
      MP_CONSTANT(O_EXCL),
      MP_CONSTANT(O_TRUNC),
  }));
}

}  // namespace mp

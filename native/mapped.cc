// Weights memory-mapped from their file: mapFile(path, offset, length) returns an ArrayBuffer over those bytes
// of the file (MAP_PRIVATE, copy-on-write: a stray write never reaches the file), so a quantized or 16-bit
// weight stored as the engine reads it needs no copy. The kernel pages it in on first use and can drop clean
// pages under memory pressure. free() (memory.cc) unmaps it at once and detaches the buffer; otherwise the
// garbage collector's finalizer does.
#include "common.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

namespace lift {

struct Mapping {
  void* base;
  size_t len;
  bool unmapped;
};
static std::unordered_map<void*, Mapping*> mappings;  // data pointer → mapping
static size_t mappedBytes = 0;

static void finalizeMapping(Napi::Env, void* data, Mapping* m) {
  if (!m->unmapped) {
    munmap(m->base, m->len);
    mappedBytes -= m->len;
    mappings.erase(data);
  }
  delete m;
}

bool releaseMapped(Napi::ArrayBuffer& ab) {
  auto it = mappings.find(ab.Data());
  if (it == mappings.end()) return false;
  Mapping* m = it->second;
  m->unmapped = true;  // before Detach: the finalizer may run during it
  mappings.erase(it);
  munmap(m->base, m->len);
  mappedBytes -= m->len;
  ab.Detach();
  return true;
}

size_t mappedTotal() { return mappedBytes; }

// mapFile(path, offset, length) → ArrayBuffer
static Napi::Value mapFile(const Napi::CallbackInfo& info) {
  const char* op = "mapFile";
  if (!info[0].IsString()) throw ArgError{argName(op, 0) + " must be a string"};
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int64_t off = integer(info, 1, op), len = integer(info, 2, op);
  nonneg(op, "offset", off); positive(op, "length", len);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ArgError{std::string(op) + ": cannot open " + path};
  struct stat st;
  if (fstat(fd, &st) != 0 || off + len > (int64_t)st.st_size) {
    close(fd);
    throw ArgError{std::string(op) + ": bytes " + std::to_string(off) + ".." + std::to_string(off + len) + " are outside " + path};
  }
  int64_t page = sysconf(_SC_PAGESIZE), start = off / page * page;
  size_t maplen = (size_t)(off + len - start);
  void* base = mmap(nullptr, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, start);
  close(fd);  // the mapping keeps the file
  if (base == MAP_FAILED) throw ArgError{std::string(op) + ": mmap of " + path + " failed"};
  uint8_t* data = (uint8_t*)base + (off - start);
  Mapping* m = new Mapping{base, maplen, false};
  mappings[data] = m;
  mappedBytes += maplen;
  return Napi::ArrayBuffer::New(info.Env(), data, (size_t)len, finalizeMapping, m);
}

void registerMapped(Napi::Env env, Napi::Object exports) {
  LIFT_EXPORT("mapFile", mapFile);
}

}  // namespace lift

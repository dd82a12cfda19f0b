#include "mpiseg/core/resources.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace mpiseg {
namespace {
// Reads a "Name:   1234 kB" line from /proc/self/status.
std::uint64_t status_kib(const char* field) {
  std::FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return 0;
  char line[256];
  std::uint64_t value = 0;
  const std::size_t length = std::strlen(field);
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::strncmp(line, field, length) == 0 && line[length] == ':') {
      unsigned long long kib = 0;
      if (std::sscanf(line + length + 1, "%llu", &kib) == 1) value = kib;
      break;
    }
  }
  std::fclose(file);
  return value * 1024;
}
}  // namespace

std::uint64_t peak_rss_bytes() { return status_kib("VmHWM"); }

bool cpu_specific_kernels_allowed() noexcept {
  static const bool allowed = [] {
    const char* forced = std::getenv("MPISEG_KERNEL");
    return forced == nullptr || std::strcmp(forced, "generic") != 0;
  }();
  return allowed;
}

std::size_t whole_pages(std::size_t bytes) noexcept {
  static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

void* map_pages(std::size_t bytes) {
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) throw std::bad_alloc();
  return data;
}

void* remap_pages(void* data, std::size_t old_bytes, std::size_t new_bytes) {
  void* moved = mremap(data, old_bytes, new_bytes, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) throw std::bad_alloc();  // the old mapping is still there and owned
  return moved;
}

void unmap_pages(void* data, std::size_t bytes) noexcept { (void)munmap(data, bytes); }

void populate_pages(void* data, std::size_t bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(data) + bytes;
  if (bytes > 0) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)bytes;
#endif
}

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace mpiseg

#include "mpiseg/core/resources.hpp"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

#pragma once
/// Wall-clock timing and memory figures used by the per-stage summary and the benchmarks, and the
/// few choices made from the machine itself (huge pages, CPU-specific code paths).
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mpiseg {

/// Peak resident set size of this process in bytes (VmHWM), 0 if unavailable.
std::uint64_t peak_rss_bytes();

/// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with transparent huge
/// pages: a buffer filled once from start to end then takes a page fault per 2 MiB instead of per
/// 4 KiB. Advice only: where the kernel has no such pages (or THP is off) nothing changes.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

/// False when the environment sets MPISEG_KERNEL=generic: the code paths chosen at run time from
/// the CPU's features (K-means distances, the CSV scan) then take their portable version, for
/// comparisons and tests. Read once.
bool cpu_specific_kernels_allowed() noexcept;

/// A monotonic stopwatch started at construction.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void restart() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mpiseg

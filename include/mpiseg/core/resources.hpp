#pragma once
/// Wall-clock timing and memory figures used by the per-stage summary and the benchmarks.
#include <chrono>
#include <cstdint>

namespace mpiseg {

/// Peak resident set size of this process in bytes (VmHWM), 0 if unavailable.
std::uint64_t peak_rss_bytes();

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

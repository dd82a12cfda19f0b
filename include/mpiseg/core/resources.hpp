#pragma once
/// Wall-clock timing and memory figures used by the per-stage summary and the benchmarks, and the
/// few choices made from the machine itself (huge pages, CPU-specific code paths).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace mpiseg {

/// Peak resident set size of this process in bytes (VmHWM), 0 if unavailable.
std::uint64_t peak_rss_bytes();

/// Asks the kernel to back the whole 2 MiB pages inside [data, data + bytes) with transparent huge
/// pages: a buffer filled once from start to end then takes a page fault per 2 MiB instead of per
/// 4 KiB. Advice only: where the kernel has no such pages (or THP is off) nothing changes.
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

/// Anonymous memory mappings of whole pages for MappedArray. map_pages and remap_pages throw
/// std::bad_alloc when the kernel refuses; remap_pages may move the pages (their contents go along
/// without being copied or faulted in again).
void* map_pages(std::size_t bytes);
void* remap_pages(void* data, std::size_t old_bytes, std::size_t new_bytes);
void unmap_pages(void* data, std::size_t bytes) noexcept;
/// Bytes rounded up to whole pages.
std::size_t whole_pages(std::size_t bytes) noexcept;

/// A growable array of trivially copyable values in a memory mapping of its own. Where std::vector
/// grows by allocating twice the room, copying and freeing, this one grows by remapping: the values
/// already there are not copied, their pages are not touched again (each first touch of a page is
/// a fault and a page zeroed by the kernel) and the old and new room are never held at once. For
/// large buffers filled by appending, whose final size is not known in advance.
template <class T>
  requires std::is_trivially_copyable_v<T>
class MappedArray {
 public:
  MappedArray() = default;
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  MappedArray(MappedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  MappedArray& operator=(MappedArray&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~MappedArray() { release(); }

  void push_back(const T& value) {
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = value;
  }
  /// Room for `count` values in all (at least twice the present room when it grows).
  void reserve(std::size_t count) {
    if (count > capacity_) grow(count);
  }
  /// Empties the array and returns its pages to the system.
  void release() noexcept {
    if (data_ != nullptr) unmap_pages(data_, capacity_ * sizeof(T));
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  void grow(std::size_t count) {
    constexpr std::size_t kFirstBytes = std::size_t{64} << 10;
    std::size_t bytes = whole_pages(std::max({count * sizeof(T), 2 * capacity_ * sizeof(T), kFirstBytes}));
    data_ = static_cast<T*>(data_ == nullptr ? map_pages(bytes) : remap_pages(data_, capacity_ * sizeof(T), bytes));
    capacity_ = bytes / sizeof(T);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

/// Faults in the pages of [data, data + bytes) for writing in one call (MADV_POPULATE_WRITE), for a
/// range about to be filled: on a virtual machine each page's first touch is a trap to the kernel,
/// which costs more than the zeroing itself. Advice only: older kernels ignore it.
void populate_pages(void* data, std::size_t bytes) noexcept;

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

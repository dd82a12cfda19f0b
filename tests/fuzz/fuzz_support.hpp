#pragma once
// What the libFuzzer targets share: a scratch file for APIs that read files, and a reader of the
// fuzzer's bytes as small numbers (a structured input for the structure-aware targets).
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace mpiseg::fuzz {

/// A file under /dev/shm (or /tmp) named after the process, rewritten by every input.
inline std::filesystem::path scratch_file(std::string_view suffix) {
  const std::filesystem::path folder = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  return folder / ("mpiseg-fuzz-" + std::to_string(::getpid()) + std::string(suffix));
}

inline void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

/// Takes small values off the front of the input; zeros once it is used up.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return position_ < size_ ? data_[position_++] : 0; }
  std::uint32_t below(std::uint32_t bound) {  // in [0, bound)
    std::uint32_t value = byte();
    value = value << 8 | byte();
    return bound == 0 ? 0 : value % bound;
  }
  double number() {  // finite values of several magnitudes, and the special ones
    switch (byte() % 8) {
      case 0: return std::numeric_limits<double>::quiet_NaN();
      case 1: return byte() % 2 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
      case 2: return byte() % 2 ? 1e300 : -1e308;
      default: return (static_cast<double>(below(20001)) - 10000.0) / 100.0;
    }
  }
  std::string_view rest() {
    const auto* begin = reinterpret_cast<const char*>(data_ + position_);
    const std::size_t left = size_ - position_;
    position_ = size_;
    return {begin, left};
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

}  // namespace mpiseg::fuzz

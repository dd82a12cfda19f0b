#include "mpiseg/core/posix_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <utility>

#include "mpiseg/core/error.hpp"

namespace mpiseg {

PosixFile::PosixFile(const std::filesystem::path& path, int flags) : path_(path) {
  do {
    descriptor_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  } while (descriptor_ < 0 && errno == EINTR);
  if (descriptor_ < 0) throw IoError(fmt::format("cannot open '{}': {}", path.string(), std::strerror(errno)));
}

PosixFile::~PosixFile() {
  if (descriptor_ >= 0) ::close(descriptor_);
}

PosixFile::PosixFile(PosixFile&& other) noexcept
    : descriptor_(std::exchange(other.descriptor_, -1)), path_(std::move(other.path_)) {}

PosixFile& PosixFile::operator=(PosixFile&& other) noexcept {
  if (this != &other) {
    if (descriptor_ >= 0) ::close(descriptor_);
    descriptor_ = std::exchange(other.descriptor_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

std::size_t PosixFile::read_at(std::uint64_t offset, std::span<std::byte> buffer) const {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t got = ::pread(descriptor_, buffer.data() + done, buffer.size() - done,
                                static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("cannot read '{}' at byte {}: {}", path_.string(), offset + done, std::strerror(errno)));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

void PosixFile::write_at(std::uint64_t offset, std::span<const std::byte> data) const {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t put = ::pwrite(descriptor_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (put < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("cannot write '{}' at byte {}: {}", path_.string(), offset + done, std::strerror(errno)));
    }
    done += static_cast<std::size_t>(put);
  }
}

std::uint64_t PosixFile::size() const {
  struct stat info {};
  if (::fstat(descriptor_, &info) != 0)
    throw IoError(fmt::format("cannot stat '{}': {}", path_.string(), std::strerror(errno)));
  return static_cast<std::uint64_t>(info.st_size);
}

void PosixFile::sync() const {
  if (::fsync(descriptor_) != 0) throw IoError(fmt::format("cannot write '{}' to storage: {}", path_.string(), std::strerror(errno)));
}

void PosixFile::close() {
  if (descriptor_ >= 0) {
    const int status = ::close(std::exchange(descriptor_, -1));
    if (status != 0) throw IoError(fmt::format("cannot close '{}': {}", path_.string(), std::strerror(errno)));
  }
}

std::filesystem::path temporary_path_for(const std::filesystem::path& path) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  return temporary;
}

void rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw IoError(fmt::format("cannot rename '{}' to '{}': {}", from.string(), to.string(), std::strerror(errno)));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path temporary = temporary_path_for(path);
  try {
    PosixFile file(temporary, O_WRONLY | O_CREAT | O_TRUNC);
    file.write_at(0, std::as_bytes(std::span(text.data(), text.size())));
    file.sync();
    file.close();
    rename_into_place(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace mpiseg

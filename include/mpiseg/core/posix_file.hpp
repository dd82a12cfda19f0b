#pragma once
/// A POSIX file descriptor with one owner, positional reads and writes that retry short
/// transfers, and error messages that name the file. Used for byte-range reads of input files
/// (every rank preads its own range) and by the serial shared-file writer.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

namespace mpiseg {

class PosixFile {
 public:
  PosixFile() = default;
  /// Opens `path` with open(2) `flags` (O_RDONLY, O_WRONLY | O_CREAT | O_TRUNC, ...); throws IoError.
  PosixFile(const std::filesystem::path& path, int flags);
  ~PosixFile();
  PosixFile(PosixFile&& other) noexcept;
  PosixFile& operator=(PosixFile&& other) noexcept;
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  /// Reads up to `buffer.size()` bytes at `offset`; fewer only at end of file.
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> buffer) const;
  void write_at(std::uint64_t offset, std::span<const std::byte> data) const;
  std::uint64_t size() const;
  /// fsync(2): the data is on stable storage (or the file system has said why not); throws IoError.
  void sync() const;
  void close();
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  int descriptor_ = -1;
  std::filesystem::path path_;
};

/// "name.tmp" beside `path`: where a file is written before it is renamed into place (the same
/// name on every rank, so a collective writer agrees on it).
std::filesystem::path temporary_path_for(const std::filesystem::path& path);
/// rename(2) `from` onto `to` (atomic on one file system); throws IoError naming both.
void rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to);

/// Writes `text` to `path` through temporary_path_for(path): every write checked, synced and
/// closed before the rename, so that a full disk or any other failure leaves nothing at `path`
/// (the previous file, if any, stays) and no temporary behind. Throws IoError naming the path.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace mpiseg

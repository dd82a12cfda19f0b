#pragma once
/// Compressed input files (gzip, zstd): detection by magic bytes, and a reader that hands out
/// the decompressed bytes in order, as the record reader asks for them.
///
/// A compressed stream cannot be split at byte offsets, so ingest reads each compressed file
/// whole on one rank (ranks balanced by compressed size) and deals its records out in chunks
/// (ingest.cpp). Offsets, line numbers and basket positions are those of the decompressed bytes,
/// so everything downstream is what reading the decompressed file would give.
///
///   DecompressingReader stream(path, detect_compression(path));
///   RecordReader reader([&](auto offset, auto buffer) { return stream.read_at(offset, buffer); },
///                       kUnknownSize, 0, kUnknownSize, limits);
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/posix_file.hpp"
#include "mpiseg/ingest/record_reader.hpp"

namespace mpiseg::ingest {

enum class Compression : std::uint8_t { none, gzip, zstd };

std::string_view compression_name(Compression compression) noexcept;

/// From the file's first bytes (gzip 1f 8b, zstd 28 b5 2f fd), whatever its name; throws IoError
/// when the file cannot be opened.
Compression detect_compression(const std::filesystem::path& path);

/// Decompresses one file sequentially. Concatenated gzip members and zstd frames are read as one
/// stream (what `zcat` and `zstdcat` print). Corrupt or truncated data throws InputError naming
/// the file and the compressed offset.
class DecompressingReader {
 public:
  DecompressingReader(const std::filesystem::path& path, Compression compression);
  ~DecompressingReader();
  DecompressingReader(const DecompressingReader&) = delete;
  DecompressingReader& operator=(const DecompressingReader&) = delete;

  /// Fills `buffer` with the decompressed bytes from `offset`, which must be where the previous
  /// read ended (the stream only goes forward); fewer bytes only at the end of the stream.
  std::size_t read_at(std::uint64_t offset, std::span<std::byte> buffer);
  /// Decompressed bytes handed out so far (the decompressed size once read_at returned 0).
  std::uint64_t position() const noexcept { return position_; }

 private:
  struct Codec;
  bool refill_input();

  std::filesystem::path path_;
  Compression compression_;
  PosixFile file_;
  std::uint64_t compressed_read_ = 0;
  std::unique_ptr<std::byte[]> input_;
  std::size_t input_size_ = 0;
  std::size_t input_used_ = 0;
  std::unique_ptr<Codec> codec_;
  bool inside_frame_ = false;  // a gzip member or zstd frame has begun and not yet ended
  bool finished_ = false;
  std::uint64_t position_ = 0;
};

/// One compressed input file: its index among the inputs, its path and size on disk.
struct CompressedFile {
  std::uint32_t file = 0;
  std::filesystem::path path;
  Compression compression = Compression::none;
  std::uint64_t compressed_bytes = 0;
};

/// The rank that reads each file whole: the largest file first, each to the rank with the fewest
/// compressed bytes so far (the lowest rank on ties), so the result depends on the sizes only.
std::vector<int> assign_readers(std::span<const CompressedFile> files, int ranks);

/// What a rank does with the records dealt to it: `begin_chunk(file, first_offset)` before the
/// records of each chunk (a chunk holds consecutive records of one file), then `record` for each.
struct ChunkConsumer {
  std::function<void(std::uint32_t file, std::uint64_t first_offset)> begin_chunk;
  std::function<void(const Record&)> record;
};

/// Collective. Every file is decompressed and split into records (under `limits`, as from an
/// uncompressed file) on its reader rank, in a thread beside the rank's own parsing. In rounds,
/// each reader that still has records deals one chunk of about `chunk_bytes` to each rank it
/// serves (the ranks are shared out among the readers still active), so one large file keeps
/// every rank parsing. Returns every file's decompressed size, on every rank.
std::vector<std::uint64_t> deal_compressed_records(std::span<const CompressedFile> files, std::span<const int> readers,
                                                   const ReaderLimits& limits, std::uint64_t chunk_bytes, const ChunkConsumer& consumer,
                                                   comm::Communicator& comm);

/// The first record of a compressed file (its header); nothing when it decompresses to nothing.
std::optional<std::string> read_first_compressed_record(const CompressedFile& file, const ReaderLimits& limits);

}  // namespace mpiseg::ingest

#include "mpiseg/ingest/compressed_input.hpp"

#include <fcntl.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <fmt/format.h>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <thread>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"

namespace mpiseg::ingest {
namespace {
constexpr std::size_t kInputBytes = std::size_t{1} << 20;
constexpr std::array<unsigned char, 2> kGzipMagic{0x1f, 0x8b};
constexpr std::array<unsigned char, 4> kZstdMagic{0x28, 0xb5, 0x2f, 0xfd};
}  // namespace

std::string_view compression_name(Compression compression) noexcept {
  switch (compression) {
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    case Compression::none: break;
  }
  return "none";
}

Compression detect_compression(const std::filesystem::path& path) {
  const PosixFile file(path, O_RDONLY);
  std::array<unsigned char, 4> head{};
  const std::size_t got = file.read_at(0, std::as_writable_bytes(std::span(head)));
  if (got >= kZstdMagic.size() && std::memcmp(head.data(), kZstdMagic.data(), kZstdMagic.size()) == 0) return Compression::zstd;
  if (got >= kGzipMagic.size() && std::memcmp(head.data(), kGzipMagic.data(), kGzipMagic.size()) == 0) return Compression::gzip;
  return Compression::none;
}

/// The library state of one stream; each library's own release function runs in the destructor.
struct DecompressingReader::Codec {
  z_stream gzip{};
  bool gzip_open = false;
  ZSTD_DCtx* zstd = nullptr;

  ~Codec() {
    if (gzip_open) inflateEnd(&gzip);
    if (zstd != nullptr) ZSTD_freeDCtx(zstd);
  }
};

DecompressingReader::DecompressingReader(const std::filesystem::path& path, Compression compression)
    : path_(path), compression_(compression), file_(path, O_RDONLY), input_(new std::byte[kInputBytes]), codec_(std::make_unique<Codec>()) {
  if (compression == Compression::gzip) {
    // 15 + 16: a gzip wrapper with the largest window, as gzip writes.
    if (inflateInit2(&codec_->gzip, 15 + 16) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed (out of memory?)");
    codec_->gzip_open = true;
  } else if (compression == Compression::zstd) {
    codec_->zstd = ZSTD_createDCtx();
    if (codec_->zstd == nullptr) throw std::runtime_error("zstd: ZSTD_createDCtx failed (out of memory?)");
  } else {
    throw std::logic_error("DecompressingReader on a file that is not compressed");
  }
}

DecompressingReader::~DecompressingReader() = default;

bool DecompressingReader::refill_input() {
  input_size_ = file_.read_at(compressed_read_, std::span(input_.get(), kInputBytes));
  input_used_ = 0;
  compressed_read_ += input_size_;
  return input_size_ > 0;
}

std::size_t DecompressingReader::read_at(std::uint64_t offset, std::span<std::byte> buffer) {
  if (offset != position_)
    throw std::logic_error(fmt::format("DecompressingReader: read at {} but the stream is at {}", offset, position_));
  std::size_t produced = 0;
  while (produced < buffer.size() && !finished_) {
    if (input_used_ == input_size_ && !refill_input()) {
      if (inside_frame_)
        throw InputError(fmt::format("'{}': the {} data ends inside a {} after {} compressed bytes (a truncated file?)", path_.string(),
                                     compression_name(compression_), compression_ == Compression::gzip ? "member" : "frame",
                                     compressed_read_));
      finished_ = true;
      break;
    }
    const std::uint64_t at = compressed_read_ - (input_size_ - input_used_);  // compressed offset of the next input byte
    if (compression_ == Compression::gzip) {
      z_stream& z = codec_->gzip;
      z.next_in = reinterpret_cast<Bytef*>(input_.get() + input_used_);
      z.avail_in = static_cast<uInt>(input_size_ - input_used_);
      z.next_out = reinterpret_cast<Bytef*>(buffer.data() + produced);
      z.avail_out = static_cast<uInt>(std::min<std::size_t>(buffer.size() - produced, UINT32_MAX));
      const uInt out_before = z.avail_out;
      const int status = inflate(&z, Z_NO_FLUSH);
      produced += out_before - z.avail_out;
      input_used_ = input_size_ - z.avail_in;
      if (status == Z_STREAM_END) {
        // gzip allows members one after another (cat a.gz b.gz, pigz): read on after a reset.
        inside_frame_ = false;
        if (inflateReset(&z) != Z_OK) throw std::runtime_error("zlib: inflateReset failed");
      } else if (status == Z_OK || status == Z_BUF_ERROR) {
        inside_frame_ = true;
      } else {
        throw InputError(fmt::format("'{}': corrupt gzip data near compressed byte {}: {}", path_.string(), at,
                                     z.msg != nullptr ? z.msg : zError(status)));
      }
    } else {
      ZSTD_inBuffer in{input_.get() + input_used_, input_size_ - input_used_, 0};
      ZSTD_outBuffer out{buffer.data() + produced, buffer.size() - produced, 0};
      const std::size_t status = ZSTD_decompressStream(codec_->zstd, &out, &in);
      if (ZSTD_isError(status) != 0)
        throw InputError(fmt::format("'{}': corrupt zstd data near compressed byte {}: {}", path_.string(), at, ZSTD_getErrorName(status)));
      produced += out.pos;
      input_used_ += in.pos;
      inside_frame_ = status != 0;  // 0: a frame ended and was fully flushed
    }
  }
  position_ += produced;
  return produced;
}

// ---------------------------------------------------------------- dealing records in chunks
namespace {

/// A chunk, written with comm::ByteWriter: the file and the offset of its first record, then per
/// record its offset, whether it was too long, and its text. A rank gets at most one chunk per
/// buffer (one reader serves it per round).

/// Decompresses and splits this rank's files in a thread, into a bounded queue of chunks that
/// the rank's main (MPI) thread deals out; the thread never calls MPI. An error in the thread
/// (corrupt data) reaches the main thread once the chunks before it are dealt. The destructor
/// stops and joins the thread on every path, errors included.
class ChunkProducer {
 public:
  ChunkProducer(std::vector<CompressedFile> files, const ReaderLimits& limits, std::size_t chunk_bytes, std::size_t capacity)
      : files_(std::move(files)), limits_(limits), chunk_bytes_(chunk_bytes), capacity_(capacity), sizes_(files_.size(), 0) {
    thread_ = std::thread([this] { run(); });
  }
  ~ChunkProducer() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ChunkProducer(const ChunkProducer&) = delete;
  ChunkProducer& operator=(const ChunkProducer&) = delete;

  /// The next chunk, or nothing once every file is read; rethrows the thread's error.
  std::optional<std::vector<char>> next() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (!queue_.empty()) {
      std::vector<char> chunk = std::move(queue_.front());
      queue_.pop_front();
      changed_.notify_all();
      return chunk;
    }
    if (failure_) std::rethrow_exception(failure_);
    return std::nullopt;
  }

  /// Gives a dealt chunk's buffer back for a later chunk (large fresh buffers cost page faults).
  void recycle(std::vector<char>&& buffer) {
    const std::lock_guard lock(mutex_);
    if (spare_.size() < capacity_) spare_.push_back(std::move(buffer));
  }

  /// Decompressed size of each file (valid once next() returned nothing).
  const std::vector<std::uint64_t>& sizes() const noexcept { return sizes_; }

 private:
  struct Stopped {};

  void run() {
    try {
      for (std::size_t f = 0; f < files_.size(); ++f) read_file(f);
    } catch (const Stopped&) {
    } catch (...) {
      const std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
    }
    {
      const std::lock_guard lock(mutex_);
      finished_ = true;
    }
    changed_.notify_all();
  }

  void read_file(std::size_t f) {
    DecompressingReader stream(files_[f].path, files_[f].compression);
    RecordReader reader([&stream](std::uint64_t offset, std::span<std::byte> buffer) { return stream.read_at(offset, buffer); },
                        kUnknownSize, 0, kUnknownSize, limits_);
    comm::ByteWriter chunk;
    auto start_chunk = [&](std::uint64_t first_offset) {
      {
        const std::lock_guard lock(mutex_);
        if (!spare_.empty()) {
          chunk.bytes() = std::move(spare_.back());
          spare_.pop_back();
        }
      }
      chunk.bytes().clear();
      chunk.bytes().reserve(chunk_bytes_ + 64);
      chunk.put(files_[f].file).put(first_offset);
    };
    auto finish_chunk = [&] {
      push(std::move(chunk.bytes()));
      chunk.bytes() = {};
    };
    reader.for_each([&](const Record& record) {
      if (chunk.bytes().empty()) start_chunk(record.offset);
      chunk.put(record.offset).put(static_cast<std::uint8_t>(record.too_long ? 1 : 0)).put_string(record.text);
      if (chunk.bytes().size() >= chunk_bytes_) finish_chunk();
    });
    if (!chunk.bytes().empty()) finish_chunk();
    sizes_[f] = stream.position();
  }

  void push(std::vector<char> chunk) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return queue_.size() < capacity_ || stopping_; });
    if (stopping_) throw Stopped{};
    queue_.push_back(std::move(chunk));
    changed_.notify_all();
  }

  std::vector<CompressedFile> files_;
  ReaderLimits limits_;
  std::size_t chunk_bytes_;
  std::size_t capacity_;
  std::vector<std::uint64_t> sizes_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<char>> queue_;
  std::vector<std::vector<char>> spare_;
  bool stopping_ = false;
  bool finished_ = false;
  std::exception_ptr failure_;
  std::thread thread_;  // last: started once everything it uses exists
};

/// Calls the consumer for every record of the chunk in `bytes` (none when empty).
void consume_chunk(std::span<const char> bytes, const ChunkConsumer& consumer) {
  comm::ByteReader in(bytes);
  if (in.done()) return;
  const auto file = in.get<std::uint32_t>();
  consumer.begin_chunk(file, in.get<std::uint64_t>());
  while (!in.done()) {
    const auto offset = in.get<std::uint64_t>();
    const bool too_long = in.get<std::uint8_t>() != 0;
    consumer.record(Record{in.get_view(), offset, too_long});
  }
}

}  // namespace

std::vector<int> assign_readers(std::span<const CompressedFile> files, int ranks) {
  std::vector<std::size_t> order(files.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return files[a].compressed_bytes > files[b].compressed_bytes; });
  std::vector<std::uint64_t> load(static_cast<std::size_t>(ranks), 0);
  std::vector<int> readers(files.size(), 0);
  for (std::size_t f : order) {
    const auto lightest = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    readers[f] = static_cast<int>(lightest);
    load[lightest] += files[f].compressed_bytes;
  }
  return readers;
}

std::vector<std::uint64_t> deal_compressed_records(std::span<const CompressedFile> files, std::span<const int> readers,
                                                   const ReaderLimits& limits, std::uint64_t chunk_bytes, const ChunkConsumer& consumer,
                                                   comm::Communicator& comm) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<CompressedFile> mine;
  std::vector<std::size_t> my_indices;
  std::size_t reader_count = 0;
  {
    std::vector<bool> is_reader(ranks, false);
    for (std::size_t f = 0; f < files.size(); ++f) {
      is_reader[static_cast<std::size_t>(readers[f])] = true;
      if (readers[f] == comm.rank()) {
        mine.push_back(files[f]);
        my_indices.push_back(f);
      }
    }
    reader_count = static_cast<std::size_t>(std::count(is_reader.begin(), is_reader.end(), true));
  }
  std::optional<ChunkProducer> producer;
  if (!mine.empty()) {
    const std::size_t serves = (ranks + reader_count - 1) / std::max<std::size_t>(reader_count, 1);
    producer.emplace(mine, limits, static_cast<std::size_t>(chunk_bytes), serves + 1);
  }
  for (;;) {
    // A round: the readers with chunks left share the ranks out (rank r is served by the
    // (r mod active)-th of them) and each sends one chunk to each rank it serves.
    std::vector<comm::ByteWriter> outgoing(ranks);
    std::vector<char> own;  // a reader's chunk for itself skips the exchange
    std::optional<std::vector<char>> first;
    comm::collectively(comm, "reading compressed input", [&] {
      if (producer) first = producer->next();
    });
    const std::vector<std::uint8_t> has_chunk = comm.allgather<std::uint8_t>(first ? 1 : 0);
    std::vector<int> active;
    for (std::size_t r = 0; r < ranks; ++r)
      if (has_chunk[r] != 0) active.push_back(static_cast<int>(r));
    if (active.empty()) break;
    comm::collectively(comm, "reading compressed input", [&] {
      if (!first) return;
      const auto me = static_cast<std::size_t>(std::find(active.begin(), active.end(), comm.rank()) - active.begin());
      for (std::size_t r = me; r < ranks; r += active.size()) {
        std::optional<std::vector<char>> chunk = r == me ? std::move(first) : producer->next();
        if (!chunk) break;
        (r == static_cast<std::size_t>(comm.rank()) ? own : outgoing[r].bytes()) = std::move(*chunk);
      }
    });
    const std::vector<char> received = comm::exchange_bytes(outgoing, comm);
    comm::collectively(comm, "parsing", [&] {
      consume_chunk(own, consumer);
      consume_chunk(received, consumer);
    });
    if (producer) {
      if (own.capacity() > 0) producer->recycle(std::move(own));
      for (comm::ByteWriter& sent : outgoing)
        if (sent.bytes().capacity() > 0) producer->recycle(std::move(sent.bytes()));
    }
  }
  std::vector<std::uint64_t> sizes(files.size(), 0);
  if (producer)
    for (std::size_t i = 0; i < my_indices.size(); ++i) sizes[my_indices[i]] = producer->sizes()[i];
  comm.allreduce(std::span(sizes), comm::ReduceOp::sum);
  return sizes;
}

std::optional<std::string> read_first_compressed_record(const CompressedFile& file, const ReaderLimits& limits) {
  DecompressingReader stream(file.path, file.compression);
  ReaderLimits small = limits;
  small.chunk_bytes = std::min<std::uint64_t>(limits.chunk_bytes, 64 * 1024);  // the header only: decompress little
  std::optional<std::string> first;
  RecordReader reader([&stream](std::uint64_t offset, std::span<std::byte> buffer) { return stream.read_at(offset, buffer); }, kUnknownSize,
                      0, 1, small);
  reader.for_each([&](const Record& record) { first.emplace(record.text); });
  return first;
}

}  // namespace mpiseg::ingest

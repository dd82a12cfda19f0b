#pragma once
/// The communicator every algorithm receives. It offers the handful of collectives mpiseg needs
/// on contiguous spans of plain types; nothing outside comm/ sees MPI. Two implementations:
/// SerialCommunicator (size 1, every collective returns at once, so each algorithm is
/// unit-testable without mpiexec) and the MPI one (comm/mpi.hpp).
///
///   void count_items(std::span<const Item> local, Communicator& comm) {
///     std::vector<std::int64_t> counts(n_items);
///     for (const Item& item : local) ++counts[item.id];
///     comm.allreduce(std::span(counts), ReduceOp::sum);   // global counts on every rank
///   }
///
/// Collectives must be called by every rank in the same order. Sizes are std::size_t end to end;
/// implementations split anything that does not fit MPI's int counts (alltoallv above 2 GiB).
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

namespace mpiseg::comm {

enum class ReduceOp : std::uint8_t { sum, min, max, bit_or, bit_and };
enum class ScalarType : std::uint8_t { int8, uint8, int32, uint32, int64, uint64, float32, float64 };

template <class T>
concept Scalar = std::same_as<T, std::int8_t> || std::same_as<T, std::uint8_t> || std::same_as<T, std::int32_t> ||
                 std::same_as<T, std::uint32_t> || std::same_as<T, std::int64_t> ||
                 std::same_as<T, std::uint64_t> || std::same_as<T, float> || std::same_as<T, double> ||
                 std::same_as<T, char>;

template <class T>
concept Trivial = std::is_trivially_copyable_v<T>;

template <Scalar T>
constexpr ScalarType scalar_type_of() {
  if constexpr (std::same_as<T, std::int8_t> || std::same_as<T, char>) return ScalarType::int8;
  else if constexpr (std::same_as<T, std::uint8_t>) return ScalarType::uint8;
  else if constexpr (std::same_as<T, std::int32_t>) return ScalarType::int32;
  else if constexpr (std::same_as<T, std::uint32_t>) return ScalarType::uint32;
  else if constexpr (std::same_as<T, std::int64_t>) return ScalarType::int64;
  else if constexpr (std::same_as<T, std::uint64_t>) return ScalarType::uint64;
  else if constexpr (std::same_as<T, float>) return ScalarType::float32;
  else return ScalarType::float64;
}

/// Counters of what this rank exchanged, for the per-stage summary and the benchmarks.
struct Traffic {
  std::uint64_t calls = 0;
  std::uint64_t bytes_sent = 0;      // payload this rank contributed (self-sends excluded)
  std::uint64_t bytes_received = 0;  // payload this rank obtained from others
  double seconds = 0;                // wall time spent inside collectives, waiting included
};

/// A file that all ranks of a communicator write together at explicit offsets (MPI-IO
/// collective writes underneath when there are several ranks). Written to `path.tmp`; commit()
/// renames it into place, so an interrupted writer never leaves a half-written file at `path`.
class SharedFileWriter {
 public:
  virtual ~SharedFileWriter() = default;
  /// Collective: every rank calls it (possibly with no data) the same number of times.
  virtual void write_at_all(std::uint64_t offset, std::span<const std::byte> data) = 0;
  /// Collective: closes, then renames the temporary onto the final path.
  virtual void commit() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  virtual void barrier() = 0;

  /// Element-wise reduction in place; the result is on every rank. For floating point the order
  /// of operations is unspecified: use allreduce_exact (collectives.hpp) where bits matter.
  template <Scalar T>
  void allreduce(std::span<T> values, ReduceOp op) {
    const Timer timer(*this, values.size_bytes(), values.size_bytes());
    do_allreduce(values.data(), values.size(), scalar_type_of<T>(), op);
  }
  template <Scalar T>
  T allreduce(T value, ReduceOp op) {
    allreduce(std::span<T>(&value, 1), op);
    return value;
  }

  /// Copies `values` of rank `root` to every rank (sizes must already agree).
  template <Trivial T>
  void broadcast(std::span<T> values, int root) {
    const Timer timer(*this, rank() == root ? values.size_bytes() : 0, rank() == root ? 0 : values.size_bytes());
    do_broadcast(values.data(), values.size_bytes(), root);
  }
  /// Broadcast of a vector whose size only the root knows.
  template <Trivial T>
  void broadcast_vector(std::vector<T>& values, int root) {
    std::uint64_t count = values.size();
    broadcast(std::span(&count, 1), root);
    values.resize(count);
    broadcast(std::span(values), root);
  }

  /// One value from every rank, in rank order.
  template <Trivial T>
  std::vector<T> allgather(const T& value) {
    std::vector<T> result(static_cast<std::size_t>(size()));
    const Timer timer(*this, sizeof(T), sizeof(T) * (result.size() - 1));
    do_allgather(&value, sizeof(T), result.data());
    return result;
  }

  /// Concatenation of every rank's `local`, in rank order; `counts` (optional) receives the
  /// number of elements each rank contributed.
  template <Trivial T>
  std::vector<T> allgatherv(std::span<const T> local, std::vector<std::uint64_t>* counts = nullptr) {
    std::vector<std::uint64_t> sizes = allgather<std::uint64_t>(local.size());
    std::vector<std::uint64_t> bytes(sizes.size());
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      bytes[r] = sizes[r] * sizeof(T);
      total += sizes[r];
    }
    std::vector<T> result(total);
    const Timer timer(*this, local.size_bytes(), total * sizeof(T) - local.size_bytes());
    do_allgatherv(local.data(), local.size_bytes(), result.data(), bytes);
    if (counts != nullptr) *counts = std::move(sizes);
    return result;
  }

  /// Personalised exchange. `send` holds the blocks for ranks 0..size-1 back to back, block r
  /// having send_counts[r] elements. Returns the received blocks in source-rank order and their
  /// sizes in `recv_counts`.
  template <Trivial T>
  std::vector<T> alltoallv(std::span<const T> send, std::span<const std::uint64_t> send_counts,
                           std::vector<std::uint64_t>& recv_counts) {
    const auto ranks = static_cast<std::size_t>(size());
    recv_counts.assign(ranks, 0);
    do_alltoall(send_counts.data(), sizeof(std::uint64_t), recv_counts.data());
    std::vector<std::uint64_t> send_bytes(ranks), recv_bytes(ranks);
    std::uint64_t total = 0, sent = 0, received = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
      send_bytes[r] = send_counts[r] * sizeof(T);
      recv_bytes[r] = recv_counts[r] * sizeof(T);
      total += recv_counts[r];
      if (static_cast<int>(r) != rank()) {
        sent += send_bytes[r];
        received += recv_bytes[r];
      }
    }
    std::vector<T> result(total);
    const Timer timer(*this, sent, received);
    do_alltoallv(send.data(), send_bytes, result.data(), recv_bytes);
    return result;
  }

  /// Sum of `value` over ranks 0..rank-1 (0 on rank 0): the offset of this rank's block in a
  /// concatenation ordered by rank.
  template <Scalar T>
  T exclusive_prefix_sum(T value) {
    const std::vector<T> all = allgather(value);
    T sum{};
    for (int r = 0; r < rank(); ++r) sum += all[static_cast<std::size_t>(r)];
    return sum;
  }

  /// Opens `path` for a collective write (see SharedFileWriter).
  virtual std::unique_ptr<SharedFileWriter> create_shared_file(const std::filesystem::path& path) = 0;

  /// Sets the HDF5 file-access property list `fapl` to this communicator's parallel driver
  /// (MPI-IO) or leaves the default driver for a serial communicator.
  virtual void configure_hdf5_file_access(std::int64_t fapl) const = 0;
  /// True when HDF5 files are opened with the MPI-IO driver (collective transfers apply).
  virtual bool uses_parallel_hdf5() const noexcept = 0;

  const Traffic& traffic() const noexcept { return traffic_; }

 protected:
  virtual void do_allreduce(void* data, std::size_t count, ScalarType type, ReduceOp op) = 0;
  virtual void do_broadcast(void* data, std::size_t bytes, int root) = 0;
  virtual void do_allgather(const void* send, std::size_t bytes, void* recv) = 0;
  virtual void do_allgatherv(const void* send, std::size_t bytes, void* recv,
                             std::span<const std::uint64_t> recv_bytes) = 0;
  virtual void do_alltoall(const void* send, std::size_t bytes_each, void* recv) = 0;
  virtual void do_alltoallv(const void* send, std::span<const std::uint64_t> send_bytes, void* recv,
                            std::span<const std::uint64_t> recv_bytes) = 0;

 private:
  // Accumulates call count, payload bytes and wall time of one collective into traffic_.
  class Timer {
   public:
    Timer(Communicator& comm, std::uint64_t sent, std::uint64_t received);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

   private:
    Communicator& comm_;
    double start_;
  };
  Traffic traffic_;
};

/// A communicator of size 1. Collectives copy or return at once.
std::unique_ptr<Communicator> make_serial_communicator();

}  // namespace mpiseg::comm

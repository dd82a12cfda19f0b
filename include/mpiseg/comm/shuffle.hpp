#pragma once
/// Redistribution of records by a 64-bit key so that all records with the same key land on one
/// rank. Ranks own contiguous key ranges in rank order (splitters are chosen from a sample of
/// the keys so that ranks receive similar row counts), so after a local sort by key the
/// concatenation over ranks is globally sorted.
///
///   const auto partition = comm::KeyRangePartition::balanced(table.customer, comm);
///   const comm::ShufflePlan plan(table.customer, partition, comm);
///   table.customer = plan.exchange(std::span<const std::uint64_t>(table.customer), comm);
///   table.price    = plan.exchange(std::span<const double>(table.price), comm);     // every column
///
/// Columns are exchanged one at a time, so the extra memory is one column's send and receive
/// buffers; byte counts above 2^31 are handled by the communicator.
#include <cstdint>
#include <span>
#include <vector>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::comm {

class KeyRangePartition {
 public:
  /// Collective. Splitters from up to `samples_per_rank` keys per rank.
  static KeyRangePartition balanced(std::span<const std::uint64_t> local_keys, Communicator& comm,
                                    std::size_t samples_per_rank = 2048);
  /// Every key on rank 0 (for one-rank jobs and tests).
  static KeyRangePartition single() { return KeyRangePartition({}); }
  explicit KeyRangePartition(std::vector<std::uint64_t> splitters) : splitters_(std::move(splitters)) {}

  /// Rank that owns `key`: the number of splitters <= key.
  int owner(std::uint64_t key) const noexcept;
  const std::vector<std::uint64_t>& splitters() const noexcept { return splitters_; }

 private:
  std::vector<std::uint64_t> splitters_;  // size - 1 ascending values
};

/// Where each local row goes; built once, applied to every column.
class ShufflePlan {
 public:
  /// Local: where each row goes (the exchanges are collective). Rows keep their relative order
  /// within each destination.
  ShufflePlan(std::span<const std::uint64_t> keys, const KeyRangePartition& partition, Communicator& comm);
  /// Rows destined to `destinations[i]` (any function of the row), for partitions other than by key.
  ShufflePlan(std::span<const int> destinations, Communicator& comm);

  template <Trivial T>
  std::vector<T> exchange(std::span<const T> column, Communicator& comm) const {
    std::vector<T> send(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) send[i] = column[order_[i]];
    std::vector<std::uint64_t> received;
    return comm.alltoallv(std::span<const T>(send), send_counts_, received);
  }
  /// exchange() for a vector that is replaced by the received rows (its memory is freed first).
  template <Trivial T>
  void exchange_in_place(std::vector<T>& column, Communicator& comm) const {
    std::vector<T> send(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) send[i] = column[order_[i]];
    std::vector<T>().swap(column);
    std::vector<std::uint64_t> received;
    column = comm.alltoallv(std::span<const T>(send), send_counts_, received);
  }

  const std::vector<std::uint64_t>& send_counts() const noexcept { return send_counts_; }

 private:
  void build(std::span<const int> destinations, Communicator& comm);
  std::vector<std::uint32_t> order_;  // local rows in send order (grouped by destination)
  std::vector<std::uint64_t> send_counts_;
};

}  // namespace mpiseg::comm

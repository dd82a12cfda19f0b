#include "mpiseg/comm/shuffle.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/core/error.hpp"

namespace mpiseg::comm {

KeyRangePartition KeyRangePartition::balanced(std::span<const std::uint64_t> local_keys, Communicator& comm,
                                              std::size_t samples_per_rank) {
  if (comm.size() == 1) return single();
  // Regular sample of the local rows (weighted by rows, so heavy key ranges get more splitters).
  std::vector<std::uint64_t> sample;
  const std::size_t stride = std::max<std::size_t>(1, local_keys.size() / std::max<std::size_t>(samples_per_rank, 1));
  for (std::size_t i = stride / 2; i < local_keys.size(); i += stride) sample.push_back(local_keys[i]);
  std::vector<std::uint64_t> all = comm.allgatherv(std::span<const std::uint64_t>(sample));
  std::sort(all.begin(), all.end());
  std::vector<std::uint64_t> splitters;
  const auto ranks = static_cast<std::size_t>(comm.size());
  for (std::size_t r = 1; r < ranks; ++r) {
    // With no sample at all every rank but the last gets nothing; that is still correct.
    splitters.push_back(all.empty() ? std::numeric_limits<std::uint64_t>::max() : all[r * all.size() / ranks]);
  }
  return KeyRangePartition(std::move(splitters));
}

int KeyRangePartition::owner(std::uint64_t key) const noexcept {
  return static_cast<int>(std::upper_bound(splitters_.begin(), splitters_.end(), key) - splitters_.begin());
}

ShufflePlan::ShufflePlan(std::span<const std::uint64_t> keys, const KeyRangePartition& partition, Communicator& comm) {
  std::vector<int> destinations(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) destinations[i] = partition.owner(keys[i]);
  build(destinations, comm);
}

ShufflePlan::ShufflePlan(std::span<const int> destinations, Communicator& comm) { build(destinations, comm); }

void ShufflePlan::build(std::span<const int> destinations, Communicator& comm) {
  if (destinations.size() > std::numeric_limits<std::uint32_t>::max())
    throw LimitExceeded(fmt::format("{} rows on one rank: more than 2^32; use more ranks", destinations.size()));
  const auto ranks = static_cast<std::size_t>(comm.size());
  send_counts_.assign(ranks, 0);
  for (int destination : destinations) ++send_counts_[static_cast<std::size_t>(destination)];
  std::vector<std::uint64_t> start(ranks, 0);
  for (std::size_t r = 1; r < ranks; ++r) start[r] = start[r - 1] + send_counts_[r - 1];
  order_.resize(destinations.size());
  for (std::size_t i = 0; i < destinations.size(); ++i)
    order_[start[static_cast<std::size_t>(destinations[i])]++] = static_cast<std::uint32_t>(i);
}

}  // namespace mpiseg::comm

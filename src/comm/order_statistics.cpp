#include "mpiseg/comm/order_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace mpiseg::comm {

std::uint64_t ordered_key(double value) noexcept {
  if (value == 0.0) value = 0.0;  // -0.0 and +0.0 are equal values: give them one key
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & (std::uint64_t{1} << 63)) ? ~bits : bits | (std::uint64_t{1} << 63);
}

double from_ordered_key(std::uint64_t key) noexcept {
  const std::uint64_t bits = (key & (std::uint64_t{1} << 63)) ? key & ~(std::uint64_t{1} << 63) : ~key;
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

std::vector<std::uint64_t> select_keys(std::span<const std::uint64_t> keys, std::span<const std::uint64_t> ranks,
                                       Communicator& comm) {
  const std::size_t queries = ranks.size();
  std::vector<std::uint64_t> prefix(queries, 0), remaining(ranks.begin(), ranks.end());
  std::vector<std::uint64_t> histogram(queries * 256);
  for (int shift = 56; shift >= 0; shift -= 8) {
    // Keys that agree with the query's prefix above this byte, counted by this byte.
    const std::uint64_t high_mask = shift == 56 ? 0 : ~((std::uint64_t{1} << (shift + 8)) - 1);
    std::fill(histogram.begin(), histogram.end(), 0);
    for (std::size_t q = 0; q < queries; ++q) {
      std::uint64_t* bins = &histogram[q * 256];
      for (std::uint64_t key : keys)
        if ((key & high_mask) == prefix[q]) ++bins[(key >> shift) & 0xff];
    }
    comm.allreduce(std::span(histogram), ReduceOp::sum);
    for (std::size_t q = 0; q < queries; ++q) {
      const std::uint64_t* bins = &histogram[q * 256];
      std::uint64_t bin = 0;
      while (bin < 255 && remaining[q] >= bins[bin]) remaining[q] -= bins[bin++];
      if (remaining[q] >= bins[bin]) throw std::out_of_range("select_keys: rank beyond the number of values");
      prefix[q] |= bin << shift;
    }
  }
  return prefix;
}

std::vector<double> select_values(std::span<const double> values, std::span<const std::uint64_t> ranks, Communicator& comm) {
  std::vector<std::uint64_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) keys[i] = ordered_key(values[i]);
  const std::vector<std::uint64_t> selected = select_keys(keys, ranks, comm);
  std::vector<double> result(selected.size());
  for (std::size_t i = 0; i < selected.size(); ++i) result[i] = from_ordered_key(selected[i]);
  return result;
}

std::vector<double> quantiles(std::span<const double> values, std::span<const double> probabilities, Communicator& comm) {
  const std::uint64_t n = comm.allreduce<std::uint64_t>(values.size(), ReduceOp::sum);
  if (n == 0) return std::vector<double>(probabilities.size(), 0.0);
  std::vector<std::uint64_t> ranks;
  for (double p : probabilities) {
    const double h = static_cast<double>(n - 1) * std::clamp(p, 0.0, 1.0);
    const auto low = static_cast<std::uint64_t>(std::floor(h));
    ranks.push_back(low);
    ranks.push_back(std::min(low + 1, n - 1));
  }
  const std::vector<double> order = select_values(values, ranks, comm);
  std::vector<double> result;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const double h = static_cast<double>(n - 1) * std::clamp(probabilities[i], 0.0, 1.0);
    const double fraction = h - std::floor(h);
    const double low = order[2 * i], high = order[2 * i + 1];
    result.push_back(fraction == 0.0 ? low : low + fraction * (high - low));
  }
  return result;
}

}  // namespace mpiseg::comm

#pragma once
/// Exact order statistics of values spread over ranks, without sorting or gathering them:
/// most-significant-byte-first radix selection on order-preserving 64-bit keys, with one
/// allreduce of a 256-bin histogram per byte (8 rounds). The result is the exact k-th smallest
/// value, so it is identical for any rank count and any data distribution.
///
///   // median and quartiles of a feature held by all ranks
///   auto q = comm::quantiles(std::span(values), {0.25, 0.5, 0.75}, comm);
#include <cstdint>
#include <span>
#include <vector>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::comm {

/// Order-preserving map of a double (not NaN) to an unsigned key, and back.
std::uint64_t ordered_key(double value) noexcept;
double from_ordered_key(std::uint64_t key) noexcept;

/// Collective. The values of 0-based global ranks `ranks` (each < the global count) in ascending
/// order of all ranks' `keys`.
std::vector<std::uint64_t> select_keys(std::span<const std::uint64_t> keys, std::span<const std::uint64_t> ranks,
                                       Communicator& comm);

/// Collective. Same for doubles (no NaN).
std::vector<double> select_values(std::span<const double> values, std::span<const std::uint64_t> ranks, Communicator& comm);

/// Collective. Quantiles by linear interpolation between order statistics (Hyndman-Fan type 7,
/// numpy's default): h = (n - 1) q, x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
/// Returns zeros when there are no values at all.
std::vector<double> quantiles(std::span<const double> values, std::span<const double> probabilities, Communicator& comm);

}  // namespace mpiseg::comm

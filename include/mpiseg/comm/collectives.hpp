#pragma once
/// Reductions built on the Communicator that several stages share: exact (rank-count
/// independent) sums, agreement on failure, global extrema.
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/exact_sum.hpp"

namespace mpiseg::comm {

/// Sums 128-bit fixed-point accumulators over all ranks exactly (see core/exact_sum.hpp); the
/// result is the same for any number of ranks and any arrival order.
void allreduce_exact(std::span<int128> sums, Communicator& comm);

/// True on every rank if `flag` is true on any rank.
inline bool any_rank(Communicator& comm, bool flag) {
  return comm.allreduce<std::int32_t>(flag ? 1 : 0, ReduceOp::max) != 0;
}

/// Largest |x| over all ranks' values; throws InputError naming `what` if any value is NaN or
/// infinite (on every rank, so that no rank is left waiting).
double global_max_abs(std::span<const double> values, Communicator& comm, std::string_view what);

/// Runs `step`, which may throw on only some ranks, and makes every rank fail together: the
/// failing rank rethrows its own exception, the others throw PeerFailure. Use it around work
/// that precedes a collective, so that a local error cannot leave other ranks waiting forever.
///
///   auto table = collectively(comm, "ingest", [&] { return parse_my_range(...); });
template <class Step>
auto collectively(Communicator& comm, std::string_view what, Step&& step) -> decltype(step()) {
  std::exception_ptr failure;
  if constexpr (std::is_void_v<decltype(step())>) {
    try {
      step();
    } catch (...) {
      failure = std::current_exception();
    }
    if (any_rank(comm, failure != nullptr)) {
      if (failure) std::rethrow_exception(failure);
      throw PeerFailure(std::string(what) + ": failed on another rank (its message is above)");
    }
  } else {
    std::optional<decltype(step())> result;
    try {
      result.emplace(step());
    } catch (...) {
      failure = std::current_exception();
    }
    if (any_rank(comm, failure != nullptr)) {
      if (failure) std::rethrow_exception(failure);
      throw PeerFailure(std::string(what) + ": failed on another rank (its message is above)");
    }
    return std::move(*result);
  }
}

}  // namespace mpiseg::comm

#pragma once
/// Reductions built on the Communicator that several stages share: exact (rank-count
/// independent) sums, agreement on failure, global extrema; and the framing of variable-length
/// records (strings, mixed fields) for exchanges, so that no stage packs bytes by hand.
///
///   std::vector<ByteWriter> to(comm.size());
///   for (const Entry& e : entries) to[owner(e)].put(e.key).put_string(e.name);
///   for (ByteReader in(exchange_bytes(to, comm)); !in.done();) use(in.get<std::uint64_t>(), in.get_string());
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// Appends trivially copyable values and length-prefixed strings to a byte buffer.
class ByteWriter {
 public:
  template <Trivial T>
  ByteWriter& put(const T& value) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof value);
    std::memcpy(bytes_.data() + at, &value, sizeof value);
    return *this;
  }
  /// A 32-bit length, then the bytes; throws InputError above 4 GiB.
  ByteWriter& put_string(std::string_view text);
  const std::vector<char>& bytes() const noexcept { return bytes_; }
  std::vector<char>& bytes() noexcept { return bytes_; }

 private:
  std::vector<char> bytes_;
};

/// Reads back what ByteWriter wrote, in the same order; reading past the end throws IoError
/// (a buffer from another rank that does not hold what the reader expects is a bug, not data).
class ByteReader {
 public:
  explicit ByteReader(std::span<const char> bytes) noexcept : bytes_(bytes) {}
  bool done() const noexcept { return position_ >= bytes_.size(); }
  template <Trivial T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof value), sizeof value);
    return value;
  }
  std::string get_string();
  /// What put_string wrote, as a view into the buffer (valid while the buffer is).
  std::string_view get_view();

 private:
  const char* take(std::size_t size);
  std::span<const char> bytes_;
  std::size_t position_ = 0;
};

/// Collective. `outgoing[r]` goes to rank r (one writer per rank); returns what every rank sent
/// here, concatenated in source-rank order.
std::vector<char> exchange_bytes(const std::vector<ByteWriter>& outgoing, Communicator& comm);

/// Collective. Every rank's `local` strings, concatenated in rank order.
std::vector<std::string> allgather_strings(std::span<const std::string> local, Communicator& comm);

/// Collective. Rank `root`'s `text` on every rank.
std::string broadcast_string(std::string_view text, int root, Communicator& comm);

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

#pragma once
/// Pair counts and the prefix filter they allow in the distributed exchange (fpgrowth.hpp).
///
/// A rank mines the conditional database of each item q in its range from the prefixes it
/// receives, and the miner keeps an item a of that database only when {a, q} is frequent. So a
/// basket's prefix item a that forms no frequent pair with any of the basket's items in the
/// owner's range is dropped in every conditional database the owner builds from that basket,
/// and the sender may leave it out: the owner's conditional databases, after the miner's own
/// pruning, are the same multisets, and so are the itemsets and supports. Items in the owner's
/// range always stay (their own supports and paths depend on them).
///
/// Knowing which pairs are frequent takes one count per pair of frequent items (a triangle of
/// F (F - 1) / 2 counts), summed over ranks; that is a fixed cost per rank, and it pays where
/// the prefix exchange is large: many ranks, many baskets. Where F is too large for the memory
/// allowed, only the pairs of the first K positions (the most frequent items) are counted and
/// every pair with a later item counts as frequent: still exact, the filter just keeps more.
#include <cstdint>
#include <span>
#include <vector>

#include "mpiseg/fpgrowth/mining.hpp"

namespace mpiseg::fpgrowth {

/// Entries of the pair triangle over `f` positions.
constexpr std::uint64_t pair_triangle_size(std::uint32_t f) noexcept { return f < 2 ? 0 : std::uint64_t{f} * (f - 1) / 2; }

/// Index of the pair {a, b}, a < b, in the triangle stored row by row (row b holds a = 0..b-1):
/// the rows of one rank's contiguous range of positions are one contiguous slice.
constexpr std::uint64_t pair_index(std::uint32_t a, std::uint32_t b) noexcept { return pair_triangle_size(b) + a; }

/// The most positions (at most `f`) whose triangle of 32-bit counts fits `max_bytes`.
std::uint32_t covered_positions(std::uint32_t f, std::uint64_t max_bytes) noexcept;

/// Each transaction's pairs of positions below `covered`, counted by its weight. The caller
/// ensures the transactions' total weight is below 2^32, so no count overflows.
std::vector<std::uint32_t> count_pairs(const WeightedTransactions& transactions, std::uint32_t covered);

/// For each position q of an F-list of `supports.size()` items, an estimate of how many frequent
/// itemsets have q as their least frequent item, from the global pair counts (`pairs`, the whole
/// triangle): the subsets S of q's frequent partners (a < q with {a, q} frequent) whose support,
/// were the partners independent given q, stays at or above `min_count`: supports[q] times the
/// product over a in S of pairs{a, q} / supports[q]. A count of subsets whose weights (minus the
/// logarithms of those fractions) fit a budget, by dynamic programming over `bins` steps of the
/// budget; rounding the weights up makes it an undercount, at most 2^62. With `max_len` (0: none)
/// at most the subsets of fewer than max_len partners.
std::vector<double> estimated_itemsets(std::span<const std::uint32_t> pairs, std::span<const std::uint64_t> supports,
                                       std::uint64_t min_count, std::uint64_t max_len = 0, std::uint32_t bins = 64);

/// Which pairs of positions are frequent: one bit per pair of positions below `covered`; a pair
/// with a later position counts as frequent (it was not counted).
class FrequentPairs {
 public:
  FrequentPairs() = default;
  /// `indices`: pair_index() of each frequent pair of covered positions, in any order.
  FrequentPairs(std::uint32_t covered, std::span<const std::uint64_t> indices);

  bool frequent(std::uint32_t a, std::uint32_t b) const noexcept {
    if (b >= covered_) return true;
    const std::uint64_t i = pair_index(a, b);
    return (bits_[i / 64] >> (i % 64) & 1) != 0;
  }
  std::uint32_t covered() const noexcept { return covered_; }
  /// Frequent pairs of covered positions.
  std::uint64_t count() const noexcept { return count_; }

  /// The prefix a basket sends to the owner of the positions from `owned_begin` on: its items
  /// below `owned_begin` that form a frequent pair with one of its items from `owned_begin` on,
  /// then those items. `prefix` ascends; the result is built in `kept`.
  std::span<const std::uint32_t> filter(std::span<const std::uint32_t> prefix, std::uint32_t owned_begin,
                                        std::vector<std::uint32_t>& kept) const;

 private:
  std::vector<std::uint64_t> bits_;
  std::uint32_t covered_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace mpiseg::fpgrowth

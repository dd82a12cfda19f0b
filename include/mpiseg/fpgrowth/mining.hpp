#pragma once
/// FP-growth on one rank: the frequent itemsets whose least frequent item lies in a given range
/// of the F-list, from weighted transactions. No communication; the distributed stage
/// (fpgrowth.hpp) decides what each rank receives and mines.
///
/// Items are F-list positions (0 = most frequent). A transaction lists its positions in
/// ascending order. An itemset is stored with ascending positions; its *suffix* is its largest
/// position (its least frequent item). Output order (canonical, the same at any rank count):
/// by suffix, then size, then positions lexicographically.
#include <cstdint>
#include <span>
#include <vector>

namespace mpiseg::fpgrowth {

struct WeightedTransactions {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> items;  // positions, ascending within a transaction
  std::vector<std::uint64_t> weights;

  std::size_t size() const noexcept { return weights.size(); }
  void add(std::span<const std::uint32_t> transaction, std::uint64_t weight) {
    items.insert(items.end(), transaction.begin(), transaction.end());
    offsets.push_back(items.size());
    weights.push_back(weight);
  }
};

/// Frequent itemsets in canonical order (see above).
struct ItemsetTable {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> items;  // positions
  std::vector<std::uint64_t> support;

  std::size_t size() const noexcept { return support.size(); }
  std::span<const std::uint32_t> itemset(std::size_t i) const noexcept {
    return std::span(items).subspan(offsets[i], offsets[i + 1] - offsets[i]);
  }
  void add(std::span<const std::uint32_t> itemset, std::uint64_t count) {
    items.insert(items.end(), itemset.begin(), itemset.end());
    offsets.push_back(items.size());
    support.push_back(count);
  }
  /// Sorts lexicographically and removes repeats (for query batches; supports are dropped).
  void sort_unique();
  /// Index of `itemset` in a table made by sort_unique(), or size() when absent.
  std::size_t find(std::span<const std::uint32_t> itemset) const;
};

struct MiningLimits {
  std::uint64_t min_count = 1;      // support threshold (basket count)
  std::uint64_t max_len = 0;        // 0: unlimited
  std::uint64_t max_itemsets = 0;   // 0: unlimited; LimitExceeded when this rank alone finds more
  // Itemsets of the first F-list positions wait for the output as 16-byte keys in at most this
  // many bytes (mining.cpp, masked mode); more are written out first.
  std::uint64_t masked_buffer_bytes = std::uint64_t{256} << 20;
};

/// Itemsets whose suffix lies in [first, last); every transaction item must be < last.
ItemsetTable mine_suffix_range(const WeightedTransactions& transactions, std::uint32_t first, std::uint32_t last,
                               const MiningLimits& limits);

/// Canonical comparison of two itemsets with the same suffix: size, then positions.
inline bool canonical_less(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) noexcept {
  if (a.size() != b.size()) return a.size() < b.size();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

}  // namespace mpiseg::fpgrowth

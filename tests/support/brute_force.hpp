#pragma once
// Brute-force frequent itemsets for small transaction sets: the independent answer FP-growth is
// checked against.
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

namespace mpiseg::testing {

using Itemset = std::vector<std::uint32_t>;

/// Every itemset (sorted) with its weighted support >= min_count, up to max_len items (0: any).
inline std::map<Itemset, std::uint64_t> brute_force_itemsets(const std::vector<Itemset>& transactions,
                                                             const std::vector<std::uint64_t>& weights, std::uint64_t min_count,
                                                             std::size_t max_len = 0) {
  std::map<Itemset, std::uint64_t> support;
  for (std::size_t t = 0; t < transactions.size(); ++t) {
    Itemset items = transactions[t];
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    const std::size_t n = items.size();
    for (std::uint64_t mask = 1; mask < (std::uint64_t{1} << n); ++mask) {
      Itemset subset;
      for (std::size_t i = 0; i < n; ++i)
        if (mask >> i & 1) subset.push_back(items[i]);
      if (max_len != 0 && subset.size() > max_len) continue;
      support[subset] += weights[t];
    }
  }
  for (auto it = support.begin(); it != support.end();) it = it->second < min_count ? support.erase(it) : std::next(it);
  return support;
}

}  // namespace mpiseg::testing

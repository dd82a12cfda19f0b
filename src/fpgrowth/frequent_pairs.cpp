#include "mpiseg/fpgrowth/frequent_pairs.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mpiseg::fpgrowth {

std::uint32_t covered_positions(std::uint32_t f, std::uint64_t max_bytes) noexcept {
  // Largest k with 4 k (k - 1) / 2 <= max_bytes, from the square root, then corrected by a step.
  auto k = static_cast<std::uint32_t>(std::min<double>(f, std::sqrt(static_cast<double>(max_bytes) / 2.0)) + 1);
  while (k > 0 && pair_triangle_size(k) * sizeof(std::uint32_t) > max_bytes) --k;
  while (k < f && pair_triangle_size(k + 1) * sizeof(std::uint32_t) <= max_bytes) ++k;
  return std::min(k, f);
}

std::vector<std::uint32_t> count_pairs(const WeightedTransactions& transactions, std::uint32_t covered) {
  std::vector<std::uint32_t> counts(pair_triangle_size(covered), 0);
  for (std::size_t t = 0; t < transactions.size(); ++t) {
    const auto weight = static_cast<std::uint32_t>(transactions.weights[t]);
    const std::uint32_t* items = transactions.items.data() + transactions.offsets[t];
    // Items ascend: those below `covered` come first.
    const auto size = static_cast<std::size_t>(
        std::lower_bound(items, items + (transactions.offsets[t + 1] - transactions.offsets[t]), covered) - items);
    for (std::size_t j = 1; j < size; ++j) {
      std::uint32_t* row = counts.data() + pair_triangle_size(items[j]);
      for (std::size_t i = 0; i < j; ++i) row[items[i]] += weight;
    }
  }
  return counts;
}

std::vector<double> estimated_itemsets(std::span<const std::uint32_t> pairs, std::span<const std::uint64_t> supports,
                                       std::uint64_t min_count, std::uint64_t max_len, std::uint32_t bins) {
  const auto f = static_cast<std::uint32_t>(supports.size());
  if (pairs.size() != pair_triangle_size(f)) throw std::logic_error("estimated_itemsets needs the whole pair triangle");
  constexpr double kMost = 0x1p62;
  std::vector<double> estimate(f, 1.0);
  std::vector<double> subsets;  // subsets[b]: subsets found so far whose weights add up to b steps
  for (std::uint32_t q = 0; q < f; ++q) {
    if (supports[q] < min_count || min_count == 0) continue;
    const double budget = std::log(static_cast<double>(supports[q]) / static_cast<double>(min_count));
    subsets.assign(bins + 1, 0.0);
    subsets[0] = 1;
    std::uint32_t partners = 0;
    for (std::uint32_t a = 0; a < q; ++a) {
      const std::uint32_t together = pairs[pair_index(a, q)];
      if (together < min_count) continue;
      ++partners;
      const double weight = std::log(static_cast<double>(supports[q]) / static_cast<double>(together));
      // With no budget only partners in every basket of q fit, each doubling the count.
      const double steps = budget > 0 ? std::ceil(weight / budget * bins) : (weight > 0 ? bins + 1.0 : 0.0);
      if (steps > bins) continue;
      const auto step = static_cast<std::uint32_t>(steps);
      for (std::uint32_t b = bins + 1; b-- > step;) subsets[b] = std::min(kMost, subsets[b] + subsets[b - step]);
    }
    double total = 0;
    for (const double count : subsets) total += count;
    if (max_len != 0) {  // at most max_len - 1 partners join q: sum of C(partners, k), k < max_len
      double within = 0, choose = 1;
      for (std::uint64_t k = 0; k < max_len && k <= partners; ++k) {
        within += choose;
        choose = choose * static_cast<double>(partners - k) / static_cast<double>(k + 1);
      }
      total = std::min(total, within);
    }
    estimate[q] = std::min(kMost, total);
  }
  return estimate;
}

FrequentPairs::FrequentPairs(std::uint32_t covered, std::span<const std::uint64_t> indices)
    : bits_((pair_triangle_size(covered) + 63) / 64, 0), covered_(covered) {
  for (const std::uint64_t i : indices) {
    if (i >= pair_triangle_size(covered)) throw std::logic_error("a frequent pair lies outside the triangle");
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if ((bits_[i / 64] & bit) == 0) ++count_;
    bits_[i / 64] |= bit;
  }
}

std::span<const std::uint32_t> FrequentPairs::filter(std::span<const std::uint32_t> prefix, std::uint32_t owned_begin,
                                                     std::vector<std::uint32_t>& kept) const {
  // An owned last item whose pairs were not counted keeps everything before it.
  if (prefix.empty() || (prefix.back() >= covered_ && prefix.back() >= owned_begin)) return prefix;
  const auto owned = std::ranges::lower_bound(prefix, owned_begin) - prefix.begin();
  const auto tail = prefix.subspan(static_cast<std::size_t>(owned));
  kept.clear();
  for (const std::uint32_t a : prefix.first(static_cast<std::size_t>(owned)))
    if (std::ranges::any_of(tail, [&](std::uint32_t q) { return frequent(a, q); })) kept.push_back(a);
  kept.insert(kept.end(), tail.begin(), tail.end());
  return kept;
}

}  // namespace mpiseg::fpgrowth

#pragma once
/// [fpgrowth] settings.
#include <cstdint>
#include <span>

#include "mpiseg/core/config.hpp"

namespace mpiseg::fpgrowth {

/// Whether the exchanged prefixes are filtered by frequent pairs (frequent_pairs.hpp).
enum class PrefixFilter { automatic, pairs, none };

struct FpSettings {
  double min_support = 0.01;        // fraction of baskets (0 < s <= 1) ...
  bool min_support_is_count = false;  // ... or an absolute basket count (integer >= 1)
  std::uint64_t max_len = 0;        // 0: no limit on itemset size
  std::uint64_t max_basket_len = 0; // 0: no trimming
  std::uint64_t max_itemsets = 50'000'000;
  bool rules = true;
  std::uint64_t max_rules = 50'000'000;
  double min_confidence = 0.5;
  double min_lift = 1.0;
  bool multi_consequent = false;
  std::uint64_t top_rules_per_consequent = 0;  // 0: keep every rule that passes the filters
  bool per_segment = true;
  double segment_min_support = 0;     // fraction of a segment's baskets; 0: min_support (as a fraction)
  std::uint64_t segment_max_len = 0;  // 0: max_len
  std::uint64_t distinctive_rules = 20;  // per segment, the rules whose lift differs most from the population
  PrefixFilter prefix_filter = PrefixFilter::automatic;
  std::uint64_t max_pair_count_bytes = std::uint64_t{64} << 20;  // per rank; beyond, pairs of the most frequent items only

  /// Minimum support as a basket count for `baskets` baskets.
  std::uint64_t min_count(std::uint64_t baskets) const;

  /// The settings each segment's baskets are mined with: segment_min_support (else min_support,
  /// a count turned into the same fraction of the `population_baskets`) as a fraction of the
  /// segment's baskets, and segment_max_len (else max_len).
  FpSettings for_segments(std::uint64_t population_baskets) const;

  static FpSettings from_job(const JobConfig& job);
  friend bool operator==(const FpSettings&, const FpSettings&) = default;
};

std::span<const KeySpec> fpgrowth_keys();

}  // namespace mpiseg::fpgrowth

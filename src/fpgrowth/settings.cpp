#include "mpiseg/fpgrowth/settings.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/fpgrowth/keys.toml

namespace mpiseg::fpgrowth {
std::span<const KeySpec> fpgrowth_keys() { return module_keys().section("fpgrowth"); }

std::uint64_t FpSettings::min_count(std::uint64_t baskets) const {
  if (min_support_is_count) return static_cast<std::uint64_t>(min_support);
  // The smallest count c with c >= s * baskets (what "support >= s" means for a fraction).
  const auto count = static_cast<std::uint64_t>(std::ceil(min_support * static_cast<double>(baskets) - 1e-9));
  return std::max<std::uint64_t>(1, count);
}

FpSettings FpSettings::for_segments(std::uint64_t population_baskets) const {
  FpSettings segment = *this;
  if (segment_min_support > 0) {
    segment.min_support = segment_min_support;
    segment.min_support_is_count = false;
  } else if (min_support_is_count) {
    segment.min_support = min_support / static_cast<double>(std::max<std::uint64_t>(population_baskets, 1));
    segment.min_support_is_count = false;
  }
  if (segment_max_len != 0) segment.max_len = segment_max_len;
  return segment;
}

FpSettings FpSettings::from_job(const JobConfig& job) {
  FpSettings s;
  const auto [support, integer] = job.get_number_and_kind("fpgrowth", "min_support");
  if (integer) {
    if (support < 1) throw ConfigError(fmt::format("{}: an absolute count must be >= 1, got {}", job.describe("fpgrowth", "min_support"), support));
    s.min_support_is_count = true;
  } else if (!(support > 0 && support <= 1)) {
    throw ConfigError(fmt::format("{}: a fraction must be in (0, 1], got {} (write an integer for a basket count)",
                                  job.describe("fpgrowth", "min_support"), support));
  }
  s.min_support = support;
  auto non_negative = [&](std::string_view key) { return static_cast<std::uint64_t>(job.get_int_in("fpgrowth", key, 0)); };
  s.max_len = non_negative("max_len");
  s.max_basket_len = non_negative("max_basket_len");
  s.max_itemsets = non_negative("max_itemsets");
  if (s.max_itemsets == 0) throw ConfigError(fmt::format("{} must be >= 1", job.describe("fpgrowth", "max_itemsets")));
  s.rules = job.get_bool("fpgrowth", "rules");
  s.max_rules = non_negative("max_rules");
  s.min_confidence = job.get_number("fpgrowth", "min_confidence");
  if (!(s.min_confidence >= 0 && s.min_confidence <= 1))
    throw ConfigError(fmt::format("{} must be in [0, 1]", job.describe("fpgrowth", "min_confidence")));
  s.min_lift = job.get_number_from("fpgrowth", "min_lift", 0);
  s.multi_consequent = job.get_bool("fpgrowth", "multi_consequent");
  s.top_rules_per_consequent = non_negative("top_rules_per_consequent");
  s.per_segment = job.get_bool("fpgrowth", "per_segment");
  s.distinctive_rules = non_negative("distinctive_rules");
  s.segment_min_support = job.get_number("fpgrowth", "segment_min_support");
  if (!(s.segment_min_support >= 0 && s.segment_min_support <= 1))
    throw ConfigError(fmt::format("{} must be a fraction in [0, 1]", job.describe("fpgrowth", "segment_min_support")));
  s.segment_max_len = non_negative("segment_max_len");
  s.prefix_filter = job.get_choice("fpgrowth", "prefix_filter",
                                   std::array<Choice<PrefixFilter>, 3>{{{"auto", PrefixFilter::automatic},
                                                                        {"pairs", PrefixFilter::pairs},
                                                                        {"none", PrefixFilter::none}}});
  s.max_pair_count_bytes = static_cast<std::uint64_t>(job.get_int_in("fpgrowth", "pair_counts_max_mib", 1)) << 20;
  return s;
}

}  // namespace mpiseg::fpgrowth

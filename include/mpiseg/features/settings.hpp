#pragma once
/// [features]: which per-customer features to compute, how to transform them, and policies.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"

namespace mpiseg::features {

enum class Scaling { none, zscore, robust };

/// How one feature is transformed: optional log1p (negative values clipped to 0 first), then a
/// scaling with global statistics.
struct TransformSpec {
  bool log1p = false;
  Scaling scaling = Scaling::zscore;
  friend bool operator==(const TransformSpec&, const TransformSpec&) = default;
};

/// Parses "zscore", "robust", "none", "log1p", "log1p+zscore", "log1p+robust".
TransformSpec parse_transform(const std::string& text, const std::string& where);
std::string describe_transform(const TransformSpec& spec);

enum class MonetaryPolicy { net, purchases };

struct FeatureSettings {
  // The defaults are the [features] keys' (a test checks that they agree).
  std::vector<std::string> include = {"recency_days",   "frequency",      "monetary",    "avg_basket_value",           "avg_items_per_basket",
                                      "tenure_days",    "distinct_items", "return_rate", "mean_days_between_purchases"};  // matrix column order
  TransformSpec default_transform;
  std::vector<std::pair<std::string, TransformSpec>> transforms = {  // per-feature overrides
      {"frequency", {true, Scaling::zscore}},      {"monetary", {true, Scaling::zscore}},
      {"avg_basket_value", {true, Scaling::zscore}}, {"avg_items_per_basket", {true, Scaling::zscore}},
      {"distinct_items", {true, Scaling::zscore}},  {"tenure_days", {false, Scaling::zscore}}};
  std::int64_t reference_time = -1;    // seconds; -1: midnight after the last timestamp
  MonetaryPolicy monetary = MonetaryPolicy::net;
  bool keep_no_purchase = false;
  std::uint32_t top_categories = 5;

  static FeatureSettings from_job(const JobConfig& job);
  TransformSpec transform_for(const std::string& feature) const;
  friend bool operator==(const FeatureSettings&, const FeatureSettings&) = default;
};

/// The base features mpiseg can compute, in their documented order.
std::span<const std::string_view> base_feature_names();
std::span<const KeySpec> feature_keys();

}  // namespace mpiseg::features

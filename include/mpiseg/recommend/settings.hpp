#pragma once
/// [recommend]: which methods recommend items, how many per customer, the time split they are
/// judged on, and each method's parameters.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"

namespace mpiseg::recommend {

enum class Method { popularity, segment_popularity, rules, item_cf, als };
/// How a customer's purchases of an item become one value of the customer x item matrix.
enum class Values { binary, counts, log1p };
enum class RuleScore { confidence, lift };

const char* method_name(Method method);
const char* values_name(Values values);
const char* rule_score_name(RuleScore score);

struct RecommendSettings {
  std::vector<Method> methods = {Method::popularity, Method::rules, Method::item_cf, Method::als};
  std::int64_t n = 10;
  std::int64_t exclude_days = 0;     // 0: never recommend an item the customer bought; else only those of the last days
  std::int64_t history_days = 90;    // rules: the antecedent must lie in the purchases of the last days
  RuleScore rule_score = RuleScore::confidence;
  Values values = Values::binary;
  std::int64_t neighbours = 50;
  std::int64_t max_items_per_customer = 500;
  std::int64_t factors = 16;
  double regularization = 0.1;
  double alpha = 10.0;
  std::int64_t iterations = 10;
  std::uint64_t seed = 1;
  std::int64_t cutoff = -1;          // seconds; -1: test_days before the end of the data
  std::int64_t test_days = 30;
  bool validate = true;
  bool refit = true;
  static RecommendSettings from_job(const JobConfig& job);
  bool uses(Method method) const;
  friend bool operator==(const RecommendSettings&, const RecommendSettings&) = default;
};

std::span<const KeySpec> recommend_keys();

}  // namespace mpiseg::recommend

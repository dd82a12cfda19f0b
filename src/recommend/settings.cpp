#include "mpiseg/recommend/settings.hpp"

#include <array>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/recommend/keys.toml

namespace mpiseg::recommend {
namespace {

constexpr std::array<Choice<Method>, 5> kMethodNames{{{"popularity", Method::popularity},
                                                     {"segment_popularity", Method::segment_popularity},
                                                     {"rules", Method::rules},
                                                     {"item_cf", Method::item_cf},
                                                     {"als", Method::als}}};
constexpr std::array<Choice<Values>, 3> kValuesNames{{{"binary", Values::binary}, {"counts", Values::counts}, {"log1p", Values::log1p}}};
constexpr std::array<Choice<RuleScore>, 2> kRuleScoreNames{{{"confidence", RuleScore::confidence}, {"lift", RuleScore::lift}}};

Method parse_method(const std::string& name, const std::string& where) {
  for (const Choice<Method>& choice : kMethodNames)
    if (name == choice.name) return choice.value;
  throw ConfigError(fmt::format("{}: unknown method '{}' (popularity, segment_popularity, rules, item_cf, als)", where, name));
}

std::int64_t int_in(const JobConfig& job, const char* key, std::int64_t low, std::int64_t high) { return job.get_int_in("recommend", key, low, high); }
}  // namespace

std::span<const KeySpec> recommend_keys() { return module_keys().section("recommend"); }

const char* method_name(Method method) { return choice_name(kMethodNames, method); }
const char* values_name(Values values) { return choice_name(kValuesNames, values); }
const char* rule_score_name(RuleScore score) { return choice_name(kRuleScoreNames, score); }

bool RecommendSettings::uses(Method method) const { return std::find(methods.begin(), methods.end(), method) != methods.end(); }

RecommendSettings RecommendSettings::from_job(const JobConfig& job) {
  RecommendSettings s;
  const std::string where = job.describe("recommend", "methods");
  s.methods.clear();
  for (const std::string& name : job.get_string_list("recommend", "methods")) {
    const Method method = parse_method(name, where);
    if (s.uses(method)) throw ConfigError(fmt::format("{}: '{}' is listed twice", where, name));
    s.methods.push_back(method);
  }
  if (s.methods.empty()) throw ConfigError(fmt::format("{} is empty", where));
  s.n = int_in(job, "n", 1, 10000);
  s.exclude_days = int_in(job, "exclude_days", 0, 36500);
  s.history_days = int_in(job, "history_days", 1, 36500);
  s.rule_score = job.get_choice("recommend", "rule_score", kRuleScoreNames);
  s.values = job.get_choice("recommend", "values", kValuesNames);
  s.neighbours = int_in(job, "neighbours", 1, 100000);
  s.max_items_per_customer = int_in(job, "max_items_per_customer", 1, 1000000);
  s.factors = int_in(job, "factors", 1, 512);
  s.regularization = job.get_number("recommend", "regularization");
  if (!(s.regularization >= 0) || !std::isfinite(s.regularization))
    throw ConfigError(fmt::format("{} must be a finite number >= 0", job.describe("recommend", "regularization")));
  s.alpha = job.get_number("recommend", "alpha");
  if (!(s.alpha >= 0) || !(s.alpha <= 1e6))
    throw ConfigError(fmt::format("{} must be a number between 0 and 1e6", job.describe("recommend", "alpha")));
  s.iterations = int_in(job, "iterations", 1, 10000);
  s.seed = static_cast<std::uint64_t>(job.get_int_in("recommend", "seed", 0));
  if (const std::string cutoff = job.get_string("recommend", "cutoff"); !cutoff.empty())
    s.cutoff = parse_iso_date_to_seconds(cutoff, job.describe("recommend", "cutoff"));
  s.test_days = int_in(job, "test_days", 1, 36500);
  s.validate = job.get_bool("recommend", "validate");
  s.refit = job.get_bool("recommend", "refit");
  return s;
}

}  // namespace mpiseg::recommend

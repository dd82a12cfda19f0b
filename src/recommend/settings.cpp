#include "mpiseg/recommend/settings.hpp"

#include <array>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"

namespace mpiseg::recommend {
namespace {
constexpr KeySpec kKeys[] = {
    {"recommend", "methods", ValueKind::string_list, "[\"popularity\", \"rules\", \"item_cf\", \"als\"]",
     "methods compared side by side: popularity (the baseline), segment_popularity (needs kmeans), rules (association rules of "
     "[fpgrowth], overall and the customer's segment), item_cf (item-item cosine), als (implicit matrix factorisation)"},
    {"recommend", "n", ValueKind::integer, "10", "items recommended per customer and method (the n of precision@n)"},
    {"recommend", "exclude_days", ValueKind::integer, "0",
     "0: never recommend an item the customer has bought; N: only items bought in the last N days are left out"},
    {"recommend", "history_days", ValueKind::integer, "90",
     "rules: a rule applies when its antecedent lies in the customer's purchases of the last history_days"},
    {"recommend", "rule_score", ValueKind::string, "\"confidence\"", "rules: \"confidence\" or \"lift\" scores an item (best rule per item)"},
    {"recommend", "values", ValueKind::string, "\"binary\"",
     "item_cf and als: a customer's purchase lines of an item as \"binary\" (1), \"counts\" (lines, capped at 65535) or \"log1p\" "
     "(log(1 + lines))"},
    {"recommend", "neighbours", ValueKind::integer, "50", "item_cf: most similar items kept per item"},
    {"recommend", "max_items_per_customer", ValueKind::integer, "500",
     "item_cf and als: a customer's most recently bought items kept (bounds the pairs per customer; trimmed customers are counted)"},
    {"recommend", "factors", ValueKind::integer, "16", "als: latent factors"},
    {"recommend", "regularization", ValueKind::number, "0.1", "als: L2 penalty lambda on every factor vector (>= 0)"},
    {"recommend", "alpha", ValueKind::number, "10.0", "als: confidence 1 + alpha x value of an observed purchase (>= 0)"},
    {"recommend", "iterations", ValueKind::integer, "10", "als: alternating sweeps (customers, then items)"},
    {"recommend", "seed", ValueKind::integer, "1", "als: initial item factors, drawn per item id"},
    {"recommend", "cutoff", ValueKind::string, "\"\"",
     "YYYY-MM-DD: train on lines before it, judge on the new items bought from it on (\"\": test_days before the end of the data)"},
    {"recommend", "test_days", ValueKind::integer, "30", "held-out days at the end of the data when no cutoff is given"},
    {"recommend", "validate", ValueKind::boolean, "true", "evaluate every method on the time split"},
    {"recommend", "refit", ValueKind::boolean, "true",
     "the stored recommendations are trained on all the data (false: the evaluated ones, trained before the cutoff)"},
};

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

std::span<const KeySpec> recommend_keys() { return kKeys; }

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

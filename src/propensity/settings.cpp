#include "mpiseg/propensity/settings.hpp"

#include <array>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/propensity/keys.toml

namespace mpiseg::propensity {
std::span<const KeySpec> propensity_keys() { return module_keys().section("propensity"); }

const char* class_weight_name(ClassWeight weight) { return weight == ClassWeight::balanced ? "balanced" : "none"; }

std::string Target::group_name() const {
  std::string name = text;
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

Target Target::parse(const std::string& text, const std::string& where) {
  Target target;
  target.text = text;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (kind == "churn" && colon == std::string::npos) {
    target.kind = Kind::churn;
  } else if (kind == "purchase" && colon == std::string::npos) {
    target.kind = Kind::purchase;
  } else if (kind == "category") {
    target.kind = Kind::category;
    target.category = argument;
    if (argument.empty()) throw ConfigError(fmt::format("{}: target '{}' names no category", where, text));
  } else if (kind == "items") {
    target.kind = Kind::items;
    for (std::size_t begin = 0; begin <= argument.size();) {
      const auto comma = std::min(argument.find(',', begin), argument.size());
      std::string code = argument.substr(begin, comma - begin);
      while (!code.empty() && code.front() == ' ') code.erase(code.begin());
      while (!code.empty() && code.back() == ' ') code.pop_back();
      if (code.empty()) throw ConfigError(fmt::format("{}: target '{}' has an empty item code", where, text));
      target.items.push_back(std::move(code));
      begin = comma + 1;
    }
    std::sort(target.items.begin(), target.items.end());
    target.items.erase(std::unique(target.items.begin(), target.items.end()), target.items.end());
  } else {
    throw ConfigError(fmt::format("{}: unknown target '{}' (churn, purchase, category:NAME, items:CODE,CODE)", where, text));
  }
  if (text.empty() || text == "." || text == "training")
    throw ConfigError(fmt::format("{}: '{}' cannot name a target", where, text));
  return target;
}

PropensitySettings PropensitySettings::from_job(const JobConfig& job) {
  PropensitySettings s;
  const std::string where = job.describe("propensity", "targets");
  std::vector<std::string> names;
  s.targets.clear();
  for (const std::string& text : job.get_string_list("propensity", "targets")) {
    s.targets.push_back(Target::parse(text, where));
    names.push_back(s.targets.back().group_name());
  }
  if (s.targets.empty()) throw ConfigError(fmt::format("{} is empty", where));
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end())
    throw ConfigError(fmt::format("{}: a target is listed twice", where));
  if (const std::string cutoff = job.get_string("propensity", "cutoff"); !cutoff.empty())
    s.cutoff = parse_iso_date_to_seconds(cutoff, job.describe("propensity", "cutoff"));
  s.horizon_days = job.get_int("propensity", "horizon_days");
  if (s.horizon_days < 1 || s.horizon_days > 36500)
    throw ConfigError(fmt::format("{} must be between 1 and 36500", job.describe("propensity", "horizon_days")));
  s.validate = job.get_bool("propensity", "validate");
  s.refit = job.get_bool("propensity", "refit");
  s.per_segment = job.get_bool("propensity", "per_segment");
  s.store_training_data = job.get_bool("propensity", "store_training_data");
  LogisticSettings& l = s.logistic;
  l.l2 = job.get_number("propensity", "l2");
  if (!(l.l2 > 0) || !std::isfinite(l.l2))
    throw ConfigError(fmt::format("{} must be a finite number > 0 (the penalty keeps separable data finite)", job.describe("propensity", "l2")));
  l.fit_intercept = job.get_bool("propensity", "fit_intercept");
  l.class_weight = job.get_choice("propensity", "class_weight",
                                  std::array<Choice<ClassWeight>, 2>{{{"none", ClassWeight::none}, {"balanced", ClassWeight::balanced}}});
  l.tol = job.get_number_from("propensity", "tol", 0);
  l.max_iter = job.get_int("propensity", "max_iter");
  if (l.max_iter < 1 || l.max_iter > 100000)
    throw ConfigError(fmt::format("{} must be between 1 and 100000", job.describe("propensity", "max_iter")));
  return s;
}

}  // namespace mpiseg::propensity

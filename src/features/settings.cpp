#include "mpiseg/features/settings.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "keys_toml.hpp"  // module_keys(): src/features/keys.toml

namespace mpiseg::features {
namespace {

constexpr std::array<std::string_view, 9> kBaseFeatures = {
    "recency_days", "frequency", "monetary", "avg_basket_value", "avg_items_per_basket",
    "tenure_days", "distinct_items", "return_rate", "mean_days_between_purchases"};


}  // namespace

std::span<const std::string_view> base_feature_names() { return kBaseFeatures; }
std::span<const KeySpec> feature_keys() { return module_keys().section("features"); }

TransformSpec parse_transform(const std::string& text, const std::string& where) {
  TransformSpec spec;
  std::string rest = text;
  if (rest.rfind("log1p", 0) == 0) {
    spec.log1p = true;
    rest = rest.substr(5);
    if (rest.empty()) {
      spec.scaling = Scaling::none;
      return spec;
    }
    if (rest[0] != '+') throw ConfigError(fmt::format("{}: unknown transform '{}'", where, text));
    rest = rest.substr(1);
  }
  if (rest == "zscore") spec.scaling = Scaling::zscore;
  else if (rest == "robust") spec.scaling = Scaling::robust;
  else if (rest == "none") spec.scaling = Scaling::none;
  else throw ConfigError(fmt::format("{}: unknown transform '{}' (zscore, robust, none, log1p, log1p+zscore, log1p+robust)", where, text));
  return spec;
}

std::string describe_transform(const TransformSpec& spec) {
  const char* scaling = spec.scaling == Scaling::zscore ? "zscore" : spec.scaling == Scaling::robust ? "robust" : "none";
  if (!spec.log1p) return scaling;
  return spec.scaling == Scaling::none ? "log1p" : std::string("log1p+") + scaling;
}

FeatureSettings FeatureSettings::from_job(const JobConfig& job) {
  FeatureSettings settings;
  settings.include = job.get_string_list("features", "include");
  if (settings.include.empty()) throw ConfigError(fmt::format("{} lists no feature", job.describe("features", "include")));
  for (const std::string& name : settings.include) {
    if (std::find(kBaseFeatures.begin(), kBaseFeatures.end(), name) == kBaseFeatures.end())
      throw ConfigError(fmt::format("{}: unknown feature '{}' (known: recency_days, frequency, monetary, avg_basket_value, "
                                    "avg_items_per_basket, tenure_days, distinct_items, return_rate, mean_days_between_purchases)",
                                    job.describe("features", "include"), name));
    if (std::count(settings.include.begin(), settings.include.end(), name) > 1)
      throw ConfigError(fmt::format("{}: '{}' listed twice", job.describe("features", "include"), name));
  }
  settings.default_transform = parse_transform(job.get_string("features", "default_transform"), job.describe("features", "default_transform"));
  settings.transforms.clear();
  for (const std::string& entry : job.get_string_list("features", "transforms")) {
    const auto equals = entry.find('=');
    const std::string where = job.describe("features", "transforms");
    if (equals == std::string::npos) throw ConfigError(fmt::format("{}: '{}' is not name=transform", where, entry));
    settings.transforms.emplace_back(entry.substr(0, equals), parse_transform(entry.substr(equals + 1), where));
  }
  const std::string reference = job.get_string("features", "reference_date");
  if (!reference.empty()) settings.reference_time = parse_iso_date_to_seconds(reference, job.describe("features", "reference_date"));
  settings.monetary = job.get_choice(
      "features", "monetary", std::array<Choice<MonetaryPolicy>, 2>{{{"net", MonetaryPolicy::net}, {"purchases", MonetaryPolicy::purchases}}});
  settings.keep_no_purchase = job.get_bool("features", "keep_no_purchase");
  const std::int64_t top = job.get_int("features", "top_categories");
  if (top < 0 || top > 100) throw ConfigError(fmt::format("{} must be between 0 and 100", job.describe("features", "top_categories")));
  settings.top_categories = static_cast<std::uint32_t>(top);
  return settings;
}

TransformSpec FeatureSettings::transform_for(const std::string& feature) const {
  for (const auto& [name, spec] : transforms)
    if (name == feature) return spec;
  return default_transform;
}

}  // namespace mpiseg::features

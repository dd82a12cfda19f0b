#pragma once
/// [propensity]: which targets to model, the time split, and the logistic regression's settings.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/core/config.hpp"

namespace mpiseg::propensity {

/// What a target asks of a customer's lines in the horizon after a cutoff.
struct Target {
  enum class Kind { churn, purchase, category, items };
  Kind kind = Kind::churn;
  std::string text;                 // as written in the job file, e.g. "category:Home"
  std::string category;             // Kind::category
  std::vector<std::string> items;   // Kind::items: item codes
  /// The HDF5 group name: the text with '/' replaced (a group path separator).
  std::string group_name() const;
  /// Parses "churn", "purchase", "category:NAME", "items:CODE,CODE"; throws ConfigError naming `where`.
  static Target parse(const std::string& text, const std::string& where);
  friend bool operator==(const Target&, const Target&) = default;
};

enum class ClassWeight { none, balanced };

/// L2-regularised logistic regression fitted by Newton's method (IRLS). The objective is
///   sum_i s_i (log(1 + exp(z_i)) - y_i z_i) + l2 / 2 |w|^2,  z_i = b + x_i . w,
/// the intercept b unpenalised; s_i = 1, or n / (2 n_class) with class_weight = balanced.
/// scikit-learn's LogisticRegression(C) minimises C times the data term plus |w|^2 / 2: C = 1 / l2.
struct LogisticSettings {
  double l2 = 1.0;
  bool fit_intercept = true;
  ClassWeight class_weight = ClassWeight::none;
  double tol = 1e-8;   // stop when max |gradient| <= tol x the total sample weight
  std::int64_t max_iter = 100;
  friend bool operator==(const LogisticSettings&, const LogisticSettings&) = default;
};

struct PropensitySettings {
  std::vector<Target> targets = {Target::parse("churn", "the default targets")};
  std::int64_t cutoff = -1;         // seconds; -1: horizon_days before the end of the data
  std::int64_t horizon_days = 90;
  bool validate = true;
  bool refit = true;
  bool per_segment = true;
  bool store_training_data = false;
  LogisticSettings logistic;
  static PropensitySettings from_job(const JobConfig& job);
  friend bool operator==(const PropensitySettings&, const PropensitySettings&) = default;
};

const char* class_weight_name(ClassWeight weight);
std::span<const KeySpec> propensity_keys();

}  // namespace mpiseg::propensity

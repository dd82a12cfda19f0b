#include "mpiseg/model/propensity_group.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::model {
namespace {

using features::FeatureTransform;
using namespace mpiseg::propensity;

void write_metrics(h5::Group& parent, std::string_view name, const ScoreMetrics& m) {
  h5::Group group = parent.create_group(name);
  group.write_attribute("customers", static_cast<std::int64_t>(m.customers));
  group.write_attribute("positives", static_cast<std::int64_t>(m.positives));
  group.write_attribute("base_rate", m.base_rate);
  group.write_attribute("auc", m.auc);
  group.write_attribute("log_loss", m.log_loss);
  group.write_attribute("brier", m.brier);
  group.write_attribute("top_decile_lift", m.top_decile_lift);
  group.write_attribute("top_decile_capture", m.top_decile_capture);
  h5::write_columns(group, m.deciles, h5::Column{"decile_customers", &DecileRow::customers},
                    h5::Column{"decile_positives", &DecileRow::positives}, h5::Column{"decile_mean_score", &DecileRow::mean_score},
                    h5::Column{"decile_observed_rate", &DecileRow::observed_rate});
  group.write_attribute("meaning",
                        "deciles by descending score (ties by customer key): [0] holds the top ceil(n / 10) customers; AUC "
                        "counts tied scores one half (as scikit-learn's roc_auc_score)");
}

void write_fit(h5::Group& group, const ModelFit& fit, const std::vector<FeatureTransform>& transforms) {
  group.write_attribute("segment", static_cast<std::int64_t>(fit.segment));
  if (fit.segment >= 0) group.write_attribute("scores_from", fit.scores_segment ? "this segment's model" : "the global model");
  if (fit.validation_of_global) write_metrics(group, "validation_of_global_model", *fit.validation_of_global);
  if (!fit.fitted()) {
    group.write_attribute("skipped", fit.skipped);
    return;
  }
  const LogisticModel& model = fit.model;
  h5::write_replicated(group, "coefficients", model.coefficients);
  // On the original scale: per unit of the feature before scaling (log1p units for log1p features).
  std::vector<double> unscaled(model.coefficients.size());
  double intercept = model.intercept;
  for (std::size_t j = 0; j < unscaled.size(); ++j) {
    const FeatureTransform& transform = transforms[j];
    if (transform.spec.scaling == features::Scaling::none) {
      unscaled[j] = model.coefficients[j];
    } else if (transform.zero_variance) {
      unscaled[j] = 0;
    } else {
      unscaled[j] = model.coefficients[j] / transform.scale;
      intercept -= unscaled[j] * transform.center;
    }
  }
  h5::write_replicated(group, "coefficients_unscaled", unscaled);
  h5::write_replicated(group, "loss_history", model.loss_history);
  group.write_attribute("intercept", model.intercept);
  group.write_attribute("intercept_unscaled", intercept);
  group.write_attribute("iterations", model.iterations);
  group.write_attribute("convergence", convergence_name(model.reason));
  group.write_attribute("gradient_max", model.gradient_max);
  group.write_attribute("training_customers", static_cast<std::int64_t>(model.rows));
  group.write_attribute("training_positives", static_cast<std::int64_t>(model.positives));
  group.write_attribute("positive_weight", model.positive_weight);
  group.write_attribute("negative_weight", model.negative_weight);
  group.write_attribute("separable", static_cast<std::int64_t>(model.separable ? 1 : 0));
  group.write_dataset_attribute("coefficients", "meaning", "per scaled feature (/propensity/feature_names, /propensity/scaler)");
  group.write_dataset_attribute("coefficients_unscaled", "meaning",
                                "per unit of the feature before scaling (log1p(x) for log1p features); with intercept_unscaled");
  write_metrics(group, "training", fit.training);
  if (fit.validation) write_metrics(group, "validation", *fit.validation);
}

}  // namespace

void write_propensity(h5::Group& root, const propensity::PropensityResult& result) {
  const PropensitySettings& settings = result.settings;
  h5::Group group = root.create_group("propensity");
  h5::write_strings(group, "feature_names", result.feature_names);
  h5::Group scaler = group.create_group("scaler");
  std::vector<std::string> specs;
  std::vector<double> center, scale;
  std::vector<std::uint8_t> zero;
  for (const FeatureTransform& transform : result.transforms) {
    specs.push_back(features::describe_transform(transform.spec));
    center.push_back(transform.center);
    scale.push_back(transform.scale);
    zero.push_back(transform.zero_variance ? 1 : 0);
  }
  h5::write_strings(scaler, "transform", specs);
  h5::write_replicated(scaler, "center", center);
  h5::write_replicated(scaler, "scale", scale);
  h5::write_replicated(scaler, "zero_variance", zero);
  scaler.write_attribute("meaning", "fitted on the stored models' training snapshot; scaled = (f(raw) - center) / scale as /features/scaler");
  std::vector<std::string> names;
  for (const TargetResult& target : result.targets) names.push_back(target.target.group_name());
  h5::write_strings(group, "targets", names);
  group.write_attribute("cutoff_date", format_date(result.cutoff));
  group.write_attribute("data_end_date", format_date(result.data_end));
  group.write_attribute("trained_at_date", format_date(result.trained_at));
  group.write_attribute("horizon_days", settings.horizon_days);
  group.write_attribute("validation", result.validation.empty() ? "out of time: trained at cutoff - horizon, measured at the cutoff" : result.validation);
  group.write_attribute("refit", static_cast<std::int64_t>(settings.refit ? 1 : 0));
  group.write_attribute("segments", static_cast<std::int64_t>(result.segment_count));
  group.write_attribute("l2", settings.logistic.l2);
  group.write_attribute("fit_intercept", static_cast<std::int64_t>(settings.logistic.fit_intercept ? 1 : 0));
  group.write_attribute("class_weight", class_weight_name(settings.logistic.class_weight));
  group.write_attribute("tol", settings.logistic.tol);
  group.write_attribute("max_iter", settings.logistic.max_iter);
  for (std::size_t t = 0; t < result.targets.size(); ++t) {
    const TargetResult& target = result.targets[t];
    h5::Group target_group = group.create_group(target.target.group_name());
    target_group.write_attribute("target", target.target.text);
    write_fit(target_group, target.global, result.transforms);
    for (const ModelFit& fit : target.segments) {
      h5::Group segment_group = target_group.create_group(fmt::format("segment_{}", fit.segment));
      write_fit(segment_group, fit, result.transforms);
    }
    h5::write_rows(target_group, "scores", target.scores);
    h5::write_rows(target_group, "scored_by", target.scored_by);
    target_group.write_dataset_attribute("scores", "meaning",
                                         "probability of the target in the next horizon_days, per customer of /features (and /assignments); "
                                         "NaN where no model applies");
    target_group.write_dataset_attribute("scored_by", "meaning", "-1: the global model; s: segment s's model; -2: none");
    if (settings.store_training_data) {
      h5::write_rows(target_group, "training_label", result.training_labels[t]);
      h5::write_rows(target_group, "training_score", result.training_scores[t]);
      target_group.write_dataset_attribute("training_score", "meaning", "the global model's probability for each row of /propensity/training");
    }
  }
  if (settings.store_training_data) {
    h5::Group training = group.create_group("training");
    h5::write_rows(training, "customer", result.training_customer);
    h5::write_rows(training, "matrix", result.training_matrix, result.feature_names.size());
    if (result.segment_count) h5::write_rows(training, "segment", result.training_segment);
    training.write_attribute("meaning", "the stored models' training snapshot: customers, scaled features, segment then; labels in TARGET/training_label");
  }
}

StoredPropensity read_propensity(const h5::Group& root) {
  const h5::Group group = root.open_group("propensity");
  StoredPropensity stored;
  stored.feature_names = h5::read_strings(group, "feature_names");
  const std::size_t d = stored.feature_names.size();
  const h5::Group scaler = group.open_group("scaler");
  const auto specs = h5::read_strings(scaler, "transform");
  const auto center = h5::read_all<double>(scaler, "center");
  const auto scale = h5::read_all<double>(scaler, "scale");
  const auto zero = h5::read_all<std::uint8_t>(scaler, "zero_variance");
  if (specs.size() != d || center.size() != d || scale.size() != d || zero.size() != d)
    throw IoError(fmt::format("{}: the scaler does not have one entry per feature ({})", root.describe("propensity/scaler"), d));
  for (std::size_t j = 0; j < d; ++j) {
    FeatureTransform transform;
    transform.name = stored.feature_names[j];
    transform.spec = features::parse_transform(specs[j], root.describe("propensity/scaler/transform"));
    transform.center = center[j];
    transform.scale = scale[j];
    transform.zero_variance = zero[j] != 0;
    if (!std::isfinite(center[j]) || !std::isfinite(scale[j]) || !(scale[j] > 0))
      throw IoError(fmt::format("{}: center or scale of feature {} is not a finite number (scale > 0)", root.describe("propensity/scaler"), j));
    stored.transforms.push_back(std::move(transform));
  }
  const std::int64_t segments = group.read_int_attribute("segments");
  if (segments < 0 || segments > 100000) throw IoError(fmt::format("{}: segments = {} is out of range", root.describe("propensity"), segments));
  stored.segment_count = static_cast<std::size_t>(segments);
  const auto read_model = [&](const h5::Group& model_group) -> std::optional<StoredModel> {
    if (model_group.has_attribute("skipped")) return std::nullopt;
    if (model_group.has_attribute("scores_from") && model_group.read_string_attribute("scores_from") != "this segment's model")
      return std::nullopt;
    StoredModel model;
    model.coefficients = h5::read_all<double>(model_group, "coefficients");
    model.intercept = model_group.read_double_attribute("intercept");
    if (model.coefficients.size() != d)
      throw IoError(fmt::format("{}: {} coefficients for {} features", model_group.describe("coefficients"), model.coefficients.size(), d));
    for (double c : model.coefficients)
      if (!std::isfinite(c)) throw IoError(fmt::format("{}: a coefficient is not finite", model_group.describe("coefficients")));
    if (!std::isfinite(model.intercept)) throw IoError(fmt::format("{}: the intercept is not finite", model_group.describe("coefficients")));
    return model;
  };
  for (const std::string& name : h5::read_strings(group, "targets")) {
    if (name.empty() || name.find('/') != std::string::npos || !group.exists(name))
      throw IoError(fmt::format("{}: target '{}' has no group", root.describe("propensity/targets"), name));
    const h5::Group target_group = group.open_group(name);
    StoredTarget target;
    target.name = name;
    target.text = target_group.read_string_attribute("target");
    target.global = read_model(target_group);
    for (std::int64_t s = 0; s < segments; ++s) {
      const std::string segment_name = fmt::format("segment_{}", s);
      target.segments.push_back(target_group.exists(segment_name) ? read_model(target_group.open_group(segment_name)) : std::nullopt);
    }
    stored.targets.push_back(std::move(target));
  }
  return stored;
}

std::pair<double, std::int32_t> score_row(const StoredPropensity& stored, const StoredTarget& target, const double* scaled_row,
                                          std::int32_t segment) {
  const StoredModel* model = target.global ? &*target.global : nullptr;
  std::int32_t by = model ? -1 : -2;
  if (segment >= 0 && static_cast<std::size_t>(segment) < target.segments.size() && target.segments[static_cast<std::size_t>(segment)])
    model = &*target.segments[static_cast<std::size_t>(segment)], by = segment;
  if (model == nullptr) return {std::numeric_limits<double>::quiet_NaN(), by};
  double z = model->intercept;
  for (std::size_t j = 0; j < stored.feature_names.size(); ++j) z += scaled_row[j] * model->coefficients[j];
  return {sigmoid(z), by};
}

}  // namespace mpiseg::model

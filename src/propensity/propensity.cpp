#include "mpiseg/propensity/propensity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>

#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/kmeans/assignment.hpp"

namespace mpiseg::propensity {
namespace {

using features::FeatureTable;
using features::FeatureTransform;

/// Customers as they stood at `time`: features of earlier lines, targets of the horizon after it.
struct Snapshot {
  std::int64_t time = 0;
  FeatureTable table;
  std::vector<std::vector<std::uint8_t>> labels;  // per target, per row
  std::vector<std::int32_t> segment;               // per row; empty without segments
};

/// Which items count for each target (empty for churn and purchase: every item).
std::vector<std::vector<std::uint8_t>> target_items(const std::vector<Target>& targets, const ingest::IngestResult& ingested) {
  std::vector<std::vector<std::uint8_t>> hits;
  const ingest::ItemDictionary& items = ingested.items;
  for (const Target& target : targets) {
    std::vector<std::uint8_t> hit;
    if (target.kind == Target::Kind::category) {
      if (!ingested.has_category)
        throw ConfigError(fmt::format("[propensity] targets: '{}' needs item categories, and the input maps no category column", target.text));
      hit.assign(items.size(), 0);
      std::size_t found = 0;
      for (std::size_t i = 0; i < items.size(); ++i)
        if (items.category[i] == target.category) hit[i] = 1, ++found;
      if (found == 0) throw ConfigError(fmt::format("[propensity] targets: no item has the category of '{}'", target.text));
    } else if (target.kind == Target::Kind::items) {
      hit.assign(items.size(), 0);
      std::vector<std::string> missing;
      for (const std::string& code : target.items) {
        const auto found = std::lower_bound(items.code.begin(), items.code.end(), code);
        if (found == items.code.end() || *found != code) missing.push_back(code);
        else hit[static_cast<std::size_t>(found - items.code.begin())] = 1;
      }
      if (!missing.empty())
        throw ConfigError(fmt::format("[propensity] targets: '{}': no such item code in the data: {}", target.text, fmt::join(missing, ", ")));
    }
    hits.push_back(std::move(hit));
  }
  return hits;
}

Snapshot take_snapshot(std::int64_t time, std::int64_t horizon_end, const std::vector<Target>& targets,
                       const std::vector<std::vector<std::uint8_t>>& hits, const features::FeatureSettings& feature_settings,
                       const ingest::IngestResult& ingested, const FeatureTable& current, const Segments* segments,
                       comm::Communicator& comm) {
  Snapshot snapshot;
  snapshot.time = time;
  features::FeatureSettings settings = feature_settings;
  settings.reference_time = time;
  snapshot.table = features::build_features(settings, ingested, comm, {time, features::share_categories(current.names)});
  const FeatureTable& table = snapshot.table;
  if (table.names != current.names)
    throw InputError(fmt::format("propensity: the features at {} have other columns than the current table", format_date(time)));
  const ingest::LineItems& rows = ingested.rows;
  const std::size_t n = table.rows();
  snapshot.labels.assign(targets.size(), std::vector<std::uint8_t>(n, 0));
  for (std::size_t i = 0; i < n; ++i) {
    const auto range = std::equal_range(rows.customer.begin(), rows.customer.end(), table.customer[i]);
    for (auto at = range.first; at != range.second; ++at) {
      const auto line = static_cast<std::size_t>(at - rows.customer.begin());
      if (rows.time[line] < time || rows.time[line] >= horizon_end) continue;
      if (rows.quantity[line] <= 0 || (rows.flags[line] & ingest::line_flags::cancellation) != 0) continue;
      for (std::size_t t = 0; t < targets.size(); ++t)
        if (hits[t].empty() || hits[t][rows.item[line]]) snapshot.labels[t][i] = 1;
    }
  }
  for (std::size_t t = 0; t < targets.size(); ++t)
    if (targets[t].kind == Target::Kind::churn)
      for (std::uint8_t& label : snapshot.labels[t]) label = label ? 0 : 1;
  if (segments != nullptr) {
    const std::size_t d = table.cols();
    // The nearest current centroid, by the same deterministic kernel as K-means and `score`.
    const std::vector<double> in_current_space = features::apply_transforms(current.transforms, table.raw);
    snapshot.segment = kmeans::nearest_centroids(in_current_space, n, d, segments->centroids_scaled, segments->k);
  }
  return snapshot;
}

/// Rows of a population (all, or one segment) of a snapshot, in a scaler's space.
struct Population {
  std::vector<double> x;
  std::vector<std::uint8_t> y;
  std::vector<std::uint64_t> customer;
  std::size_t rows = 0, cols = 0;
  Design design() const { return {x, y, rows, cols}; }
};

Population select(const Snapshot& snapshot, const std::vector<double>& scaled, std::size_t target, std::int32_t segment) {
  Population population;
  population.cols = snapshot.table.cols();
  for (std::size_t i = 0; i < snapshot.table.rows(); ++i) {
    if (segment >= 0 && snapshot.segment[i] != segment) continue;
    population.x.insert(population.x.end(), scaled.begin() + static_cast<std::ptrdiff_t>(i * population.cols),
                        scaled.begin() + static_cast<std::ptrdiff_t>((i + 1) * population.cols));
    population.y.push_back(snapshot.labels[target][i]);
    population.customer.push_back(snapshot.table.customer[i]);
    ++population.rows;
  }
  return population;
}

ScoreMetrics evaluate(const LogisticModel& model, const Population& population, comm::Communicator& comm) {
  std::vector<double> logits(population.rows), probabilities(population.rows);
  for (std::size_t i = 0; i < population.rows; ++i) {
    logits[i] = model.logit(&population.x[i * population.cols]);
    probabilities[i] = sigmoid(logits[i]);
  }
  return evaluate_scores(probabilities, logits, population.y, population.customer, comm);
}

/// Why a population cannot be trained on (identical on every rank), or "".
std::string unfit_reason(const Population& population, comm::Communicator& comm) {
  std::uint64_t counts[2] = {population.rows, 0};
  for (std::uint8_t y : population.y) counts[1] += y;
  comm.allreduce(std::span<std::uint64_t>(counts), comm::ReduceOp::sum);
  if (counts[0] <= population.cols)
    return fmt::format("{} training customer(s), not more than the {} features", counts[0], population.cols);
  if (counts[1] == 0) return fmt::format("only one class among the {} training customers (no positive)", counts[0]);
  if (counts[1] == counts[0]) return fmt::format("only one class among the {} training customers (no negative)", counts[0]);
  return "";
}

std::string label_of(const Target& target, std::int32_t segment) {
  return segment < 0 ? target.text : fmt::format("{} (segment {})", target.text, segment);
}

ModelFit fit_one(const LogisticSettings& settings, const Population& population, const Target& target, std::int32_t segment,
                 const Snapshot& snapshot, comm::Communicator& comm) {
  const std::vector<std::string>& names = snapshot.table.names;
  ModelFit fit;
  fit.segment = segment;
  fit.skipped = unfit_reason(population, comm);
  if (!fit.fitted()) {
    log::warn("propensity: {}, trained at {}: no model: {}", label_of(target, segment), format_date(snapshot.time), fit.skipped);
    return fit;
  }
  const Stopwatch watch;
  fit.model = fit_logistic(settings, population.design(), comm);
  fit.fit_seconds = watch.seconds();
  if (!fit.model.constant_columns.empty()) {
    std::vector<std::string> constant;
    for (std::size_t j : fit.model.constant_columns) constant.push_back(names[j]);
    log::warn("propensity: {}: constant feature(s), coefficient 0 by the L2 penalty: {}", label_of(target, segment),
              fmt::join(constant, ", "));
  }
  if (fit.model.separable)
    log::warn("propensity: {}: the training customers are perfectly separable; the coefficients are finite only "
              "because of the L2 penalty (l2 = {})", label_of(target, segment), settings.l2);
  if (fit.model.reason != Convergence::gradient_tolerance)
    log::warn("propensity: {}: Newton stopped by {} after {} iteration(s), max |gradient| {:.3g}", label_of(target, segment),
              convergence_name(fit.model.reason), fit.model.iterations, fit.model.gradient_max);
  return fit;
}

/// The models of every target (global and per segment) on one snapshot, in its own scaler's space.
std::vector<std::vector<ModelFit>> fit_models(const PropensitySettings& settings, const Snapshot& snapshot, std::size_t segment_count,
                                              comm::Communicator& comm) {
  std::vector<std::vector<ModelFit>> fits(settings.targets.size());
  for (std::size_t t = 0; t < settings.targets.size(); ++t) {
    fits[t].push_back(fit_one(settings.logistic, select(snapshot, snapshot.table.scaled, t, -1), settings.targets[t], -1,
                              snapshot, comm));
    for (std::size_t s = 0; s < segment_count; ++s)
      fits[t].push_back(fit_one(settings.logistic, select(snapshot, snapshot.table.scaled, t, static_cast<std::int32_t>(s)),
                                settings.targets[t], static_cast<std::int32_t>(s), snapshot, comm));
  }
  return fits;
}

std::string describe_metrics(const ScoreMetrics& m) {
  return fmt::format("{} customers, base rate {:.4f}, AUC {:.4f}, log loss {:.4f}, top-decile lift {:.2f}", m.customers, m.base_rate,
                     m.auc, m.log_loss, m.top_decile_lift);
}

}  // namespace

PropensityResult fit_propensity(const PropensitySettings& settings, const features::FeatureSettings& feature_settings,
                                const ingest::IngestResult& ingested, const FeatureTable& current, const Segments* segments,
                                comm::Communicator& comm) {
  if (ingested.from_basket_file()) throw ConfigError("[run] stages: propensity needs line items with customers; the input is a basket file");
  PropensityResult result;
  result.settings = settings;
  result.feature_names = current.names;
  result.segment_count = settings.per_segment && segments != nullptr ? segments->k : 0;
  const Segments* used_segments = result.segment_count ? segments : nullptr;
  if (settings.per_segment && segments == nullptr)
    log::info("propensity: per-segment models need the kmeans stage; only the global models are trained");

  // The data's span: the first line and midnight after the last.
  const ingest::LineSpan span = ingest::line_span(ingested.rows, comm);
  if (span.empty()) throw InputError("propensity: no line items");
  const std::int64_t first = span.first;
  result.data_end = span.data_end();
  const std::int64_t horizon = settings.horizon_days * kSecondsPerDay;
  result.cutoff = settings.cutoff >= 0 ? settings.cutoff : result.data_end - horizon;
  if (result.cutoff <= first)
    throw ConfigError(fmt::format("[propensity] cutoff {} is not after the first line ({}): no history to learn from{}",
                                  format_date(result.cutoff), format_date(first),
                                  settings.cutoff >= 0 ? "" : " (the horizon is longer than the data)"));
  if (result.cutoff + horizon > result.data_end)
    throw ConfigError(fmt::format("[propensity] cutoff {} + horizon_days {} ends after the data ({}): targets would be cut short",
                                  format_date(result.cutoff), settings.horizon_days, format_date(result.data_end)));
  const auto hits = target_items(settings.targets, ingested);
  const auto snapshot_at = [&](std::int64_t time) {
    return take_snapshot(time, time + horizon, settings.targets, hits, feature_settings, ingested, current, used_segments, comm);
  };

  // The latest window: features before the cutoff, targets in the horizon after it.
  const Snapshot latest = snapshot_at(result.cutoff);
  {
    // Memory while training, per customer of a snapshot: two snapshots (features raw and scaled,
    // key, RFM, labels, segment), one population copy (scaled row, label, key), and the metrics'
    // scores and shuffle buffers.
    const double d = static_cast<double>(current.cols()), targets = static_cast<double>(settings.targets.size());
    const double per_customer = (settings.validate ? 2 : 1) * (16 * d + 13 + targets + 4) + (8 * d + 17) + 16 + 2 * 25;
    log::info("propensity: {} customers bought before the cutoff {} ({} features, {} target(s), {} segment model(s) per target); "
              "about {:.0f} bytes per customer while training", latest.table.customers, format_date(result.cutoff), current.cols(),
              settings.targets.size(), result.segment_count, per_customer);
  }
  std::vector<std::vector<ModelFit>> stored;
  const Snapshot* stored_snapshot = &latest;
  std::optional<Snapshot> earlier;
  if (settings.validate) {
    const std::int64_t earlier_time = result.cutoff - horizon;
    if (earlier_time <= first) {
      result.validation = fmt::format("skipped: cutoff - horizon ({}) is not after the first line ({})", format_date(earlier_time),
                                      format_date(first));
    } else {
      earlier = snapshot_at(earlier_time);
      std::vector<std::vector<ModelFit>> validated = fit_models(settings, *earlier, result.segment_count, comm);
      const std::vector<double> latest_in_earlier_space = features::apply_transforms(earlier->table.transforms, latest.table.raw);
      // Each segment is also scored by the global model: does a segment's own model do better?
      for (std::size_t t = 0; t < settings.targets.size(); ++t)
        for (ModelFit& fit : validated[t]) {
          const Population rows = select(latest, latest_in_earlier_space, t, fit.segment);
          if (fit.fitted()) fit.validation = evaluate(fit.model, rows, comm);
          if (fit.segment >= 0 && validated[t][0].fitted()) fit.validation_of_global = evaluate(validated[t][0].model, rows, comm);
        }
      if (settings.refit) {
        stored = fit_models(settings, latest, result.segment_count, comm);
        for (std::size_t t = 0; t < stored.size(); ++t)
          for (std::size_t m = 0; m < stored[t].size(); ++m) {
            stored[t][m].validation = validated[t][m].validation;
            stored[t][m].validation_of_global = validated[t][m].validation_of_global;
          }
      } else {
        stored = std::move(validated);
        stored_snapshot = &*earlier;
      }
    }
  } else {
    result.validation = "not requested ([propensity] validate = false)";
  }
  if (stored.empty()) stored = fit_models(settings, latest, result.segment_count, comm);
  result.trained_at = stored_snapshot->time;
  result.transforms = stored_snapshot->table.transforms;

  // Training metrics, then scores for the current table with the stored scaler.
  const std::vector<double> current_scaled = features::apply_transforms(result.transforms, current.raw);
  const std::size_t d = current.cols();
  for (std::size_t t = 0; t < settings.targets.size(); ++t) {
    TargetResult target;
    target.target = settings.targets[t];
    for (ModelFit& fit : stored[t])
      if (fit.fitted()) fit.training = evaluate(fit.model, select(*stored_snapshot, stored_snapshot->table.scaled, t, fit.segment), comm);
    for (std::size_t m = 1; m < stored[t].size(); ++m) {
      ModelFit& fit = stored[t][m];
      fit.scores_segment = fit.fitted() && (!fit.validation || !fit.validation_of_global || fit.validation->auc > fit.validation_of_global->auc ||
                                            !stored[t][0].fitted());
    }
    target.global = std::move(stored[t][0]);
    target.segments.assign(std::make_move_iterator(stored[t].begin() + 1), std::make_move_iterator(stored[t].end()));
    std::vector<const ModelFit*> fits = {&target.global};
    for (const ModelFit& fit : target.segments) fits.push_back(&fit);
    for (const ModelFit* fit : fits) {
      if (!fit->fitted()) continue;
      log::info("propensity: {}: training {}; {} iteration(s) ({}), fit {:.3f} s", label_of(target.target, fit->segment),
                describe_metrics(fit->training), fit->model.iterations, convergence_name(fit->model.reason), fit->fit_seconds);
      if (fit->validation)
        log::info("propensity: {}: validation {}{}", label_of(target.target, fit->segment), describe_metrics(*fit->validation),
                  fit->validation_of_global ? fmt::format(" (the global model here: AUC {:.4f}, top-decile lift {:.2f})",
                                                          fit->validation_of_global->auc, fit->validation_of_global->top_decile_lift)
                                            : "");
    }
    target.scores.assign(current.rows(), std::numeric_limits<double>::quiet_NaN());
    target.scored_by.assign(current.rows(), -2);
    for (std::size_t i = 0; i < current.rows(); ++i) {
      const ModelFit* model = target.global.fitted() ? &target.global : nullptr;
      std::int32_t by = -1;
      if (result.segment_count) {
        const auto s = static_cast<std::size_t>(segments->labels[i]);
        if (s < target.segments.size() && target.segments[s].scores_segment) model = &target.segments[s], by = static_cast<std::int32_t>(s);
      }
      if (model == nullptr) continue;
      target.scores[i] = sigmoid(model->model.logit(&current_scaled[i * d]));
      target.scored_by[i] = by;
    }
    result.targets.push_back(std::move(target));
  }
  if (settings.store_training_data) {
    result.training_customer = stored_snapshot->table.customer;
    result.training_matrix = stored_snapshot->table.scaled;
    result.training_segment = stored_snapshot->segment;
    result.training_labels = stored_snapshot->labels;
    for (const TargetResult& target : result.targets) {
      std::vector<double> scores(stored_snapshot->table.rows(), std::numeric_limits<double>::quiet_NaN());
      if (target.global.fitted())
        for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = sigmoid(target.global.model.logit(&stored_snapshot->table.scaled[i * d]));
      result.training_scores.push_back(std::move(scores));
    }
  }
  return result;
}

}  // namespace mpiseg::propensity

#pragma once
/// The propensity stage: churn and purchase-propensity models per target, overall and per
/// K-means segment, trained on a time split and judged on the period after it.
///
///   cutoff c, horizon h (days), data end E (midnight after the last line):
///   validation model: features of lines before c - h, targets from [c - h, c)
///   validated on:     features of lines before c,     targets from [c, c + h)
///   stored model:     refitted on the latest window (features before c, targets [c, c + h)),
///                     or the validation model with refit = false
///   scores:           the stored model on the features stage's table (lines up to E): a
///                     segment's own model where it validated better than the global model on
///                     that segment (higher AUC), or where there was no validation; else global
///
/// Each snapshot's features are the features stage's definitions with t_ref = its time and only
/// earlier lines, the same columns as the current table; a model's scaler is fitted on its
/// training snapshot and applied unchanged to the snapshots it scores. A customer's segment in a
/// past snapshot is the nearest current centroid to its features then (no look-ahead).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/features/features.hpp"
#include "mpiseg/propensity/logistic.hpp"
#include "mpiseg/propensity/metrics.hpp"
#include "mpiseg/propensity/settings.hpp"

namespace mpiseg::propensity {

/// The K-means segments that per-segment models follow.
struct Segments {
  std::size_t k = 0;
  std::vector<double> centroids_scaled;   // k x d, in the space of the current table's transforms
  std::span<const std::int32_t> labels;   // segment of each row of the current table
};

/// One model (global, or one segment's), or why there is none.
struct ModelFit {
  std::int32_t segment = -1;  // -1: all customers
  std::string skipped;        // non-empty: the reason no model was fitted
  LogisticModel model;
  double fit_seconds = 0;                  // wall time of the fit on this rank
  ScoreMetrics training;                   // the stored model on its training rows
  std::optional<ScoreMetrics> validation;  // the validation model on the cutoff's window
  std::optional<ScoreMetrics> validation_of_global;  // segments: the global validation model on this segment's rows
  bool scores_segment = false;  // segments: this model scores the segment's customers (else the global model)
  bool fitted() const noexcept { return skipped.empty(); }
};

struct TargetResult {
  Target target;
  ModelFit global;
  std::vector<ModelFit> segments;          // per segment when per_segment
  std::vector<double> scores;              // current table's rows: probability from the model below
  std::vector<std::int32_t> scored_by;     // -1: the global model; s: segment s's model
};

struct PropensityResult {
  PropensitySettings settings;
  std::int64_t data_end = 0;       // midnight after the last line
  std::int64_t cutoff = 0;
  std::int64_t trained_at = 0;     // features time of the stored model's training snapshot
  std::string validation;          // "" when validated, else why not
  std::vector<std::string> feature_names;
  std::vector<features::FeatureTransform> transforms;  // the stored model's scaler
  std::size_t segment_count = 0;
  std::vector<TargetResult> targets;
  // store_training_data: the stored model's training snapshot (this rank's rows).
  std::vector<std::uint64_t> training_customer;
  std::vector<double> training_matrix;
  std::vector<std::int32_t> training_segment;
  std::vector<std::vector<std::uint8_t>> training_labels;  // per target
  std::vector<std::vector<double>> training_scores;        // per target: the global model on those rows
};

/// Collective. `current` is the features stage's table of `ingested` (same feature settings).
PropensityResult fit_propensity(const PropensitySettings& settings, const features::FeatureSettings& feature_settings,
                                const ingest::IngestResult& ingested, const features::FeatureTable& current,
                                const Segments* segments, comm::Communicator& comm);

}  // namespace mpiseg::propensity

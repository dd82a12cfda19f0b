#pragma once
/// How well scores rank and calibrate a binary target, computed over all ranks exactly.
///
///   const ScoreMetrics m = evaluate_scores(probabilities, logits, labels, customers, comm);
///
/// The rows are sorted globally by descending score (ties by customer key) with one key-range
/// shuffle, so the ROC AUC is the exact Mann-Whitney statistic (tied scores count one half, as
/// scikit-learn's roc_auc_score) from integer counts, and the deciles are exact positions in that
/// order: the top decile is the first ceil(n / 10) customers.
#include <array>
#include <cstdint>
#include <span>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::propensity {

struct DecileRow {
  std::uint64_t customers = 0;
  std::uint64_t positives = 0;
  double mean_score = 0;     // mean predicted probability
  double observed_rate = 0;  // positives / customers
};

struct ScoreMetrics {
  std::uint64_t customers = 0, positives = 0;
  double base_rate = 0;
  double auc = 0;  // NaN when one class is absent
  double log_loss = 0, brier = 0;
  double top_decile_lift = 0, top_decile_capture = 0;  // NaN without positives
  std::array<DecileRow, 10> deciles{};                 // [0]: highest scores
};

/// Collective. `logits` give the log loss without clipping (log(1 + e^z) - y z); `probabilities`
/// are what is ranked, calibrated and squared (Brier).
ScoreMetrics evaluate_scores(std::span<const double> probabilities, std::span<const double> logits,
                             std::span<const std::uint8_t> labels, std::span<const std::uint64_t> customers,
                             comm::Communicator& comm);

}  // namespace mpiseg::propensity

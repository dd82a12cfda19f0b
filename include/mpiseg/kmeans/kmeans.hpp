#pragma once
/// The K-means stage: seeding, Lloyd, restarts, a sweep over k with quality metrics, and the
/// /kmeans and /assignments groups of the model file.
///
///   kmeans::Points points{table.scaled, table.rows(), table.cols(), table.customer, {}};
///   auto result = kmeans::fit(settings, points, comm);
///   result.best.labels[i]   // segment of this rank's point i, for the chosen k
///
/// Same input and seed give bit-identical centroids, labels, inertia and iteration counts at any
/// rank count (see assignment.hpp and seeding.hpp for why).
#include <cstdint>
#include <string>
#include <vector>

#include "mpiseg/features/features.hpp"
#include "mpiseg/kmeans/metrics.hpp"
#include "mpiseg/kmeans/seeding.hpp"

namespace mpiseg::kmeans {

/// One k of a sweep.
struct KSummary {
  std::int64_t k = 0;
  std::int64_t best_init = 0;  // which of n_init seedings won
  std::int64_t iterations = 0;
  std::string stop_reason;
  double inertia = 0;
  std::uint64_t empty_relocations = 0;
  ClusterMetrics metrics;
  // Cost of the Lloyd runs of this k done in this process (not those a checkpoint held): run
  // time (slowest rank; the final assignment included) and iterations, over every seeding.
  double lloyd_seconds = 0;
  std::int64_t lloyd_iterations = 0;
};

struct KMeansResult {
  KMeansSettings settings;      // as fitted: the configured ones, or those of a warm start
  std::vector<KSummary> sweep;  // in the order of [kmeans] k
  std::size_t chosen = 0;       // index into sweep
  LloydResult best;             // the chosen k: centroids, labels, distances, history
  double mean_feature_std = 0;
  double shift_tolerance = 0;
  bool interrupted = false;     // stopped after a checkpoint on request: nothing else is valid
  std::string segment_order = "segments numbered by decreasing size (total weight), ties by centroid coordinates";
};

/// A finished Lloyd run as a checkpoint keeps it: its final centroids rebuild every per-point
/// result exactly (assign_final), the rest is a few numbers.
struct FinishedRun {
  RowMatrix centroids;
  std::vector<double> inertia_history;
  std::int64_t iterations = 0;
  StopReason reason = StopReason::max_iter;
  std::uint64_t empty_relocations = 0;
};

/// Checkpointing as the K-means stage sees it (the HDF5 side lives in pipeline/checkpoint.hpp).
/// Runs are identified by (k, init): the init-th seeding of that k.
class FitCheckpoint {
 public:
  virtual ~FitCheckpoint() = default;
  /// A run that finished in an earlier session, or nullptr.
  virtual const FinishedRun* finished(std::int64_t k, std::int64_t init) const = 0;
  /// Where an interrupted run stood (labels: this rank's points), or nullptr.
  virtual const LloydProgress* progress(std::int64_t k, std::int64_t init) const = 0;
  /// Collective: a run finished.
  virtual void run_finished(std::int64_t k, std::int64_t init, const FinishedRun& run) = 0;
  /// Collective, after every Lloyd iteration; false: a checkpoint was written on request and the
  /// stage must stop.
  virtual bool after_iteration(std::int64_t k, std::int64_t init, const LloydProgress& progress,
                               std::span<const std::int32_t> labels) = 0;
};

/// Collective. Segments are numbered canonically: by decreasing total weight (size), ties by the
/// centroid coordinates, so ids do not depend on seeding order. With a checkpoint, finished runs
/// are rebuilt and an interrupted one continues: the result is bit-identical to a run without
/// interruption.
///
/// Centroids to start from instead of seeding (k x d, identical on every rank): one Lloyd run.
struct InitialCentroids {
  enum class Source {
    init_file,     // [kmeans] init = "file", read by the caller (kmeans does no I/O: pipeline::read_initial_centroids)
    earlier_model  // a warm start: k is their number, and the result's settings record init = previous_model
  };
  RowMatrix centroids;
  Source source = Source::init_file;
};

/// With init = "file", `initial` must hold init_file's centroids.
KMeansResult fit(const KMeansSettings& settings, const Points& points, comm::Communicator& comm, FitCheckpoint* checkpoint = nullptr,
                 const InitialCentroids* initial = nullptr);

/// Renumbers segments: old segment j becomes new_id[j] (a permutation) in centroids, labels,
/// sizes and weights.
void renumber_segments(LloydResult& result, std::span<const std::int32_t> new_id);

}  // namespace mpiseg::kmeans

#include "mpiseg/kmeans/kmeans.hpp"

#include <algorithm>
#include <stdexcept>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/io/h5/datasets.hpp"

namespace mpiseg::kmeans {
namespace {

/// Renumbers segments by decreasing weight (ties: lexicographic centroid), in place.
void canonical_order(LloydResult& result) {
  const auto k = static_cast<std::size_t>(result.centroids.rows());
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (result.cluster_weight[a] != result.cluster_weight[b]) return result.cluster_weight[a] > result.cluster_weight[b];
    const auto ra = result.centroids.row(static_cast<Eigen::Index>(a)), rb = result.centroids.row(static_cast<Eigen::Index>(b));
    return std::lexicographical_compare(ra.data(), ra.data() + ra.size(), rb.data(), rb.data() + rb.size());
  });
  std::vector<std::int32_t> new_id(k);
  for (std::size_t position = 0; position < k; ++position) new_id[order[position]] = static_cast<std::int32_t>(position);
  renumber_segments(result, new_id);
}

/// A finished run from its checkpoint record: the final pass over the points gives the rest.
LloydResult rebuild(const FinishedRun& run, const Points& points, std::span<const double> norms, const SumGrids& grids,
                    comm::Communicator& comm) {
  FinalAssignment final_pass = assign_final(points, norms, grids, run.centroids, comm);
  LloydResult result;
  result.centroids = run.centroids;
  result.inertia_history = run.inertia_history;
  result.iterations = run.iterations;
  result.reason = run.reason;
  result.empty_relocations = run.empty_relocations;
  result.inertia = final_pass.inertia;
  result.labels = std::move(final_pass.labels);
  result.squared_distances = std::move(final_pass.squared_distances);
  result.cluster_weight = std::move(final_pass.cluster_weight);
  result.cluster_size = std::move(final_pass.cluster_size);
  return result;
}

/// Better score for the selection rule; NaN never wins.
bool better(Selection selection, const ClusterMetrics& a, const ClusterMetrics& b) {
  switch (selection) {
    case Selection::silhouette: return a.silhouette > b.silhouette || (!std::isnan(a.silhouette) && std::isnan(b.silhouette));
    case Selection::calinski_harabasz:
      return a.calinski_harabasz > b.calinski_harabasz || (!std::isnan(a.calinski_harabasz) && std::isnan(b.calinski_harabasz));
    case Selection::davies_bouldin:
      return a.davies_bouldin < b.davies_bouldin || (!std::isnan(a.davies_bouldin) && std::isnan(b.davies_bouldin));
  }
  return false;
}

}  // namespace

void renumber_segments(LloydResult& result, std::span<const std::int32_t> new_id) {
  const auto k = static_cast<std::size_t>(result.centroids.rows());
  RowMatrix centroids(result.centroids.rows(), result.centroids.cols());
  std::vector<double> weight(k);
  std::vector<std::uint64_t> size(k);
  for (std::size_t old = 0; old < k; ++old) {
    const auto position = static_cast<std::size_t>(new_id[old]);
    centroids.row(static_cast<Eigen::Index>(position)) = result.centroids.row(static_cast<Eigen::Index>(old));
    weight[position] = result.cluster_weight[old];
    size[position] = result.cluster_size[old];
  }
  for (std::int32_t& label : result.labels) label = new_id[static_cast<std::size_t>(label)];
  result.centroids = std::move(centroids);
  result.cluster_weight = std::move(weight);
  result.cluster_size = std::move(size);
}

KMeansResult fit(const KMeansSettings& configured, const Points& points, comm::Communicator& comm, FitCheckpoint* checkpoint,
                 const InitialCentroids* given) {
  KMeansResult result;
  result.settings = configured;
  const RowMatrix* initial_centroids = given != nullptr ? &given->centroids : nullptr;
  if (configured.init == InitMethod::file && given == nullptr)
    throw std::logic_error("kmeans::fit with init = \"file\" needs init_file's centroids (pipeline::read_initial_centroids)");
  if (given != nullptr) {
    if (static_cast<std::size_t>(initial_centroids->cols()) != points.cols)
      throw InputError(fmt::format("the starting centroids have {} columns; the points have {}", initial_centroids->cols(), points.cols));
    if (given->source == InitialCentroids::Source::earlier_model) {
      result.settings.k = {static_cast<std::int64_t>(initial_centroids->rows())};
      result.settings.init = InitMethod::previous_model;
      result.settings.n_init = 1;
    }
  }
  const KMeansSettings& settings = result.settings;
  std::vector<double> norms(points.rows);
  for (std::size_t i = 0; i < points.rows; ++i) norms[i] = squared_norm(points.row(i), points.cols);
  const SumGrids grids = SumGrids::for_points(points, norms, comm);  // also rejects NaN and Inf
  result.mean_feature_std = mean_feature_std(points, comm);
  result.shift_tolerance = settings.tol * result.mean_feature_std;
  LloydOptions options{settings.max_iter, result.shift_tolerance, Algorithm::lloyd};
  const bool one_start = settings.init == InitMethod::file || settings.init == InitMethod::previous_model;

  bool have_best = false;
  for (std::int64_t k : settings.k) {
    const Stopwatch watch;
    options.algorithm = algorithm_for(settings, k, points.cols);
    LloydResult best_run;
    KSummary summary;
    summary.k = k;
    for (std::int64_t init = 0; init < settings.n_init; ++init) {
      LloydResult run;
      if (const FinishedRun* done = checkpoint ? checkpoint->finished(k, init) : nullptr) {
        run = rebuild(*done, points, norms, grids, comm);
        log::info("kmeans: k={} init {}: finished before the checkpoint ({} iterations)", k, init, run.iterations);
      } else {
        const LloydProgress* resume = checkpoint ? checkpoint->progress(k, init) : nullptr;
        RowMatrix initial;
        if (resume != nullptr) {
          initial = resume->centroids;
          log::info("kmeans: k={} init {}: resuming after iteration {}", k, init, resume->iteration);
        } else {
          const std::uint64_t seed = init == 0 ? settings.seed : hash_with_seed(settings.seed, static_cast<std::uint64_t>(init), 77);
          SeedingReport seeding;
          if (initial_centroids != nullptr) {
            const std::uint64_t total = comm.allreduce<std::uint64_t>(points.rows, comm::ReduceOp::sum);
            if (total < static_cast<std::uint64_t>(k))
              throw InputError(fmt::format("k = {} is larger than the number of points ({})", k, total));
            initial = *initial_centroids;
          } else {
            initial = seed_centroids(settings, static_cast<std::size_t>(k), seed, points, comm, seeding);
          }
        }
        IterationHook iteration_hook;
        if (checkpoint != nullptr)
          iteration_hook = [&](const LloydProgress& progress, std::span<const std::int32_t> labels) {
            return checkpoint->after_iteration(k, init, progress, labels);
          };
        const Stopwatch lloyd_watch;
        run = run_lloyd(points, norms, grids, std::move(initial), options, comm, iteration_hook, resume);
        const double lloyd_seconds = comm.allreduce(lloyd_watch.seconds(), comm::ReduceOp::max);
        summary.lloyd_seconds += lloyd_seconds;
        summary.lloyd_iterations += run.iterations;
        log::debug("kmeans: k={} init {}: Lloyd {:.4f} s for {} iteration(s) and the final assignment: {:.3f} ms per iteration",
                   k, init, lloyd_seconds, run.iterations, 1e3 * lloyd_seconds / static_cast<double>(run.iterations + 1));
        if (run.interrupted) {  // stopped after a checkpoint on request (the same on every rank)
          result.interrupted = true;
          return result;
        }
        if (checkpoint != nullptr)
          checkpoint->run_finished(k, init, FinishedRun{run.centroids, run.inertia_history, run.iterations, run.reason, run.empty_relocations});
      }
      if (init == 0 || run.inertia < best_run.inertia) {
        best_run = std::move(run);
        summary.best_init = init;
      }
      if (one_start) break;  // the same start every time
    }
    canonical_order(best_run);
    summary.iterations = best_run.iterations;
    summary.stop_reason = stop_reason_name(best_run.reason);
    summary.inertia = best_run.inertia;
    summary.empty_relocations = best_run.empty_relocations;
    const bool sweep = settings.k.size() > 1;
    summary.metrics = evaluate_clustering(points, best_run, sweep || settings.silhouette_sample > 0 ? settings.silhouette_sample : 0,
                                          settings.seed, comm);
    std::string sizes;
    for (std::size_t j = 0; j < best_run.cluster_size.size() && j < 12; ++j) sizes += fmt::format("{}{}", j ? " " : "", best_run.cluster_size[j]);
    log::info("kmeans: k={}: {} iteration(s) ({}), inertia {:.6g}, silhouette {:.4f}, Calinski-Harabasz {:.1f}, "
              "Davies-Bouldin {:.4f}; sizes {}{}; {:.2f} s",
              k, summary.iterations, summary.stop_reason, summary.inertia, summary.metrics.silhouette,
              summary.metrics.calinski_harabasz, summary.metrics.davies_bouldin, sizes,
              best_run.cluster_size.size() > 12 ? " ..." : "", watch.seconds());
    result.sweep.push_back(summary);
    if (!have_best || (sweep && better(settings.selection, summary.metrics, result.sweep[result.chosen].metrics))) {
      result.chosen = result.sweep.size() - 1;
      result.best = std::move(best_run);
      have_best = true;
    }
  }
  if (settings.k.size() > 1)
    log::info("kmeans: chose k = {} by {} (ties go to the smaller k)", result.sweep[result.chosen].k, selection_name(settings.selection));
  return result;
}

}  // namespace mpiseg::kmeans

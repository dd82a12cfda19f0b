#pragma once
/// Lloyd iterations from given centroids. One iteration = assignment (plain, or Hamerly's bounds
/// that skip points whose label cannot change) + one allreduce of the exact cluster sums +
/// centroid update. The outer loop here owns convergence, documented exactly:
///
///   stop after iteration t if no assignment changed (t > 1: "assignments_unchanged"), else if the
///   largest centroid move is <= shift_tolerance ("centroid_shift"), else at max_iter ("max_iter").
///
/// After the loop, every point is assigned once more to the final centroids (labels, distances,
/// sizes and the exact inertia come from that pass).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/kmeans/assignment.hpp"
#include "mpiseg/kmeans/settings.hpp"

namespace mpiseg::kmeans {

enum class StopReason { assignments_unchanged, centroid_shift, max_iter };
const char* stop_reason_name(StopReason reason);

struct LloydOptions {
  std::int64_t max_iter = 300;
  double shift_tolerance = 0;  // absolute (tol x mean feature standard deviation)
  Algorithm algorithm = Algorithm::hamerly;  // the assignment step (never automatic here)
};

/// What a checkpoint needs to resume exactly where the run was.
struct LloydProgress {
  std::int64_t iteration = 0;  // completed iterations
  RowMatrix centroids;         // after that iteration
  std::vector<double> inertia_history;
  std::uint64_t empty_relocations = 0;
  std::vector<std::int32_t> labels;  // this rank's labels after that iteration (only in a resume)
};

struct LloydResult {
  RowMatrix centroids;                  // k x d
  std::vector<double> inertia_history;  // objective after each iteration's update (sufficient statistics)
  std::int64_t iterations = 0;
  StopReason reason = StopReason::max_iter;
  std::uint64_t empty_relocations = 0;
  double inertia = 0;                   // final: sum of w ||x - c_label||^2, exact sum of direct distances
  std::vector<std::int32_t> labels;     // this rank's points, final
  std::vector<double> squared_distances;
  std::vector<double> cluster_weight;   // global
  std::vector<std::uint64_t> cluster_size;
  bool interrupted = false;             // the hook stopped the run: only centroids and history are set
};

/// Optional hook called after every iteration with the progress and this rank's labels
/// (checkpointing); returning false stops the run early (without the final assignment), e.g. to
/// exit after a checkpoint on a signal. Collective: every rank returns the same.
using IterationHook = std::function<bool(const LloydProgress&, std::span<const std::int32_t> labels)>;

/// Collective. `initial` must be identical on every rank. `resume` (optional) continues a run
/// from a checkpoint, giving exactly the result of the uninterrupted run.
LloydResult run_lloyd(const Points& points, std::span<const double> point_norms, const SumGrids& grids, RowMatrix initial,
                      const LloydOptions& options, comm::Communicator& comm, const IterationHook& hook = {},
                      const LloydProgress* resume = nullptr);

/// The final assignment of every point to fixed centroids: labels, distances, the exact inertia
/// and the cluster weights and sizes. A function of the centroids alone, so a finished run is
/// rebuilt exactly from its final centroids (checkpoints store nothing else per point).
struct FinalAssignment {
  std::vector<std::int32_t> labels;
  std::vector<double> squared_distances;
  double inertia = 0;
  std::vector<double> cluster_weight;
  std::vector<std::uint64_t> cluster_size;
};

/// Collective.
FinalAssignment assign_final(const Points& points, std::span<const double> point_norms, const SumGrids& grids,
                             const RowMatrix& centroids, comm::Communicator& comm);

/// Collective. Mean over features of the (weighted, population) standard deviation: the scale of
/// [kmeans] tol. Exact two-pass sums.
double mean_feature_std(const Points& points, comm::Communicator& comm);

}  // namespace mpiseg::kmeans

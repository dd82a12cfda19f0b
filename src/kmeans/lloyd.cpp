#include "mpiseg/kmeans/lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <tuple>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/log.hpp"

namespace mpiseg::kmeans {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// The labels of this rank's points and the exact cluster sums they imply, kept in step: a label
/// change moves the point's contribution from its old cluster's sums to the new one's.
struct LabelledSums {
  LabelledSums(const Points& points, std::span<const double> norms, const SumGrids& grids, std::size_t k)
      : points(points), norms(norms), grids(grids), labels(points.rows, -1), local(k, points.cols) {}

  void set(std::size_t i, std::int32_t label) {
    if (label == labels[i]) return;
    move(i, label);
    ++changed;
  }
  /// Moves point i without counting it as a change of the assignment step (the repair of empty clusters).
  void move(std::size_t i, std::int32_t label) {
    const double w = points.weight(i);
    if (labels[i] >= 0) local.remove(static_cast<std::size_t>(labels[i]), points.row(i), w, norms[i], grids);
    local.add(static_cast<std::size_t>(label), points.row(i), w, norms[i], grids);
    labels[i] = label;
  }

  const Points& points;
  std::span<const double> norms;
  const SumGrids& grids;
  std::vector<std::int32_t> labels;
  ClusterSums local;
  std::uint64_t changed = 0;  // label changes in the current iteration
};

/// One assignment step of Lloyd's algorithm, as mlpack separates them: bring every point's label
/// up to date for new centroids. Implementations differ only in the work they skip, never in the
/// labels they produce.
class AssignmentStep {
 public:
  virtual ~AssignmentStep() = default;
  /// `first_pass`: no label is known yet (or bounds cannot be trusted): examine every point.
  virtual void assign(const CentroidSet& set, bool first_pass, LabelledSums& state) = 0;
  /// The centroids have just moved by `shift` (Euclidean, per centroid).
  virtual void centroids_moved(std::span<const double> shift) { (void)shift; }
  /// Point i was moved by the empty-cluster repair: whatever the step knew about it is void.
  virtual void forget(std::size_t i) { (void)i; }
};

/// Every point through the blocked distance kernel.
class PlainStep final : public AssignmentStep {
 public:
  explicit PlainStep(const Points& points, std::span<const double> norms)
      : points_(points), norms_(norms), fresh_(points.rows), distances_(points.rows) {}

  void assign(const CentroidSet& set, bool, LabelledSums& state) override {
    kernel_.assign(points_, norms_, {}, set, fresh_.data(), distances_.data(), nullptr);
    for (std::size_t i = 0; i < points_.rows; ++i) state.set(i, fresh_[i]);
  }

 private:
  const Points& points_;
  std::span<const double> norms_;
  AssignmentKernel kernel_;
  std::vector<std::int32_t> fresh_;
  std::vector<double> distances_;
};

/// Hamerly's bounds: a point keeps its label while its upper bound (distance to its centroid) is
/// below both its lower bound (distance to the second nearest) and half the distance from its
/// centroid to the nearest other one. Bounds carry a relative margin (kBoundMargin) so rounding
/// can never make a skipped point's label differ from what the plain step would give.
class HamerlyStep final : public AssignmentStep {
 public:
  explicit HamerlyStep(const Points& points, std::span<const double> norms)
      : points_(points), norms_(norms), fresh_(points.rows), distances_(points.rows), second_(points.rows),
        upper_(points.rows, kInfinity), lower_(points.rows, 0) {}

  void assign(const CentroidSet& set, bool first_pass, LabelledSums& state) override {
    const std::size_t n = points_.rows;
    if (first_pass) {
      assign_all(set, state);
      return;
    }
    // The bounds first absorb the previous update's centroid moves (no point is read).
    todo_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = static_cast<std::size_t>(state.labels[i]);
      upper_[i] += moved_.empty() ? 0.0 : moved_[a];
      lower_[i] -= a == moved_most_ ? moved_second_ : moved_largest_;
      if (upper_[i] >= std::max(set.half_separation(a), lower_[i])) todo_.push_back(static_cast<std::uint32_t>(i));
    }
    if (todo_.size() > n / 4) {
      // Many points to look at (early iterations): streaming all of them through the kernel is
      // cheaper than reading a quarter of the rows at random. Same labels either way.
      assign_all(set, state);
      return;
    }
    // Tighten the upper bound with the exact distance; only points that still fail get the full
    // assignment.
    std::size_t kept = 0;
    for (const std::uint32_t i : todo_) {
      const auto a = static_cast<std::size_t>(state.labels[i]);
      upper_[i] = std::sqrt(squared_distance(points_.row(i), set.row(a), points_.cols)) * (1.0 + kBoundMargin);
      if (upper_[i] >= std::max(set.half_separation(a), lower_[i])) todo_[kept++] = i;
    }
    todo_.resize(kept);
    kernel_.assign(points_, norms_, todo_, set, fresh_.data(), distances_.data(), second_.data());
    for (std::size_t t = 0; t < todo_.size(); ++t) {
      const std::size_t i = todo_[t];
      state.set(i, fresh_[t]);
      upper_[i] = std::sqrt(distances_[t]) * (1.0 + kBoundMargin);
      lower_[i] = second_[t];
    }
  }

  void centroids_moved(std::span<const double> shift) override {
    double largest = 0, second_largest = 0;
    std::size_t largest_at = 0;
    for (std::size_t j = 0; j < shift.size(); ++j) {
      if (shift[j] > largest) {
        second_largest = largest;
        largest = shift[j];
        largest_at = j;
      } else {
        second_largest = std::max(second_largest, shift[j]);
      }
    }
    moved_.resize(shift.size());
    for (std::size_t j = 0; j < shift.size(); ++j) moved_[j] = shift[j] * (1.0 + kBoundMargin);
    moved_largest_ = largest * (1.0 + kBoundMargin);
    moved_second_ = second_largest * (1.0 + kBoundMargin);
    moved_most_ = largest_at;
  }

  void forget(std::size_t i) override {
    upper_[i] = kInfinity;  // recomputed next iteration
    lower_[i] = 0;
  }

 private:
  void assign_all(const CentroidSet& set, LabelledSums& state) {
    kernel_.assign(points_, norms_, {}, set, fresh_.data(), distances_.data(), second_.data());
    for (std::size_t i = 0; i < points_.rows; ++i) {
      state.set(i, fresh_[i]);
      upper_[i] = std::sqrt(distances_[i]) * (1.0 + kBoundMargin);
      lower_[i] = second_[i];
    }
  }

  const Points& points_;
  std::span<const double> norms_;
  AssignmentKernel kernel_;
  std::vector<std::int32_t> fresh_;
  std::vector<double> distances_, second_, upper_, lower_;
  std::vector<std::uint32_t> todo_;
  std::vector<double> moved_;  // each centroid's last move, with the margin (empty before any update)
  double moved_largest_ = 0, moved_second_ = 0;
  std::size_t moved_most_ = 0;
};

/// The empty-cluster policy (scikit-learn's rule): each empty cluster takes the point farthest
/// from its centroid, chosen deterministically over all ranks by (squared distance descending,
/// key ascending). Returns how many clusters were re-seeded.
std::uint64_t relocate_empty_clusters(const ClusterSums& global, const RowMatrix& centroids, LabelledSums& state,
                                      AssignmentStep& step, comm::Communicator& comm) {
  const Points& points = state.points;
  const std::size_t k = static_cast<std::size_t>(centroids.rows()), d = points.cols;
  std::vector<std::size_t> empty;
  for (std::size_t j = 0; j < k; ++j)
    if (global.empty(j)) empty.push_back(j);
  const std::size_t wanted = empty.size();
  // Local top `wanted` by (distance desc, key asc); record = distance, key, index.
  std::vector<std::tuple<double, std::uint64_t, std::size_t>> local_best;
  for (std::size_t i = 0; i < points.rows; ++i) {
    const double distance = squared_distance(points.row(i), centroids.row(static_cast<Eigen::Index>(state.labels[i])).data(), d);
    local_best.emplace_back(distance, points.keys[i], i);
  }
  const auto order = [](const auto& a, const auto& b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) > std::get<0>(b) : std::get<1>(a) < std::get<1>(b);
  };
  const std::size_t keep = std::min(wanted, local_best.size());
  std::partial_sort(local_best.begin(), local_best.begin() + static_cast<std::ptrdiff_t>(keep), local_best.end(), order);
  local_best.resize(keep);
  std::vector<double> records;
  for (const auto& [distance, key, index] : local_best) {
    double key_bits;
    std::memcpy(&key_bits, &key, sizeof key);
    records.push_back(distance);
    records.push_back(key_bits);
  }
  const std::vector<double> all = comm.allgatherv(std::span<const double>(records));
  std::vector<std::pair<double, std::uint64_t>> candidates;
  for (std::size_t r = 0; r + 1 < all.size(); r += 2) {
    std::uint64_t key;
    std::memcpy(&key, &all[r + 1], sizeof key);
    candidates.emplace_back(all[r], key);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::uint64_t moved = 0;
  for (std::size_t e = 0; e < empty.size() && e < candidates.size(); ++e) {
    for (const auto& [distance, key, index] : local_best) {
      if (key != candidates[e].second) continue;
      state.move(index, static_cast<std::int32_t>(empty[e]));
      step.forget(index);
    }
    ++moved;
  }
  return moved;
}

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::assignments_unchanged: return "assignments_unchanged";
    case StopReason::centroid_shift: return "centroid_shift";
    case StopReason::max_iter: return "max_iter";
  }
  return "?";
}

double mean_feature_std(const Points& points, comm::Communicator& comm) {
  const std::size_t d = points.cols;
  if (d == 0) return 0;
  double bound = 0, weight_bound = 0;
  for (std::size_t i = 0; i < points.rows; ++i) {
    weight_bound = std::max(weight_bound, points.weight(i));
    for (std::size_t k = 0; k < d; ++k) bound = std::max(bound, std::abs(points.weight(i) * points.row(i)[k]));
  }
  const auto grid = FixedPointGrid::for_bound(comm.allreduce(bound, comm::ReduceOp::max));
  const auto weight_grid = FixedPointGrid::for_bound(comm.allreduce(weight_bound, comm::ReduceOp::max));
  std::vector<int128> sums(d + 1, 0);
  for (std::size_t i = 0; i < points.rows; ++i) {
    for (std::size_t k = 0; k < d; ++k) sums[k] += grid.quantize(points.weight(i) * points.row(i)[k]);
    sums[d] += weight_grid.quantize(points.weight(i));
  }
  comm::allreduce_exact(sums, comm);
  const double total_weight = weight_grid.to_double(sums[d]);
  if (total_weight <= 0) return 0;
  std::vector<double> mean(d);
  for (std::size_t k = 0; k < d; ++k) mean[k] = grid.to_double(sums[k]) / total_weight;
  double square_bound = 0;
  for (std::size_t i = 0; i < points.rows; ++i)
    for (std::size_t k = 0; k < d; ++k) {
      const double deviation = points.row(i)[k] - mean[k];
      square_bound = std::max(square_bound, points.weight(i) * deviation * deviation);
    }
  const auto square_grid = FixedPointGrid::for_bound(comm.allreduce(square_bound, comm::ReduceOp::max));
  std::vector<int128> squares(d, 0);
  for (std::size_t i = 0; i < points.rows; ++i)
    for (std::size_t k = 0; k < d; ++k) {
      const double deviation = points.row(i)[k] - mean[k];
      squares[k] += square_grid.quantize(points.weight(i) * deviation * deviation);
    }
  comm::allreduce_exact(squares, comm);
  double total = 0;
  for (std::size_t k = 0; k < d; ++k) total += std::sqrt(square_grid.to_double(squares[k]) / total_weight);
  return total / static_cast<double>(d);
}

LloydResult run_lloyd(const Points& points, std::span<const double> norms, const SumGrids& grids, RowMatrix initial,
                      const LloydOptions& options, comm::Communicator& comm, const IterationHook& hook,
                      const LloydProgress* resume) {
  const std::size_t n = points.rows, d = points.cols, k = static_cast<std::size_t>(initial.rows());
  LloydResult result;
  RowMatrix centroids = std::move(initial);
  LabelledSums state(points, norms, grids, k);
  std::unique_ptr<AssignmentStep> step;
  if (options.accelerate) step = std::make_unique<HamerlyStep>(points, norms);
  else step = std::make_unique<PlainStep>(points, norms);
  std::int64_t first_iteration = 1;
  bool first_pass = true;  // no labels yet: every point is assigned in full
  if (resume != nullptr) {
    // The sums are a function of the labels: rebuilt exactly. Bounds start unknown, so the first
    // resumed iteration examines every point, as plain Lloyd would.
    centroids = resume->centroids;
    result.inertia_history = resume->inertia_history;
    result.empty_relocations = resume->empty_relocations;
    first_iteration = resume->iteration + 1;
    for (std::size_t i = 0; i < n; ++i) state.move(i, resume->labels[i]);
    first_pass = false;
  }

  result.iterations = first_iteration - 1;
  for (std::int64_t iteration = first_iteration; iteration <= options.max_iter; ++iteration) {
    state.changed = 0;
    step->assign(CentroidSet(centroids), first_pass, state);
    first_pass = false;

    state.local.counter() = state.changed;
    ClusterSums global = state.local.reduce(comm);
    const auto changed_global = static_cast<std::uint64_t>(global.counter());
    bool any_empty = false;
    for (std::size_t j = 0; j < k; ++j) any_empty = any_empty || global.empty(j);
    if (any_empty) {
      const std::uint64_t relocated = relocate_empty_clusters(global, centroids, state, *step, comm);
      result.empty_relocations += relocated;
      log::info("kmeans: iteration {}: {} empty cluster(s) re-seeded with the farthest point(s)", iteration, relocated);
      state.local.counter() = 0;
      global = state.local.reduce(comm);
    }
    RowMatrix updated = global.centroids(grids, centroids);
    std::vector<double> shift(k);
    double largest = 0;
    for (std::size_t j = 0; j < k; ++j) {
      shift[j] = std::sqrt(squared_distance(centroids.row(static_cast<Eigen::Index>(j)).data(),
                                            updated.row(static_cast<Eigen::Index>(j)).data(), d));
      largest = std::max(largest, shift[j]);
    }
    result.inertia_history.push_back(global.inertia(updated, grids));
    step->centroids_moved(shift);
    centroids = std::move(updated);
    result.iterations = iteration;

    bool done = false;
    if (iteration > 1 && changed_global == 0) {
      result.reason = StopReason::assignments_unchanged;
      done = true;
    } else if (largest <= options.shift_tolerance) {
      result.reason = StopReason::centroid_shift;
      done = true;
    } else if (iteration == options.max_iter) {
      result.reason = StopReason::max_iter;
      done = true;
    }
    if (hook && !hook(LloydProgress{iteration, centroids, result.inertia_history, result.empty_relocations, {}}, state.labels) &&
        !done) {
      result.interrupted = true;
      result.centroids = std::move(centroids);
      return result;
    }
    if (done) break;
  }
  FinalAssignment final_pass = assign_final(points, norms, grids, centroids, comm);
  result.centroids = std::move(centroids);
  result.labels = std::move(final_pass.labels);
  result.squared_distances = std::move(final_pass.squared_distances);
  result.inertia = final_pass.inertia;
  result.cluster_weight = std::move(final_pass.cluster_weight);
  result.cluster_size = std::move(final_pass.cluster_size);
  return result;
}

FinalAssignment assign_final(const Points& points, std::span<const double> norms, const SumGrids& grids, const RowMatrix& centroids,
                             comm::Communicator& comm) {
  const std::size_t n = points.rows, k = static_cast<std::size_t>(centroids.rows());
  FinalAssignment result;
  const CentroidSet set(centroids);
  AssignmentKernel kernel;
  result.labels.resize(n);
  result.squared_distances.resize(n);
  kernel.assign(points, norms, {}, set, result.labels.data(), result.squared_distances.data(), nullptr);
  double bound = 0;
  for (std::size_t i = 0; i < n; ++i) bound = std::max(bound, points.weight(i) * result.squared_distances[i]);
  const auto grid = FixedPointGrid::for_bound(comm.allreduce(bound, comm::ReduceOp::max));
  std::vector<int128> totals(2 * k + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const auto j = static_cast<std::size_t>(result.labels[i]);
    totals[0] += grid.quantize(points.weight(i) * result.squared_distances[i]);
    totals[1 + j] += grids.weight.quantize(points.weight(i));
    totals[1 + k + j] += 1;
  }
  comm::allreduce_exact(totals, comm);
  result.inertia = grid.to_double(totals[0]);
  for (std::size_t j = 0; j < k; ++j) {
    result.cluster_weight.push_back(grids.weight.to_double(totals[1 + j]));
    result.cluster_size.push_back(static_cast<std::uint64_t>(totals[1 + k + j]));
  }
  return result;
}

}  // namespace mpiseg::kmeans

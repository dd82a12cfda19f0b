#include "mpiseg/kmeans/lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <tuple>

#include "block_products.hpp"
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

/// Whether examining `todo` of `n` points through gathered rows costs less than streaming all n
/// through the kernel (the same labels either way). A gathered row costs about as much as
/// kGatheredRowCost centroid distances on top of its k: at small k streaming wins once a few
/// tenths of the points fail their bounds, at large k only when nearly all of them do.
bool gathering_pays(std::size_t todo, std::size_t n, std::size_t k) {
  constexpr double kGatheredRowCost = 24;
  return static_cast<double>(todo) * (static_cast<double>(k) + kGatheredRowCost) < static_cast<double>(n) * static_cast<double>(k);
}

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
    if (!gathering_pays(todo_.size(), n, set.k())) {
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

/// Yinyang bounds (Ding et al. 2015), for large k where Hamerly's single lower bound stops
/// pruning: the centroids are split into groups of about ten nearby ones, and each point keeps
/// one lower bound per group. A point is skipped while its upper bound is below every group's
/// lower bound; otherwise only the groups whose bound it fails are examined, with direct
/// distances computed exactly as the kernel's final decision computes them. The label is the
/// smallest (direct squared distance, index) over the old label and every examined centroid,
/// and every unexamined centroid is proven strictly farther, so it is exactly plain Lloyd's
/// label; the grouping only decides how much is skipped. Memory: one double per point and group.
class YinyangStep final : public AssignmentStep {
 public:
  YinyangStep(const Points& points, std::span<const double> norms)
      : points_(points), norms_(norms), upper_(points.rows, kInfinity) {}

  void assign(const CentroidSet& set, bool first_pass, LabelledSums& state) override {
    const std::size_t n = points_.rows;
    if (slot_.empty()) form_groups(set);
    lay_out(set);
    const std::size_t t = group_count();
    if (lower_.size() != n * t) lower_.assign(n * t, 0);  // unknown (a resumed run): every group is examined
    if (first_pass) {
      // The blocked kernel for everyone; its second-nearest bound stands for every group until
      // a point is examined group by group.
      std::vector<std::int32_t> labels(n);
      std::vector<double> squared(n), second(n);
      kernel_.assign(points_, norms_, {}, set, labels.data(), squared.data(), second.data());
      for (std::size_t i = 0; i < n; ++i) {
        state.set(i, labels[i]);
        upper_[i] = std::sqrt(squared[i]) * (1.0 + kBoundMargin);
        std::fill_n(lower_.begin() + static_cast<std::ptrdiff_t>(i * t), t, second[i]);
      }
      return;
    }
    if (moved_.empty()) {  // resumed: no move is known, bounds are where they were
      moved_.assign(set.k(), 0.0);
      group_moved_.assign(t, 0.0);
    }
    const double* group_moved = group_moved_.data();
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = static_cast<std::size_t>(state.labels[i]);
      double* __restrict lower = lower_.data() + i * t;
      upper_[i] += moved_[a];
      double lowest = kInfinity;
      for (std::size_t g = 0; g < t; ++g) {
        lower[g] -= group_moved[g];
        lowest = lowest < lower[g] ? lowest : lower[g];
      }
      if (upper_[i] < lowest) continue;  // global filter: no centroid can be as near as the current one
      const double current = squared_distance(points_.row(i), set.row(a), points_.cols);
      upper_[i] = std::sqrt(current) * (1.0 + kBoundMargin);
      if (upper_[i] < lowest) continue;
      examine(i, a, current, state);
    }
  }

  void centroids_moved(std::span<const double> shift) override {
    moved_.resize(shift.size());
    group_moved_.assign(group_count(), 0);
    for (std::size_t j = 0; j < shift.size(); ++j) {
      moved_[j] = shift[j] * (1.0 + kBoundMargin);
      group_moved_[group_of_[j]] = std::max(group_moved_[group_of_[j]], moved_[j]);
    }
  }

  void forget(std::size_t i) override {
    upper_[i] = kInfinity;
    std::fill_n(lower_.begin() + static_cast<std::ptrdiff_t>(i * group_count()), group_count(), 0.0);
  }

 private:
  static constexpr std::size_t kNoCentroid = ~std::size_t{0};

  std::size_t group_count() const noexcept { return group_start_.size() - 1; }

  /// Groups of nearby centroids: five Lloyd iterations over the centroids (Ding et al.), seeded
  /// with centroids 0 .. t-1, on every rank alike (the centroids are identical everywhere).
  void form_groups(const CentroidSet& set) {
    const std::size_t k = set.k(), d = set.d();
    const std::size_t t = std::max<std::size_t>(1, (k + 9) / 10);
    RowMatrix seeds = set.values().topRows(static_cast<Eigen::Index>(t));
    group_of_.assign(k, 0);
    for (int round = 0; round < 5; ++round) {
      for (std::size_t j = 0; j < k; ++j) {
        double best = kInfinity;
        for (std::size_t g = 0; g < t; ++g) {
          const double distance = squared_distance(set.row(j), seeds.row(static_cast<Eigen::Index>(g)).data(), d);
          if (distance < best) {
            best = distance;
            group_of_[j] = g;
          }
        }
      }
      RowMatrix sums = RowMatrix::Zero(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(d));
      std::vector<std::size_t> counts(t, 0);
      for (std::size_t j = 0; j < k; ++j) {
        sums.row(static_cast<Eigen::Index>(group_of_[j])) += set.values().row(static_cast<Eigen::Index>(j));
        ++counts[group_of_[j]];
      }
      for (std::size_t g = 0; g < t; ++g)
        if (counts[g] > 0) seeds.row(static_cast<Eigen::Index>(g)) = sums.row(static_cast<Eigen::Index>(g)) / static_cast<double>(counts[g]);
    }
    // The non-empty groups, numbered in order of their first centroid; each takes a run of slots
    // padded to a multiple of 4 (the distance kernel's width; padding slots hold no centroid).
    std::vector<std::size_t> renumber(t, kNoCentroid);
    std::size_t used = 0;
    for (std::size_t j = 0; j < k; ++j)
      if (renumber[group_of_[j]] == kNoCentroid) renumber[group_of_[j]] = used++;
    std::vector<std::vector<std::size_t>> members(used);
    for (std::size_t j = 0; j < k; ++j) {
      group_of_[j] = renumber[group_of_[j]];
      members[group_of_[j]].push_back(j);
    }
    group_start_.assign(1, 0);
    for (const auto& group : members) {
      slot_.insert(slot_.end(), group.begin(), group.end());
      slot_.resize((slot_.size() + 3) / 4 * 4, kNoCentroid);
      group_start_.push_back(slot_.size());
    }
  }

  /// The centroids as columns in slot order (d x slots): one point's distances to a group
  /// vectorise across centroids while each sums its terms in coordinate order.
  void lay_out(const CentroidSet& set) {
    const std::size_t slots = slot_.size(), d = set.d();
    transposed_.assign(slots * d, 0.0);
    for (std::size_t position = 0; position < slots; ++position)
      if (slot_[position] != kNoCentroid)
        for (std::size_t c = 0; c < d; ++c) transposed_[c * slots + position] = set.row(slot_[position])[c];
    distances_.resize(slots);
  }

  /// Re-assigns point i (label a at squared distance `current`) from the groups whose lower
  /// bound it fails, and renews those bounds.
  void examine(std::size_t i, std::size_t a, double current, LabelledSums& state) {
    const std::size_t t = group_count(), slots = slot_.size();
    double* lower = lower_.data() + i * t;
    double best = current;
    std::size_t best_index = a;
    const double bound = upper_[i];
    // Per examined group: its nearest and second nearest centroid (padding slots are +inf).
    examined_.clear();
    for (std::size_t g = 0; g < t; ++g) {
      if (lower[g] > bound) continue;
      const std::size_t begin = group_start_[g], end = group_start_[g + 1];
      detail::distances_to_columns(points_.row(i), points_.cols, transposed_.data() + begin, slots, end - begin, distances_.data() + begin);
      GroupScan scan{g, kInfinity, kInfinity, kNoCentroid};
      for (std::size_t p = begin; p < end; ++p) {
        const double distance = slot_[p] == kNoCentroid ? kInfinity : distances_[p];
        if (distance < scan.nearest || (distance == scan.nearest && slot_[p] < scan.nearest_index)) {
          scan.second = scan.nearest;
          scan.nearest = distance;
          scan.nearest_index = slot_[p];
        } else if (distance < scan.second) {
          scan.second = distance;
        }
      }
      if (scan.nearest < best || (scan.nearest == best && scan.nearest_index < best_index)) {
        best = scan.nearest;
        best_index = scan.nearest_index;
      }
      examined_.push_back(scan);
    }
    bool old_group_examined = false;
    for (const GroupScan& scan : examined_) {
      // The nearest centroid of the group other than the new label (the old label is one of the
      // group's distances like any other).
      lower[scan.group] = std::sqrt(scan.nearest_index == best_index ? scan.second : scan.nearest) * (1.0 - kBoundMargin);
      old_group_examined = old_group_examined || scan.group == group_of_[a];
    }
    if (best_index != a && !old_group_examined) {
      // The old centroid lost to another group's: it now counts in its own group's bound.
      lower[group_of_[a]] = std::min(lower[group_of_[a]], std::sqrt(current) * (1.0 - kBoundMargin));
    }
    upper_[i] = std::sqrt(best) * (1.0 + kBoundMargin);
    state.set(i, static_cast<std::int32_t>(best_index));
  }

  const Points& points_;
  std::span<const double> norms_;
  AssignmentKernel kernel_;
  std::vector<double> upper_;
  std::vector<double> lower_;  // points x groups
  std::vector<std::size_t> group_of_;     // per centroid
  std::vector<std::size_t> slot_;         // centroid in each slot, groups one after another (kNoCentroid: padding)
  std::vector<std::size_t> group_start_;  // first slot of each group, and the end
  std::vector<double> transposed_, distances_;
  struct GroupScan {
    std::size_t group;
    double nearest, second;  // squared distances
    std::size_t nearest_index;
  };
  std::vector<GroupScan> examined_;
  std::vector<double> moved_, group_moved_;
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
  switch (options.algorithm) {
    case Algorithm::yinyang: step = std::make_unique<YinyangStep>(points, norms); break;
    case Algorithm::hamerly: step = std::make_unique<HamerlyStep>(points, norms); break;
    default: step = std::make_unique<PlainStep>(points, norms); break;
  }
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

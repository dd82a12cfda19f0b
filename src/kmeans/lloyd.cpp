#include "mpiseg/kmeans/lloyd.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/log.hpp"

namespace mpiseg::kmeans {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// Moves the farthest points into empty clusters (sklearn's rule), deterministically: candidates
/// ordered by (squared distance to their centroid, descending; key, ascending) over all ranks.
std::uint64_t relocate_empty_clusters(const Points& points, std::span<const double> norms, const SumGrids& grids,
                                      const ClusterSums& global, ClusterSums& local, const RowMatrix& centroids,
                                      std::vector<std::int32_t>& labels, std::vector<double>* upper,
                                      std::vector<double>* lower, comm::Communicator& comm) {
  const std::size_t k = static_cast<std::size_t>(centroids.rows()), d = points.cols;
  std::vector<std::size_t> empty;
  for (std::size_t j = 0; j < k; ++j)
    if (global.empty(j)) empty.push_back(j);
  const std::size_t wanted = empty.size();
  // Local top `wanted` by (distance desc, key asc); record = distance, key, rank, index, coordinates.
  std::vector<std::tuple<double, std::uint64_t, std::size_t>> local_best;
  for (std::size_t i = 0; i < points.rows; ++i) {
    const double distance = squared_distance(points.row(i), centroids.row(static_cast<Eigen::Index>(labels[i])).data(), d);
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
      const double w = points.weight(index);
      local.remove(static_cast<std::size_t>(labels[index]), points.row(index), w, norms[index], grids);
      local.add(empty[e], points.row(index), w, norms[index], grids);
      labels[index] = static_cast<std::int32_t>(empty[e]);
      if (upper != nullptr) {
        (*upper)[index] = kInfinity;  // recompute this point next iteration
        (*lower)[index] = 0;
      }
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
  std::int64_t first_iteration = 1;
  if (resume != nullptr) {
    centroids = resume->centroids;
    result.inertia_history = resume->inertia_history;
    result.empty_relocations = resume->empty_relocations;
    first_iteration = resume->iteration + 1;
  }
  std::vector<std::int32_t> labels(n, -1), fresh(n);
  std::vector<double> distances(n), upper, lower, second;
  if (options.accelerate) {
    upper.assign(n, kInfinity);
    lower.assign(n, 0);
    second.resize(n);
  }
  std::vector<std::uint32_t> todo;
  std::vector<double> moved(k, 0.0);  // how far each centroid moved in the last update
  double moved_largest = 0, moved_second = 0;
  std::size_t moved_most = 0;
  AssignmentKernel kernel;
  ClusterSums local(k, d);
  bool first_pass = true;  // no labels yet: every point is assigned in full
  if (resume != nullptr) {
    // The sums are a function of the labels: rebuilt exactly. Bounds start unknown, so the first
    // resumed iteration examines every point, as plain Lloyd would.
    labels = resume->labels;
    for (std::size_t i = 0; i < n; ++i) local.add(static_cast<std::size_t>(labels[i]), points.row(i), points.weight(i), norms[i], grids);
    first_pass = false;
  }

  bool stopped_early = false;
  result.iterations = first_iteration - 1;
  for (std::int64_t iteration = first_iteration; iteration <= options.max_iter; ++iteration) {
    const CentroidSet set(centroids);
    std::uint64_t changed = 0;
    auto apply = [&](std::size_t i, std::int32_t label) {
      if (label == labels[i]) return;
      const double w = points.weight(i);
      if (labels[i] >= 0) local.remove(static_cast<std::size_t>(labels[i]), points.row(i), w, norms[i], grids);
      local.add(static_cast<std::size_t>(label), points.row(i), w, norms[i], grids);
      labels[i] = label;
      ++changed;
    };
    auto assign_all = [&] {
      kernel.assign(points, norms, {}, set, fresh.data(), distances.data(), options.accelerate ? second.data() : nullptr);
      for (std::size_t i = 0; i < n; ++i) {
        apply(i, fresh[i]);
        if (options.accelerate) {
          upper[i] = std::sqrt(distances[i]) * (1.0 + kBoundMargin);
          lower[i] = second[i];
        }
      }
    };
    if (!options.accelerate || first_pass) {
      assign_all();
    } else {
      // Hamerly: a point keeps its label while its upper bound is below both its lower bound and
      // half the distance from its centroid to the nearest other one. The bounds first absorb
      // the previous update's centroid moves (one pass over them, no point is read).
      todo.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const auto a = static_cast<std::size_t>(labels[i]);
        upper[i] += moved[a];
        lower[i] -= a == moved_most ? moved_second : moved_largest;
        if (upper[i] >= std::max(set.half_separation(a), lower[i])) todo.push_back(static_cast<std::uint32_t>(i));
      }
      if (todo.size() > n / 4) {
        // Many points to look at (early iterations): streaming all of them through the kernel is
        // cheaper than reading a quarter of the rows at random. Same labels either way.
        assign_all();
      } else {
        // Tighten the upper bound with the exact distance; only points that still fail get the
        // full assignment.
        std::size_t kept = 0;
        for (const std::uint32_t i : todo) {
          const auto a = static_cast<std::size_t>(labels[i]);
          upper[i] = std::sqrt(squared_distance(points.row(i), set.row(a), d)) * (1.0 + kBoundMargin);
          if (upper[i] >= std::max(set.half_separation(a), lower[i])) todo[kept++] = i;
        }
        todo.resize(kept);
        kernel.assign(points, norms, todo, set, fresh.data(), distances.data(), second.data());
        for (std::size_t t = 0; t < todo.size(); ++t) {
          const std::size_t i = todo[t];
          apply(i, fresh[t]);
          upper[i] = std::sqrt(distances[t]) * (1.0 + kBoundMargin);
          lower[i] = second[t];
        }
      }
    }
    first_pass = false;

    local.counter() = changed;
    ClusterSums global = local.reduce(comm);
    const auto changed_global = static_cast<std::uint64_t>(global.counter());
    bool any_empty = false;
    for (std::size_t j = 0; j < k; ++j) any_empty = any_empty || global.empty(j);
    if (any_empty) {
      const std::uint64_t relocated = relocate_empty_clusters(points, norms, grids, global, local, centroids, labels,
                                                          options.accelerate ? &upper : nullptr,
                                                          options.accelerate ? &lower : nullptr, comm);
      result.empty_relocations += relocated;
      log::info("kmeans: iteration {}: {} empty cluster(s) re-seeded with the farthest point(s)", iteration, relocated);
      local.counter() = 0;
      global = local.reduce(comm);
    }
    RowMatrix updated = global.centroids(grids, centroids);

    std::vector<double> shift(k);
    double largest = 0, second_largest = 0;
    std::size_t largest_at = 0;
    for (std::size_t j = 0; j < k; ++j) {
      shift[j] = std::sqrt(squared_distance(centroids.row(static_cast<Eigen::Index>(j)).data(),
                                            updated.row(static_cast<Eigen::Index>(j)).data(), d));
      if (shift[j] > largest) {
        second_largest = largest;
        largest = shift[j];
        largest_at = j;
      } else {
        second_largest = std::max(second_largest, shift[j]);
      }
    }
    result.inertia_history.push_back(global.inertia(updated, grids));
    // Centroid moves, applied to Hamerly's bounds at the start of the next iteration.
    for (std::size_t j = 0; j < k; ++j) moved[j] = shift[j] * (1.0 + kBoundMargin);
    moved_largest = largest * (1.0 + kBoundMargin);
    moved_second = second_largest * (1.0 + kBoundMargin);
    moved_most = largest_at;
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
    if (hook) {
      const LloydProgress progress{iteration, centroids, result.inertia_history, result.empty_relocations, {}};
      if (!hook(progress, labels) && !done) {
        stopped_early = true;
        break;
      }
    }
    if (done) break;
  }
  if (stopped_early) {
    result.interrupted = true;
    result.centroids = std::move(centroids);
    return result;
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

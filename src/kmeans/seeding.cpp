#include "mpiseg/kmeans/seeding.hpp"

#include <algorithm>
#include <stdexcept>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/random.hpp"

namespace mpiseg::kmeans {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr std::uint64_t kStreamFirst = 1, kStreamRandom = 2, kStreamPlusPlus = 100, kStreamParallel = 1000,
                        kStreamReduce = 5000;

double uniform_for(std::uint64_t seed, std::uint64_t key, std::uint64_t stream) {
  return unit_interval(hash_with_seed(seed, key, stream));
}

double key_as_double(std::uint64_t key) {
  double value;
  std::memcpy(&value, &key, sizeof value);
  return value;
}
std::uint64_t double_as_key(double value) {
  std::uint64_t key;
  std::memcpy(&key, &value, sizeof key);
  return key;
}

/// The point with the smallest score over all ranks (ties: smallest key), as (key, coordinates);
/// nullopt-like empty vector when no rank has a finite score.
std::vector<double> global_argmin(double score, std::uint64_t key, const double* coordinates, std::size_t d,
                                  comm::Communicator& comm) {
  std::vector<double> record(2 + d, 0.0);
  record[0] = score;
  record[1] = key_as_double(key);
  if (coordinates != nullptr) std::copy(coordinates, coordinates + d, record.begin() + 2);
  const std::vector<double> all = comm.allgatherv(std::span<const double>(record));
  std::size_t best = 0;
  for (std::size_t r = 1; r * (2 + d) < all.size(); ++r) {
    const double* candidate = &all[r * (2 + d)];
    const double* current = &all[best * (2 + d)];
    if (candidate[0] < current[0] || (candidate[0] == current[0] && double_as_key(candidate[1]) < double_as_key(current[1])))
      best = r;
  }
  if (!(all[best * (2 + d)] < kInfinity)) return {};
  return std::vector<double>(all.begin() + static_cast<std::ptrdiff_t>(best * (2 + d)) + 1,
                             all.begin() + static_cast<std::ptrdiff_t>((best + 1) * (2 + d)));
}

/// Local smallest score (ties by key) and its row, or infinity.
struct LocalBest {
  double score = kInfinity;
  std::uint64_t key = std::numeric_limits<std::uint64_t>::max();
  std::size_t row = 0;
  void offer(double candidate, std::uint64_t candidate_key, std::size_t candidate_row) {
    if (candidate < score || (candidate == score && candidate_key < key)) {
      score = candidate;
      key = candidate_key;
      row = candidate_row;
    }
  }
};

std::vector<double> pick_global(const LocalBest& best, const Points& points, comm::Communicator& comm) {
  return global_argmin(best.score, best.key, best.score < kInfinity ? points.row(best.row) : nullptr, points.cols, comm);
}

void update_distances(const Points& points, const double* center, std::vector<double>& nearest) {
  for (std::size_t i = 0; i < points.rows; ++i) nearest[i] = std::min(nearest[i], squared_distance(points.row(i), center, points.cols));
}

double exact_cost(const Points& points, const std::vector<double>& nearest, comm::Communicator& comm) {
  double bound = 0;
  for (std::size_t i = 0; i < points.rows; ++i) bound = std::max(bound, points.weight(i) * nearest[i]);
  const auto grid = FixedPointGrid::for_bound(comm.allreduce(bound, comm::ReduceOp::max));
  int128 sum = 0;
  for (std::size_t i = 0; i < points.rows; ++i) sum += grid.quantize(points.weight(i) * nearest[i]);
  comm::allreduce_exact(std::span(&sum, 1), comm);
  return grid.to_double(sum);
}

std::vector<double> uniform_first(std::uint64_t seed, const Points& points, comm::Communicator& comm) {
  LocalBest best;
  for (std::size_t i = 0; i < points.rows; ++i)
    if (points.weight(i) > 0) best.offer(uniform_for(seed, points.keys[i], kStreamFirst), points.keys[i], i);
  return pick_global(best, points, comm);
}

RowMatrix seed_plus_plus(std::size_t k, std::uint64_t seed, const Points& points, comm::Communicator& comm) {
  const std::size_t d = points.cols;
  RowMatrix centroids(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
  std::vector<double> first = uniform_first(seed, points, comm);
  std::copy(first.begin() + 1, first.end(), centroids.row(0).data());
  std::vector<double> nearest(points.rows, kInfinity);
  for (std::size_t c = 1; c < k; ++c) {
    update_distances(points, centroids.row(static_cast<Eigen::Index>(c - 1)).data(), nearest);
    LocalBest best;
    for (std::size_t i = 0; i < points.rows; ++i) {
      const double mass = points.weight(i) * nearest[i];
      if (mass > 0) best.offer(-std::log(1.0 - uniform_for(seed, points.keys[i], kStreamPlusPlus + c)) / mass, points.keys[i], i);
    }
    const std::vector<double> chosen = pick_global(best, points, comm);
    if (chosen.empty())
      throw InputError(fmt::format("k-means++: every point coincides with one of the first {} centroids; the data has only {} "
                                   "distinct point(s) (with positive weight), fewer than k = {}",
                                   c, c, k));
    std::copy(chosen.begin() + 1, chosen.end(), centroids.row(static_cast<Eigen::Index>(c)).data());
  }
  return centroids;
}

RowMatrix seed_random(std::size_t k, std::uint64_t seed, const Points& points, comm::Communicator& comm) {
  std::vector<std::uint64_t> hashes(points.rows);
  for (std::size_t i = 0; i < points.rows; ++i) hashes[i] = hash_with_seed(seed, points.keys[i], kStreamRandom);
  const std::uint64_t cut = comm::select_keys(hashes, std::vector<std::uint64_t>{k - 1}, comm)[0];
  std::vector<double> records;
  for (std::size_t i = 0; i < points.rows; ++i) {
    if (hashes[i] > cut) continue;
    records.push_back(key_as_double(hashes[i]));
    records.push_back(key_as_double(points.keys[i]));
    records.insert(records.end(), points.row(i), points.row(i) + points.cols);
  }
  const std::vector<double> all = comm.allgatherv(std::span<const double>(records));
  const std::size_t width = 2 + points.cols;
  std::vector<std::size_t> order(all.size() / width);
  for (std::size_t r = 0; r < order.size(); ++r) order[r] = r;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto ha = double_as_key(all[a * width]), hb = double_as_key(all[b * width]);
    return ha != hb ? ha < hb : double_as_key(all[a * width + 1]) < double_as_key(all[b * width + 1]);
  });
  RowMatrix centroids(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(points.cols));
  for (std::size_t c = 0; c < k; ++c)
    std::copy(&all[order[c] * width + 2], &all[order[c] * width + width], centroids.row(static_cast<Eigen::Index>(c)).data());
  return centroids;
}

/// Weighted k-means++ then weighted Lloyd on the k-means|| candidates (rank 0 only).
RowMatrix reduce_candidates(const std::vector<std::uint64_t>& keys, const RowMatrix& candidates, const std::vector<double>& weights,
                            std::size_t k, std::uint64_t seed) {
  const std::size_t m = static_cast<std::size_t>(candidates.rows()), d = static_cast<std::size_t>(candidates.cols());
  RowMatrix centroids(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
  std::vector<double> nearest(m, 1.0);
  std::vector<bool> taken(m, false);
  for (std::size_t c = 0; c < k; ++c) {
    double best_score = kInfinity;
    std::size_t best = m;
    for (std::size_t i = 0; i < m; ++i) {
      const double mass = weights[i] * nearest[i];
      if (taken[i] || !(mass > 0)) continue;
      const double score = -std::log(1.0 - uniform_for(seed, keys[i], kStreamReduce + c)) / mass;
      if (score < best_score || (score == best_score && keys[i] < keys[best])) {
        best_score = score;
        best = i;
      }
    }
    if (best == m) return RowMatrix();  // fewer distinct candidates than k
    taken[best] = true;
    centroids.row(static_cast<Eigen::Index>(c)) = candidates.row(static_cast<Eigen::Index>(best));
    for (std::size_t i = 0; i < m; ++i)
      nearest[i] = c == 0 ? squared_distance(candidates.row(static_cast<Eigen::Index>(i)).data(), centroids.row(0).data(), d)
                          : std::min(nearest[i], squared_distance(candidates.row(static_cast<Eigen::Index>(i)).data(),
                                                                  centroids.row(static_cast<Eigen::Index>(c)).data(), d));
  }
  // A few weighted Lloyd iterations on the candidates refine the k seeds.
  std::vector<std::size_t> label(m);
  for (int iteration = 0; iteration < 30; ++iteration) {
    bool changed = false;
    for (std::size_t i = 0; i < m; ++i) {
      std::size_t best = 0;
      double best_distance = kInfinity;
      for (std::size_t c = 0; c < k; ++c) {
        const double distance = squared_distance(candidates.row(static_cast<Eigen::Index>(i)).data(),
                                                 centroids.row(static_cast<Eigen::Index>(c)).data(), d);
        if (distance < best_distance) {
          best_distance = distance;
          best = c;
        }
      }
      changed = changed || iteration == 0 || label[i] != best;
      label[i] = best;
    }
    if (!changed) break;
    RowMatrix sums = RowMatrix::Zero(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
    std::vector<double> mass(k, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      sums.row(static_cast<Eigen::Index>(label[i])) += weights[i] * candidates.row(static_cast<Eigen::Index>(i));
      mass[label[i]] += weights[i];
    }
    for (std::size_t c = 0; c < k; ++c)
      if (mass[c] > 0) centroids.row(static_cast<Eigen::Index>(c)) = sums.row(static_cast<Eigen::Index>(c)) / mass[c];
  }
  return centroids;
}

RowMatrix seed_parallel(const KMeansSettings& settings, std::size_t k, std::uint64_t seed, const Points& points,
                        comm::Communicator& comm, SeedingReport& report) {
  const std::size_t d = points.cols;
  std::vector<std::uint64_t> candidate_keys;
  std::vector<double> candidate_values;
  const std::vector<double> first = uniform_first(seed, points, comm);
  candidate_keys.push_back(double_as_key(first[0]));
  candidate_values.insert(candidate_values.end(), first.begin() + 1, first.end());
  std::vector<double> nearest(points.rows, kInfinity);
  update_distances(points, first.data() + 1, nearest);
  double cost = exact_cost(points, nearest, comm);
  const double expected = settings.oversampling * static_cast<double>(k);
  std::int64_t round = 0;
  // The configured rounds, and more while there are fewer candidates than k and points are left.
  for (; cost > 0 && (round < settings.rounds || candidate_keys.size() < k) && round < settings.rounds + 64; ++round) {
    std::vector<double> records;
    for (std::size_t i = 0; i < points.rows; ++i) {
      const double probability = std::min(1.0, expected * points.weight(i) * nearest[i] / cost);
      if (probability > 0 && uniform_for(seed, points.keys[i], kStreamParallel + static_cast<std::uint64_t>(round)) < probability) {
        records.push_back(key_as_double(points.keys[i]));
        records.insert(records.end(), points.row(i), points.row(i) + d);
      }
    }
    const std::vector<double> all = comm.allgatherv(std::span<const double>(records));
    std::vector<std::pair<std::uint64_t, std::size_t>> arrivals;
    for (std::size_t r = 0; r * (1 + d) < all.size(); ++r) arrivals.emplace_back(double_as_key(all[r * (1 + d)]), r);
    std::sort(arrivals.begin(), arrivals.end());  // key order: independent of which rank sent what
    for (const auto& [key, r] : arrivals) {
      candidate_keys.push_back(key);
      candidate_values.insert(candidate_values.end(), &all[r * (1 + d) + 1], &all[(r + 1) * (1 + d)]);
      update_distances(points, &all[r * (1 + d) + 1], nearest);
    }
    cost = exact_cost(points, nearest, comm);
  }
  report.rounds = round;
  report.candidates = candidate_keys.size();
  const std::size_t m = candidate_keys.size();
  const Eigen::Map<const RowMatrix> candidates(candidate_values.data(), static_cast<Eigen::Index>(m), static_cast<Eigen::Index>(d));
  // Candidate weights: the points nearest to each (ties: first candidate), summed exactly.
  double largest_weight = 0;
  for (std::size_t i = 0; i < points.rows; ++i) largest_weight = std::max(largest_weight, points.weight(i));
  const auto weight_grid = FixedPointGrid::for_bound(comm.allreduce(largest_weight, comm::ReduceOp::max));
  std::vector<int128> weights(m, 0);
  for (std::size_t i = 0; i < points.rows; ++i) {
    std::size_t best = 0;
    double best_distance = kInfinity;
    for (std::size_t c = 0; c < m; ++c) {
      const double distance = squared_distance(points.row(i), candidates.row(static_cast<Eigen::Index>(c)).data(), d);
      if (distance < best_distance) {
        best_distance = distance;
        best = c;
      }
    }
    weights[best] += weight_grid.quantize(points.weight(i));
  }
  comm::allreduce_exact(weights, comm);
  std::vector<double> candidate_weights(m);
  for (std::size_t c = 0; c < m; ++c) candidate_weights[c] = weight_grid.to_double(weights[c]);

  RowMatrix centroids;
  std::int32_t ok = 1;
  if (comm.rank() == 0) {
    centroids = reduce_candidates(candidate_keys, RowMatrix(candidates), candidate_weights, k, seed);
    ok = centroids.rows() == static_cast<Eigen::Index>(k) ? 1 : 0;
  }
  comm.broadcast(std::span(&ok, 1), 0);
  if (ok == 0)
    throw InputError(fmt::format("k-means||: the data has fewer distinct points (with positive weight) than k = {}", k));
  if (comm.rank() != 0) centroids.resize(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
  comm.broadcast(std::span(centroids.data(), static_cast<std::size_t>(centroids.size())), 0);
  return centroids;
}

}  // namespace

RowMatrix seed_centroids(const KMeansSettings& settings, std::size_t k, std::uint64_t seed, const Points& points,
                         comm::Communicator& comm, SeedingReport& report) {
  const std::uint64_t total = comm.allreduce<std::uint64_t>(points.rows, comm::ReduceOp::sum);
  if (total < k) throw InputError(fmt::format("k = {} is larger than the number of points ({})", k, total));
  switch (settings.init) {
    case InitMethod::kmeans_plus_plus: return seed_plus_plus(k, seed, points, comm);
    case InitMethod::random: return seed_random(k, seed, points, comm);
    case InitMethod::file:
      throw std::logic_error("init = \"file\": the caller reads init_file and gives the centroids to kmeans::fit");
    case InitMethod::kmeans_parallel: return seed_parallel(settings, k, seed, points, comm, report);
    case InitMethod::previous_model:
      throw std::logic_error("previous_model centroids are a warm start given to kmeans::fit, never seeded");
  }
  return {};
}

}  // namespace mpiseg::kmeans

#include "mpiseg/kmeans/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/random.hpp"

namespace mpiseg::kmeans {
namespace {

constexpr std::uint64_t kStreamSilhouette = 3;

double silhouette(const Points& points, const LloydResult& result, std::uint64_t sample_size, std::uint64_t seed,
                  std::uint64_t& used, comm::Communicator& comm) {
  const std::size_t d = points.cols, k = static_cast<std::size_t>(result.centroids.rows());
  const std::uint64_t total = comm.allreduce<std::uint64_t>(points.rows, comm::ReduceOp::sum);
  // The sample: the points with the smallest hashes (all points when the sample is large enough).
  std::vector<std::uint64_t> hashes(points.rows);
  for (std::size_t i = 0; i < points.rows; ++i) hashes[i] = hash_with_seed(seed, points.keys[i], kStreamSilhouette);
  std::uint64_t cut = std::numeric_limits<std::uint64_t>::max();
  if (sample_size < total) cut = comm::select_keys(hashes, std::vector<std::uint64_t>{sample_size - 1}, comm)[0];
  std::vector<double> records;  // key, label, coordinates
  for (std::size_t i = 0; i < points.rows; ++i) {
    if (hashes[i] > cut) continue;
    double key;
    std::memcpy(&key, &points.keys[i], sizeof key);
    records.push_back(key);
    records.push_back(static_cast<double>(result.labels[i]));
    records.insert(records.end(), points.row(i), points.row(i) + d);
  }
  const std::vector<double> gathered = comm.allgatherv(std::span<const double>(records));
  const std::size_t width = 2 + d, m = gathered.size() / width;
  // Key order, not arrival order: the per-cluster distance sums below must add in the same order
  // at every rank count.
  std::vector<std::size_t> order(m);
  for (std::size_t s = 0; s < m; ++s) order[s] = s;
  auto key_at = [&](std::size_t s) {
    std::uint64_t key;
    std::memcpy(&key, &gathered[s * width], sizeof key);
    return key;
  };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key_at(a) < key_at(b); });
  std::vector<double> all(gathered.size());
  for (std::size_t s = 0; s < m; ++s) std::copy_n(&gathered[order[s] * width], width, &all[s * width]);
  used = m;
  std::vector<std::size_t> cluster_count(k, 0);
  for (std::size_t s = 0; s < m; ++s) ++cluster_count[static_cast<std::size_t>(all[s * width + 1])];
  // Each rank takes every size-th sample point; the sums over clusters are order-free.
  const auto grid = FixedPointGrid::for_bound(1.0);
  int128 sum = 0;
  std::vector<double> per_cluster(k);
  for (std::size_t s = static_cast<std::size_t>(comm.rank()); s < m; s += static_cast<std::size_t>(comm.size())) {
    std::fill(per_cluster.begin(), per_cluster.end(), 0.0);
    const double* point = &all[s * width + 2];
    for (std::size_t t = 0; t < m; ++t)
      if (t != s) per_cluster[static_cast<std::size_t>(all[t * width + 1])] += std::sqrt(squared_distance(point, &all[t * width + 2], d));
    const auto own = static_cast<std::size_t>(all[s * width + 1]);
    if (cluster_count[own] <= 1) continue;  // s(i) = 0
    const double a = per_cluster[own] / static_cast<double>(cluster_count[own] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < k; ++j)
      if (j != own && cluster_count[j] > 0) b = std::min(b, per_cluster[j] / static_cast<double>(cluster_count[j]));
    if (!std::isfinite(b)) continue;
    const double largest = std::max(a, b);
    if (largest > 0) sum += grid.quantize((b - a) / largest);
  }
  comm::allreduce_exact(std::span(&sum, 1), comm);
  return m == 0 ? std::numeric_limits<double>::quiet_NaN() : grid.to_double(sum) / static_cast<double>(m);
}

}  // namespace

ClusterMetrics evaluate_clustering(const Points& points, const LloydResult& result, std::uint64_t silhouette_sample,
                                   std::uint64_t seed, comm::Communicator& comm) {
  ClusterMetrics metrics;
  const std::size_t k = static_cast<std::size_t>(result.centroids.rows()), d = points.cols;
  double total_weight = 0;
  for (double w : result.cluster_weight) total_weight += w;
  if (k >= 2 && total_weight > 0) {
    // Global mean = weighted mean of the centroids of non-empty clusters.
    std::vector<double> mean(d, 0.0);
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t c = 0; c < d; ++c) mean[c] += result.cluster_weight[j] * result.centroids(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(c));
    for (double& value : mean) value /= total_weight;
    double between = 0;
    for (std::size_t j = 0; j < k; ++j)
      between += result.cluster_weight[j] * squared_distance(result.centroids.row(static_cast<Eigen::Index>(j)).data(), mean.data(), d);
    metrics.calinski_harabasz = result.inertia > 0 && total_weight > static_cast<double>(k)
                                    ? (between / static_cast<double>(k - 1)) / (result.inertia / (total_weight - static_cast<double>(k)))
                                    : std::numeric_limits<double>::infinity();

    // Mean distance of each cluster's points to its centroid (exact sums).
    double bound = 0;
    for (std::size_t i = 0; i < points.rows; ++i) bound = std::max(bound, points.weight(i) * std::sqrt(result.squared_distances[i]));
    const auto grid = FixedPointGrid::for_bound(comm.allreduce(bound, comm::ReduceOp::max));
    std::vector<int128> spread(k, 0);
    for (std::size_t i = 0; i < points.rows; ++i)
      spread[static_cast<std::size_t>(result.labels[i])] += grid.quantize(points.weight(i) * std::sqrt(result.squared_distances[i]));
    comm::allreduce_exact(spread, comm);
    double davies = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const double sj = result.cluster_weight[j] > 0 ? grid.to_double(spread[j]) / result.cluster_weight[j] : 0.0;
      double worst = 0;
      for (std::size_t other = 0; other < k; ++other) {
        if (other == j) continue;
        const double so = result.cluster_weight[other] > 0 ? grid.to_double(spread[other]) / result.cluster_weight[other] : 0.0;
        const double separation = std::sqrt(squared_distance(result.centroids.row(static_cast<Eigen::Index>(j)).data(),
                                                             result.centroids.row(static_cast<Eigen::Index>(other)).data(), d));
        worst = std::max(worst, separation > 0 ? (sj + so) / separation : std::numeric_limits<double>::infinity());
      }
      davies += worst;
    }
    metrics.davies_bouldin = davies / static_cast<double>(k);
    if (silhouette_sample > 0) metrics.silhouette = silhouette(points, result, silhouette_sample, seed, metrics.silhouette_points, comm);
  }
  return metrics;
}

}  // namespace mpiseg::kmeans

#pragma once
/// Quality of a clustering, for choosing k. All sums are exact, so the figures are identical at
/// every rank count.
///
///  - Calinski-Harabasz: [B / (k - 1)] / [W / (N - k)], B = sum_j W_j ||c_j - mean||^2, W = inertia,
///    N = total weight (the number of points when unweighted).
///  - Davies-Bouldin: mean over clusters of max_{j' != j} (s_j + s_j') / ||c_j - c_j'||, s_j the
///    (weighted) mean distance of cluster j's points to c_j.
///  - Silhouette: mean of (b - a) / max(a, b) over a deterministic sample of points (the ones with
///    the smallest hash of (seed, key)); a, b: mean distance to the sample points of the own and of
///    the nearest other cluster; 0 for a point alone in its cluster. Unweighted, as scikit-learn's;
///    exact when the sample covers all points.
#include <cstdint>
#include <limits>

#include "mpiseg/kmeans/lloyd.hpp"

namespace mpiseg::kmeans {

struct ClusterMetrics {
  double calinski_harabasz = std::numeric_limits<double>::quiet_NaN();
  double davies_bouldin = std::numeric_limits<double>::quiet_NaN();
  double silhouette = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t silhouette_points = 0;
};

/// Collective.
ClusterMetrics evaluate_clustering(const Points& points, const LloydResult& result, std::uint64_t silhouette_sample,
                                   std::uint64_t seed, comm::Communicator& comm);

}  // namespace mpiseg::kmeans

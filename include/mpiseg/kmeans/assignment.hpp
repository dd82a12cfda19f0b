#pragma once
/// The nearest-centroid decision and the exact per-cluster sums: the two pieces that make
/// K-means bit-identical at any rank count.
///
/// Assignment. Squared distances are computed blockwise in expanded form,
/// ||x||^2 - 2 x.c + ||c||^2, with the products x.c as one Eigen matrix product per block. The
/// expanded form is fast but cancels badly, and its rounding can depend on how a BLAS-style kernel
/// blocks the product. So every centroid whose expanded distance is within a rigorous rounding
/// bound of the best one is re-examined with the direct distance sum_k (x_k - c_k)^2, summed in a
/// fixed order, and the smallest direct distance wins (ties: lowest centroid index). A point's
/// label is then a function of the point and the centroids only, never of its block or rank.
///
/// Sums. Each rank keeps, per cluster, exact fixed-point sums of w x, w and w ||x||^2 over its
/// points (core/exact_sum.hpp). Points that change cluster are subtracted and added
/// incrementally, which is exact (integers), and one allreduce per iteration gives the global
/// sums; centroids = sums / weights then agree to the last bit on every rank and at every rank
/// count.
#include <Eigen/Dense>
#include <cstdint>
#include <span>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/core/exact_sum.hpp"

namespace mpiseg::kmeans {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// This rank's points: a non-owning view of row-major coordinates with unique keys (customer ids,
/// the same at every rank count) and optional sample weights.
struct Points {
  std::span<const double> values;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::span<const std::uint64_t> keys;
  std::span<const double> weights;  // empty: every weight is 1

  double weight(std::size_t i) const noexcept { return weights.empty() ? 1.0 : weights[i]; }
  const double* row(std::size_t i) const noexcept { return values.data() + i * cols; }
};

/// sum_k (a_k - b_k)^2 in index order (no reassociation: -ffp-contract=off, no -ffast-math).
inline double squared_distance(const double* a, const double* b, std::size_t d) noexcept {
  double sum = 0;
  for (std::size_t k = 0; k < d; ++k) {
    const double difference = a[k] - b[k];
    sum += difference * difference;
  }
  return sum;
}

inline double squared_norm(const double* a, std::size_t d) noexcept {
  double sum = 0;
  for (std::size_t k = 0; k < d; ++k) sum += a[k] * a[k];
  return sum;
}

/// Centroids with what the kernel needs about them.
class CentroidSet {
 public:
  explicit CentroidSet(RowMatrix centroids);
  std::size_t k() const noexcept { return static_cast<std::size_t>(values_.rows()); }
  std::size_t d() const noexcept { return static_cast<std::size_t>(values_.cols()); }
  const RowMatrix& values() const noexcept { return values_; }
  const double* row(std::size_t j) const noexcept { return values_.data() + j * d(); }
  double squared_norm(std::size_t j) const noexcept { return norms_[j]; }
  /// Lower bound on half the distance from centroid j to its nearest other centroid (Hamerly's s).
  double half_separation(std::size_t j) const noexcept { return half_separation_[j]; }

 private:
  friend class AssignmentKernel;
  RowMatrix values_;
  std::vector<double> norms_;
  std::vector<double> half_separation_;
  double max_norm_ = 0;
};

/// Relative margin that keeps Hamerly's bounds valid under rounding.
inline constexpr double kBoundMargin = 1e-12;

/// Nearest centroids of a set of rows.
class AssignmentKernel {
 public:
  static constexpr std::size_t kBlockRows = 256;

  /// For each row r of `rows` (indices into `points`, or all rows when `rows` is empty): the
  /// label, the direct squared distance to it, and (when `second_lower` is non-null) a lower
  /// bound on the Euclidean distance to the nearest other centroid. Outputs are indexed like
  /// `rows` (or by row).
  void assign(const Points& points, std::span<const double> point_norms, std::span<const std::uint32_t> rows,
              const CentroidSet& centroids, std::int32_t* labels, double* squared_distances, double* second_lower);

 private:
  void assign_block(const double* block, std::size_t count, const double* norms, const CentroidSet& centroids,
                    std::int32_t* labels, double* squared_distances, double* second_lower);
  std::vector<double> products_;  // k x kBlockRows: centroid j's products with the block's rows
  std::vector<double> scratch_;   // the block transposed, for the AVX2 kernel
  std::vector<double> best_, runner_up_, best_index_;
  std::vector<double> gathered_;
  std::vector<double> gathered_norms_;
};

/// The nearest of `centroids` (k x d, row-major) to each of the n rows of `rows` (n x d), by the
/// kernel K-means uses (so ties and rounding are K-means' own): the labels, and in `squared` (when
/// given, n values) the squared distances. For scoring customers against a stored or current model.
std::vector<std::int32_t> nearest_centroids(std::span<const double> rows, std::size_t n, std::size_t d, std::span<const double> centroids,
                                            std::size_t k, double* squared = nullptr);

/// Fixed-point grids of the three kinds of sums, from global bounds (identical on every rank).
struct SumGrids {
  FixedPointGrid coordinate = FixedPointGrid::for_bound(1.0);  // |w x_k|
  FixedPointGrid weight = FixedPointGrid::for_bound(1.0);      // w
  FixedPointGrid square = FixedPointGrid::for_bound(1.0);      // w ||x||^2

  /// Collective: bounds from all ranks' points (throws InputError on NaN, Inf or a bad weight).
  static SumGrids for_points(const Points& points, std::span<const double> point_norms, comm::Communicator& comm);
};

/// Exact per-cluster sums (local contributions, or global after reduce()).
class ClusterSums {
 public:
  ClusterSums(std::size_t k, std::size_t d) : k_(k), d_(d), values_(k * d + 2 * k + 1, 0) {}

  void add(std::size_t cluster, const double* x, double w, double x_norm, const SumGrids& grids);
  void remove(std::size_t cluster, const double* x, double w, double x_norm, const SumGrids& grids);
  /// Extra exact counter carried in the same reduction (points that changed cluster).
  int128& counter() noexcept { return values_.back(); }

  /// Collective: the global sums (one allreduce).
  ClusterSums reduce(comm::Communicator& comm) const;

  double weight(std::size_t j, const SumGrids& grids) const noexcept { return grids.weight.to_double(values_[k_ * d_ + j]); }
  /// Centroid j = sums / weight (two roundings, identical everywhere). Empty clusters keep `fallback`.
  RowMatrix centroids(const SumGrids& grids, const RowMatrix& fallback) const;
  /// Sum over clusters of sum_i w ||x_i - c_j||^2 from the sufficient statistics (Q - 2 c.S + W ||c||^2),
  /// in long double; what the objective is after the centroid update.
  double inertia(const RowMatrix& centroids, const SumGrids& grids) const;
  bool empty(std::size_t j) const noexcept { return values_[k_ * d_ + j] == 0; }

 private:
  std::size_t k_, d_;
  std::vector<int128> values_;  // k*d coordinate sums, k weights, k weighted squared norms, counter
};

}  // namespace mpiseg::kmeans

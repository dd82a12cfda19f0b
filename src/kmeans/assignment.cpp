#include "mpiseg/kmeans/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/comm/collectives.hpp"
#include "block_products.hpp"
#include "mpiseg/core/error.hpp"

namespace mpiseg::kmeans {
namespace {
constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
}  // namespace

CentroidSet::CentroidSet(RowMatrix centroids) : values_(std::move(centroids)) {
  const std::size_t count = k(), dims = d();
  norms_.resize(count);
  for (std::size_t j = 0; j < count; ++j) {
    norms_[j] = kmeans::squared_norm(row(j), dims);
    max_norm_ = std::max(max_norm_, std::sqrt(norms_[j]));
  }
  half_separation_.assign(count, kInfinity);
  for (std::size_t j = 0; j < count; ++j)
    for (std::size_t other = j + 1; other < count; ++other) {
      const double half = 0.5 * std::sqrt(squared_distance(row(j), row(other), dims)) * (1.0 - kBoundMargin);
      half_separation_[j] = std::min(half_separation_[j], half);
      half_separation_[other] = std::min(half_separation_[other], half);
    }
}

void AssignmentKernel::assign(const Points& points, std::span<const double> point_norms, std::span<const std::uint32_t> rows,
                              const CentroidSet& centroids, std::int32_t* labels, double* squared_distances,
                              double* second_lower) {
  const std::size_t d = points.cols;
  const std::size_t total = rows.empty() ? points.rows : rows.size();
  for (std::size_t start = 0; start < total; start += kBlockRows) {
    const std::size_t count = std::min(kBlockRows, total - start);
    const double* block = nullptr;
    const double* norms = nullptr;
    if (rows.empty()) {
      block = points.row(start);
      norms = point_norms.data() + start;
    } else {
      gathered_.resize(count * d);
      gathered_norms_.resize(count);
      for (std::size_t i = 0; i < count; ++i) {
        std::memcpy(&gathered_[i * d], points.row(rows[start + i]), d * sizeof(double));
        gathered_norms_[i] = point_norms[rows[start + i]];
      }
      block = gathered_.data();
      norms = gathered_norms_.data();
    }
    assign_block(block, count, norms, centroids, labels + start, squared_distances + start,
                 second_lower == nullptr ? nullptr : second_lower + start);
  }
}

void AssignmentKernel::assign_block(const double* block, std::size_t count, const double* norms, const CentroidSet& centroids,
                                    std::int32_t* labels, double* squared_distances, double* second_lower) {
  const std::size_t k = centroids.k(), d = centroids.d(), stride = kBlockRows;
  products_.resize(k * stride);
  if (detail::use_avx2_kernel()) {
    scratch_.resize(kBlockRows * d);
    detail::block_products_avx2(block, count, d, centroids.values_.data(), k, products_.data(), stride, scratch_.data());
  } else {
    // A row-major block of points is, read column-major, its d x count transpose: C X^T needs no copy.
    using ColMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    const Eigen::Map<const ColMatrix> x_transposed(block, static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(count));
    Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>> products(products_.data(), static_cast<Eigen::Index>(k),
                                                            static_cast<Eigen::Index>(count), Eigen::OuterStride<>(static_cast<Eigen::Index>(stride)));
    products.noalias() = centroids.values_ * x_transposed;
  }
  // Rigorous bound on the rounding error of an expanded squared distance: |error| <=
  // (d + 3) eps (|x| + |c|)^2 <= 2 (d + 3) eps (|x|^2 + |c|^2) for any summation order (FMA
  // included); doubled again for safety.
  const double error_factor = 4.0 * static_cast<double>(d + 4) * kEpsilon;
  const double largest_norm = centroids.max_norm_ * centroids.max_norm_;

  // Smallest and second smallest expanded distance per row (without the constant ||x||^2).
  best_.resize(count);
  runner_up_.resize(count);
  best_index_.resize(count);
  detail::nearest_two(products_.data(), stride, k, count, centroids.norms_.data(), best_.data(), runner_up_.data(),
                      best_index_.data());
  const double* best = best_.data();
  const double* runner_up = runner_up_.data();
  for (std::size_t i = 0; i < count; ++i) {
    const double tolerance = error_factor * (norms[i] + largest_norm);
    std::size_t label = static_cast<std::size_t>(best_index_[i]);
    double other = runner_up[i];  // expanded distance to the nearest centroid other than the label
    if (runner_up[i] <= best[i] + 2.0 * tolerance) {
      // A near tie: any centroid this close might be the true nearest; decide by direct distance.
      const double* point = block + i * d;
      double smallest = kInfinity;
      for (std::size_t j = 0; j < k; ++j) {
        if (centroids.norms_[j] - 2.0 * products_[j * stride + i] > best[i] + 2.0 * tolerance) continue;
        const double direct = squared_distance(point, centroids.row(j), d);
        if (direct < smallest) {
          smallest = direct;
          label = j;
        }
      }
      other = kInfinity;
      for (std::size_t j = 0; j < k; ++j)
        if (j != label) other = std::min(other, centroids.norms_[j] - 2.0 * products_[j * stride + i]);
    }
    labels[i] = static_cast<std::int32_t>(label);
    if (second_lower != nullptr)
      second_lower[i] = other == kInfinity ? kInfinity : std::sqrt(std::max(0.0, norms[i] + other - tolerance)) * (1.0 - kBoundMargin);
  }
  // Direct squared distances to the chosen centroids, a whole block at a time: the sums of
  // different rows are independent, so their latency overlaps, while each row still adds its
  // terms in index order (bit-identical to squared_distance()).
  detail::direct_distances(block, count, d, centroids.values_.data(), labels, squared_distances);
}

SumGrids SumGrids::for_points(const Points& points, std::span<const double> point_norms, comm::Communicator& comm) {
  double coordinate = 0, weight = 0, square = 0;
  std::uint64_t bad_weights = 0;
  for (std::size_t i = 0; i < points.rows; ++i) {
    const double w = points.weight(i);
    if (!(w >= 0) || !std::isfinite(w)) {
      ++bad_weights;
      continue;
    }
    weight = std::max(weight, w);
    square = std::max(square, w * point_norms[i]);
    for (std::size_t k = 0; k < points.cols; ++k) coordinate = std::max(coordinate, std::abs(w * points.row(i)[k]));
  }
  if (comm.allreduce(bad_weights, comm::ReduceOp::sum) != 0)
    throw InputError("sample weights must be finite and >= 0");
  SumGrids grids;
  grids.coordinate = FixedPointGrid::for_bound(comm.allreduce(coordinate, comm::ReduceOp::max));
  grids.weight = FixedPointGrid::for_bound(comm.allreduce(weight, comm::ReduceOp::max));
  grids.square = FixedPointGrid::for_bound(comm.allreduce(square, comm::ReduceOp::max));
  return grids;
}

void ClusterSums::add(std::size_t cluster, const double* x, double w, double x_norm, const SumGrids& grids) {
  int128* sums = &values_[cluster * d_];
  for (std::size_t k = 0; k < d_; ++k) sums[k] += grids.coordinate.quantize(w * x[k]);
  values_[k_ * d_ + cluster] += grids.weight.quantize(w);
  values_[k_ * d_ + k_ + cluster] += grids.square.quantize(w * x_norm);
}

void ClusterSums::remove(std::size_t cluster, const double* x, double w, double x_norm, const SumGrids& grids) {
  int128* sums = &values_[cluster * d_];
  for (std::size_t k = 0; k < d_; ++k) sums[k] -= grids.coordinate.quantize(w * x[k]);
  values_[k_ * d_ + cluster] -= grids.weight.quantize(w);
  values_[k_ * d_ + k_ + cluster] -= grids.square.quantize(w * x_norm);
}

ClusterSums ClusterSums::reduce(comm::Communicator& comm) const {
  ClusterSums global = *this;
  comm::allreduce_exact(global.values_, comm);
  return global;
}

RowMatrix ClusterSums::centroids(const SumGrids& grids, const RowMatrix& fallback) const {
  RowMatrix result = fallback;
  for (std::size_t j = 0; j < k_; ++j) {
    if (empty(j)) continue;
    const double w = grids.weight.to_double(values_[k_ * d_ + j]);
    for (std::size_t k = 0; k < d_; ++k)
      result(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(k)) = grids.coordinate.to_double(values_[j * d_ + k]) / w;
  }
  return result;
}

double ClusterSums::inertia(const RowMatrix& centroids, const SumGrids& grids) const {
  auto wide = [](int128 value, const FixedPointGrid& grid) {
    return std::ldexp(static_cast<long double>(value), -grid.shift());
  };
  long double total = 0;
  for (std::size_t j = 0; j < k_; ++j) {
    if (empty(j)) continue;
    long double cross = 0, norm = 0;
    for (std::size_t k = 0; k < d_; ++k) {
      const long double c = centroids(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(k));
      cross += c * wide(values_[j * d_ + k], grids.coordinate);
      norm += c * c;
    }
    const long double cluster = wide(values_[k_ * d_ + k_ + j], grids.square) - 2 * cross +
                                wide(values_[k_ * d_ + j], grids.weight) * norm;
    total += std::max<long double>(cluster, 0);
  }
  return static_cast<double>(total);
}

std::vector<std::int32_t> nearest_centroids(std::span<const double> rows, std::size_t n, std::size_t d, std::span<const double> centroids,
                                            std::size_t k, double* squared) {
  const Points points{rows, n, d, {}, {}};
  std::vector<double> norms(n), distances(n);
  for (std::size_t i = 0; i < n; ++i) norms[i] = squared_norm(points.row(i), d);
  const CentroidSet set(Eigen::Map<const RowMatrix>(centroids.data(), static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d)));
  std::vector<std::int32_t> labels(n, -1);
  AssignmentKernel().assign(points, norms, {}, set, labels.data(), squared != nullptr ? squared : distances.data(), nullptr);
  return labels;
}

}  // namespace mpiseg::kmeans

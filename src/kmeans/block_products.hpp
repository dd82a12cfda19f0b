#pragma once
// The inner loops of the assignment, for a block of points: products with every centroid, the
// nearest and second nearest expanded distance, and the direct distance to the chosen centroid.
// Each has a portable version and an AVX2/FMA version chosen at run time when the CPU has it
// (the same binary still runs on older nodes). The direct distances add their terms in index
// order in both versions (bit-identical); the products may round differently, which never
// changes a label because the assignment re-decides every near tie with direct distances.
#include <cstddef>
#include <cstdint>

namespace mpiseg::kmeans::detail {

/// True when the AVX2/FMA versions may be used: the CPU supports them and MPISEG_KERNEL is not
/// "generic" (tests set it to compare both paths).
bool use_avx2_kernel();

/// out[j * stride + b] = sum_t c[j * d + t] * x[b * d + t] for b < rows, j < k. `scratch` holds
/// rows x d doubles (the block transposed). AVX2 version only; the portable one is Eigen's.
void block_products_avx2(const double* x, std::size_t rows, std::size_t d, const double* c, std::size_t k, double* out,
                         std::size_t stride, double* scratch);

/// For each row b: best[b], runner_up[b] = the two smallest of norms[j] - 2 products[j * stride + b]
/// over j, and index[b] = the first j attaining best[b] (as a double).
void nearest_two(const double* products, std::size_t stride, std::size_t k, std::size_t rows, const double* norms, double* best,
                 double* runner_up, double* index);

/// out[p] = sum_t (x[t] - columns[t * stride + p])^2 for p < count (a multiple of 4), terms added
/// in t order: one point's direct distances to centroids stored as columns (bit-identical to
/// squared_distance() in both versions).
void distances_to_columns(const double* x, std::size_t d, const double* columns, std::size_t stride, std::size_t count, double* out);

/// out[b] = sum_t (x[b * d + t] - c[labels[b] * d + t])^2, terms added in t order.
void direct_distances(const double* x, std::size_t rows, std::size_t d, const double* c, const std::int32_t* labels, double* out);

}  // namespace mpiseg::kmeans::detail

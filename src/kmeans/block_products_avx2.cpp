// Only the functions marked with the target attribute use AVX2/FMA; nothing else in this file
// (and no template shared with other files) is compiled for it, so the binary stays runnable on
// CPUs without AVX2.
#include <immintrin.h>

#include <limits>

#include "block_products.hpp"
#include "mpiseg/core/resources.hpp"

namespace mpiseg::kmeans::detail {
namespace {

// Bodies written once and compiled twice (portable and AVX2): always inlined into each caller.
__attribute__((always_inline)) inline void nearest_two_body(const double* products, std::size_t stride, std::size_t k,
                                                            std::size_t rows, const double* norms, double* __restrict best,
                                                            double* __restrict runner_up, double* __restrict index) {
  for (std::size_t b = 0; b < rows; ++b) {
    best[b] = std::numeric_limits<double>::infinity();
    runner_up[b] = std::numeric_limits<double>::infinity();
    index[b] = 0;
  }
  for (std::size_t j = 0; j < k; ++j) {
    const double norm = norms[j];
    const double* __restrict row = products + j * stride;
    const auto position = static_cast<double>(j);
    // The four arrays never overlap (the caller owns them); the run-time overlap check GCC would
    // otherwise emit can fall back to the scalar loop.
#pragma GCC ivdep
    for (std::size_t b = 0; b < rows; ++b) {
      // Branch-free selects, so that the loop vectorises.
      const double expanded = norm - 2.0 * row[b];
      const double current = best[b];
      const double second = runner_up[b];
      const double smaller_second = second < expanded ? second : expanded;
      runner_up[b] = current > smaller_second ? current : smaller_second;
      const double previous = index[b];
      index[b] = expanded < current ? position : previous;
      best[b] = expanded < current ? expanded : current;
    }
  }
}

__attribute__((always_inline)) inline void direct_distances_body(const double* x, std::size_t rows, std::size_t d, const double* c,
                                                                 const std::int32_t* labels, double* __restrict out) {
  for (std::size_t b = 0; b < rows; ++b) out[b] = 0.0;
  for (std::size_t t = 0; t < d; ++t)
#pragma GCC ivdep
    for (std::size_t b = 0; b < rows; ++b) {
      const double difference = x[b * d + t] - c[static_cast<std::size_t>(labels[b]) * d + t];
      out[b] += difference * difference;
    }
}

__attribute__((always_inline)) inline void distances_to_columns_body(const double* x, std::size_t d, const double* columns,
                                                                     std::size_t stride, std::size_t count, double* __restrict out) {
  for (std::size_t p = 0; p < count; ++p) out[p] = 0.0;
  for (std::size_t t = 0; t < d; ++t) {
    const double coordinate = x[t];
    const double* __restrict column = columns + t * stride;
#pragma GCC ivdep
    for (std::size_t p = 0; p < count; ++p) {
      const double difference = coordinate - column[p];
      out[p] += difference * difference;
    }
  }
}

__attribute__((target("avx2,fma"))) void distances_to_columns_avx2(const double* x, std::size_t d, const double* columns,
                                                                    std::size_t stride, std::size_t count, double* out) {
  // Separate multiply and add, never fused (-ffp-contract=off): bit-identical to the portable loop.
  for (std::size_t p = 0; p < count; p += 4) {
    __m256d sum = _mm256_setzero_pd();
    for (std::size_t t = 0; t < d; ++t) {
      const __m256d difference = _mm256_sub_pd(_mm256_set1_pd(x[t]), _mm256_loadu_pd(columns + t * stride + p));
      sum = _mm256_add_pd(sum, _mm256_mul_pd(difference, difference));
    }
    _mm256_storeu_pd(out + p, sum);
  }
}

__attribute__((target("avx2,fma"))) void nearest_two_avx2(const double* products, std::size_t stride, std::size_t k,
                                                           std::size_t rows, const double* norms, double* best,
                                                           double* runner_up, double* index) {
  const std::size_t vector_rows = rows / 4 * 4;
  const __m256d two = _mm256_set1_pd(2.0);
  for (std::size_t b = 0; b < rows; ++b) {
    best[b] = std::numeric_limits<double>::infinity();
    runner_up[b] = std::numeric_limits<double>::infinity();
    index[b] = 0;
  }
  for (std::size_t j = 0; j < k; ++j) {
    const __m256d norm = _mm256_set1_pd(norms[j]);
    const __m256d position = _mm256_set1_pd(static_cast<double>(j));
    const double* row = products + j * stride;
    for (std::size_t b = 0; b < vector_rows; b += 4) {
      // The same selects as nearest_two_body(): min and max pick their first operand exactly
      // like `a < b ? a : b` and `a > b ? a : b`.
      const __m256d expanded = _mm256_sub_pd(norm, _mm256_mul_pd(two, _mm256_loadu_pd(row + b)));
      const __m256d current = _mm256_loadu_pd(best + b);
      const __m256d second = _mm256_loadu_pd(runner_up + b);
      const __m256d nearer = _mm256_cmp_pd(expanded, current, _CMP_LT_OQ);
      _mm256_storeu_pd(runner_up + b, _mm256_max_pd(current, _mm256_min_pd(second, expanded)));
      _mm256_storeu_pd(index + b, _mm256_blendv_pd(_mm256_loadu_pd(index + b), position, nearer));
      _mm256_storeu_pd(best + b, _mm256_blendv_pd(current, expanded, nearer));
    }
    for (std::size_t b = vector_rows; b < rows; ++b) {
      const double expanded = norms[j] - 2.0 * row[b];
      const double current = best[b];
      const double smaller_second = runner_up[b] < expanded ? runner_up[b] : expanded;
      runner_up[b] = current > smaller_second ? current : smaller_second;
      index[b] = expanded < current ? static_cast<double>(j) : index[b];
      best[b] = expanded < current ? expanded : current;
    }
  }
}

__attribute__((target("avx2,fma"))) void direct_distances_avx2(const double* x, std::size_t rows, std::size_t d, const double* c,
                                                                const std::int32_t* labels, double* out) {
  // Four rows at a time, each adding its terms in index order with separate multiply and add
  // (no FMA): bit-identical to the portable loop.
  const std::size_t vector_rows = rows / 4 * 4;
  const __m128i width = _mm_set1_epi32(static_cast<int>(d));
  const __m128i offsets = _mm_set_epi32(3 * static_cast<int>(d), 2 * static_cast<int>(d), static_cast<int>(d), 0);
  for (std::size_t b = 0; b < vector_rows; b += 4) {
    const __m128i centroid_start = _mm_mullo_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(labels + b)), width);
    const __m128i point_start = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(b * d)), offsets);
    __m256d sum = _mm256_setzero_pd();
    // The masked form with an explicit zero source: the plain gather trips GCC 12's
    // -Wmaybe-uninitialized inside its own header.
    const __m256d zero = _mm256_setzero_pd();
    const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    for (std::size_t t = 0; t < d; ++t) {
      const __m128i step = _mm_set1_epi32(static_cast<int>(t));
      const __m256d point = _mm256_mask_i32gather_pd(zero, x, _mm_add_epi32(point_start, step), all, 8);
      const __m256d centroid = _mm256_mask_i32gather_pd(zero, c, _mm_add_epi32(centroid_start, step), all, 8);
      const __m256d difference = _mm256_sub_pd(point, centroid);
      sum = _mm256_add_pd(sum, _mm256_mul_pd(difference, difference));
    }
    _mm256_storeu_pd(out + b, sum);
  }
  direct_distances_body(x + vector_rows * d, rows - vector_rows, d, c, labels + vector_rows, out + vector_rows);
}

}  // namespace

void nearest_two(const double* products, std::size_t stride, std::size_t k, std::size_t rows, const double* norms, double* best,
                 double* runner_up, double* index) {
  if (use_avx2_kernel())
    nearest_two_avx2(products, stride, k, rows, norms, best, runner_up, index);
  else
    nearest_two_body(products, stride, k, rows, norms, best, runner_up, index);
}

void distances_to_columns(const double* x, std::size_t d, const double* columns, std::size_t stride, std::size_t count, double* out) {
  if (use_avx2_kernel())
    distances_to_columns_avx2(x, d, columns, stride, count, out);
  else
    distances_to_columns_body(x, d, columns, stride, count, out);
}

void direct_distances(const double* x, std::size_t rows, std::size_t d, const double* c, const std::int32_t* labels, double* out) {
  if (use_avx2_kernel())
    direct_distances_avx2(x, rows, d, c, labels, out);
  else
    direct_distances_body(x, rows, d, c, labels, out);
}

bool use_avx2_kernel() {
  static const bool chosen = [] {
    if (!cpu_specific_kernels_allowed()) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return chosen;
}

__attribute__((target("avx2,fma"))) void block_products_avx2(const double* x, std::size_t rows, std::size_t d,
                                                              const double* c, std::size_t k, double* out,
                                                              std::size_t stride, double* scratch) {
  // The block transposed (d x rows), so that one dimension of 8 consecutive points is two loads.
  for (std::size_t b = 0; b < rows; ++b)
    for (std::size_t t = 0; t < d; ++t) scratch[t * rows + b] = x[b * d + t];
  // Tiles of 4 centroids x 8 points: 8 accumulators; per depth step 2 loads and 4 broadcasts
  // feed 8 fused multiply-adds.
  std::size_t b = 0;
  for (; b + 8 <= rows; b += 8) {
    std::size_t j = 0;
    for (; j + 4 <= k; j += 4) {
      __m256d sums[4][2];
      for (auto& row : sums) row[0] = row[1] = _mm256_setzero_pd();
      for (std::size_t t = 0; t < d; ++t) {
        const __m256d x0 = _mm256_loadu_pd(scratch + t * rows + b);
        const __m256d x1 = _mm256_loadu_pd(scratch + t * rows + b + 4);
        for (std::size_t r = 0; r < 4; ++r) {
          const __m256d v = _mm256_broadcast_sd(c + (j + r) * d + t);
          sums[r][0] = _mm256_fmadd_pd(v, x0, sums[r][0]);
          sums[r][1] = _mm256_fmadd_pd(v, x1, sums[r][1]);
        }
      }
      for (std::size_t r = 0; r < 4; ++r) {
        _mm256_storeu_pd(out + (j + r) * stride + b, sums[r][0]);
        _mm256_storeu_pd(out + (j + r) * stride + b + 4, sums[r][1]);
      }
    }
    for (; j < k; ++j) {
      __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
      for (std::size_t t = 0; t < d; ++t) {
        const __m256d v = _mm256_broadcast_sd(c + j * d + t);
        s0 = _mm256_fmadd_pd(v, _mm256_loadu_pd(scratch + t * rows + b), s0);
        s1 = _mm256_fmadd_pd(v, _mm256_loadu_pd(scratch + t * rows + b + 4), s1);
      }
      _mm256_storeu_pd(out + j * stride + b, s0);
      _mm256_storeu_pd(out + j * stride + b + 4, s1);
    }
  }
  for (; b < rows; ++b)
    for (std::size_t j = 0; j < k; ++j) {
      double sum = 0;
      for (std::size_t t = 0; t < d; ++t) sum += c[j * d + t] * x[b * d + t];
      out[j * stride + b] = sum;
    }
}

}  // namespace mpiseg::kmeans::detail

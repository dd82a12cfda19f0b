#pragma once
/// Distributed L2-regularised logistic regression by Newton's method (IRLS), exact at any rank count.
///
///   const LogisticModel model = fit_logistic(settings, {x, y, rows, cols}, comm);
///   double p = model.probability(row);
///
/// Each rank holds some customers' rows. Every Newton iteration reduces the gradient, the
/// Hessian and the loss with exact fixed-point sums (core/exact_sum.hpp: each term rounded once
/// onto a grid fixed by global bounds, integers added), so every rank solves the same system and
/// the coefficients are bit-identical for any rank count and any distribution of the rows.
/// The step is halved while the loss does not fall; the fit stops when max |gradient| <= tol x
/// the total sample weight, after max_iter iterations, or when no step lowers the loss.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/propensity/settings.hpp"

namespace mpiseg::propensity {

/// This rank's training rows: x row-major (rows x cols), y 0 or 1.
struct Design {
  std::span<const double> x;
  std::span<const std::uint8_t> y;
  std::size_t rows = 0;
  std::size_t cols = 0;
};

enum class Convergence { gradient_tolerance, max_iter, no_progress };
const char* convergence_name(Convergence reason);

struct LogisticModel {
  std::vector<double> coefficients;  // one per column
  double intercept = 0;
  std::int64_t iterations = 0;
  Convergence reason = Convergence::max_iter;
  std::vector<double> loss_history;  // objective before the first step and after each iteration
  double gradient_max = 0;           // max |gradient| at the end
  std::uint64_t rows = 0, positives = 0;  // global
  double positive_weight = 1, negative_weight = 1;
  bool separable = false;             // every positive scores above every negative (training rows)
  std::vector<std::size_t> constant_columns;  // columns with one value over all rows (coefficient 0 by the penalty)

  /// z = intercept + row . coefficients, summed in column order (the same bits on every rank).
  double logit(const double* row) const noexcept;
};

/// 1 / (1 + exp(-z)) without overflow.
double sigmoid(double z) noexcept;
/// log(1 + exp(z)) without overflow or loss of precision.
double softplus(double z) noexcept;

/// Collective. Throws InputError when there are no rows or only one class over all ranks.
LogisticModel fit_logistic(const LogisticSettings& settings, const Design& design, comm::Communicator& comm);

}  // namespace mpiseg::propensity

#include "mpiseg/propensity/logistic.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/exact_sum.hpp"

namespace mpiseg::propensity {
namespace {

/// Exact sums of m quantities, each with its own grid (from a global bound of its terms).
class ExactSums {
 public:
  explicit ExactSums(const std::vector<double>& bounds) : sums_(bounds.size(), 0) {
    for (double bound : bounds) grids_.push_back(FixedPointGrid::for_bound(bound));
  }
  void add(std::size_t q, double term) noexcept { sums_[q] += grids_[q].quantize(term); }
  /// Collective: the global sums, identical on every rank.
  std::vector<double> reduce(comm::Communicator& comm) {
    comm::allreduce_exact(sums_, comm);
    std::vector<double> out(sums_.size());
    for (std::size_t q = 0; q < sums_.size(); ++q) out[q] = grids_[q].to_double(sums_[q]);
    return out;
  }

 private:
  std::vector<FixedPointGrid> grids_;
  std::vector<int128> sums_;
};

struct Problem {
  const LogisticSettings& settings;
  const Design& design;
  std::vector<double> column_max;  // global max |x_j|
  double weight_max = 1;
  double positive_weight = 1, negative_weight = 1;

  double weight(std::size_t i) const noexcept { return design.y[i] ? positive_weight : negative_weight; }

  /// A global bound of |z| for coefficients w and intercept b.
  double logit_bound(const std::vector<double>& w, double b) const noexcept {
    double bound = std::abs(b);
    for (std::size_t j = 0; j < w.size(); ++j) bound += std::abs(w[j]) * column_max[j];
    return bound;
  }

  double penalty(const std::vector<double>& w) const noexcept {
    double sum = 0;
    for (double value : w) sum += value * value;
    return 0.5 * settings.l2 * sum;
  }

  /// Collective: the objective at (w, b).
  double objective(const LogisticModel& model, comm::Communicator& comm) const {
    ExactSums sums({weight_max * (logit_bound(model.coefficients, model.intercept) + 1.0)});
    for (std::size_t i = 0; i < design.rows; ++i) {
      const double z = model.logit(&design.x[i * design.cols]);
      sums.add(0, weight(i) * (softplus(z) - (design.y[i] ? z : 0.0)));
    }
    return sums.reduce(comm)[0] + penalty(model.coefficients);
  }
};

}  // namespace

const char* convergence_name(Convergence reason) {
  switch (reason) {
    case Convergence::gradient_tolerance: return "gradient_tolerance";
    case Convergence::max_iter: return "max_iter";
    case Convergence::no_progress: return "no_progress";
  }
  return "?";
}

double sigmoid(double z) noexcept {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double softplus(double z) noexcept { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double LogisticModel::logit(const double* row) const noexcept {
  double z = intercept;
  for (std::size_t j = 0; j < coefficients.size(); ++j) z += row[j] * coefficients[j];
  return z;
}

LogisticModel fit_logistic(const LogisticSettings& settings, const Design& design, comm::Communicator& comm) {
  const std::size_t d = design.cols, n = design.rows;
  LogisticModel model;
  model.coefficients.assign(d, 0.0);

  // Global counts, column ranges (for the grids and the constant-column warning).
  std::uint64_t counts[2] = {n, 0};
  for (std::size_t i = 0; i < n; ++i) counts[1] += design.y[i] ? 1 : 0;
  comm.allreduce(std::span<std::uint64_t>(counts), comm::ReduceOp::sum);
  model.rows = counts[0];
  model.positives = counts[1];
  if (model.rows == 0) throw InputError("no customer to train on");
  if (model.positives == 0 || model.positives == model.rows)
    throw InputError(fmt::format("only one class among the {} training customers ({})", model.rows,
                                 model.positives == 0 ? "no positive" : "no negative"));
  std::vector<double> low(d, 0.0), high(d, 0.0);
  for (std::size_t j = 0; j < d; ++j) {
    low[j] = n ? design.x[j] : 0.0;
    high[j] = low[j];
    for (std::size_t i = 0; i < n; ++i) {
      const double value = design.x[i * d + j];
      if (!std::isfinite(value)) throw InputError(fmt::format("training feature {} is not finite", j));
      low[j] = std::min(low[j], value);
      high[j] = std::max(high[j], value);
    }
    if (n == 0) low[j] = std::numeric_limits<double>::infinity(), high[j] = -std::numeric_limits<double>::infinity();
  }
  comm.allreduce(std::span<double>(low), comm::ReduceOp::min);
  comm.allreduce(std::span<double>(high), comm::ReduceOp::max);

  const double negatives = static_cast<double>(model.rows - model.positives);
  Problem problem{settings, design, std::vector<double>(d), 1.0, 1.0, 1.0};
  for (std::size_t j = 0; j < d; ++j) {
    problem.column_max[j] = std::max(std::abs(low[j]), std::abs(high[j]));
    if (low[j] == high[j]) model.constant_columns.push_back(j);
  }
  if (settings.class_weight == ClassWeight::balanced) {
    problem.positive_weight = static_cast<double>(model.rows) / (2.0 * static_cast<double>(model.positives));
    problem.negative_weight = static_cast<double>(model.rows) / (2.0 * negatives);
  }
  problem.weight_max = std::max(problem.positive_weight, problem.negative_weight);
  model.positive_weight = problem.positive_weight;
  model.negative_weight = problem.negative_weight;
  const double total_weight = problem.positive_weight * static_cast<double>(model.positives) + problem.negative_weight * negatives;

  // Unknowns: the coefficients, then the intercept when fitted. Quantities reduced per
  // iteration: the loss, the gradient (p), the Hessian's upper triangle (p (p + 1) / 2).
  const std::size_t p = d + (settings.fit_intercept ? 1 : 0);
  const auto column_bound = [&](std::size_t j) { return j < d ? problem.column_max[j] : 1.0; };
  const auto upper = [&](std::size_t a, std::size_t b) { return p + 1 + a * p - a * (a + 1) / 2 + b; };  // a <= b
  double loss = problem.objective(model, comm);
  model.loss_history.push_back(loss);
  std::vector<double> row(p);
  for (model.iterations = 0;;) {
    std::vector<double> bounds(1 + p + p * (p + 1) / 2);
    bounds[0] = 0;  // the loss is not needed from this pass
    for (std::size_t a = 0; a < p; ++a) {
      bounds[1 + a] = problem.weight_max * column_bound(a);
      for (std::size_t b = a; b < p; ++b) bounds[upper(a, b)] = problem.weight_max * 0.25 * column_bound(a) * column_bound(b);
    }
    ExactSums sums(bounds);
    for (std::size_t i = 0; i < n; ++i) {
      const double* x = &design.x[i * d];
      const double z = model.logit(x);
      const double probability = sigmoid(z);
      const double s = problem.weight(i);
      const double residual = s * (probability - (design.y[i] ? 1.0 : 0.0));
      const double curvature = s * probability * (1.0 - probability);
      std::copy(x, x + d, row.begin());
      if (settings.fit_intercept) row[d] = 1.0;
      for (std::size_t a = 0; a < p; ++a) {
        sums.add(1 + a, residual * row[a]);
        const double scaled = curvature * row[a];
        for (std::size_t b = a; b < p; ++b) sums.add(upper(a, b), scaled * row[b]);
      }
    }
    const std::vector<double> totals = sums.reduce(comm);
    Eigen::VectorXd gradient(static_cast<Eigen::Index>(p));
    Eigen::MatrixXd hessian(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(p));
    for (std::size_t a = 0; a < p; ++a) {
      const auto ia = static_cast<Eigen::Index>(a);
      gradient(ia) = totals[1 + a] + (a < d ? settings.l2 * model.coefficients[a] : 0.0);
      for (std::size_t b = a; b < p; ++b) {
        const auto ib = static_cast<Eigen::Index>(b);
        hessian(ia, ib) = totals[upper(a, b)] + (a == b && a < d ? settings.l2 : 0.0);
        hessian(ib, ia) = hessian(ia, ib);
      }
    }
    model.gradient_max = gradient.cwiseAbs().maxCoeff();
    if (model.gradient_max <= settings.tol * total_weight) {
      model.reason = Convergence::gradient_tolerance;
      break;
    }
    if (model.iterations >= settings.max_iter) {
      model.reason = Convergence::max_iter;
      break;
    }
    const Eigen::VectorXd step = hessian.ldlt().solve(gradient);
    if (!step.allFinite()) {
      model.reason = Convergence::no_progress;
      break;
    }
    // Step halving: the full Newton step, then halves, until the objective falls.
    LogisticModel trial = model;
    double scale = 1.0, trial_loss = loss;
    bool improved = false;
    for (int halving = 0; halving < 40 && !improved; ++halving, scale *= 0.5) {
      for (std::size_t j = 0; j < d; ++j) trial.coefficients[j] = model.coefficients[j] - scale * step(static_cast<Eigen::Index>(j));
      if (settings.fit_intercept) trial.intercept = model.intercept - scale * step(static_cast<Eigen::Index>(d));
      trial_loss = problem.objective(trial, comm);
      // Near the optimum a Newton step changes the loss by less than its rounding: such a step
      // is taken (the gradient, not the loss, then says whether the fit has converged).
      improved = trial_loss < loss || (halving == 0 && trial_loss <= loss + 16 * std::numeric_limits<double>::epsilon() * std::abs(loss));
    }
    ++model.iterations;
    if (!improved) {
      model.reason = Convergence::no_progress;
      break;
    }
    model.coefficients = trial.coefficients;
    model.intercept = trial.intercept;
    loss = trial_loss;
    model.loss_history.push_back(loss);
  }
  // Separation: the smallest positive logit above the largest negative one.
  double extremes[2] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (std::size_t i = 0; i < n; ++i) {
    const double z = model.logit(&design.x[i * d]);
    if (design.y[i]) extremes[0] = std::min(extremes[0], z);
    else extremes[1] = std::max(extremes[1], z);
  }
  extremes[0] = comm.allreduce(extremes[0], comm::ReduceOp::min);
  extremes[1] = comm.allreduce(extremes[1], comm::ReduceOp::max);
  model.separable = extremes[0] > extremes[1];
  return model;
}

}  // namespace mpiseg::propensity

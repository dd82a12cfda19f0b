// Implicit-feedback ALS: customers solved on their rank, items on their owner rank from sums
// reduced exactly (fixed-point grid), factors shared after each half-step.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/recommend/methods.hpp"

namespace mpiseg::recommend {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;
constexpr std::uint64_t kStreamAlsFactors = 0x616c73;  // "als"
constexpr double kLog1pUnit = 0x1p-20;                 // log1p values are multiples of it (integer sums)

/// Upper triangle of a k x k symmetric matrix, row by row: k (k + 1) / 2 entries.
std::size_t triangle(std::size_t k) { return k * (k + 1) / 2; }

Matrix from_triangle(const double* upper, std::size_t k) {
  Matrix m(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k));
  std::size_t t = 0;
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a; b < k; ++b, ++t) {
      m(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) = upper[t];
      m(static_cast<Eigen::Index>(b), static_cast<Eigen::Index>(a)) = upper[t];
    }
  return m;
}

/// Y^T Y in a fixed order (items ascending): the same bits on every rank, which all hold Y.
Matrix gram(const std::vector<double>& factors, std::size_t rows, std::size_t k) {
  Matrix g = Matrix::Zero(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k));
  for (std::size_t r = 0; r < rows; ++r) {
    const double* y = &factors[r * k];
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t b = a; b < k; ++b) g(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) += y[a] * y[b];
  }
  return g.selfadjointView<Eigen::Upper>();
}

Vector solve(const Matrix& a, const Vector& b) {
  return a.ldlt().solve(b);
}

/// The customer half-step for fixed item factors (and their Gram matrix).
void solve_customers(const Matrix& yty, const Matrix& ridge, const std::vector<double>& item_factors, const std::vector<double>& confidence,
                     const Interactions& interactions, std::size_t k, std::vector<double>& customer_factors) {
  const auto K = static_cast<Eigen::Index>(k);
  customer_factors.assign(interactions.customers() * k, 0.0);
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    if (interactions.items.offsets[c] == interactions.items.offsets[c + 1]) continue;  // nothing bought: x = 0
    Matrix a = yty + ridge;
    Vector b = Vector::Zero(K);
    for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
      const Eigen::Map<const Vector> y(&item_factors[interactions.items.item[e] * k], K);
      a.selfadjointView<Eigen::Upper>().rankUpdate(y, confidence[e] - 1.0);
      b += confidence[e] * y;
    }
    a.triangularView<Eigen::StrictlyLower>() = a.transpose();
    Eigen::Map<Vector>(&customer_factors[c * k], K) = solve(a, b);
  }
}

std::vector<double> confidences(const AlsSettings& settings, const Interactions& interactions) {
  std::vector<double> confidence(interactions.items.item.size());
  for (std::size_t e = 0; e < confidence.size(); ++e)
    confidence[e] = 1.0 + settings.alpha * interaction_value(settings.values, interactions.lines[e]);
  return confidence;
}

double max_abs(const std::vector<double>& values, comm::Communicator& comm) {
  double local = 0;
  for (const double v : values) local = std::max(local, std::abs(v));
  return comm.allreduce(local, comm::ReduceOp::max);
}

}  // namespace

double interaction_value(Values values, std::uint32_t lines) noexcept {
  switch (values) {
    case Values::binary: return 1.0;
    case Values::counts: return static_cast<double>(std::min<std::uint32_t>(lines, 65535));
    case Values::log1p: return std::ldexp(std::nearbyint(std::ldexp(std::log1p(static_cast<double>(lines)), 20)), -20);
  }
  return 0.0;
}

double initial_item_factor(std::uint64_t seed, std::uint32_t item, std::size_t f, std::size_t factors) noexcept {
  CounterRng rng(seed, item, kStreamAlsFactors + f);
  return rng.normal() * 0.1 / std::sqrt(static_cast<double>(factors));
}

AlsModel fit_als(const AlsSettings& settings, const Interactions& interactions, std::size_t n_items, comm::Communicator& comm) {
  const std::size_t k = settings.factors, m = triangle(k), customers = interactions.customers();
  const auto K = static_cast<Eigen::Index>(k);
  const int ranks = comm.size(), rank = comm.rank();
  const double lambda = settings.regularization;
  AlsModel model;
  model.factors = k;
  model.item_factors.resize(n_items * k);
  for (std::uint32_t i = 0; i < n_items; ++i)
    for (std::size_t f = 0; f < k; ++f) model.item_factors[i * k + f] = initial_item_factor(settings.seed, i, f, k);
  model.customer_factors.assign(customers * k, 0.0);
  const std::vector<double> confidence = confidences(settings, interactions);
  // Each entry's value in integer units (C - 1 = alpha r value_unit), and a slot for every item
  // bought on this rank, in item order.
  const double value_unit = settings.values == Values::log1p ? kLog1pUnit : 1.0;
  std::vector<std::int64_t> value_units(interactions.items.item.size());
  for (std::size_t e = 0; e < value_units.size(); ++e)
    value_units[e] = std::llrint(interaction_value(settings.values, interactions.lines[e]) / value_unit);
  std::vector<std::size_t> slot_of(n_items, 0);
  std::vector<std::uint32_t> item_slots;
  {
    std::vector<std::uint8_t> bought_here(n_items, 0);
    for (const std::uint32_t item : interactions.items.item) bought_here[item] = 1;
    for (std::uint32_t i = 0; i < n_items; ++i)
      if (bought_here[i]) {
        slot_of[i] = item_slots.size();
        item_slots.push_back(i);
      }
  }
  std::vector<std::uint32_t> owned;  // items this rank solves: i mod P = rank
  for (std::uint32_t i = static_cast<std::uint32_t>(rank); i < n_items; i += static_cast<std::uint32_t>(ranks)) owned.push_back(i);
  const Matrix ridge = lambda * Matrix::Identity(K, K);

  Matrix yty = gram(model.item_factors, n_items, k);
  for (std::size_t iteration = 0; iteration < settings.iterations; ++iteration) {
    const Stopwatch watch;
    // Customers: x_c = (Y^T Y + Y^T (C_c - I) Y + lambda I)^-1 Y^T C_c p_c, on this rank.
    solve_customers(yty, ridge, model.item_factors, confidence, interactions, k, model.customer_factors);

    // Items: X^T X over all customers, and per item the sums over its buyers, exactly. Each
    // customer's x x^T and x are rounded once onto grids from the global bound of |x|; an entry
    // adds them to its item's sums, plain and times its integer value units r (C - 1 = alpha r u):
    //   A_i = alpha u sum r x x^T,  b_i = sum x + alpha u sum r x.
    // Integer sums do not depend on the order or on which rank adds them.
    const double x_bound = max_abs(model.customer_factors, comm);
    const auto outer_grid = FixedPointGrid::for_bound(x_bound * x_bound);
    const auto linear_grid = FixedPointGrid::for_bound(x_bound);
    const std::size_t width = m + 2 * k;  // [sum r x x^T: m][sum x: k][sum r x: k]
    std::vector<int128> xtx(m, 0), local(item_slots.size() * width, 0);
    std::vector<std::int64_t> outer(m), linear(k);
    for (std::size_t c = 0; c < customers; ++c) {
      const double* x = &model.customer_factors[c * k];
      for (std::size_t a = 0, t = 0; a < k; ++a) {
        linear[a] = linear_grid.quantize(x[a]);
        for (std::size_t b = a; b < k; ++b, ++t) {
          outer[t] = outer_grid.quantize(x[a] * x[b]);
          xtx[t] += outer[t];
        }
      }
      for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
        int128* sums = &local[slot_of[interactions.items.item[e]] * width];
        const std::int64_t r = value_units[e];
        if (r == 1) {
          for (std::size_t t = 0; t < m; ++t) sums[t] += outer[t];
          for (std::size_t a = 0; a < k; ++a) sums[m + k + a] += linear[a];
        } else {
          for (std::size_t t = 0; t < m; ++t) sums[t] += static_cast<int128>(r) * outer[t];
          for (std::size_t a = 0; a < k; ++a) sums[m + k + a] += static_cast<int128>(r) * linear[a];
        }
        for (std::size_t a = 0; a < k; ++a) sums[m + a] += linear[a];
      }
    }
    comm::allreduce_exact(xtx, comm);
    // Per item with buyers here: [item][sums: width] to rank item mod P.
    const std::size_t block = 1 + width;
    std::vector<std::vector<int128>> to_owner(static_cast<std::size_t>(ranks));
    for (std::size_t slot = 0; slot < item_slots.size(); ++slot) {
      const std::uint32_t i = item_slots[slot];
      std::vector<int128>& out = to_owner[i % static_cast<std::uint32_t>(ranks)];
      out.push_back(i);
      out.insert(out.end(), local.begin() + static_cast<std::ptrdiff_t>(slot * width),
                 local.begin() + static_cast<std::ptrdiff_t>((slot + 1) * width));
    }
    std::vector<int128>().swap(local);
    std::vector<int128> send;
    std::vector<std::uint64_t> send_counts, recv_counts;
    for (int r = 0; r < ranks; ++r) {
      const auto& part = to_owner[static_cast<std::size_t>(r)];
      if (r != rank) model.bytes_sent += part.size() * sizeof(int128);
      send_counts.push_back(part.size());
      send.insert(send.end(), part.begin(), part.end());
    }
    to_owner.clear();
    const std::vector<int128> received = comm.alltoallv<int128>(send, send_counts, recv_counts);
    send.clear();
    // Sum the blocks per owned item (integers: any order), then solve each owned item.
    std::vector<int128> sums(owned.size() * width, 0);
    std::vector<std::uint8_t> bought(owned.size(), 0);
    for (std::size_t at = 0; at < received.size(); at += block) {
      const auto o = static_cast<std::size_t>(static_cast<std::uint32_t>(received[at]) / static_cast<std::uint32_t>(ranks));
      bought[o] = 1;
      for (std::size_t t = 0; t < width; ++t) sums[o * width + t] += received[at + 1 + t];
    }
    std::vector<double> xtx_double(m), a_double(m);
    for (std::size_t t = 0; t < m; ++t) xtx_double[t] = outer_grid.to_double(xtx[t]);
    const Matrix xtx_matrix = from_triangle(xtx_double.data(), k) + ridge;
    const double weight = settings.alpha * value_unit;
    std::vector<double> solved(owned.size() * k, 0.0);
    for (std::size_t o = 0; o < owned.size(); ++o) {
      if (!bought[o]) continue;  // no buyer: y = 0 minimises lambda |y|^2 + sum_c (x_c . y)^2
      const int128* s = &sums[o * width];
      Vector b(K);
      for (std::size_t a = 0; a < k; ++a)
        b(static_cast<Eigen::Index>(a)) = linear_grid.to_double(s[m + a]) + weight * linear_grid.to_double(s[m + k + a]);
      for (std::size_t t = 0; t < m; ++t) a_double[t] = weight * outer_grid.to_double(s[t]);
      const Vector y = solve(xtx_matrix + from_triangle(a_double.data(), k), b);
      std::copy(y.data(), y.data() + K, &solved[o * k]);
    }
    // Share: rank r's block holds items r, r + P, ... in order.
    std::vector<std::uint64_t> counts;
    const std::vector<double> all = comm.allgatherv<double>(solved, &counts);
    std::size_t at = 0;
    for (int r = 0; r < ranks; ++r)
      for (std::uint32_t i = static_cast<std::uint32_t>(r); i < n_items; i += static_cast<std::uint32_t>(ranks), at += k)
        std::copy(&all[at], &all[at] + k, &model.item_factors[i * k]);

    // Loss with the new factors: sum_c [x^T (Y^T Y) x + sum_{i in c} (C (1 - x.y)^2 - (x.y)^2) + lambda |x|^2] + lambda |Y|^2.
    yty = gram(model.item_factors, n_items, k);
    std::vector<double> customer_loss(customers, 0.0);
    for (std::size_t c = 0; c < customers; ++c) {
      const Eigen::Map<const Vector> x(&model.customer_factors[c * k], K);
      double loss = x.dot(yty * x) + lambda * x.squaredNorm();
      for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
        const double predicted = x.dot(Eigen::Map<const Vector>(&model.item_factors[interactions.items.item[e] * k], K));
        loss += confidence[e] * (1.0 - predicted) * (1.0 - predicted) - predicted * predicted;
      }
      customer_loss[c] = loss;
    }
    const auto loss_grid = FixedPointGrid::for_bound(max_abs(customer_loss, comm));
    int128 total = 0;
    for (const double loss : customer_loss) total += loss_grid.quantize(loss);
    comm::allreduce_exact(std::span(&total, 1), comm);
    double item_penalty = 0;
    for (const double y : model.item_factors) item_penalty += y * y;
    model.loss.push_back(loss_grid.to_double(total) + lambda * item_penalty);
    model.iteration_seconds.push_back(watch.seconds());
    log::info("recommend: als iteration {}: loss {:.10g} ({:.3f} s)", iteration + 1, model.loss.back(), model.iteration_seconds.back());
  }
  return model;
}

std::vector<double> solve_customer_factors(const AlsSettings& settings, const std::vector<double>& item_factors, std::size_t n_items,
                                           const Interactions& interactions) {
  const std::size_t k = settings.factors;
  const auto K = static_cast<Eigen::Index>(k);
  std::vector<double> factors;
  solve_customers(gram(item_factors, n_items, k), settings.regularization * Matrix::Identity(K, K), item_factors,
                  confidences(settings, interactions), interactions, k, factors);
  return factors;
}

Recommendations recommend_by_factors(const AlsModel& model, std::span<const std::uint8_t> candidates, const ItemLists& excluded,
                                     std::size_t n) {
  const std::size_t k = model.factors, n_items = candidates.size();
  std::vector<std::uint32_t> candidate;
  for (std::uint32_t j = 0; j < n_items; ++j)
    if (candidates[j]) candidate.push_back(j);
  Recommendations out;
  std::vector<double> score(n_items, 0.0);
  const std::size_t customers = model.customer_factors.size() / std::max<std::size_t>(k, 1);
  for (std::size_t c = 0; c < customers; ++c) {
    const double* x = &model.customer_factors[c * k];
    bool any = false;
    for (std::size_t f = 0; f < k; ++f) any = any || x[f] != 0.0;
    if (!any) {  // no purchase to learn from: no factors, no recommendations
      out.offsets.push_back(out.item.size());
      continue;
    }
    for (const std::uint32_t j : candidate) {
      const double* y = &model.item_factors[j * k];
      double s = 0;
      for (std::size_t f = 0; f < k; ++f) s += x[f] * y[f];
      score[j] = s;
    }
    append_top(out, candidate, score, excluded.of(c), n);
  }
  return out;
}

}  // namespace mpiseg::recommend

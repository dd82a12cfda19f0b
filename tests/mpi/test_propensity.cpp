// Logistic regression and score metrics at 1..4 ranks: bit-identical to one process holding every
// customer, whatever the split; the fit is a stationary point of the objective (checked with a
// plain gradient written here), and the metrics agree with direct formulas.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/propensity/logistic.hpp"
#include "mpiseg/propensity/metrics.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using namespace mpiseg::propensity;
using mpiseg::testing::world;

namespace {

constexpr std::size_t kCustomers = 1501, kFeatures = 4;

/// Customers whose global index satisfies `mine`: features from a known logistic model, a label
/// drawn from it, and a constant column.
struct Shard {
  std::vector<double> x;
  std::vector<std::uint8_t> y;
  std::vector<std::uint64_t> customer;
  std::size_t rows = 0;
  Design design() const { return {x, y, rows, kFeatures}; }
};

template <class Mine>
Shard make_shard(Mine mine, bool separable = false) {
  Shard shard;
  const double truth[kFeatures] = {1.5, -0.8, 0.0, 0.3};
  for (std::size_t i = 0; i < kCustomers; ++i) {
    if (!mine(i)) continue;
    CounterRng rng(31, i);
    double z = -0.4;
    for (std::size_t j = 0; j < kFeatures; ++j) {
      const double value = j == 2 ? 0.25 : rng.uniform() * 4.0 - 2.0;
      shard.x.push_back(value);
      z += truth[j] * value;
    }
    shard.y.push_back(separable ? (z > 0 ? 1 : 0) : (rng.uniform() < sigmoid(z) ? 1 : 0));
    shard.customer.push_back(1000 + i);
    ++shard.rows;
  }
  return shard;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

template <class Mine>
Shard split(Mine mine, bool separable = false) { return make_shard(mine, separable); }

}  // namespace

BOOST_AUTO_TEST_CASE(fit_is_identical_at_every_rank_count_and_split) {
  auto& comm = world();
  const auto rank = static_cast<std::size_t>(comm.rank()), size = static_cast<std::size_t>(comm.size());
  auto alone = comm::make_serial_communicator();
  for (ClassWeight weight : {ClassWeight::none, ClassWeight::balanced}) {
    LogisticSettings settings;
    settings.l2 = 0.5;
    settings.class_weight = weight;
    settings.tol = 1e-12;
    const Shard all = split([](std::size_t) { return true; });
    const LogisticModel expected = fit_logistic(settings, all.design(), *alone);
    // Contiguous blocks, and round-robin: the reductions must not depend on which rank holds what.
    const Shard block = split([&](std::size_t i) { return i * size / kCustomers == rank; });
    const Shard strided = split([&](std::size_t i) { return i % size == rank; });
    for (const Shard* shard : {&block, &strided}) {
      const LogisticModel model = fit_logistic(settings, shard->design(), comm);
      BOOST_TEST(same_bits(model.coefficients, expected.coefficients));
      BOOST_TEST(same_bits(model.intercept, expected.intercept));
      BOOST_TEST(model.iterations == expected.iterations);
      BOOST_TEST(same_bits(model.loss_history, expected.loss_history));
    }
    BOOST_TEST(std::string(convergence_name(expected.reason)) == "gradient_tolerance");
    BOOST_TEST((expected.constant_columns == std::vector<std::size_t>{2}));
    BOOST_TEST(expected.coefficients[2] == 0.0);
    // The loss falls at every step (but for a last step within its rounding).
    for (std::size_t i = 1; i < expected.loss_history.size(); ++i)
      BOOST_TEST(expected.loss_history[i] <= expected.loss_history[i - 1] * (1 + 1e-14));

    // Stationary: the gradient of the objective, written out plainly, vanishes.
    std::vector<double> gradient(kFeatures + 1, 0.0);
    for (std::size_t i = 0; i < all.rows; ++i) {
      const double s = weight == ClassWeight::none ? 1.0 : all.y[i] ? expected.positive_weight : expected.negative_weight;
      const double r = s * (sigmoid(expected.logit(&all.x[i * kFeatures])) - all.y[i]);
      for (std::size_t j = 0; j < kFeatures; ++j) gradient[j] += r * all.x[i * kFeatures + j];
      gradient[kFeatures] += r;
    }
    for (std::size_t j = 0; j < kFeatures; ++j) gradient[j] += settings.l2 * expected.coefficients[j];
    for (double g : gradient) BOOST_TEST(std::abs(g) < 1e-8);
    // The generating model is recovered (1,501 draws, a light penalty: within sampling error).
    if (weight == ClassWeight::none) {
      const double truth[kFeatures] = {1.5, -0.8, 0.0, 0.3};
      for (std::size_t j = 0; j < kFeatures; ++j) BOOST_TEST(std::abs(expected.coefficients[j] - truth[j]) < 0.25);
    }
  }
}

BOOST_AUTO_TEST_CASE(separable_data_gives_finite_coefficients_and_a_flag) {
  auto& comm = world();
  const auto rank = static_cast<std::size_t>(comm.rank()), size = static_cast<std::size_t>(comm.size());
  LogisticSettings settings;
  settings.l2 = 1e-3;
  const Shard shard = split([&](std::size_t i) { return i % size == rank; }, true);
  const LogisticModel model = fit_logistic(settings, shard.design(), comm);
  BOOST_TEST(model.separable);
  for (double c : model.coefficients) BOOST_TEST(std::isfinite(c));
  BOOST_TEST(std::isfinite(model.intercept));
}

BOOST_AUTO_TEST_CASE(one_class_is_an_error_on_every_rank) {
  auto& comm = world();
  Shard shard = split([&](std::size_t i) { return i % static_cast<std::size_t>(comm.size()) == static_cast<std::size_t>(comm.rank()); });
  std::fill(shard.y.begin(), shard.y.end(), 0);
  BOOST_CHECK_THROW(fit_logistic(LogisticSettings{}, shard.design(), comm), InputError);
}

BOOST_AUTO_TEST_CASE(metrics_are_identical_at_every_rank_count_and_exact) {
  auto& comm = world();
  const auto rank = static_cast<std::size_t>(comm.rank()), size = static_cast<std::size_t>(comm.size());
  // Scores on a coarse grid, so that many tie (the half-credit rule matters).
  const auto scores_of = [](const Shard& shard) {
    std::vector<double> logits, probabilities;
    for (std::size_t i = 0; i < shard.rows; ++i) {
      const double z = std::round(4 * (shard.x[i * kFeatures] - 0.5 * shard.x[i * kFeatures + 1])) / 4;
      logits.push_back(z);
      probabilities.push_back(sigmoid(z));
    }
    return std::pair(logits, probabilities);
  };
  const Shard all = split([](std::size_t) { return true; });
  // Named references rather than structured bindings: clang 14 cannot capture those in lambdas.
  const auto all_scores = scores_of(all);
  const std::vector<double>& all_logits = all_scores.first;
  const std::vector<double>& all_probabilities = all_scores.second;
  auto alone = comm::make_serial_communicator();
  const ScoreMetrics expected = evaluate_scores(all_probabilities, all_logits, all.y, all.customer, *alone);
  const Shard mine = split([&](std::size_t i) { return (i * 7) % size == rank; });
  const auto mine_scores = scores_of(mine);
  const std::vector<double>& logits = mine_scores.first;
  const std::vector<double>& probabilities = mine_scores.second;
  const ScoreMetrics m = evaluate_scores(probabilities, logits, mine.y, mine.customer, comm);
  BOOST_TEST(same_bits(m.auc, expected.auc));
  BOOST_TEST(same_bits(m.log_loss, expected.log_loss));
  BOOST_TEST(same_bits(m.brier, expected.brier));
  BOOST_TEST(same_bits(m.top_decile_lift, expected.top_decile_lift));
  for (std::size_t d = 0; d < 10; ++d) {
    BOOST_TEST(m.deciles[d].customers == expected.deciles[d].customers);
    BOOST_TEST(m.deciles[d].positives == expected.deciles[d].positives);
    BOOST_TEST(same_bits(m.deciles[d].mean_score, expected.deciles[d].mean_score));
  }

  // The Mann-Whitney statistic by brute force over all pairs.
  double wins = 0, positives = 0, negatives = 0;
  for (std::size_t a = 0; a < all.rows; ++a) {
    (all.y[a] ? positives : negatives) += 1;
    if (!all.y[a]) continue;
    for (std::size_t b = 0; b < all.rows; ++b)
      if (!all.y[b]) wins += all_probabilities[a] > all_probabilities[b] ? 1.0 : all_probabilities[a] == all_probabilities[b] ? 0.5 : 0.0;
  }
  BOOST_TEST(std::abs(expected.auc - wins / (positives * negatives)) < 1e-14);
  // The top decile: the first ceil(n / 10) customers by descending score, ties by customer key.
  std::vector<std::size_t> order(all.rows);
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return all_probabilities[a] != all_probabilities[b] ? all_probabilities[a] > all_probabilities[b] : all.customer[a] < all.customer[b];
  });
  const std::size_t top = (all.rows + 9) / 10;
  std::uint64_t top_positives = 0;
  for (std::size_t i = 0; i < top; ++i) top_positives += all.y[order[i]];
  BOOST_TEST(expected.deciles[0].customers == top);
  BOOST_TEST(expected.deciles[0].positives == top_positives);
  std::uint64_t total = 0;
  for (const DecileRow& row : expected.deciles) total += row.customers;
  BOOST_TEST(total == all.rows);
}

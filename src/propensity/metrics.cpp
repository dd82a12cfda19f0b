#include "mpiseg/propensity/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/comm/shuffle.hpp"
#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/propensity/logistic.hpp"

namespace mpiseg::propensity {

ScoreMetrics evaluate_scores(std::span<const double> probabilities, std::span<const double> logits,
                             std::span<const std::uint8_t> labels, std::span<const std::uint64_t> customers,
                             comm::Communicator& comm) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  ScoreMetrics m;
  const std::size_t n = probabilities.size();

  // Sums that need no order: log loss and Brier on fixed grids (bounds from the data), counts.
  double loss_bound = 0;
  for (std::size_t i = 0; i < n; ++i) loss_bound = std::max(loss_bound, std::abs(logits[i]) + 1.0);
  const auto loss_grid = FixedPointGrid::for_bound(comm.allreduce(loss_bound, comm::ReduceOp::max));
  const auto unit_grid = FixedPointGrid::for_bound(1.0);
  std::vector<int128> sums(2, 0);
  std::uint64_t counts[2] = {n, 0};
  for (std::size_t i = 0; i < n; ++i) {
    const double y = labels[i] ? 1.0 : 0.0;
    sums[0] += loss_grid.quantize(softplus(logits[i]) - y * logits[i]);
    sums[1] += unit_grid.quantize((probabilities[i] - y) * (probabilities[i] - y));
    counts[1] += labels[i] ? 1 : 0;
  }
  comm::allreduce_exact(sums, comm);
  comm.allreduce(std::span<std::uint64_t>(counts), comm::ReduceOp::sum);
  m.customers = counts[0];
  m.positives = counts[1];
  if (m.customers == 0) {
    m.base_rate = m.auc = m.log_loss = m.brier = m.top_decile_lift = m.top_decile_capture = kNaN;
    return m;
  }
  const double total = static_cast<double>(m.customers);
  m.base_rate = static_cast<double>(m.positives) / total;
  m.log_loss = loss_grid.to_double(sums[0]) / total;
  m.brier = unit_grid.to_double(sums[1]) / total;

  // The global order: descending score is ascending ~key; equal scores share a key and so an owner.
  std::vector<std::uint64_t> keys(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = ~comm::ordered_key(probabilities[i]);
  const auto partition = comm::KeyRangePartition::balanced(keys, comm);
  const comm::ShufflePlan plan(keys, partition, comm);
  const std::vector<std::uint64_t> key = plan.exchange(std::span<const std::uint64_t>(keys), comm);
  const std::vector<std::uint64_t> customer = plan.exchange(customers, comm);
  const std::vector<std::uint8_t> label = plan.exchange(labels, comm);
  const std::vector<double> probability = plan.exchange(probabilities, comm);
  std::vector<std::size_t> order(key.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return key[a] != key[b] ? key[a] < key[b] : customer[a] < customer[b];
  });
  std::uint64_t local_negatives = 0;
  for (std::uint8_t y : label) local_negatives += y ? 0 : 1;
  const std::uint64_t first_position = comm.exclusive_prefix_sum<std::uint64_t>(key.size());
  const std::uint64_t negatives_before = comm.exclusive_prefix_sum(local_negatives);
  const std::uint64_t negatives = m.customers - m.positives;

  // AUC x 2 P N = sum over tied groups of positives x (2 x negatives scored lower + negatives tied).
  int128 auc_twice = 0;
  std::uint64_t negatives_above = negatives_before;
  std::vector<std::int64_t> decile_counts(20, 0);  // customers, positives per decile
  std::vector<int128> decile_scores(10, 0);
  for (std::size_t g = 0; g < order.size();) {
    std::size_t end = g;
    std::uint64_t group_positives = 0, group_negatives = 0;
    while (end < order.size() && key[order[end]] == key[order[g]]) {
      (label[order[end]] ? group_positives : group_negatives) += 1;
      ++end;
    }
    const std::uint64_t lower = negatives - negatives_above - group_negatives;
    auc_twice += static_cast<int128>(group_positives) * static_cast<int128>(2 * lower + group_negatives);
    negatives_above += group_negatives;
    for (std::size_t i = g; i < end; ++i) {
      const std::uint64_t position = first_position + i;
      const auto decile = static_cast<std::size_t>(static_cast<int128>(position) * 10 / m.customers);
      decile_counts[decile] += 1;
      decile_counts[10 + decile] += label[order[i]] ? 1 : 0;
      decile_scores[decile] += unit_grid.quantize(probability[order[i]]);
    }
    g = end;
  }
  std::vector<int128> exact = {auc_twice};
  exact.insert(exact.end(), decile_scores.begin(), decile_scores.end());
  comm::allreduce_exact(exact, comm);
  comm.allreduce(std::span(decile_counts), comm::ReduceOp::sum);
  m.auc = m.positives == 0 || negatives == 0
              ? kNaN
              : static_cast<double>(exact[0]) / (2.0 * static_cast<double>(m.positives) * static_cast<double>(negatives));
  for (std::size_t d = 0; d < 10; ++d) {
    DecileRow& row = m.deciles[d];
    row.customers = static_cast<std::uint64_t>(decile_counts[d]);
    row.positives = static_cast<std::uint64_t>(decile_counts[10 + d]);
    row.mean_score = row.customers ? unit_grid.to_double(exact[1 + d]) / static_cast<double>(row.customers) : kNaN;
    row.observed_rate = row.customers ? static_cast<double>(row.positives) / static_cast<double>(row.customers) : kNaN;
  }
  const DecileRow& top = m.deciles[0];
  m.top_decile_lift = m.positives == 0 || top.customers == 0 ? kNaN : top.observed_rate / m.base_rate;
  m.top_decile_capture = m.positives == 0 ? kNaN : static_cast<double>(top.positives) / static_cast<double>(m.positives);
  return m;
}

}  // namespace mpiseg::propensity

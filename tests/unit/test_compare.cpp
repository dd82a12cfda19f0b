// Segment matching (minimum-cost assignment) against exhaustive search, and the comparison of
// two segment models on hand-checked cases.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <numeric>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/random.hpp"
#include "mpiseg/model/compare.hpp"

using namespace mpiseg;
using namespace mpiseg::model;

namespace {

/// The cheapest cost over every injective map of the smaller side into the larger one.
double brute_force_cost(const std::vector<double>& cost, std::size_t rows, std::size_t columns) {
  const std::size_t small = std::min(rows, columns), large = std::max(rows, columns);
  std::vector<std::size_t> order(large);
  std::iota(order.begin(), order.end(), 0);
  double best = INFINITY;
  do {
    double total = 0;
    for (std::size_t i = 0; i < small; ++i)
      total += rows <= columns ? cost[i * columns + order[i]] : cost[order[i] * columns + i];
    best = std::min(best, total);
  } while (std::next_permutation(order.begin(), order.end()));
  return best;
}

double assignment_cost(const std::vector<int>& column_of_row, const std::vector<double>& cost, std::size_t columns) {
  double total = 0;
  for (std::size_t r = 0; r < column_of_row.size(); ++r)
    if (column_of_row[r] >= 0) total += cost[r * columns + static_cast<std::size_t>(column_of_row[r])];
  return total;
}

SegmentModel two_segments(std::vector<double> centroids, std::vector<std::uint64_t> customer, std::vector<std::int32_t> segment) {
  SegmentModel model;
  model.features = {"recency_days", "monetary"};
  model.centroids_scaled = centroids;
  model.centroids_original = std::move(centroids);
  model.k = model.centroids_scaled.size() / 2;
  model.customer = std::move(customer);
  model.segment = std::move(segment);
  return model;
}

}  // namespace

BOOST_AUTO_TEST_CASE(minimum_cost_assignment_matches_exhaustive_search) {
  for (std::uint64_t trial = 0; trial < 300; ++trial) {
    CounterRng rng(11, trial);
    const std::size_t rows = 1 + rng.below(7), columns = 1 + rng.below(7);
    std::vector<double> cost(rows * columns);
    // Small integers make ties frequent: the optimum must still be found.
    for (double& c : cost) c = static_cast<double>(rng.below(trial % 2 ? 5 : 1000));
    const std::vector<int> column_of_row = minimum_cost_assignment(cost, rows, columns);
    BOOST_REQUIRE_EQUAL(column_of_row.size(), rows);
    std::vector<int> used;
    for (int column : column_of_row)
      if (column >= 0) used.push_back(column);
    std::sort(used.begin(), used.end());
    BOOST_TEST((std::adjacent_find(used.begin(), used.end()) == used.end()), "a column assigned twice");
    BOOST_TEST(used.size() == std::min(rows, columns));
    BOOST_TEST(assignment_cost(column_of_row, cost, columns) == brute_force_cost(cost, rows, columns), "trial " << trial);
  }
}

BOOST_AUTO_TEST_CASE(relabelled_segments_are_matched_with_their_migration) {
  // Old: segment 0 near (0,0), segment 1 near (10,10). New: the same two, numbered the other way,
  // one customer moved, one customer only old, one only new.
  const SegmentModel older = two_segments({0, 0, 10, 10}, {1, 2, 3, 4, 5}, {0, 0, 1, 1, 1});
  const SegmentModel newer = two_segments({10.5, 10, 0, 1}, {1, 2, 3, 4, 6}, {1, 0, 0, 0, 0});
  const ModelComparison c = compare_segment_models(older, newer, CommonSpace{});
  BOOST_TEST(c.old_of_new == (std::vector<int>{1, 0}));
  BOOST_TEST(c.drift[0] == 0.5);
  BOOST_TEST(c.drift[1] == 1.0);
  BOOST_TEST(c.change[0 * 2 + 0] == 0.5);  // new segment 0, recency_days, original units
  BOOST_TEST(c.common_customers == 4u);
  BOOST_TEST(c.old_only == 1u);
  BOOST_TEST(c.new_only == 1u);
  // Rows: old segment; columns: new segment. Customer 2 moved from old 0 to new 0 (old 1's twin).
  BOOST_TEST(c.migration == (std::vector<std::uint64_t>{1, 1, 2, 0}));
  BOOST_TEST(c.adjusted_rand < 1.0);
}

BOOST_AUTO_TEST_CASE(identical_models_have_zero_drift_and_unit_rand_index) {
  const SegmentModel model = two_segments({0, 0, 10, 10, 5, -5}, {1, 2, 3, 4, 5, 6}, {0, 1, 2, 0, 1, 2});
  const ModelComparison c = compare_segment_models(model, model, CommonSpace{});
  BOOST_TEST(c.old_of_new == (std::vector<int>{0, 1, 2}));
  for (double drift : c.drift) BOOST_TEST(drift == 0.0);
  BOOST_TEST(c.adjusted_rand == 1.0);
}

BOOST_AUTO_TEST_CASE(more_new_segments_than_old_leave_the_extra_unmatched) {
  const SegmentModel older = two_segments({0, 0}, {1, 2}, {0, 0});
  const SegmentModel newer = two_segments({9, 9, 0.1, 0}, {1, 2}, {1, 0});
  const ModelComparison c = compare_segment_models(older, newer, CommonSpace{});
  BOOST_TEST(c.old_of_new == (std::vector<int>{-1, 0}));
  BOOST_TEST(std::isnan(c.drift[0]));
}

BOOST_AUTO_TEST_CASE(models_without_common_features_are_an_error) {
  SegmentModel older = two_segments({0, 0}, {1}, {0});
  older.features = {"a", "b"};
  const SegmentModel newer = two_segments({0, 0}, {1}, {0});
  BOOST_CHECK_THROW(compare_segment_models(older, newer, CommonSpace{}), InputError);
}

BOOST_AUTO_TEST_CASE(matching_terminates_on_extreme_costs) {
  // Costs near the largest doubles are scaled down (same optimum); non-finite costs are an
  // error, never an endless loop.
  const std::vector<double> huge = {1e300, 3e300, 2e300, 1e300};
  const std::vector<int> match = minimum_cost_assignment(huge, 2, 2);
  BOOST_TEST(match == (std::vector<int>{0, 1}));
  BOOST_TEST(assignment_cost(match, huge, 2) == brute_force_cost(huge, 2, 2));
  const std::vector<double> mixed = {0.5, 1e308, 1e308, 0.25, 7, 3};
  BOOST_TEST(assignment_cost(minimum_cost_assignment(mixed, 3, 2), mixed, 2) == brute_force_cost(mixed, 3, 2));
  for (double bad : {NAN, INFINITY, -INFINITY})
    BOOST_CHECK_THROW(minimum_cost_assignment({1, bad, 2, 3}, 2, 2), InputError);
}


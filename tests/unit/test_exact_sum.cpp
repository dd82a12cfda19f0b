#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "mpiseg/core/exact_sum.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_SUITE(exact_sum)

BOOST_AUTO_TEST_CASE(limbs_round_trip_including_negative_values) {
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 10000; ++trial) {
    int128 value = (static_cast<int128>(static_cast<std::int64_t>(random())) << 62) + static_cast<std::int64_t>(random());
    if (trial % 3 == 0) value = -value;
    std::int64_t limbs[3];
    split_limbs(value, limbs);
    BOOST_TEST((join_limbs(limbs) == value));
  }
}

BOOST_AUTO_TEST_CASE(limb_sums_equal_the_sum_of_values) {
  std::mt19937_64 random(11);
  int128 total = 0;
  std::int64_t limb_total[3] = {0, 0, 0};
  for (int i = 0; i < 1000; ++i) {
    const int128 value = (static_cast<int128>(static_cast<std::int64_t>(random()) >> 2) << 40) - static_cast<std::int64_t>(random() >> 1);
    total += value;
    std::int64_t limbs[3];
    split_limbs(value, limbs);
    for (int j = 0; j < 3; ++j) limb_total[j] += limbs[j];
  }
  BOOST_TEST((join_limbs(limb_total) == total));
}

BOOST_AUTO_TEST_CASE(sum_does_not_depend_on_order) {
  std::mt19937_64 random(3);
  std::lognormal_distribution<double> magnitude(0.0, 4.0);
  std::vector<double> values(20000);
  for (double& value : values) value = (random() % 2 == 0 ? 1 : -1) * magnitude(random);
  double bound = 0;
  for (double value : values) bound = std::max(bound, std::abs(value));
  const auto grid = FixedPointGrid::for_bound(bound);
  auto exact = [&] {
    int128 sum = 0;
    for (double value : values) sum += grid.quantize(value);
    return grid.to_double(sum);
  };
  auto naive = [&] {
    double sum = 0;
    for (double value : values) sum += value;
    return sum;
  };
  const double first = exact();
  bool naive_differed = false;
  const double first_naive = naive();
  for (int shuffle = 0; shuffle < 5; ++shuffle) {
    std::shuffle(values.begin(), values.end(), random);
    const double again = exact();
    BOOST_TEST(std::memcmp(&first, &again, sizeof first) == 0);
    naive_differed = naive_differed || naive() != first_naive;
  }
  // The point of the exercise: plain double summation does depend on the order.
  BOOST_TEST(naive_differed);
  long double reference = 0;
  for (double value : values) reference += value;
  BOOST_TEST(std::abs(first - static_cast<double>(reference)) <= bound * 1e-15 * values.size());
}

BOOST_AUTO_TEST_CASE(grid_keeps_values_at_the_bound_in_range) {
  for (double bound : {1e-200, 1e-5, 0.75, 1.0, 3.0, 1024.0, 1e12, 1.7e308}) {
    const auto grid = FixedPointGrid::for_bound(bound);
    const std::int64_t q = grid.quantize(bound);
    BOOST_TEST(q <= (std::int64_t{1} << 62));
    BOOST_TEST(grid.to_double(q) == bound);  // representable values come back exactly
  }
  BOOST_TEST(FixedPointGrid::for_bound(0.0).quantize(0.0) == 0);
  // Tiny bounds stay finite (coarser relative grid, no overflow).
  const auto tiny = FixedPointGrid::for_bound(1e-300);
  BOOST_TEST(std::isfinite(tiny.to_double(tiny.quantize(1e-300))));
}

BOOST_AUTO_TEST_SUITE_END()

// The feature definitions on hand-made customers, one rule at a time.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "mpiseg/core/civil_time.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/features/customer_features.hpp"
#include "mpiseg/features/features.hpp"

using namespace mpiseg;
using namespace mpiseg::features;
namespace flags = mpiseg::ingest::line_flags;

namespace {
constexpr std::int64_t kDay = kSecondsPerDay;
const std::int64_t kReference = days_from_civil(2011, 12, 10) * kDay;

struct Builder {
  ingest::LineItems rows;
  void line(std::uint64_t customer, std::uint64_t basket, std::int64_t time, std::uint32_t item, std::int32_t quantity,
            double price, std::uint8_t flag = 0) {
    rows.customer.push_back(customer);
    rows.basket.push_back(basket);
    rows.time.push_back(static_cast<std::uint32_t>(time));
    rows.item.push_back(item);
    rows.quantity.push_back(quantity);
    rows.price.push_back(price);
    rows.country.push_back(0);
    rows.flags.push_back(static_cast<std::uint8_t>(flag | (quantity < 0 ? flags::return_line : 0)));
  }
};

LocalCustomerFeatures compute(const ingest::LineItems& rows, bool keep = false, MonetaryPolicy monetary = MonetaryPolicy::net) {
  return compute_customer_features(rows, kReference, monetary, keep, std::vector<std::int32_t>(10, -1), 0);
}

double feature(const LocalCustomerFeatures& f, std::size_t row, std::string_view name) {
  const auto names = base_feature_names();
  const auto column = static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  return f.base[row * kBaseFeatureCount + column];
}
}  // namespace

BOOST_AUTO_TEST_SUITE(customer_features)

BOOST_AUTO_TEST_CASE(definitions_on_a_three_basket_customer) {
  Builder b;
  const std::int64_t t0 = kReference - 30 * kDay - 3600;  // 30 days and an hour before the reference
  b.line(7, 1, t0, 1, 2, 5.0);
  b.line(7, 1, t0, 2, 1, 3.0);
  b.line(7, 1, t0, 2, 1, 3.0);                 // same item twice in one basket
  b.line(7, 2, t0 + 10 * kDay, 3, 4, 1.0);
  b.line(7, 3, t0 + 20 * kDay, 1, 1, 5.0);
  b.line(7, 9, t0 + 21 * kDay, 1, -1, 5.0, flags::cancellation);  // a cancellation: return, not a purchase
  const LocalCustomerFeatures f = compute(b.rows);
  BOOST_REQUIRE(f.customer.size() == 1u);
  BOOST_TEST(feature(f, 0, "recency_days") == 10.0);  // last purchase 10 days + 1 hour before: whole days
  BOOST_TEST(feature(f, 0, "frequency") == 3.0);
  BOOST_TEST(feature(f, 0, "monetary") == 10 + 3 + 3 + 4 + 5 - 5);  // net of the return
  BOOST_TEST(feature(f, 0, "avg_basket_value") == 25.0 / 3);
  BOOST_TEST(feature(f, 0, "avg_items_per_basket") == (2.0 + 1 + 1) / 3);  // distinct items per basket
  BOOST_TEST(feature(f, 0, "tenure_days") == 20.0);
  BOOST_TEST(feature(f, 0, "distinct_items") == 3.0);
  BOOST_TEST(feature(f, 0, "return_rate") == 1.0 / 6);
  BOOST_TEST(feature(f, 0, "mean_days_between_purchases") == 10.0);
  const LocalCustomerFeatures purchases = compute(b.rows, false, MonetaryPolicy::purchases);
  BOOST_TEST(feature(purchases, 0, "monetary") == 25.0);
}

BOOST_AUTO_TEST_CASE(single_purchase_and_no_purchase_customers) {
  Builder b;
  b.line(1, 1, kReference - 5 * kDay - 7200, 1, 1, 2.0);   // one purchase
  b.line(2, 2, kReference - 3 * kDay, 1, -1, 2.0, flags::cancellation);  // only a cancellation
  b.line(ingest::kMissingCustomer, 3, kReference - kDay, 1, 1, 2.0, flags::missing_customer);
  const LocalCustomerFeatures dropped = compute(b.rows);
  BOOST_TEST(dropped.customer == std::vector<std::uint64_t>{1});
  BOOST_TEST(dropped.excluded_no_purchase == 1u);
  BOOST_TEST(dropped.lines_without_customer == 1u);
  BOOST_TEST(feature(dropped, 0, "mean_days_between_purchases") == 5.0 + 2.0 / 24);  // to the reference date
  BOOST_TEST(feature(dropped, 0, "tenure_days") == 0.0);
  const LocalCustomerFeatures kept = compute(b.rows, true);
  BOOST_TEST(kept.customer == (std::vector<std::uint64_t>{1, 2}));
  BOOST_TEST(feature(kept, 1, "frequency") == 0.0);
  BOOST_TEST(feature(kept, 1, "recency_days") == 3.0);  // from the last line of any kind
  BOOST_TEST(feature(kept, 1, "monetary") == -2.0);
  BOOST_TEST(feature(kept, 1, "return_rate") == 1.0);
}

BOOST_AUTO_TEST_CASE(money_sums_are_exact) {
  // 0.1 + 0.2 - 0.3 is not 0 in doubles summed left to right; on the fixed-point grid it is.
  Builder b;
  b.line(1, 1, kReference - kDay, 1, 1, 0.1);
  b.line(1, 1, kReference - kDay, 2, 1, 0.2);
  b.line(1, 2, kReference - kDay + 60, 3, -1, 0.3, flags::cancellation);
  BOOST_TEST(0.1 + 0.2 - 0.3 != 0.0);
  BOOST_TEST(std::abs(feature(compute(b.rows), 0, "monetary")) < 1e-15);
}

BOOST_AUTO_TEST_CASE(one_huge_line_does_not_change_other_customers_sums) {
  // The money grid is fixed: a customer with a line value near the accepted limit (2^53) leaves
  // everyone else's sums exactly as they are without that customer.
  Builder small;
  small.line(1, 1, kReference - kDay, 1, 3, 0.01);
  small.line(1, 2, kReference - 2 * kDay, 2, 7, 12.37);
  Builder with_outlier = small;
  with_outlier.line(2, 3, kReference - kDay, 1, 1, 9.0e15);
  const double alone = feature(compute(small.rows), 0, "monetary");
  const auto both = compute(with_outlier.rows);
  BOOST_TEST(feature(both, 0, "monetary") == alone);
  BOOST_TEST(feature(both, 1, "monetary") == 9.0e15);
  BOOST_TEST(std::abs(alone - (3 * 0.01 + 7 * 12.37)) < 1e-12);
}

BOOST_AUTO_TEST_CASE(category_shares) {
  Builder b;
  b.line(1, 1, kReference - kDay, 0, 1, 6.0);
  b.line(1, 1, kReference - kDay, 1, 1, 2.0);
  b.line(1, 1, kReference - kDay, 2, 1, 2.0);  // item 2 is in no chosen category
  const std::vector<std::int32_t> item_category = {0, 1, -1};
  const auto f = compute_customer_features(b.rows, kReference, MonetaryPolicy::net, false, item_category, 2);
  BOOST_TEST(f.category_share == (std::vector<double>{0.6, 0.2}));
}

BOOST_AUTO_TEST_CASE(transforms_round_trip) {
  FeatureTransform t;
  t.spec = TransformSpec{true, Scaling::zscore};
  t.center = 2.0;
  t.scale = 0.5;
  BOOST_TEST(t.apply(std::expm1(3.0)) == 2.0);
  BOOST_TEST(std::abs(t.invert(t.apply(41.0)) - 41.0) < 1e-12);
  BOOST_TEST(t.apply(-5.0) == (0.0 - 2.0) / 0.5);  // negative clipped to 0 before log1p
  t.zero_variance = true;
  BOOST_TEST(t.apply(123.0) == 0.0);
  BOOST_CHECK_THROW(parse_transform("log2", "x"), ConfigError);
  BOOST_TEST(describe_transform(parse_transform("log1p+robust", "x")) == "log1p+robust");
}

BOOST_AUTO_TEST_CASE(order_statistics_on_one_rank) {
  auto comm = comm::make_serial_communicator();
  const std::vector<double> values = {5.0, -1.5, 3.0, 3.0, 0.0, -0.0, 1e300, -2e-300, 7.25};
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint64_t k = 0; k < values.size(); ++k)
    BOOST_TEST(comm::select_values(values, std::vector<std::uint64_t>{k}, *comm)[0] == sorted[k]);
  const std::vector<double> probabilities = {0.0, 0.25, 0.5, 1.0};
  const std::vector<double> small = {1, 2, 3, 4, 10};
  BOOST_TEST(comm::quantiles(small, probabilities, *comm) == (std::vector<double>{1, 2, 3, 10}));
  const std::vector<double> even = {1, 2, 3, 4};
  BOOST_TEST(comm::quantiles(even, std::vector<double>{0.5}, *comm)[0] == 2.5);  // numpy's default
  BOOST_CHECK_THROW(comm::select_values(small, std::vector<std::uint64_t>{5}, *comm), std::out_of_range);
}

BOOST_AUTO_TEST_SUITE_END()

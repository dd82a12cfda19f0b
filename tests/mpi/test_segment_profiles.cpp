// Segment profiles (/kmeans/profile) at 1..4 ranks: bit-identical to one process on all customers,
// medians equal to a direct sort, revenue shares from the monetary column.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>

#include "mpiseg/core/random.hpp"
#include "mpiseg/pipeline/run.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

namespace {

constexpr std::size_t kCustomers = 1001, kSegments = 4;

/// Customers whose global index i satisfies `mine(i)`: features (recency, monetary) and a label.
struct Shard {
  features::FeatureTable table;
  std::vector<std::int32_t> labels;
};

template <class Mine>
Shard make_shard(Mine mine) {
  Shard shard;
  shard.table.names = {"recency_days", "monetary"};
  for (std::size_t i = 0; i < kCustomers; ++i) {
    if (!mine(i)) continue;
    CounterRng rng(21, i);
    shard.table.customer.push_back(100 + i);
    shard.table.raw.push_back(static_cast<double>(rng.below(365)));
    shard.table.raw.push_back(std::round(rng.uniform() * 1e6) / 100.0 - 500.0);  // cents, some negative
    // Segment 3 stays empty on purpose.
    shard.labels.push_back(static_cast<std::int32_t>(rng.below(kSegments - 1)));
  }
  return shard;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(profiles_are_identical_at_every_rank_count) {
  auto& comm = world();
  const auto rank = static_cast<std::size_t>(comm.rank()), size = static_cast<std::size_t>(comm.size());
  // Contiguous key ranges per rank, as after the customer shuffle.
  const Shard mine = make_shard([&](std::size_t i) { return i * size / kCustomers == rank; });
  const auto profiles = pipeline::segment_profiles(mine.table, mine.labels, kSegments, comm);

  auto alone = comm::make_serial_communicator();
  const Shard all = make_shard([](std::size_t) { return true; });
  const auto expected = pipeline::segment_profiles(all.table, all.labels, kSegments, *alone);

  BOOST_TEST(profiles.customers == expected.customers);
  BOOST_TEST(same_bits(profiles.mean, expected.mean));
  BOOST_TEST(same_bits(profiles.median, expected.median));
  BOOST_TEST(same_bits(profiles.revenue_share, expected.revenue_share));

  // Against direct computation on all customers.
  std::uint64_t counted = 0;
  double total_monetary = 0;
  for (std::size_t i = 0; i < kCustomers; ++i) total_monetary += all.table.raw[i * 2 + 1];
  for (std::size_t s = 0; s < kSegments; ++s) {
    std::vector<double> recency, monetary;
    for (std::size_t i = 0; i < kCustomers; ++i)
      if (all.labels[i] == static_cast<std::int32_t>(s)) {
        recency.push_back(all.table.raw[i * 2]);
        monetary.push_back(all.table.raw[i * 2 + 1]);
      }
    BOOST_TEST(profiles.customers[s] == recency.size());
    counted += recency.size();
    if (recency.empty()) {
      BOOST_TEST(profiles.mean[s * 2] == 0.0);
      BOOST_TEST(profiles.revenue_share[s] == 0.0);
      continue;
    }
    std::sort(recency.begin(), recency.end());
    const std::size_t n = recency.size();
    const double median = n % 2 ? recency[n / 2] : recency[n / 2 - 1] + (recency[n / 2] - recency[n / 2 - 1]) * 0.5;
    BOOST_TEST(profiles.median[s * 2] == median, "segment " << s);
    double sum = 0;
    for (double value : monetary) sum += value;
    BOOST_TEST(profiles.mean[s * 2 + 1] == sum / static_cast<double>(n), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(profiles.revenue_share[s] == sum / total_monetary, boost::test_tools::tolerance(1e-9));
  }
  BOOST_TEST(counted == kCustomers);
}

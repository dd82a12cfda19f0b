// Distributed FP-growth at 1..4 ranks against brute force; rules recomputed independently.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "mpiseg/core/error.hpp"
#include "mpiseg/fpgrowth/fpgrowth.hpp"
#include "mpiseg/fpgrowth/frequent_pairs.hpp"
#include "support/brute_force.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using namespace mpiseg::fpgrowth;
using mpiseg::testing::world;

namespace {

// Global basket b (items are ids 0..items-1) is a function of b; rank r holds b = r, r + P, ...
testing::Itemset basket(std::size_t b, std::uint32_t items) {
  std::mt19937_64 random(1000 + b);
  testing::Itemset set;
  for (std::uint32_t i = 0; i < items; ++i)
    if (std::uniform_real_distribution<double>(0, 1)(random) < 0.55 - 0.4 * i / items) set.push_back(i);
  if (b % 11 == 0) set.push_back(set.empty() ? 0 : set.front());  // a duplicate item
  return set;
}

Baskets local_baskets(std::size_t total, std::uint32_t items, comm::Communicator& comm) {
  Baskets baskets;
  for (std::size_t b = static_cast<std::size_t>(comm.rank()); b < total; b += static_cast<std::size_t>(comm.size())) {
    testing::Itemset set = basket(b, items);
    const std::size_t before = set.size();
    std::sort(set.begin(), set.end());
    set.erase(std::unique(set.begin(), set.end()), set.end());
    baskets.duplicate_items += before - set.size();
    baskets.items.insert(baskets.items.end(), set.begin(), set.end());
    baskets.offsets.push_back(baskets.items.size());
    baskets.customer.push_back(b);
  }
  return baskets;
}

// Every global basket, as local_baskets() deals them out.
std::vector<testing::Itemset> all_baskets(std::size_t total, std::uint32_t items) {
  std::vector<testing::Itemset> all;
  for (std::size_t b = 0; b < total; ++b) all.push_back(basket(b, items));
  return all;
}

std::map<testing::Itemset, std::uint64_t> brute_force(std::size_t total, std::uint32_t items, std::uint64_t min_count) {
  return testing::brute_force_itemsets(all_baskets(total, items), std::vector<std::uint64_t>(total, 1), min_count);
}

std::map<testing::Itemset, std::uint64_t> gather_itemsets(const FrequentItemsets& mined, comm::Communicator& comm) {
  // Item ids of every itemset of every rank, in the global canonical order.
  std::vector<std::uint32_t> flat;
  for (std::size_t i = 0; i < mined.local.size(); ++i) {
    const auto set = mined.local.itemset(i);
    flat.push_back(static_cast<std::uint32_t>(set.size()));
    flat.push_back(static_cast<std::uint32_t>(mined.local.support[i]));
    for (std::uint32_t p : set) flat.push_back(mined.flist[p]);
  }
  const auto all = comm.allgatherv(std::span<const std::uint32_t>(flat));
  std::map<testing::Itemset, std::uint64_t> result;
  for (std::size_t at = 0; at < all.size();) {
    const std::uint32_t size = all[at];
    testing::Itemset set(all.begin() + static_cast<std::ptrdiff_t>(at + 2), all.begin() + static_cast<std::ptrdiff_t>(at + 2 + size));
    std::sort(set.begin(), set.end());
    result[set] = all[at + 1];
    at += 2 + size;
  }
  return result;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed_fp_growth)

BOOST_AUTO_TEST_CASE(itemsets_equal_brute_force_at_any_rank_count) {
  auto& comm = world();
  const std::size_t total = 300;
  const std::uint32_t items = 14;
  const Baskets baskets = local_baskets(total, items, comm);
  FpSettings settings;
  settings.min_support = 0.08;
  const FrequentItemsets mined = mine_itemsets(settings, baskets, items, comm);
  const auto expected = brute_force(total, items, settings.min_count(total));
  BOOST_TEST(mined.baskets == total);
  BOOST_TEST(mined.total == expected.size());
  BOOST_TEST((gather_itemsets(mined, comm) == expected));
  std::uint64_t duplicates = 0;
  for (std::size_t b = 0; b < total; b += 11) duplicates += basket(b, items).empty() ? 0 : 1;
  BOOST_TEST(mined.duplicate_items == duplicates);
  // Every rank can look up any itemset's support, frequent or not.
  ItemsetTable queries;
  std::vector<std::uint64_t> wanted;
  for (const auto& [set, support] : expected) {
    std::vector<std::uint32_t> positions;
    for (std::uint32_t item : set) positions.push_back(mined.position_of[item]);
    std::sort(positions.begin(), positions.end());
    queries.add(positions, 0);
    wanted.push_back(support);
  }
  queries.add(std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}, 0);  // not frequent
  wanted.push_back(0);
  BOOST_TEST(lookup_supports(mined, queries, comm) == wanted);
  // A search started from any hint finds what the plain search finds, and leaves the hint where
  // the itemset is (or would be).
  std::uint64_t hint = 0, wrong = 0, checked = 0;
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto positions = queries.itemset(q);
    if (positions.empty() || mined.owner(positions.back()) != comm.rank()) continue;
    for (std::uint64_t start : {std::uint64_t{0}, hint, (q * 7919) % (mined.local.size() + 1), std::uint64_t{mined.local.size()}}) {
      std::uint64_t from = start;
      const auto found = mined.local_support(positions, &from);
      wrong += found != mined.local_support(positions);
      wrong += found && !std::ranges::equal(mined.local.itemset(from), positions);
      ++checked;
    }
    hint = (hint * 31 + q) % (mined.local.size() + 1);
  }
  BOOST_TEST(wrong == 0u);
  BOOST_TEST(comm.allreduce(checked, comm::ReduceOp::sum) > 0u);
}

BOOST_AUTO_TEST_CASE(rules_recomputed_from_brute_force_supports) {
  auto& comm = world();
  const std::size_t total = 240;
  const std::uint32_t items = 12;
  const Baskets baskets = local_baskets(total, items, comm);
  const std::vector<testing::Itemset> all = all_baskets(total, items);
  for (bool multi : {false, true}) {
    FpSettings settings;
    settings.min_support = 0.1;
    settings.min_confidence = 0.6;
    settings.min_lift = 1.05;
    settings.multi_consequent = multi;
    const FrequentItemsets mined = mine_itemsets(settings, baskets, items, comm);
    const RuleTable rules = generate_rules(mined, settings, comm);
    const auto support = testing::brute_force_itemsets(all, std::vector<std::uint64_t>(total, 1), 1);
    // Every local rule's metrics from brute-force counts.
    for (std::size_t r = 0; r < rules.size(); ++r) {
      testing::Itemset x(rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r]),
                         rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r + 1]));
      testing::Itemset y(rules.consequent.begin() + static_cast<std::ptrdiff_t>(rules.consequent_offsets[r]),
                         rules.consequent.begin() + static_cast<std::ptrdiff_t>(rules.consequent_offsets[r + 1]));
      testing::Itemset z = x;
      z.insert(z.end(), y.begin(), y.end());
      std::sort(x.begin(), x.end());
      std::sort(y.begin(), y.end());
      std::sort(z.begin(), z.end());
      const double n = total, sz = support.at(z), sx = support.at(x), sy = support.at(y);
      BOOST_REQUIRE(std::abs(rules.confidence[r] - sz / sx) < 1e-12);
      BOOST_REQUIRE(std::abs(rules.lift[r] - sz * n / (sx * sy)) < 1e-12);
      BOOST_REQUIRE(std::abs(rules.leverage[r] - (sz / n - sx * sy / (n * n))) < 1e-12);
      BOOST_REQUIRE(rules.confidence[r] >= 0.6);
      BOOST_REQUIRE(rules.lift[r] >= 1.05);
      if (!multi) BOOST_REQUIRE(y.size() == 1u);
    }
    // The number of rules equals a brute-force enumeration of all qualifying splits.
    std::uint64_t expected = 0;
    for (const auto& [z, sz] : support) {
      if (z.size() < 2 || sz < settings.min_count(total)) continue;
      for (std::uint32_t mask = 1; mask + 1 < (1u << z.size()); ++mask) {
        testing::Itemset x, y;
        for (std::size_t i = 0; i < z.size(); ++i) (mask >> i & 1 ? y : x).push_back(z[i]);
        if (!multi && y.size() != 1) continue;
        const double confidence = static_cast<double>(sz) / static_cast<double>(support.at(x));
        const double lift = confidence * static_cast<double>(total) / static_cast<double>(support.at(y));
        expected += confidence >= 0.6 && lift >= 1.05;
      }
    }
    BOOST_TEST(comm.allreduce<std::uint64_t>(rules.size(), comm::ReduceOp::sum) == expected);
  }
}

BOOST_AUTO_TEST_CASE(top_rules_per_consequent) {
  auto& comm = world();
  const Baskets baskets = local_baskets(240, 12, comm);
  FpSettings settings;
  settings.min_support = 0.08;
  settings.min_confidence = 0.3;
  settings.min_lift = 0;
  settings.top_rules_per_consequent = 2;
  const FrequentItemsets mined = mine_itemsets(settings, baskets, 12, comm);
  const RuleTable rules = generate_rules(mined, settings, comm);
  std::vector<std::uint32_t> consequents(rules.consequent.begin(), rules.consequent.end());
  const auto all = comm.allgatherv(std::span<const std::uint32_t>(consequents));
  std::map<std::uint32_t, int> per_consequent;
  for (std::uint32_t item : all) ++per_consequent[item];
  BOOST_TEST(!per_consequent.empty());
  for (const auto& [item, count] : per_consequent) BOOST_TEST(count <= 2);
}

BOOST_AUTO_TEST_CASE(prefix_filter_gives_the_same_itemsets_with_fewer_prefix_bytes) {
  auto& comm = world();
  const std::size_t total = 600;
  const std::uint32_t items = 24;
  FpSettings settings;
  settings.min_support = 0.12;  // items are independent: pairs of rarer items fall below it
  const Baskets baskets = local_baskets(total, items, comm);
  const auto mine_with = [&](PrefixFilter filter, std::uint64_t max_pair_count_bytes) {
    settings.prefix_filter = filter;
    settings.max_pair_count_bytes = max_pair_count_bytes;
    return mine_itemsets(settings, baskets, items, comm);
  };
  const std::uint64_t plenty = std::uint64_t{64} << 20;
  const FrequentItemsets whole = mine_with(PrefixFilter::none, plenty);
  const FrequentItemsets filtered = mine_with(PrefixFilter::pairs, plenty);
  const FrequentItemsets automatic = mine_with(PrefixFilter::automatic, plenty);
  // Room for the pairs of the 10 most frequent items, not 11: later items keep all their partners.
  const FrequentItemsets partly = mine_with(PrefixFilter::pairs, 4 * pair_triangle_size(10) + 3);

  BOOST_TEST((gather_itemsets(filtered, comm) == brute_force(total, items, settings.min_count(total))));
  for (const FrequentItemsets* other : {&whole, &automatic, &partly}) {  // this rank's table, bit for bit
    BOOST_TEST(filtered.local.items == other->local.items);
    BOOST_TEST(filtered.local.offsets == other->local.offsets);
    BOOST_TEST(filtered.local.support == other->local.support);
  }
  const std::uint64_t f = filtered.flist.size(), pairs = filtered.frequent_pairs;
  BOOST_TEST(whole.pair_covered_items == 0u);
  BOOST_TEST(filtered.pair_covered_items == f);
  BOOST_TEST(partly.pair_covered_items == 10u);
  BOOST_TEST(pairs > 0u);
  BOOST_TEST(pairs < f * (f - 1) / 2);
  BOOST_TEST(partly.frequent_pairs < pairs);
  // The same frequent pairs on every rank.
  BOOST_TEST(comm.allreduce(pairs, comm::ReduceOp::max) == comm.allreduce(pairs, comm::ReduceOp::min));
  const auto sum = [&](std::uint64_t value) { return comm.allreduce(value, comm::ReduceOp::sum); };
  if (comm.size() > 1) {  // fewer pairs counted, fewer items dropped: the partial filter lies between
    BOOST_TEST(sum(filtered.exchanged_bytes) < sum(whole.exchanged_bytes));
    BOOST_TEST(sum(partly.exchanged_bytes) <= sum(whole.exchanged_bytes));
    BOOST_TEST(sum(partly.exchanged_bytes) >= sum(filtered.exchanged_bytes));
    BOOST_TEST(sum(filtered.pair_count_bytes) > 0u);
    BOOST_TEST(sum(partly.pair_count_bytes) < sum(filtered.pair_count_bytes));
  } else {
    BOOST_TEST(automatic.pair_covered_items == 0u);  // nothing to exchange, so nothing to filter
  }
}

BOOST_AUTO_TEST_CASE(automatic_prefix_filter_counts_pairs_where_prefixes_outweigh_them) {
  // Every rank holds each subset of 16 items: 16 items give a triangle of 120 counts, far fewer
  // than the prefix items sent (over 2^18, below which "auto" leaves prefixes whole), so "auto"
  // counts pairs wherever there is an exchange.
  auto& comm = world();
  Baskets baskets;
  for (std::uint32_t mask = 1; mask < (1u << 16); ++mask) {
    for (std::uint32_t item = 0; item < 16; ++item)
      if (mask >> item & 1) baskets.items.push_back(item);
    baskets.offsets.push_back(baskets.items.size());
    baskets.customer.push_back(mask);
  }
  FpSettings settings;
  settings.min_support = 0.2;  // items (50%) and pairs (25%) are frequent, triples (12.5%) not
  const FrequentItemsets automatic = mine_itemsets(settings, baskets, 16, comm);
  settings.prefix_filter = PrefixFilter::none;
  const FrequentItemsets whole = mine_itemsets(settings, baskets, 16, comm);
  BOOST_TEST(automatic.frequent_pairs == (comm.size() > 1 ? 120u : 0u));
  BOOST_TEST(automatic.total == 16u + 120u);
  BOOST_TEST(automatic.local.items == whole.local.items);
  BOOST_TEST(automatic.local.support == whole.local.support);
}

BOOST_AUTO_TEST_CASE(pair_count_routes_find_the_same_frequent_pairs) {
  // Random counts of 40 positions on every rank; the frequent pairs from the summed counts are
  // the answer both routes must give, for thresholds from below the rank count to above any sum.
  auto& comm = world();
  const std::uint32_t covered = 40;
  const auto ranks = static_cast<std::uint32_t>(comm.size());
  std::vector<std::uint32_t> range_begin{0};
  for (std::uint32_t r = 1; r < ranks; ++r) range_begin.push_back(std::min<std::uint32_t>(covered, 7 * r * r));  // uneven, some empty
  range_begin.push_back(45);  // positions beyond the covered ones
  std::mt19937_64 random(77 + static_cast<std::uint64_t>(comm.rank()));
  std::vector<std::uint32_t> counts(pair_triangle_size(covered));
  for (std::uint32_t& count : counts) count = random() % 3 == 0 ? 0 : static_cast<std::uint32_t>(random() % 20);
  std::vector<std::uint64_t> sums(counts.begin(), counts.end());
  comm.allreduce(std::span(sums), comm::ReduceOp::sum);
  for (const std::uint64_t min_count : {1u, 2u, 9u, 25u, 40u, 1000u}) {
    std::vector<std::uint64_t> expected;
    for (std::uint64_t i = 0; i < sums.size(); ++i)
      if (sums[i] >= min_count) expected.push_back(i);
    const FrequentPairs reference(covered, expected);
    for (const PairCountRoute route : {PairCountRoute::dense, PairCountRoute::candidates, PairCountRoute::automatic}) {
      PairCounts exchange(counts, range_begin, covered, min_count, route, comm);
      if (route != PairCountRoute::automatic) BOOST_TEST((exchange.route() == route));
      const FrequentPairs pairs = std::move(exchange).frequent(comm);
      BOOST_TEST(pairs.count() == expected.size());
      bool same = true;
      for (std::uint32_t b = 1; b < covered; ++b)
        for (std::uint32_t a = 0; a < b; ++a) same = same && pairs.frequent(a, b) == reference.frequent(a, b);
      BOOST_TEST(same);
    }
  }
}

BOOST_AUTO_TEST_CASE(prefix_filter_settings) {
  const auto parse = [](const std::string& key, const std::string& value) {
    return FpSettings::from_job(JobConfig::parse("", "", std::vector<std::string>{"fpgrowth." + key + "=" + value}, fpgrowth_keys()));
  };
  BOOST_TEST((parse("prefix_filter", "\"pairs\"").prefix_filter == PrefixFilter::pairs));
  BOOST_TEST((parse("prefix_filter", "\"none\"").prefix_filter == PrefixFilter::none));
  BOOST_TEST((parse("prefix_filter", "\"auto\"").prefix_filter == PrefixFilter::automatic));
  BOOST_CHECK_THROW(parse("prefix_filter", "\"triples\""), ConfigError);
  BOOST_TEST(parse("pair_counts_max_mib", "3").max_pair_count_bytes == std::uint64_t{3} << 20);
  BOOST_CHECK_THROW(parse("pair_counts_max_mib", "0"), ConfigError);
}

BOOST_AUTO_TEST_CASE(invalid_and_limited_settings) {
  auto& comm = world();
  const Baskets baskets = local_baskets(100, 10, comm);
  FpSettings settings;
  settings.min_support = 0.01;
  settings.max_itemsets = 5;
  // Every rank fails: with LimitExceeded where this rank's own itemsets (or the global count)
  // pass the limit, with PeerFailure where only other ranks' do (many ranks, few itemsets each).
  bool returned = false, limit_here = false;
  try {
    mine_itemsets(settings, baskets, 10, comm);
    returned = true;
  } catch (const LimitExceeded&) {
    limit_here = true;
  } catch (const PeerFailure&) {
  }
  BOOST_TEST(!returned);
  BOOST_TEST(comm.allreduce<std::uint64_t>(limit_here ? 1 : 0, comm::ReduceOp::sum) >= 1u);
  const auto parse = [](const std::string& value) {
    return FpSettings::from_job(JobConfig::parse("", "", std::vector<std::string>{"fpgrowth.min_support=" + value}, fpgrowth_keys()));
  };
  BOOST_CHECK_THROW(parse("0"), ConfigError);
  BOOST_CHECK_THROW(parse("-0.1"), ConfigError);
  BOOST_CHECK_THROW(parse("1.5"), ConfigError);
  BOOST_CHECK_THROW(parse("0.0"), ConfigError);
  BOOST_TEST(parse("1.0").min_count(10) == 10u);  // a fraction of all baskets
  BOOST_TEST(parse("3").min_support_is_count);
}

BOOST_AUTO_TEST_SUITE_END()

// FP-growth on one rank against brute-force enumeration, over random transaction sets.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <numeric>
#include <random>

#include "mpiseg/core/error.hpp"
#include "mpiseg/fpgrowth/baskets.hpp"
#include "mpiseg/fpgrowth/frequent_pairs.hpp"
#include "mpiseg/fpgrowth/mining.hpp"
#include "mpiseg/fpgrowth/settings.hpp"
#include "support/brute_force.hpp"

using namespace mpiseg;
using namespace mpiseg::fpgrowth;

namespace {

struct Case {
  std::vector<testing::Itemset> transactions;  // positions
  std::vector<std::uint64_t> weights;
};

// Random transactions over positions 0..items-1, denser for small positions (like an F-list).
Case random_case(std::uint64_t seed, std::uint32_t items, std::size_t count, double density) {
  std::mt19937_64 random(seed);
  Case c;
  for (std::size_t t = 0; t < count; ++t) {
    testing::Itemset transaction;
    for (std::uint32_t p = 0; p < items; ++p)
      if (std::uniform_real_distribution<double>(0, 1)(random) < density * (1.0 - 0.6 * p / items)) transaction.push_back(p);
    c.transactions.push_back(transaction);
    c.weights.push_back(1 + random() % 3);
  }
  return c;
}

// The same transactions with every position raised by `offset`. Positions from 58 on are mined
// without the bit masks that lower ones use (mining.cpp), so offsets 0, 50 and 58 take the masked
// path, both, and the other.
Case shifted(Case c, std::uint32_t offset) {
  for (auto& transaction : c.transactions)
    for (auto& position : transaction) position += offset;
  return c;
}

WeightedTransactions as_weighted(const Case& c) {
  WeightedTransactions w;
  for (std::size_t t = 0; t < c.transactions.size(); ++t) w.add(c.transactions[t], c.weights[t]);
  return w;
}

std::map<testing::Itemset, std::uint64_t> as_map(const ItemsetTable& table) {
  std::map<testing::Itemset, std::uint64_t> result;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto set = table.itemset(i);
    result[testing::Itemset(set.begin(), set.end())] = table.support[i];
  }
  return result;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fp_growth_mining)

BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_data) {
  for (std::uint32_t offset : {0u, 50u, 58u})
    for (std::uint64_t seed = 1; seed <= 25; ++seed) {
      const std::uint32_t items = 6 + static_cast<std::uint32_t>(seed % 9);
      const Case c = shifted(random_case(seed, items, 40 + seed * 3, 0.25 + 0.02 * static_cast<double>(seed % 10)), offset);
      const std::uint64_t min_count = 2 + seed % 7;
      const auto expected = testing::brute_force_itemsets(c.transactions, c.weights, min_count);
      const ItemsetTable mined = mine_suffix_range(as_weighted(c), 0, offset + items, MiningLimits{min_count, 0, 0});
      BOOST_TEST_REQUIRE((as_map(mined) == expected), "seed " << seed << ", offset " << offset);
      BOOST_TEST(mined.size() == expected.size());  // no itemset twice
    }
}

BOOST_AUTO_TEST_CASE(suffix_ranges_partition_the_itemsets_in_canonical_order) {
  const Case c = random_case(99, 12, 120, 0.35);
  const auto expected = testing::brute_force_itemsets(c.transactions, c.weights, 4);
  std::map<testing::Itemset, std::uint64_t> joined;
  std::vector<testing::Itemset> sequence;
  for (std::uint32_t first : {0u, 3u, 7u, 10u}) {
    const std::uint32_t last = first == 10 ? 12 : (first == 0 ? 3 : first == 3 ? 7 : 10);
    // Transactions truncated to items below `last`, as a rank receives them.
    WeightedTransactions truncated;
    for (std::size_t t = 0; t < c.transactions.size(); ++t) {
      testing::Itemset prefix;
      for (std::uint32_t p : c.transactions[t])
        if (p < last) prefix.push_back(p);
      truncated.add(prefix, c.weights[t]);
    }
    const ItemsetTable part = mine_suffix_range(truncated, first, last, MiningLimits{4, 0, 0});
    for (std::size_t i = 0; i < part.size(); ++i) {
      const auto set = part.itemset(i);
      BOOST_REQUIRE(set.back() >= first);
      BOOST_REQUIRE(set.back() < last);
      BOOST_REQUIRE(joined.emplace(testing::Itemset(set.begin(), set.end()), part.support[i]).second);
      sequence.emplace_back(set.begin(), set.end());
    }
  }
  BOOST_TEST((joined == expected));
  // Canonical order: suffix, then size, then positions.
  for (std::size_t i = 1; i < sequence.size(); ++i) {
    const auto& a = sequence[i - 1];
    const auto& b = sequence[i];
    BOOST_TEST((a.back() < b.back() || (a.back() == b.back() && canonical_less(a, b))));
  }
}

BOOST_AUTO_TEST_CASE(max_len_and_single_paths) {
  for (std::uint32_t offset : {0u, 58u}) {
    const Case dense = shifted(random_case(7, 10, 60, 0.9), offset);  // dense: single-path conditional trees are common
    for (std::size_t max_len : {1u, 2u, 3u, 5u}) {
      const auto expected = testing::brute_force_itemsets(dense.transactions, dense.weights, 10, max_len);
      const ItemsetTable mined = mine_suffix_range(as_weighted(dense), 0, offset + 10, MiningLimits{10, max_len, 0});
      BOOST_TEST((as_map(mined) == expected), "max_len " << max_len << ", offset " << offset);
    }
    WeightedTransactions chain;  // one single path: every subset of 8 items with support 5
    chain.add(shifted(Case{{{0, 1, 2, 3, 4, 5, 6, 7}}, {5}}, offset).transactions[0], 5);
    BOOST_TEST(mine_suffix_range(chain, 0, offset + 8, MiningLimits{5, 0, 0}).size() == 255u);
  }
}

BOOST_AUTO_TEST_CASE(itemset_limit_fails_cleanly) {
  WeightedTransactions chain;
  chain.add(std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 3);
  BOOST_CHECK_THROW(mine_suffix_range(chain, 0, 16, MiningLimits{1, 0, 1000}), LimitExceeded);
  // The limit counts every suffix's itemsets, not only the current suffix's: 40 frequent single
  // items, one itemset per suffix.
  WeightedTransactions singles;
  for (std::uint32_t p = 0; p < 40; ++p) singles.add(std::vector<std::uint32_t>{p}, 2);
  BOOST_CHECK_THROW(mine_suffix_range(singles, 0, 40, MiningLimits{2, 0, 30}), LimitExceeded);
  BOOST_TEST(mine_suffix_range(singles, 0, 40, MiningLimits{2, 0, 40}).size() == 40u);
}

// One basket of 20 items: all 2^20 - 1 subsets are frequent, every item a perfect extension of
// the ones after it, and the largest suffix's batch holds 2^19 itemsets. At positions 0-19 the
// batches are ordered by radix passes over bit-mask keys; at 40-59 those of suffixes 58 and 59 by
// radix passes over packed positions, 64-bit keys and, for the longer ones (6 bits per position),
// 128-bit keys.
BOOST_AUTO_TEST_CASE(large_batches_come_out_complete_and_in_canonical_order) {
  for (std::uint32_t first : {0u, 40u}) {
    WeightedTransactions everything;
    std::vector<std::uint32_t> items(20);
    std::iota(items.begin(), items.end(), first);
    everything.add(items, 3);
    const ItemsetTable mined = mine_suffix_range(everything, 0, first + 20, MiningLimits{3, 0, 0});
    BOOST_TEST(mined.size() == (std::size_t{1} << 20) - 1);
    std::size_t out_of_order = 0, wrong_support = 0;
    for (std::size_t i = 0; i < mined.size(); ++i) {
      wrong_support += mined.support[i] != 3;
      if (i == 0) continue;
      const auto a = mined.itemset(i - 1), b = mined.itemset(i);
      out_of_order += !(a.back() < b.back() || (a.back() == b.back() && canonical_less(a, b)));
    }
    BOOST_TEST(out_of_order == 0u, "first position " << first);
    BOOST_TEST(wrong_support == 0u);
  }
}

// Conditional trees of more than 64 items (their paths sorted lexicographically, not as bit masks,
// and no masked mode at these positions): the suffixes 90 and 95 here have 90 and 91 partners,
// and a few longer baskets share prefixes among them.
BOOST_AUTO_TEST_CASE(wide_conditional_trees_match_brute_force) {
  Case c;
  for (std::uint32_t p = 0; p < 90; ++p) {
    c.transactions.push_back({p, 90, 95});
    c.weights.push_back(2);
  }
  for (const testing::Itemset& longer : {testing::Itemset{0, 1, 2, 3, 90, 95}, testing::Itemset{0, 1, 5, 90, 95},
                                         testing::Itemset{2, 3, 4, 95}, testing::Itemset{0, 1, 2, 3, 90}}) {
    c.transactions.push_back(longer);
    c.weights.push_back(3);
  }
  const auto expected = testing::brute_force_itemsets(c.transactions, c.weights, 2);
  const ItemsetTable mined = mine_suffix_range(as_weighted(c), 0, 96, MiningLimits{2, 0, 0});
  BOOST_TEST((as_map(mined) == expected));
  BOOST_TEST(mined.size() == expected.size());
}

// Masked itemsets are written out when their buffer is full, several times over a range: the
// tables grow and the order holds (a buffer of 1 KiB: 64 itemsets).
BOOST_AUTO_TEST_CASE(a_full_masked_buffer_is_written_out_in_order) {
  for (std::uint32_t offset : {0u, 50u}) {
    const Case dense = shifted(random_case(11, 12, 80, 0.8), offset);
    const auto expected = testing::brute_force_itemsets(dense.transactions, dense.weights, 6);
    MiningLimits limits{6, 0, 0};
    const ItemsetTable whole = mine_suffix_range(as_weighted(dense), 0, offset + 12, limits);
    limits.masked_buffer_bytes = 1024;
    const ItemsetTable pieces = mine_suffix_range(as_weighted(dense), 0, offset + 12, limits);
    BOOST_TEST_REQUIRE(expected.size() > 200u);
    BOOST_TEST((as_map(pieces) == expected), "offset " << offset);
    BOOST_TEST(pieces.items == whole.items);
    BOOST_TEST(pieces.offsets == whole.offsets);
    BOOST_TEST(pieces.support == whole.support);
  }
}

BOOST_AUTO_TEST_CASE(minimum_support_settings) {
  FpSettings s;
  s.min_support = 0.01;
  BOOST_TEST(s.min_count(88162) == 882u);  // ceil(881.62)
  s.min_support = 0.25;
  BOOST_TEST(s.min_count(8) == 2u);
  s.min_support = 9;
  s.min_support_is_count = true;
  BOOST_TEST(s.min_count(88162) == 9u);
}

// Itemsets of one size sort into canonical order by packed integer keys (positions, then the
// itemset's index) of 64 bits where they fit, 128 bits where not, and by comparison beyond that:
// subsets of twelve items at positions above 3000 (12 bits each) take all three paths.
BOOST_AUTO_TEST_CASE(canonical_order_of_long_itemsets_at_high_positions) {
  Case c;
  for (std::uint32_t p = 0; p < 3000; ++p) c.transactions.push_back({p});
  testing::Itemset long_one;
  for (std::uint32_t p = 3000; p < 3012; ++p) long_one.push_back(p);
  const testing::Itemset mixed = {5, 17, 3005, 3011};
  for (const auto& transaction : {long_one, long_one, mixed, mixed, testing::Itemset{3, 5, 17}}) c.transactions.push_back(transaction);
  c.weights.assign(c.transactions.size(), 1);
  for (std::uint32_t p = 0; p < 3000; p += 7) c.weights[p] = 2;  // some singletons frequent, most not
  const auto expected = testing::brute_force_itemsets(c.transactions, c.weights, 2);
  const ItemsetTable mined = mine_suffix_range(as_weighted(c), 0, 3012, MiningLimits{2, 0, 0});
  BOOST_TEST((as_map(mined) == expected));
  for (std::size_t i = 1; i < mined.size(); ++i) {
    const auto a = mined.itemset(i - 1), b = mined.itemset(i);
    BOOST_TEST_REQUIRE((a.back() < b.back() || (a.back() == b.back() && canonical_less(a, b))), "itemset " << i);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(prefix_filter_by_frequent_pairs)

namespace {
// Pair supports counted directly, as a map.
std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> direct_pair_counts(const Case& c) {
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint64_t> counts;
  for (std::size_t t = 0; t < c.transactions.size(); ++t)
    for (std::uint32_t a : c.transactions[t])
      for (std::uint32_t b : c.transactions[t])
        if (a < b) counts[{a, b}] += c.weights[t];
  return counts;
}

FrequentPairs frequent_pairs_of(const Case& c, std::uint32_t items, std::uint64_t min_count) {
  std::vector<std::uint64_t> indices;
  for (const auto& [pair, count] : direct_pair_counts(c))
    if (count >= min_count) indices.push_back(pair_index(pair.first, pair.second));
  std::shuffle(indices.begin(), indices.end(), std::mt19937_64(items));  // any order
  return FrequentPairs(items, indices);
}
}  // namespace

BOOST_AUTO_TEST_CASE(pair_counts_fill_the_triangle_row_by_row) {
  const Case c = random_case(7, 23, 300, 0.4);
  const std::vector<std::uint32_t> counts = count_pairs(as_weighted(c), 23);
  BOOST_TEST(counts.size() == 23u * 22u / 2u);
  const auto expected = direct_pair_counts(c);
  std::uint64_t index = 0;
  for (std::uint32_t b = 0; b < 23; ++b)
    for (std::uint32_t a = 0; a < b; ++a, ++index) {  // row b, then the next row: one contiguous run
      BOOST_TEST(pair_index(a, b) == index);
      const auto it = expected.find({a, b});
      BOOST_TEST(counts[index] == (it == expected.end() ? 0 : it->second));
    }
  BOOST_TEST(pair_triangle_size(0) == 0u);
  BOOST_TEST(pair_triangle_size(1) == 0u);
}

BOOST_AUTO_TEST_CASE(filter_keeps_the_owned_items_and_their_frequent_partners) {
  const std::uint32_t items = 30;
  const Case c = random_case(11, items, 200, 0.35);
  const std::uint64_t min_count = 40;
  const FrequentPairs pairs = frequent_pairs_of(c, items, min_count);
  const auto counts = direct_pair_counts(c);
  std::uint64_t frequent = 0;
  for (const auto& [pair, count] : counts) frequent += count >= min_count ? 1 : 0;
  BOOST_TEST(pairs.count() == frequent);
  BOOST_TEST(frequent > 0u);
  BOOST_TEST(frequent < items * (items - 1) / 2);  // some pairs are filtered, some kept
  std::vector<std::uint32_t> kept;
  std::size_t dropped = 0;
  for (const testing::Itemset& t : c.transactions)
    for (std::uint32_t owned_begin : {0u, 5u, 17u, 29u, 30u}) {
      testing::Itemset expected;
      for (std::uint32_t a : t) {
        bool keep = a >= owned_begin;
        for (std::uint32_t q : t)
          if (q >= owned_begin && a < q) {
            const auto it = counts.find({a, q});
            keep = keep || (it != counts.end() && it->second >= min_count);
          }
        if (keep) expected.push_back(a);
      }
      const auto got = pairs.filter(t, owned_begin, kept);
      BOOST_TEST(testing::Itemset(got.begin(), got.end()) == expected);
      dropped += t.size() - expected.size();
    }
  BOOST_TEST(dropped > 0u);
}

BOOST_AUTO_TEST_CASE(coverage_is_the_most_positions_whose_counts_fit) {
  for (const std::uint64_t max_bytes : {0ull, 3ull, 4ull, 11ull, 12ull, 1000ull, 64ull << 20, 1ull << 40})
    for (const std::uint32_t f : {0u, 1u, 2u, 3u, 500u, 100000u}) {
      const std::uint32_t k = covered_positions(f, max_bytes);
      BOOST_TEST(k <= f);
      if (k >= 2) BOOST_TEST(pair_triangle_size(k) * 4 <= max_bytes);
      if (k < f) BOOST_TEST(pair_triangle_size(k + 1) * 4 > max_bytes);
    }
  BOOST_TEST(covered_positions(100000, 64ull << 20) == 5793u);
}

BOOST_AUTO_TEST_CASE(uncovered_pairs_count_as_frequent) {
  const std::uint32_t items = 30, covered = 12;
  const Case c = random_case(13, items, 200, 0.35);
  const std::vector<std::uint32_t> counts = count_pairs(as_weighted(c), covered);
  BOOST_TEST(counts.size() == pair_triangle_size(covered));
  const auto direct = direct_pair_counts(c);
  std::vector<std::uint64_t> frequent;
  for (std::uint32_t b = 1; b < covered; ++b)
    for (std::uint32_t a = 0; a < b; ++a) {
      const auto it = direct.find({a, b});
      BOOST_TEST(counts[pair_index(a, b)] == (it == direct.end() ? 0 : it->second));
      if (counts[pair_index(a, b)] >= 60) frequent.push_back(pair_index(a, b));
    }
  const FrequentPairs pairs(covered, frequent);
  BOOST_TEST(pairs.count() == frequent.size());
  std::vector<std::uint32_t> kept;
  for (const testing::Itemset& t : c.transactions) {
    if (t.empty()) continue;
    for (std::uint32_t owned_begin : {0u, 6u, 11u, 20u}) {
      testing::Itemset expected;
      for (std::uint32_t a : t) {
        bool keep = a >= owned_begin;
        for (std::uint32_t q : t)
          if (q >= owned_begin && a < q) keep = keep || q >= covered || counts[pair_index(a, q)] >= 60;
        if (keep) expected.push_back(a);
      }
      const auto got = pairs.filter(t, owned_begin, kept);
      BOOST_TEST(testing::Itemset(got.begin(), got.end()) == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(filtered_prefixes_mine_to_the_same_itemsets) {
  // What a rank owning [first, last) receives: each transaction's prefix up to its last item in
  // the range, whole or filtered by frequent pairs; both must mine to the same itemsets.
  std::size_t dropped = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const std::uint32_t items = 8 + static_cast<std::uint32_t>(seed % 11);
    const Case c = random_case(100 + seed, items, 60 + seed * 5, 0.2 + 0.03 * static_cast<double>(seed % 8));
    const std::uint64_t min_count = 3 + seed % 9;
    const FrequentPairs pairs = frequent_pairs_of(c, items, min_count);
    const std::uint32_t first = static_cast<std::uint32_t>(seed % items), last = std::min(items, first + 1 + static_cast<std::uint32_t>(seed % 4));
    WeightedTransactions whole, filtered;
    std::vector<std::uint32_t> kept;
    std::size_t whole_items = 0, filtered_items = 0;
    for (std::size_t t = 0; t < c.transactions.size(); ++t) {
      const testing::Itemset& transaction = c.transactions[t];
      std::size_t end = transaction.size();
      while (end > 0 && transaction[end - 1] >= last) --end;
      if (end == 0 || transaction[end - 1] < first) continue;
      const auto prefix = std::span(transaction).first(end);
      whole.add(prefix, c.weights[t]);
      const auto shortened = pairs.filter(prefix, first, kept);
      filtered.add(shortened, c.weights[t]);
      whole_items += prefix.size();
      filtered_items += shortened.size();
    }
    for (const std::uint64_t max_len : {0, 2, 3}) {
      const MiningLimits limits{min_count, max_len, 0};
      const ItemsetTable expected = mine_suffix_range(whole, first, last, limits), got = mine_suffix_range(filtered, first, last, limits);
      BOOST_TEST(got.items == expected.items);
      BOOST_TEST(got.offsets == expected.offsets);
      BOOST_TEST(got.support == expected.support);
    }
    BOOST_TEST(filtered_items <= whole_items);
    dropped += whole_items - filtered_items;
  }
  BOOST_TEST(dropped > 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// The itemsets estimate that weighs the suffix ranges on dense data (fpgrowth.cpp): subsets of a
// suffix's frequent partners whose support under independence stays at the threshold.
BOOST_AUTO_TEST_CASE(itemset_estimate_counts_the_subsets_that_stay_frequent) {
  // Positions 0-3 with supports 100; pairs {a, 3} in 50 baskets each for a = 0, 1, 2; threshold
  // 25. Independent halves: {3} alone, with one partner (50) or two (25) is frequent, with all
  // three (12.5) not: 1 + 3 + 3 = 7 itemsets end in position 3.
  std::vector<std::uint32_t> pairs(pair_triangle_size(4), 0);
  for (std::uint32_t a = 0; a < 3; ++a) pairs[pair_index(a, 3)] = 50;
  pairs[pair_index(0, 1)] = 100;
  const std::vector<std::uint64_t> supports = {100, 100, 100, 100};
  std::vector<double> estimate = estimated_itemsets(pairs, supports, 25);
  BOOST_TEST(estimate[3] == 7.0);
  BOOST_TEST(estimate[2] == 1.0);  // no frequent partner: only {2}
  BOOST_TEST(estimate[1] == 2.0);  // {1} and {0, 1}: position 0 in every basket of position 1
  BOOST_TEST(estimate[0] == 1.0);
  // At the threshold itself only partners in every basket of the suffix count, each doubling.
  estimate = estimated_itemsets(pairs, supports, 100);
  BOOST_TEST(estimate[1] == 2.0);
  BOOST_TEST(estimate[3] == 1.0);
  // Fully dependent partners: every subset of 40 partners is frequent, beyond any bin count, and
  // the count stops at 2^62.
  const std::uint32_t f = 65;
  std::vector<std::uint32_t> dense(pair_triangle_size(f), 10);
  BOOST_TEST(estimated_itemsets(dense, std::vector<std::uint64_t>(f, 10), 5)[40] == std::ldexp(1.0, 40));
  BOOST_TEST(estimated_itemsets(dense, std::vector<std::uint64_t>(f, 10), 5)[64] == std::ldexp(1.0, 62));
  BOOST_CHECK_THROW(estimated_itemsets(std::span(dense).first(10), std::vector<std::uint64_t>(f, 10), 5), std::logic_error);
  // With max_len 3 at most two of the 40 partners join: 1 + 40 + 780.
  BOOST_TEST(estimated_itemsets(dense, std::vector<std::uint64_t>(f, 10), 5, 3)[40] == 821.0);
  BOOST_TEST(estimated_itemsets(pairs, supports, 25, 2)[3] == 4.0);  // {3} and one partner
}

BOOST_AUTO_TEST_CASE(segment_settings_follow_the_segment_keys) {
  // A count for the population becomes the same fraction of each segment's baskets; the
  // segment keys win when set; these are the settings /fpgrowth/segment_N records.
  mpiseg::fpgrowth::FpSettings population;
  population.min_support = 50;
  population.min_support_is_count = true;
  population.max_len = 4;
  const auto from_count = population.for_segments(1000);
  BOOST_TEST(from_count.min_support == 0.05);
  BOOST_TEST(!from_count.min_support_is_count);
  BOOST_TEST(from_count.max_len == 4u);
  population.segment_min_support = 0.2;
  population.segment_max_len = 2;
  const auto from_keys = population.for_segments(1000);
  BOOST_TEST(from_keys.min_support == 0.2);
  BOOST_TEST(from_keys.max_len == 2u);
}

// A basket file's item column becomes the baskets' items in place when the rows are taken over:
// each line sorted, its repeats dropped and counted, the same baskets as building from a copy.
BOOST_AUTO_TEST_CASE(baskets_of_a_basket_file_taken_over_in_place) {
  mpiseg::ingest::IngestResult file;
  file.rows.baskets_only = true;
  file.rows.basket = {10, 10, 10, 10, 10, 20, 20, 30, 40, 40, 40};
  file.rows.item = {3, 1, 3, 2, 1, 5, 5, 4, 9, 0, 7};
  const Baskets copied = build_baskets(file);
  const Baskets taken = build_baskets(std::move(file.rows));
  for (const Baskets* baskets : {&copied, &taken}) {
    BOOST_TEST(baskets->offsets == (std::vector<std::uint64_t>{0, 3, 4, 5, 8}));
    BOOST_TEST(baskets->items == (std::vector<std::uint32_t>{1, 2, 3, 5, 4, 0, 7, 9}));
    BOOST_TEST(baskets->duplicate_items == 3u);
    BOOST_TEST(baskets->customer == std::vector<std::uint64_t>(4, mpiseg::ingest::kMissingCustomer));
  }
  BOOST_TEST(file.rows.size() == 0u);
  BOOST_TEST(file.rows.baskets_only);  // still the rows of a basket file, now empty
}

#pragma once
/// The pieces of the recommend stage, each a function of (local data, comm) that works on a
/// customer shard: every customer's lines are on one rank (ingest partitions by customer), items
/// are global dictionary ids. Results are identical at any rank count: counts are integers,
/// sums of doubles over customers go through the fixed-point grid (core/exact_sum.hpp), and
/// every per-customer or per-item computation runs in an order fixed by the data.
///
///   Interactions train = collect_interactions(rows, customers, 0, cutoff);
///   ItemNeighbours cf = item_neighbours(train, Values::binary, 50, n_items, comm);
///   Recommendations top = recommend_by_neighbours(cf, train, excluded, 10);
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/ingest/line_items.hpp"
#include "mpiseg/recommend/settings.hpp"

namespace mpiseg::recommend {

/// A list of items per customer (CSR), items ascending within a customer.
struct ItemLists {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> item;
  std::size_t lists() const noexcept { return offsets.size() - 1; }
  std::span<const std::uint32_t> of(std::size_t c) const noexcept {
    return {item.data() + offsets[c], static_cast<std::size_t>(offsets[c + 1] - offsets[c])};
  }
};

/// This rank's customers and what each bought in a time window.
struct Interactions {
  std::vector<std::uint64_t> customer;  // ascending; the whole population of this rank, buyers in the window or not
  ItemLists items;                      // per customer: the items bought
  std::vector<std::uint32_t> lines;     // per entry of items: purchase lines of that item
  std::vector<std::uint32_t> last_time; // per entry of items: the latest of them
  std::size_t customers() const noexcept { return customer.size(); }
};

/// A purchase line: a customer, quantity > 0, not a cancellation.
bool is_purchase(const ingest::LineItems& rows, std::size_t line) noexcept;
/// This rank's customers with at least one purchase line, ascending.
std::vector<std::uint64_t> purchasing_customers(const ingest::LineItems& rows);
/// Purchase lines with begin <= time < end of `customers` (ascending, all on this rank).
Interactions collect_interactions(const ingest::LineItems& rows, std::span<const std::uint64_t> customers, std::int64_t begin,
                                  std::int64_t end);
/// Keeps each customer's `max_items` most recently bought items (ties: more lines, then the lower
/// id); returns how many of this rank's customers lost items.
std::uint64_t keep_recent_items(Interactions& interactions, std::size_t max_items);
/// The entries of `interactions` grouped by item: for item i, the customers (index) that bought
/// it and the entry (index into items.item) of that purchase.
struct Buyers {
  std::vector<std::uint64_t> offsets;  // per item, + 1
  std::vector<std::uint32_t> customer;
  std::vector<std::uint64_t> entry;
};
Buyers buyers_by_item(const Interactions& interactions, std::size_t n_items);
/// The same interactions with item ids translated by `model_id` (this data's id -> a model's id,
/// or -1: the model does not know the item, and the entry is dropped); returns the entries dropped.
std::uint64_t translate_items(Interactions& interactions, std::span<const std::int64_t> model_id);
/// Items bought at or after `since` (all items when since < 0), per customer.
ItemLists items_since(const Interactions& interactions, std::int64_t since);

/// Top-n lists per customer (CSR), best first.
struct Recommendations {
  std::vector<std::uint64_t> offsets{0};
  std::vector<std::uint32_t> item;
  std::vector<double> score;
  std::size_t customers() const noexcept { return offsets.size() - 1; }
};

/// Appends one customer's best `n` items by (score descending, item ascending) among `touched`
/// (the items with a score in `scores`), skipping `excluded` (ascending).
void append_top(Recommendations& out, std::span<const std::uint32_t> touched, std::span<const double> scores,
                std::span<const std::uint32_t> excluded, std::size_t n);

// ---------------------------------------------------------------- popularity
/// Buyers (distinct customers) of every item, overall and per segment; global on every rank.
struct Popularity {
  std::vector<std::uint64_t> buyers;          // per item
  std::vector<std::uint64_t> segment_buyers;  // segments x items
  std::uint64_t customers = 0;                // customers with a purchase in the window
  std::vector<std::uint64_t> segment_customers;
};
/// Collective. `segment` (empty, or one label per customer in [0, segments)) of each customer.
Popularity count_popularity(const Interactions& interactions, std::span<const std::int32_t> segment, std::size_t segments,
                            std::size_t n_items, comm::Communicator& comm);
/// The most bought items (score: share of buyers), overall or within the customer's segment.
Recommendations recommend_popular(const Popularity& popularity, std::span<const std::int32_t> segment, bool within_segment,
                                  const ItemLists& excluded, std::size_t n);

// ---------------------------------------------------------------- rules
/// Association rules as a recommender sees them: antecedent -> one item, with a score, overall
/// (segment -1) or of one segment. Replicated on every rank.
struct RuleSet {
  std::vector<std::uint64_t> antecedent_offsets{0};
  std::vector<std::uint32_t> antecedent;  // ascending per rule
  std::vector<std::uint32_t> item;
  std::vector<double> score;
  std::vector<std::int32_t> segment;
  std::size_t size() const noexcept { return item.size(); }
};
/// Items scored by the best rule whose antecedent lies in the customer's `history` and that is
/// overall or of the customer's segment.
Recommendations recommend_by_rules(const RuleSet& rules, const ItemLists& history, std::span<const std::int32_t> segment,
                                   const ItemLists& excluded, std::size_t n, std::size_t n_items);

// ---------------------------------------------------------------- item_cf
/// The integer weight of a customer's purchases of an item pair under `values`: products of the
/// two values, exact integers (binary, counts) or log1p products on a grid of 2^-20.
/// Similarity = weight(i, j) / sqrt(weight(i, i) weight(j, j)), weights summed over customers.
std::int64_t pair_weight(Values values, std::uint32_t lines_a, std::uint32_t lines_b) noexcept;

struct ItemNeighbours {
  ItemLists neighbours;           // per item: its most similar items, by similarity descending then id
  std::vector<double> similarity; // per entry of neighbours
  std::uint64_t pairs = 0;        // global: item pairs with a co-occurrence (both orders)
  std::uint64_t bytes_sent = 0;   // this rank: co-occurrence bytes sent to other ranks
  std::uint64_t local_pairs = 0;  // this rank: distinct pairs formed from its customers
};
/// Collective. Item-item cosine similarity from exact co-occurrence weights: each rank sums its
/// customers' pairs, sends row i to rank i mod P (alltoallv), which reduces, keeps the top
/// `keep` per item, and the lists are shared.
ItemNeighbours item_neighbours(const Interactions& interactions, Values values, std::size_t keep, std::size_t n_items,
                               comm::Communicator& comm);
/// score(c, j) = sum over the items i of c (ascending) with j among i's neighbours of sim(i, j).
Recommendations recommend_by_neighbours(const ItemNeighbours& model, const Interactions& interactions, const ItemLists& excluded,
                                        std::size_t n);

// ---------------------------------------------------------------- als
struct AlsSettings {
  std::size_t factors = 16;
  double regularization = 0.1;
  double alpha = 10.0;
  std::size_t iterations = 10;
  std::uint64_t seed = 1;
  Values values = Values::binary;
};
struct AlsModel {
  std::size_t factors = 0;
  std::vector<double> item_factors;      // items x factors, replicated
  std::vector<double> customer_factors;  // this rank's customers x factors
  std::vector<double> loss;              // after each iteration
  std::vector<double> iteration_seconds; // this rank: wall time of each iteration
  std::uint64_t bytes_sent = 0;          // this rank: item sums sent to owners
};
/// The value r of a customer's purchases of an item (confidence 1 + alpha r); log1p values are
/// rounded to multiples of 2^-20, so that sums of them over customers are exact.
double interaction_value(Values values, std::uint32_t lines) noexcept;
/// Initial factor f of item i: counter-based normal draws keyed by (seed, item), scaled by 0.1 / sqrt(factors).
double initial_item_factor(std::uint64_t seed, std::uint32_t item, std::size_t f, std::size_t factors) noexcept;
/// Collective. Implicit-feedback ALS (Hu, Koren and Volinsky 2008): minimises
///   sum_{c,i} C_ci (P_ci - x_c . y_i)^2 + lambda (sum |x_c|^2 + sum |y_i|^2),
/// P = 1 where c bought i (else 0), C = 1 + alpha r. Customers are solved on their rank; an
/// item's sums over customers are reduced exactly on rank i mod P, solved there and shared.
AlsModel fit_als(const AlsSettings& settings, const Interactions& interactions, std::size_t n_items, comm::Communicator& comm);
/// The customers' factors for fixed item factors (fit_als' customer half-step): how a stored
/// model scores customers it was not trained on.
std::vector<double> solve_customer_factors(const AlsSettings& settings, const std::vector<double>& item_factors, std::size_t n_items,
                                           const Interactions& interactions);
/// score(c, j) = x_c . y_j over the `candidates` (items with candidate[j] != 0).
Recommendations recommend_by_factors(const AlsModel& model, std::span<const std::uint8_t> candidates, const ItemLists& excluded,
                                     std::size_t n);

// ---------------------------------------------------------------- evaluation
/// Means over the evaluated customers of precision@n, recall@n, average precision@n (MAP) and
/// NDCG@n (binary relevance), and the share of the catalogue recommended to them.
struct RankingMetrics {
  std::uint64_t customers = 0;
  double precision = 0, recall = 0, map = 0, ndcg = 0, coverage = 0;
};
/// Collective. `truth`: per customer the held-out items (empty: not evaluated); `segment` and
/// `segments` (0 for none) add one row per segment after the overall row [0].
std::vector<RankingMetrics> evaluate(const Recommendations& recommended, const ItemLists& truth, std::span<const std::int32_t> segment,
                                     std::size_t segments, std::size_t n, std::size_t catalogue_items, std::size_t n_items,
                                     comm::Communicator& comm);

}  // namespace mpiseg::recommend

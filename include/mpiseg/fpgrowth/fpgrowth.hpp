#pragma once
/// Distributed FP-growth in the style of PFP (Li et al. 2008), over MPI:
///
///  1. item supports: local counts, one allreduce; F-list = frequent items by support descending,
///     ties by item id (identical on every rank);
///  2. the F-list is cut into one contiguous range of positions per rank, balanced by the exact
///     size of each item's conditional database (sum over baskets of the item's depth in the
///     F-list-ordered basket);
///  3. for every range, each basket sends the prefix that ends at its last item inside the range
///     to the range's owner; identical baskets and identical prefixes are merged into weighted
///     transactions as they are added (one copy each), and front-coded on the wire (alltoallv,
///     large buffers split by the communicator). Where it pays ([fpgrowth] prefix_filter), the
///     pairs of frequent items are counted first (PairCounts) and a prefix keeps only the items
///     that form a frequent pair with one of the owner's items in it (frequent_pairs.hpp);
///  4. each rank builds one FP-tree of what it received and mines exactly the itemsets whose least
///     frequent item lies in its range (mining.hpp): the results are exact and disjoint, and in
///     rank order they are already in canonical order: no merge.
///
/// Rules look up the supports of their antecedent (and multi-item consequent) on the rank that
/// owns that itemset (every subset of a frequent itemset is frequent and owned by the rank of its
/// least frequent item), never gathering the itemsets on one rank.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"
#include "mpiseg/fpgrowth/baskets.hpp"
#include "mpiseg/fpgrowth/frequent_pairs.hpp"
#include "mpiseg/fpgrowth/mining.hpp"
#include "mpiseg/fpgrowth/settings.hpp"

namespace mpiseg::fpgrowth {

struct FrequentItemsets {
  std::uint64_t baskets = 0;    // global number of baskets N
  std::uint64_t min_count = 0;  // support threshold as a basket count
  std::vector<std::uint32_t> flist;               // position -> item id
  std::vector<std::uint64_t> flist_support;       // position -> support
  std::vector<std::uint32_t> position_of;         // item id -> position, or kAbsent
  std::vector<std::uint32_t> range_begin;         // per rank (size + 1 entries): its suffix positions
  std::uint32_t first = 0, last = 0;              // this rank's suffix positions [first, last)
  ItemsetTable local;                             // this rank's itemsets (positions), canonical order
  std::vector<std::uint64_t> suffix_begin;        // index into `local` of the first itemset of each owned suffix, +1 end
  std::uint64_t total = 0;                        // global itemset count
  std::uint64_t duplicate_items = 0;              // global
  std::uint64_t trimmed_baskets = 0;              // global
  std::uint64_t exchanged_bytes = 0;              // this rank's prefix bytes sent to other ranks
  std::uint64_t pair_count_bytes = 0;             // this rank's bytes sent for the prefix filter's pair counts
  std::uint32_t pair_covered_items = 0;           // F-list positions whose pairs the prefix filter counted (0: no filter)
  std::uint64_t frequent_pairs = 0;               // frequent pairs among them
  double mining_seconds = 0;                      // slowest rank

  static constexpr std::uint32_t kAbsent = ~std::uint32_t{0};

  /// Rank owning itemsets whose largest position is `position`.
  int owner(std::uint32_t position) const noexcept;
  /// Support of an itemset (ascending positions) owned by this rank; nullopt if not frequent.
  /// With `hint` (an index into `local`, updated to where the itemset is or would be), the search
  /// gallops out from there: lookups of neighbouring itemsets in turn then cost a few comparisons.
  std::optional<std::uint64_t> local_support(std::span<const std::uint32_t> positions, std::uint64_t* hint = nullptr) const;
};

/// Itemsets mined in an earlier session (a checkpoint): given the plan (F-list and this rank's
/// suffix range [first, last)), returns this rank's itemsets in canonical order, positions as in
/// the plan. Collective.
using StoredItemsets = std::function<ItemsetTable(const FrequentItemsets& plan, comm::Communicator& comm)>;

/// Collective. `n_items`: size of the global item dictionary. With `stored`, the F-list and the
/// suffix ranges are computed as always but the exchange and the mining are skipped: this
/// rank's itemsets come from `stored` (any rank count: ranges depend on the data, not on
/// the session).
FrequentItemsets mine_itemsets(const FpSettings& settings, const Baskets& baskets, std::size_t n_items, comm::Communicator& comm,
                               const StoredItemsets& stored = {});

/// How the prefix filter's pair counts (frequent_pairs.hpp) reach the rank that adds up their
/// rows: every non-zero count (dense), or first the indices of the counts that reach
/// ceil(min_count / ranks) on some rank (every frequent pair does somewhere), then every rank's
/// counts of just those (candidates). Automatic: the route with fewer bytes (the candidates'
/// counted as at most 4 bytes per rank and heavy count).
enum class PairCountRoute { automatic, dense, candidates };

/// Pair counts on their way to the frequent pairs, in two collective steps, so that the bytes
/// can be weighed before most of them are sent (the candidate route sends its first, small
/// message in the first step: the candidates' number makes its estimate).
class PairCounts {
 public:
  /// Collective. `counts`: this rank's count_pairs() over the first `covered` positions; rank r
  /// adds up the rows of the positions in [range_begin[r], range_begin[r + 1]). The counts of
  /// all ranks together must stay below 2^32 (fewer baskets than that).
  PairCounts(std::vector<std::uint32_t> counts, std::span<const std::uint32_t> range_begin, std::uint32_t covered,
             std::uint64_t min_count, PairCountRoute route, comm::Communicator& comm);
  PairCountRoute route() const noexcept { return route_; }
  /// Bytes the route sends over all ranks (an upper estimate for the candidates).
  std::uint64_t estimated_bytes() const noexcept { return estimated_bytes_; }
  /// Collective. The pairs with at least min_count over all ranks, the same on every rank.
  FrequentPairs frequent(comm::Communicator& comm) &&;

 private:
  std::uint64_t rows_begin(std::size_t r) const noexcept;

  std::vector<std::uint32_t> counts_;
  std::vector<std::uint32_t> range_begin_;
  std::uint32_t covered_;
  std::uint64_t min_count_;
  PairCountRoute route_ = PairCountRoute::dense;
  std::uint64_t estimated_bytes_ = 0;
  std::vector<char> dense_, candidates_;  // first messages, to ranks 0, 1, ... back to back
  std::vector<std::uint64_t> dense_counts_, candidate_counts_;
  std::vector<std::uint64_t> my_candidates_;  // candidate route: the candidates of this rank's rows, ascending
};

/// Itemsets per suffix position over all ranks (f entries): what locates a rank's itemsets in
/// the canonical global order. This rank's part: positions [first, last).
std::vector<std::uint64_t> local_suffix_counts(const FrequentItemsets& itemsets);

/// Collective batched lookups: supports of itemsets (ascending positions, stored like an
/// ItemsetTable without supports) wherever they live; 0 when an itemset is not frequent.
std::vector<std::uint64_t> lookup_supports(const FrequentItemsets& itemsets, const ItemsetTable& queries, comm::Communicator& comm);

/// Association rules X -> Y, this rank's share, in canonical order (by the itemset X u Y, then Y).
struct RuleTable {
  std::vector<std::uint64_t> antecedent_offsets{0};
  std::vector<std::uint32_t> antecedent;  // item ids
  std::vector<std::uint64_t> consequent_offsets{0};
  std::vector<std::uint32_t> consequent;  // item ids
  std::vector<std::uint64_t> itemset_count, antecedent_count, consequent_count;
  std::vector<double> support, confidence, lift, leverage, conviction;

  std::size_t size() const noexcept { return support.size(); }
};

/// Collective. Rules with single-item consequents (all proper subsets with multi_consequent)
/// passing min_confidence and min_lift, then top_rules_per_consequent.
RuleTable generate_rules(const FrequentItemsets& itemsets, const FpSettings& settings, comm::Communicator& comm);

/// Rules of a segment that differ most from the population: index into the segment's rules
/// (global order), the population lift of the same rule (NaN when X u Y is not frequent in the
/// population), and lift / population lift. Replicated on every rank.
struct DistinctiveRules {
  std::vector<std::uint64_t> rule;
  std::vector<double> population_lift;
  std::vector<double> lift_ratio;
};

/// Collective.
DistinctiveRules distinctive_rules(const RuleTable& segment_rules, const FrequentItemsets& population, std::uint64_t count,
                                   comm::Communicator& comm);

}  // namespace mpiseg::fpgrowth

#include "mpiseg/fpgrowth/fpgrowth.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/hash.hpp"
#include "mpiseg/core/log.hpp"
#include "mpiseg/core/resources.hpp"
#include "mpiseg/fpgrowth/frequent_pairs.hpp"

namespace mpiseg::fpgrowth {
namespace {

/// Contiguous position ranges, one per rank, with similar total work.
std::vector<std::uint32_t> balanced_ranges(const std::vector<std::uint64_t>& work, int ranks) {
  const auto f = static_cast<std::uint32_t>(work.size());
  long double total = 0;
  for (std::uint64_t w : work) total += static_cast<long double>(w);
  std::vector<std::uint32_t> begin(static_cast<std::size_t>(ranks) + 1, f);
  begin[0] = 0;
  long double cumulative = 0;
  std::uint32_t position = 0;
  for (int r = 1; r < ranks; ++r) {
    const long double target = total * r / ranks;
    while (position < f && cumulative + static_cast<long double>(work[position]) / 2 < target)
      cumulative += static_cast<long double>(work[position++]);
    begin[static_cast<std::size_t>(r)] = position;
  }
  return begin;
}

// Dense data (few frequent items, each in most baskets) spends its mining time on the itemsets it
// finds rather than on the size of the conditional databases, and most of them fall to a few
// suffixes: on chess.dat at 60% the ranges cut by size alone gave one of 2 ranks 1.62 times its
// share of the mining time, and 2.7 times at 4 ranks. So where the F-list is short enough for the
// whole triangle of pair counts to be cheap, each suffix's work also counts its estimated itemsets
// (estimated_itemsets()) at 16 prefix items each, about what one costs against one item of a
// conditional database. Measured per suffix on one rank, the largest share of 2, 3, 4 and 8
// ranks fell from 1.62-3.0 to 1.0-1.37 times the ideal on chess.dat and from 1.35-2.94 to
// 1.11-1.81 on mushroom.dat, and stayed on the generated baskets (232 items, few itemsets);
// retail.dat at 0.01% (8,919 items, beyond this size) would have gone from 1.12-1.39 to
// 1.03-1.21. On the 2e7-line generated file at 2 ranks, counting the pairs took 0.8% of perf's
// samples of the whole run, and the longest wait for the other rank fell from 0.20 to 0.07 s.
constexpr std::uint32_t kItemsetWorkItems = 256;
constexpr std::uint64_t kWorkPerItemset = 16;

/// Whether the ranges weigh itemsets: alike on every rank (f and the basket count are global);
/// below 2^32 baskets no pair count overflows 32 bits, on a rank or summed.
bool weighs_itemsets(const FrequentItemsets& result, const comm::Communicator& comm) {
  return comm.size() > 1 && result.flist.size() <= kItemsetWorkItems && result.baskets >> 32 == 0;
}

/// Adds the itemset estimates to `work`; `local_pairs`: this rank's count_pairs() over the whole
/// F-list (kept: the prefix filter starts from them too).
void add_itemset_work(std::vector<std::uint64_t>& work, const std::vector<std::uint32_t>& local_pairs, const FrequentItemsets& result,
                      std::uint64_t max_len, comm::Communicator& comm) {
  const auto f = static_cast<std::uint32_t>(result.flist.size());
  std::vector<std::uint32_t> pairs = local_pairs;
  comm.allreduce(std::span(pairs), comm::ReduceOp::sum);
  // The estimate is floating point (logarithms): rank 0 alone computes it and sends the work, so
  // that every rank cuts the same ranges whatever its math library does in the last bit.
  if (comm.rank() == 0) {
    const std::vector<double> itemsets = estimated_itemsets(pairs, result.flist_support, result.min_count, max_len);
    constexpr double kMost = 0x1p62;  // far below 2^64 whatever the sum of depths
    for (std::uint32_t q = 0; q < f; ++q)
      work[q] = static_cast<std::uint64_t>(std::min(kMost, static_cast<double>(work[q]) + kWorkPerItemset * itemsets[q]));
  }
  comm.broadcast(std::span(work), 0);
}

/// Weighted transactions in which identical ones are merged as they are added: repeated baskets
/// and shared prefixes are common in retail data, so merging on arrival keeps one copy of each
/// (open addressing on a hash of the items) instead of collecting every copy and merging later.
class DistinctTransactions {
 public:
  void add(std::span<const std::uint32_t> items, std::uint64_t weight) {
    if (2 * (distinct_.size() + 1) > slots_.size()) grow();
    const std::uint64_t hash = hash_of(items);
    std::size_t at = hash & (slots_.size() - 1);
    for (; slots_[at] != kEmpty; at = (at + 1) & (slots_.size() - 1)) {
      const std::uint32_t d = slots_[at];
      if (hashes_[d] == hash && std::ranges::equal(transaction(d), items)) {
        distinct_.weights[d] += weight;
        return;
      }
    }
    slots_[at] = static_cast<std::uint32_t>(distinct_.size());
    hashes_.push_back(hash);
    distinct_.add(items, weight);
  }

  const WeightedTransactions& transactions() const noexcept { return distinct_; }
  std::span<const std::uint32_t> transaction(std::uint32_t d) const noexcept {
    return std::span(distinct_.items).subspan(distinct_.offsets[d], distinct_.offsets[d + 1] - distinct_.offsets[d]);
  }

  /// Indices of the distinct transactions in lexicographic order (the miner's sorted insertion
  /// and the front coding rely on it).
  std::vector<std::uint32_t> lexicographic_order() const {
    std::vector<std::uint32_t> order(distinct_.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const auto x = transaction(a), y = transaction(b);
      return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
    });
    return order;
  }

 private:
  static constexpr std::uint32_t kEmpty = ~std::uint32_t{0};

  static std::uint64_t hash_of(std::span<const std::uint32_t> items) noexcept {
    return hash_bytes(std::string_view(reinterpret_cast<const char*>(items.data()), items.size_bytes()), 31);
  }

  void grow() {
    slots_.assign(std::max<std::size_t>(64, 2 * slots_.size()), kEmpty);
    for (std::uint32_t d = 0; d < distinct_.size(); ++d) {
      std::size_t at = hashes_[d] & (slots_.size() - 1);
      while (slots_[at] != kEmpty) at = (at + 1) & (slots_.size() - 1);
      slots_[at] = d;
    }
  }

  WeightedTransactions distinct_;
  std::vector<std::uint64_t> hashes_;  // per distinct transaction
  std::vector<std::uint32_t> slots_;   // index into distinct_, or kEmpty
};

void put_varint(std::vector<char>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

std::uint64_t get_varint(std::span<const char> bytes, std::size_t& at) {
  std::uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    if (at >= bytes.size() || shift > 63) throw std::logic_error("a prefix record is cut short");
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return value;
  }
}

/// Prefixes on the wire, front-coded, in lexicographic order: each record is sent as varints:
/// twice the number of items it shares with the previous record, plus one when its weight is
/// not 1; the number of the rest; the weight, only when it is not 1 (most prefixes stand for one
/// basket, more so the more ranks there are); then the rest as gaps from the item before each
/// (items ascend). Retail prefixes share their frequent heads and gaps are small, so this is a
/// fraction of four bytes per item.
void encode_prefixes(const DistinctTransactions& prefixes, std::vector<char>& out) {
  std::span<const std::uint32_t> previous;
  for (const std::uint32_t d : prefixes.lexicographic_order()) {
    const auto items = prefixes.transaction(d);
    const std::uint64_t weight = prefixes.transactions().weights[d];
    std::size_t shared = 0;
    while (shared < previous.size() && shared < items.size() && previous[shared] == items[shared]) ++shared;
    put_varint(out, 2 * shared + (weight != 1 ? 1 : 0));
    put_varint(out, items.size() - shared);
    if (weight != 1) put_varint(out, weight);
    std::uint32_t before = shared > 0 ? items[shared - 1] : 0;
    for (std::size_t i = shared; i < items.size(); ++i) {
      put_varint(out, items[i] - before);
      before = items[i];
    }
    previous = items;
  }
}

/// The records of one sender's encode_prefixes(), appended to `into`.
void decode_prefixes(std::span<const char> bytes, WeightedTransactions& into) {
  std::vector<std::uint32_t> record;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::uint64_t header = get_varint(bytes, at), rest = get_varint(bytes, at);
    const std::uint64_t shared = header / 2, weight = header % 2 != 0 ? get_varint(bytes, at) : 1;
    if (shared > record.size()) throw std::logic_error("a prefix record shares more than its predecessor holds");
    record.resize(static_cast<std::size_t>(shared));
    std::uint32_t item = shared > 0 ? record.back() : 0;
    for (std::uint64_t i = 0; i < rest; ++i) {
      item += static_cast<std::uint32_t>(get_varint(bytes, at));
      record.push_back(item);
    }
    into.add(record, weight);
  }
}

/// Exchanges variable-length records (u32 words) to their owners; returns what arrives.
std::vector<std::uint32_t> exchange_records(const std::vector<std::vector<std::uint32_t>>& outgoing, comm::Communicator& comm) {
  std::vector<std::uint32_t> send;
  std::vector<std::uint64_t> counts(outgoing.size());
  for (std::size_t r = 0; r < outgoing.size(); ++r) {
    counts[r] = outgoing[r].size();
    send.insert(send.end(), outgoing[r].begin(), outgoing[r].end());
  }
  std::vector<std::uint64_t> received;
  return comm.alltoallv(std::span<const std::uint32_t>(send), counts, received);
}

/// Calls visit(r, end) for each rank r that owns one of the basket's items, with the length of
/// the prefix it receives (up to the basket's last item in r's range), from the last rank down.
/// Costs a binary search per owner touched, not a step per rank (thousands of ranks).
template <class Visit>
void for_each_owner(std::span<const std::uint32_t> items, const FrequentItemsets& plan, Visit&& visit) {
  for (std::size_t end = items.size(); end > 0;) {
    const auto r = static_cast<std::size_t>(plan.owner(items[end - 1]));
    visit(r, end);
    while (end > 0 && items[end - 1] >= plan.range_begin[r]) --end;
  }
}

/// What the prefix filter covers: the first `covered` F-list positions (0: no filter), and the
/// items of prefixes for other ranks it could shorten, over all ranks (0 unless "auto").
struct PairFilterScope {
  std::uint32_t covered = 0;
  std::uint64_t prefix_items = 0;
};

/// The prefix filter's scope ([fpgrowth] prefix_filter, pair_counts_max_mib), alike on every
/// rank. "auto" first asks for at least 2^18 prefix items that the filter could shorten (below
/// that its own steps cost more than it saves: 1.5-2 ms on chess.dat and mushroom.dat at 2 ranks,
/// with 0.05-0.1 M such items), and that counting (every rank's triangle, zeroed and scanned,
/// plus the pairs in its baskets) costs at most 16 operations per such item (a count is one
/// increment; a prefix item is hashed, coded, decoded and scanned by the miner: at 12 per item
/// the filter cost no time on 2 ranks); sending the counts is weighed once they are known
/// (mine_itemsets).
PairFilterScope pair_filter_scope(const FpSettings& settings, const DistinctTransactions& local, const FrequentItemsets& plan,
                                  comm::Communicator& comm) {
  if (settings.prefix_filter == PrefixFilter::none) return {};
  if (plan.baskets >> 32 != 0) {  // a pair's count could overflow 32 bits
    if (settings.prefix_filter == PrefixFilter::pairs)
      throw ConfigError(fmt::format("[fpgrowth] prefix_filter = \"pairs\": {} baskets are more than 32-bit pair counts can count; "
                                    "use \"auto\" or \"none\"", plan.baskets));
    return {};
  }
  const std::uint32_t covered = covered_positions(static_cast<std::uint32_t>(plan.flist.size()), settings.max_pair_count_bytes);
  if (settings.prefix_filter == PrefixFilter::pairs) return {covered, 0};
  if (covered < 2 || comm.size() == 1) return {};
  const WeightedTransactions& baskets = local.transactions();
  // Sums over ranks: the items of prefixes for other ranks that the filter could shorten (those
  // that end at a covered position), and the covered pairs in the baskets.
  std::array<std::uint64_t, 2> totals{};
  const auto me = static_cast<std::size_t>(comm.rank());
  for (std::size_t t = 0; t < baskets.size(); ++t) {
    const auto items = local.transaction(static_cast<std::uint32_t>(t));
    for_each_owner(items, plan, [&](std::size_t r, std::size_t end) {
      if (r != me && items[end - 1] < covered) totals[0] += end;
    });
    const auto counted = static_cast<std::uint64_t>(std::ranges::lower_bound(items, covered) - items.begin());
    totals[1] += counted * (counted - 1) / 2;  // 0 when none is covered
  }
  comm.allreduce(std::span<std::uint64_t>(totals), comm::ReduceOp::sum);
  if (totals[0] < (std::uint64_t{1} << 18) ||
      pair_triangle_size(covered) * static_cast<std::uint64_t>(comm.size()) + totals[1] > 16 * totals[0])
    return {};
  return {covered, totals[0]};
}

/// Varint-coded gaps between ascending indices from `base` (each index once).
class GapWriter {
 public:
  GapWriter(std::vector<char>& out, std::uint64_t base) : out_(out), next_(base) {}
  void put(std::uint64_t index) {
    put_varint(out_, index - next_);
    next_ = index + 1;
  }

 private:
  std::vector<char>& out_;
  std::uint64_t next_;
};

/// Reads what GapWriter wrote: each call gives the next index.
class GapReader {
 public:
  GapReader(std::span<const char> bytes, std::uint64_t base) : bytes_(bytes), next_(base) {}
  bool done() const noexcept { return at_ >= bytes_.size(); }
  std::uint64_t get() {
    const std::uint64_t index = next_ + get_varint(bytes_, at_);
    next_ = index + 1;
    return index;
  }
  std::uint64_t get_count() { return get_varint(bytes_, at_); }

 private:
  std::span<const char> bytes_;
  std::size_t at_ = 0;
  std::uint64_t next_;
};

}  // namespace

PairCounts::PairCounts(std::vector<std::uint32_t> counts, std::span<const std::uint32_t> range_begin, std::uint32_t covered,
                       std::uint64_t min_count, PairCountRoute route, comm::Communicator& comm)
    : counts_(std::move(counts)), range_begin_(range_begin.begin(), range_begin.end()), covered_(covered), min_count_(min_count) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  const auto me = static_cast<std::size_t>(comm.rank());
  if (counts_.size() != pair_triangle_size(covered) || range_begin_.size() != ranks + 1)
    throw std::logic_error("pair counts do not match the triangle or the ranges");
  // Both first messages at once: every non-zero count of another rank's rows (dense), and the
  // indices of the counts that reach the candidate threshold (every frequent pair reaches it on
  // some rank: below it everywhere, a sum stays under min_count).
  const std::uint64_t threshold = (min_count + ranks - 1) / ranks;
  dense_counts_.assign(ranks, 0);
  candidate_counts_.assign(ranks, 0);
  std::uint64_t heavy = 0;
  for (std::size_t r = 0; r < ranks; ++r) {
    const std::size_t dense_before = dense_.size(), candidates_before = candidates_.size();
    GapWriter dense(dense_, rows_begin(r)), candidates(candidates_, rows_begin(r));
    for (std::uint64_t i = rows_begin(r); i < rows_begin(r + 1); ++i) {
      if (counts_[i] == 0) continue;
      if (counts_[i] >= threshold) {
        ++heavy;
        if (r != me) candidates.put(i);
      }
      if (r != me) {
        dense.put(i);
        put_varint(dense_, counts_[i]);
      }
    }
    dense_counts_[r] = dense_.size() - dense_before;
    candidate_counts_[r] = candidates_.size() - candidates_before;
  }
  // The candidate route then sends each candidate list to every rank and every rank's counts of
  // them back: about 4 bytes per rank and candidate, and there are at most as many candidates as
  // heavy counts (and entries in the triangle).
  std::array<std::uint64_t, 3> totals{dense_.size(), candidates_.size(), heavy};
  comm.allreduce(std::span<std::uint64_t>(totals), comm::ReduceOp::sum);
  const std::uint64_t dense_bytes = totals[0];
  const std::uint64_t per_candidate = 4 * (ranks - 1);
  route_ = route != PairCountRoute::automatic ? route
           : totals[1] + per_candidate * std::min(totals[2], counts_.size()) < dense_bytes ? PairCountRoute::candidates
                                                                                         : PairCountRoute::dense;
  if (route_ == PairCountRoute::dense) {
    candidates_ = {};
    estimated_bytes_ = dense_bytes;
    return;
  }
  // The candidates of this rank's rows: its own heavy counts and those the others send. Their
  // number makes the estimate (a candidate is often heavy on many ranks).
  dense_ = {};
  const std::uint64_t slice_begin = rows_begin(me), slice_end = rows_begin(me + 1);
  for (std::uint64_t i = slice_begin; i < slice_end; ++i)
    if (counts_[i] != 0 && counts_[i] >= threshold) my_candidates_.push_back(i);
  std::vector<std::uint64_t> received_counts;
  const std::vector<char> incoming = comm.alltoallv(std::span<const char>(candidates_), candidate_counts_, received_counts);
  candidates_ = {};
  for (std::size_t r = 0, at = 0; r < ranks; at += received_counts[r++])
    for (GapReader in{std::span<const char>(incoming).subspan(at, received_counts[r]), slice_begin}; !in.done();) {
      my_candidates_.push_back(in.get());
      if (my_candidates_.back() >= slice_end) throw std::logic_error("a pair candidate lies outside the owner's rows");
    }
  std::sort(my_candidates_.begin(), my_candidates_.end());
  my_candidates_.erase(std::unique(my_candidates_.begin(), my_candidates_.end()), my_candidates_.end());
  estimated_bytes_ = totals[1] + per_candidate * comm.allreduce<std::uint64_t>(my_candidates_.size(), comm::ReduceOp::sum);
}

std::uint64_t PairCounts::rows_begin(std::size_t r) const noexcept {
  return pair_triangle_size(std::min(range_begin_[r], covered_));
}

FrequentPairs PairCounts::frequent(comm::Communicator& comm) && {
  const auto ranks = static_cast<std::size_t>(comm.size());
  const auto me = static_cast<std::size_t>(comm.rank());
  const std::uint64_t slice_begin = rows_begin(me), slice_end = rows_begin(me + 1);
  std::vector<std::uint64_t> received_counts;
  std::vector<std::uint64_t> frequent;  // indices in this rank's rows
  if (route_ == PairCountRoute::dense) {
    const std::vector<char> incoming = comm.alltoallv(std::span<const char>(dense_), dense_counts_, received_counts);
    dense_ = {};
    // Sums stay below 2^32 (the constructor's contract: fewer baskets than that).
    for (std::size_t r = 0, at = 0; r < ranks; at += received_counts[r++])
      for (GapReader in{std::span<const char>(incoming).subspan(at, received_counts[r]), slice_begin}; !in.done();) {
        const std::uint64_t i = in.get();
        if (i >= slice_end) throw std::logic_error("a pair count lies outside the owner's rows");
        counts_[i] += static_cast<std::uint32_t>(in.get_count());
      }
    for (std::uint64_t i = slice_begin; i < slice_end; ++i)
      if (counts_[i] >= min_count_) frequent.push_back(i);
  } else {
    // Every rank learns every rank's candidates and sends their counts, zeros too, in that order.
    const std::vector<std::uint64_t> mine = std::move(my_candidates_);
    std::vector<char> listed;
    GapWriter list(listed, slice_begin);
    for (const std::uint64_t i : mine) list.put(i);
    std::vector<std::uint64_t> sizes;
    const std::vector<char> lists = comm.allgatherv(std::span<const char>(listed), &sizes);
    std::vector<char> send;
    std::vector<std::uint64_t> send_counts(ranks, 0);
    for (std::size_t r = 0, at = 0; r < ranks; at += sizes[r++]) {
      if (r == me) continue;
      const std::size_t before = send.size();
      for (GapReader in{std::span<const char>(lists).subspan(at, sizes[r]), rows_begin(r)}; !in.done();) {
        const std::uint64_t i = in.get();
        if (i >= rows_begin(r + 1)) throw std::logic_error("a pair candidate lies outside its owner's rows");
        put_varint(send, counts_[i]);
      }
      send_counts[r] = send.size() - before;
    }
    const std::vector<char> answers = comm.alltoallv(std::span<const char>(send), send_counts, received_counts);
    std::vector<std::uint64_t> sums(mine.size());
    for (std::size_t k = 0; k < mine.size(); ++k) sums[k] = counts_[mine[k]];
    for (std::size_t r = 0, at = 0; r < ranks; at += received_counts[r++]) {
      const auto block = std::span(answers).subspan(at, received_counts[r]);
      std::size_t in = 0;
      for (std::size_t k = 0; k < mine.size() && r != me; ++k) sums[k] += get_varint(block, in);
      if (in != block.size()) throw std::logic_error("pair counts do not match the candidates");
    }
    for (std::size_t k = 0; k < mine.size(); ++k)
      if (sums[k] >= min_count_) frequent.push_back(mine[k]);
  }
  counts_ = {};
  // Every rank's frequent pairs to every rank.
  std::vector<char> listed;
  GapWriter list(listed, 0);
  for (const std::uint64_t i : frequent) list.put(i);
  std::vector<std::uint64_t> sizes;
  const std::vector<char> all = comm.allgatherv(std::span<const char>(listed), &sizes);
  std::vector<std::uint64_t> indices;
  for (std::size_t r = 0, at = 0; r < ranks; at += sizes[r++])
    for (GapReader in{std::span<const char>(all).subspan(at, sizes[r]), 0}; !in.done();) indices.push_back(in.get());
  return FrequentPairs(covered_, indices);
}

namespace {

/// Steps 4 and 5 of the header: prefixes to their owners, then this rank's mining.
ItemsetTable exchange_and_mine(DistinctTransactions& local, FrequentItemsets& result, const MiningLimits& limits,
                               const FrequentPairs* pairs, comm::Communicator& comm) {
  // 4. Prefixes to the owners of their ranges (filtered by frequent pairs if asked), merged into
  //    weighted transactions.
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<DistinctTransactions> prefixes(ranks);
  const WeightedTransactions& baskets = local.transactions();
  std::vector<std::uint32_t> kept;
  for (std::size_t t = 0; t < baskets.size(); ++t) {
    const auto items = local.transaction(static_cast<std::uint32_t>(t));
    for_each_owner(items, result, [&](std::size_t r, std::size_t end) {
      const auto prefix = items.first(end);
      prefixes[r].add(pairs != nullptr ? pairs->filter(prefix, result.range_begin[r], kept) : prefix, baskets.weights[t]);
    });
  }
  local = DistinctTransactions();
  std::vector<char> send;
  std::vector<std::uint64_t> send_counts(ranks), received_counts;
  for (std::size_t r = 0; r < ranks; ++r) {
    const std::size_t before = send.size();
    encode_prefixes(prefixes[r], send);
    prefixes[r] = DistinctTransactions();
    send_counts[r] = send.size() - before;
    if (static_cast<int>(r) != comm.rank()) result.exchanged_bytes += send_counts[r];
  }
  const std::vector<char> incoming = comm.alltoallv(std::span<const char>(send), send_counts, received_counts);
  send = {};
  WeightedTransactions mine;
  for (std::size_t r = 0, at = 0; r < ranks; at += received_counts[r++])
    decode_prefixes(std::span(incoming).subspan(at, received_counts[r]), mine);

  // 5. Mine this rank's suffixes; a rank over the limit stops every rank cleanly.
  const Stopwatch mining;
  ItemsetTable table = comm::collectively(comm, "FP-growth mining", [&] { return mine_suffix_range(mine, result.first, result.last, limits); });
  result.mining_seconds = comm.allreduce(mining.seconds(), comm::ReduceOp::max);
  return table;
}

}  // namespace

int FrequentItemsets::owner(std::uint32_t position) const noexcept {
  return static_cast<int>(std::upper_bound(range_begin.begin(), range_begin.end(), position) - range_begin.begin()) - 1;
}

std::optional<std::uint64_t> FrequentItemsets::local_support(std::span<const std::uint32_t> positions, std::uint64_t* hint) const {
  if (positions.empty()) return baskets;
  const std::uint32_t suffix = positions.back();
  if (suffix < first || suffix >= last) return std::nullopt;
  const auto before = [&](std::uint64_t i) { return canonical_less(local.itemset(i), positions); };
  std::uint64_t low = suffix_begin[suffix - first];
  const std::uint64_t end = suffix_begin[suffix - first + 1];
  std::uint64_t high = end;
  // Narrow [low, high] around the hint by steps of 1, 2, 4, ... (the answer is the first index
  // not before `positions`, or `end`).
  if (hint != nullptr && *hint >= low && *hint < end) {
    const std::uint64_t at = *hint;
    if (before(at)) {
      low = at + 1;
      for (std::uint64_t step = 1; at + step < end; step *= 2) {
        if (!before(at + step)) {
          high = at + step;
          break;
        }
        low = at + step + 1;
      }
    } else {
      high = at;
      for (std::uint64_t step = 1; step <= at - low; step *= 2) {
        if (before(at - step)) {
          low = at - step + 1;
          break;
        }
        high = at - step;
      }
    }
  }
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    if (before(middle))
      low = middle + 1;
    else
      high = middle;
  }
  if (hint != nullptr) *hint = low;
  if (low < end && std::ranges::equal(local.itemset(low), positions)) return local.support[low];
  return std::nullopt;
}

FrequentItemsets mine_itemsets(const FpSettings& settings, const Baskets& baskets, std::size_t n_items, comm::Communicator& comm,
                               const StoredItemsets& stored) {
  const Stopwatch watch;
  FrequentItemsets result;
  result.baskets = comm.allreduce<std::uint64_t>(baskets.size(), comm::ReduceOp::sum);
  result.min_count = settings.min_count(result.baskets);
  result.duplicate_items = comm.allreduce(baskets.duplicate_items, comm::ReduceOp::sum);

  // 1. Global item supports and the F-list. A basket holds an item once, so below 2^32 baskets
  //    the counts travel as 32 bits (half the bytes of the one collective sized by the dictionary).
  const auto global_counts = [&](auto&& counts) {
    for (std::uint32_t item : baskets.items) ++counts[item];
    comm.allreduce(std::span(counts), comm::ReduceOp::sum);
    return std::vector<std::uint64_t>(counts.begin(), counts.end());
  };
  const std::vector<std::uint64_t> counts = result.baskets >> 32 == 0 ? global_counts(std::vector<std::uint32_t>(n_items, 0))
                                                                       : global_counts(std::vector<std::uint64_t>(n_items, 0));
  for (std::uint32_t item = 0; item < n_items; ++item)
    if (counts[item] >= result.min_count) result.flist.push_back(item);
  std::sort(result.flist.begin(), result.flist.end(),
            [&](std::uint32_t a, std::uint32_t b) { return counts[a] != counts[b] ? counts[a] > counts[b] : a < b; });
  result.position_of.assign(n_items, FrequentItemsets::kAbsent);
  for (std::uint32_t p = 0; p < result.flist.size(); ++p) {
    result.position_of[result.flist[p]] = p;
    result.flist_support.push_back(counts[result.flist[p]]);
  }
  const auto f = static_cast<std::uint32_t>(result.flist.size());

  // 2. Baskets as ascending positions of their frequent items (trimmed if configured), and the
  //    work estimate: each occurrence adds its depth in the basket to its item.
  DistinctTransactions local;
  std::vector<std::uint64_t> work(f, 0);
  std::uint64_t trimmed = 0;
  std::vector<std::uint32_t> positions;
  for (std::size_t b = 0; b < baskets.size(); ++b) {
    positions.clear();
    for (std::uint64_t i = baskets.offsets[b]; i < baskets.offsets[b + 1]; ++i) {
      const std::uint32_t p = result.position_of[baskets.items[i]];
      if (p != FrequentItemsets::kAbsent) positions.push_back(p);
    }
    if (positions.empty()) continue;
    std::sort(positions.begin(), positions.end());
    if (settings.max_basket_len != 0 && positions.size() > settings.max_basket_len) {
      positions.resize(settings.max_basket_len);  // keep the most frequent items
      ++trimmed;
    }
    for (std::size_t depth = 0; depth < positions.size(); ++depth) work[positions[depth]] += depth + 1;
    local.add(positions, 1);
  }
  result.trimmed_baskets = comm.allreduce(trimmed, comm::ReduceOp::sum);
  comm.allreduce(std::span(work), comm::ReduceOp::sum);
  // This rank's pair counts over the whole F-list, where the ranges weigh itemsets; the prefix
  // filter then starts from them rather than counting again.
  std::vector<std::uint32_t> local_pairs;
  const bool counted_pairs = weighs_itemsets(result, comm);
  if (counted_pairs) {
    local_pairs = count_pairs(local.transactions(), f);
    add_itemset_work(work, local_pairs, result, settings.max_len, comm);
  }

  // 3. One contiguous range of suffix positions per rank, balanced by work.
  result.range_begin = balanced_ranges(work, comm.size());
  const auto me = static_cast<std::size_t>(comm.rank());
  result.first = result.range_begin[me];
  result.last = result.range_begin[me + 1];

  const MiningLimits limits{result.min_count, settings.max_len, settings.max_itemsets};
  if (stored) {
    local = DistinctTransactions();
    result.local = stored(result, comm);
  } else {
    std::optional<FrequentPairs> pairs;
    if (const PairFilterScope scope = pair_filter_scope(settings, local, result, comm); scope.covered > 0) {
      const std::uint64_t before = comm.traffic().bytes_sent;
      PairCounts counts(counted_pairs && scope.covered == f ? std::move(local_pairs) : count_pairs(local.transactions(), scope.covered),
                        result.range_begin, scope.covered, result.min_count, PairCountRoute::automatic, comm);
      // "auto" sends the counts where they cost at most a quarter of a byte per prefix item the
      // filter could shorten: it usually saves half the prefix bytes or more.
      if (settings.prefix_filter == PrefixFilter::pairs || 4 * counts.estimated_bytes() <= scope.prefix_items) {
        pairs = std::move(counts).frequent(comm);
        result.pair_covered_items = scope.covered;
        result.frequent_pairs = pairs->count();
      }
      result.pair_count_bytes = comm.traffic().bytes_sent - before;
    }
    result.local = exchange_and_mine(local, result, limits, pairs ? &*pairs : nullptr, comm);
  }
  result.total = comm.allreduce<std::uint64_t>(result.local.size(), comm::ReduceOp::sum);
  if (result.total > settings.max_itemsets)
    throw LimitExceeded(fmt::format("{} frequent itemsets, more than [fpgrowth] max_itemsets = {}; raise min_support or max_itemsets",
                                    result.total, settings.max_itemsets));
  result.suffix_begin.assign(result.last - result.first + 1, result.local.size());
  for (std::size_t i = result.local.size(); i-- > 0;) result.suffix_begin[result.local.itemset(i).back() - result.first] = i;
  for (std::size_t s = result.suffix_begin.size() - 1; s-- > 0;)
    result.suffix_begin[s] = std::min(result.suffix_begin[s], result.suffix_begin[s + 1]);

  const std::uint64_t exchanged = comm.allreduce(result.exchanged_bytes, comm::ReduceOp::sum);
  const std::uint64_t pair_bytes = comm.allreduce(result.pair_count_bytes, comm::ReduceOp::sum);
  log::info("fpgrowth: {} baskets, min support {} baskets, {} frequent items, {} itemsets{}; mining {:.2f} s, total {:.2f} s; "
            "{:.1f} MB of prefixes exchanged{}",
            result.baskets, result.min_count, f, result.total, stored ? " (from the checkpoint)" : "", result.mining_seconds,
            watch.seconds(), exchanged / 1e6,
            result.pair_covered_items > 0
                ? fmt::format(", filtered by {} frequent pairs of the first {} items ({:.1f} MB of pair counts exchanged)",
                              result.frequent_pairs, result.pair_covered_items, pair_bytes / 1e6)
                : std::string());
  return result;
}

std::vector<std::uint64_t> local_suffix_counts(const FrequentItemsets& itemsets) {
  std::vector<std::uint64_t> counts(itemsets.last - itemsets.first);
  for (std::size_t s = 0; s < counts.size(); ++s) counts[s] = itemsets.suffix_begin[s + 1] - itemsets.suffix_begin[s];
  return counts;
}

std::vector<std::uint64_t> lookup_supports(const FrequentItemsets& itemsets, const ItemsetTable& queries, comm::Communicator& comm) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<std::uint64_t> answers(queries.size(), 0);
  std::vector<std::vector<std::uint32_t>> outgoing(ranks);
  std::vector<std::vector<std::size_t>> asked(ranks);
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto items = queries.itemset(q);
    if (items.empty()) {
      answers[q] = itemsets.baskets;
      continue;
    }
    const auto r = static_cast<std::size_t>(itemsets.owner(items.back()));
    if (r == static_cast<std::size_t>(comm.rank())) {
      answers[q] = itemsets.local_support(items).value_or(0);
      continue;
    }
    outgoing[r].push_back(static_cast<std::uint32_t>(items.size()));
    outgoing[r].insert(outgoing[r].end(), items.begin(), items.end());
    asked[r].push_back(q);
  }
  // Each source's requests are answered in the order they came.
  std::vector<std::uint64_t> request_counts(ranks);
  std::vector<std::uint32_t> send;
  for (std::size_t r = 0; r < ranks; ++r) {
    request_counts[r] = outgoing[r].size();
    send.insert(send.end(), outgoing[r].begin(), outgoing[r].end());
  }
  outgoing.clear();
  std::vector<std::uint64_t> received_counts;
  const std::vector<std::uint32_t> requests = comm.alltoallv(std::span<const std::uint32_t>(send), request_counts, received_counts);
  std::vector<std::uint64_t> replies;
  std::vector<std::uint64_t> reply_counts(ranks, 0);
  std::size_t at = 0;
  for (std::size_t source = 0; source < ranks; ++source) {
    const std::size_t end = at + received_counts[source];
    while (at < end) {
      const std::uint32_t length = requests[at];
      replies.push_back(itemsets.local_support(std::span(requests).subspan(at + 1, length)).value_or(0));
      ++reply_counts[source];
      at += 1 + length;
    }
  }
  std::vector<std::uint64_t> answer_counts;
  const std::vector<std::uint64_t> returned = comm.alltoallv(std::span<const std::uint64_t>(replies), reply_counts, answer_counts);
  std::size_t next = 0;
  for (std::size_t r = 0; r < ranks; ++r)
    for (std::size_t q : asked[r]) answers[q] = returned[next++];
  return answers;
}

namespace {
/// Room in `rules` for `count` rules holding `items` items in all (antecedents and consequents).
void reserve_rules(RuleTable& rules, std::uint64_t count, std::uint64_t items) {
  rules.antecedent_offsets.reserve(count + 1);
  rules.consequent_offsets.reserve(count + 1);
  rules.antecedent.reserve(items);
  rules.consequent.reserve(items);
  for (auto* column : {&rules.itemset_count, &rules.antecedent_count, &rules.consequent_count}) column->reserve(count);
  for (auto* column : {&rules.support, &rules.confidence, &rules.lift, &rules.leverage, &rules.conviction}) column->reserve(count);
}
}  // namespace

RuleTable generate_rules(const FrequentItemsets& itemsets, const FpSettings& settings, comm::Communicator& comm) {
  const Stopwatch watch;
  const ItemsetTable& local = itemsets.local;
  const double n = static_cast<double>(itemsets.baskets);
  // Candidate consequents of each itemset, as bit masks over its items (single items, or every
  // non-empty proper subset with multi_consequent).
  auto for_each_split = [&](std::span<const std::uint32_t> z, auto&& visit) {
    const std::size_t size = z.size();
    if (!settings.multi_consequent || size > 20) {
      for (std::size_t y = size; y-- > 0;) visit(std::uint32_t{1} << y);
    } else {
      for (std::uint32_t mask = 1; mask + 1 < (std::uint32_t{1} << size); ++mask) visit(mask);
    }
  };
  auto split = [](std::span<const std::uint32_t> z, std::uint32_t mask, std::vector<std::uint32_t>& x, std::vector<std::uint32_t>& y) {
    x.clear();
    y.clear();
    for (std::size_t i = 0; i < z.size(); ++i) (mask >> i & 1 ? y : x).push_back(z[i]);
  };

  // Pass 1: supports this rank cannot answer itself, asked for in one batch; and the number of
  // candidate rules and their items, the most pass 2 can keep.
  ItemsetTable remote;
  std::vector<std::uint32_t> x, y;
  const int me = comm.rank();
  std::uint64_t candidates = 0, candidate_items = 0;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const auto z = local.itemset(i);
    if (z.size() < 2) continue;
    for_each_split(z, [&](std::uint32_t mask) {
      split(z, mask, x, y);
      ++candidates;
      candidate_items += z.size();
      if (itemsets.owner(x.back()) != me) remote.add(x, 0);
      if (y.size() > 1 && itemsets.owner(y.back()) != me) remote.add(y, 0);
    });
  }
  remote.sort_unique();
  const std::vector<std::uint64_t> remote_support = lookup_supports(itemsets, remote, comm);
  // The k-th split of consecutive itemsets of one size asks for neighbouring itemsets: each
  // k keeps where its last lookup ended as the next one's starting point.
  std::vector<std::uint64_t> x_hints, y_hints;
  auto support_of = [&](const std::vector<std::uint32_t>& items, std::uint64_t& hint) -> std::uint64_t {
    if (items.size() == 1) return itemsets.flist_support[items[0]];
    if (itemsets.owner(items.back()) == me) return itemsets.local_support(items, &hint).value();
    return remote_support[remote.find(items)];
  };

  // Pass 2: the rules, in canonical order (itemsets in order, consequents in visiting order).
  // The columns are reserved for every candidate up to max_rules: address space only, where
  // min_confidence or min_lift drop rules, and no copying as they grow (6.7 M rules, 11 columns).
  RuleTable rules;
  if (candidates <= settings.max_rules) reserve_rules(rules, candidates, candidate_items);
  std::uint64_t kept = 0;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const auto z = local.itemset(i);
    if (z.size() < 2) continue;
    const std::uint64_t zc = local.support[i];
    std::size_t k = 0;
    for_each_split(z, [&](std::uint32_t mask) {
      split(z, mask, x, y);
      if (k == x_hints.size()) {
        x_hints.push_back(0);
        y_hints.push_back(0);
      }
      const std::uint64_t xc = support_of(x, x_hints[k]), yc = support_of(y, y_hints[k]);
      ++k;
      const double confidence = static_cast<double>(zc) / static_cast<double>(xc);
      const double lift = confidence * n / static_cast<double>(yc);
      if (confidence < settings.min_confidence || lift < settings.min_lift) return;
      if (++kept > settings.max_rules)
        throw LimitExceeded(fmt::format("more than [fpgrowth] max_rules = {} rules on one rank; raise min_confidence or min_lift, "
                                        "or max_rules",
                                        settings.max_rules));
      for (std::uint32_t p : x) rules.antecedent.push_back(itemsets.flist[p]);
      for (std::uint32_t p : y) rules.consequent.push_back(itemsets.flist[p]);
      rules.antecedent_offsets.push_back(rules.antecedent.size());
      rules.consequent_offsets.push_back(rules.consequent.size());
      rules.itemset_count.push_back(zc);
      rules.antecedent_count.push_back(xc);
      rules.consequent_count.push_back(yc);
      rules.support.push_back(static_cast<double>(zc) / n);
      rules.confidence.push_back(confidence);
      rules.lift.push_back(lift);
      rules.leverage.push_back(static_cast<double>(zc) / n - (static_cast<double>(xc) / n) * (static_cast<double>(yc) / n));
      rules.conviction.push_back(confidence >= 1.0 ? std::numeric_limits<double>::infinity()
                                                   : (1.0 - static_cast<double>(yc) / n) / (1.0 - confidence));
    });
  }

  if (settings.top_rules_per_consequent != 0) {
    // Each consequent's rules meet on one rank, which keeps the best N by (lift desc, global rule
    // index asc) and tells the owners which survive.
    const std::uint64_t base = comm.exclusive_prefix_sum<std::uint64_t>(rules.size());
    const auto ranks = static_cast<std::size_t>(comm.size());
    std::vector<std::vector<std::uint32_t>> outgoing(ranks);
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const auto consequent = std::span(rules.consequent).subspan(rules.consequent_offsets[r], rules.consequent_offsets[r + 1] - rules.consequent_offsets[r]);
      std::uint64_t hash = 1469598103934665603ULL;
      for (std::uint32_t item : consequent) hash = (hash ^ item) * 1099511628211ULL;
      auto& out = outgoing[hash % ranks];
      const std::uint64_t index = base + r;
      std::uint64_t lift_bits;
      std::memcpy(&lift_bits, &rules.lift[r], sizeof lift_bits);
      out.insert(out.end(), {static_cast<std::uint32_t>(consequent.size()), static_cast<std::uint32_t>(index),
                             static_cast<std::uint32_t>(index >> 32), static_cast<std::uint32_t>(lift_bits),
                             static_cast<std::uint32_t>(lift_bits >> 32)});
      out.insert(out.end(), consequent.begin(), consequent.end());
    }
    const std::vector<std::uint32_t> incoming = exchange_records(outgoing, comm);
    struct Entry {
      std::vector<std::uint32_t> consequent;
      double lift;
      std::uint64_t index;
    };
    std::vector<Entry> entries;
    for (std::size_t at = 0; at < incoming.size();) {
      Entry entry;
      const std::uint32_t length = incoming[at];
      entry.index = incoming[at + 1] | (static_cast<std::uint64_t>(incoming[at + 2]) << 32);
      const std::uint64_t lift_bits = incoming[at + 3] | (static_cast<std::uint64_t>(incoming[at + 4]) << 32);
      std::memcpy(&entry.lift, &lift_bits, sizeof entry.lift);
      entry.consequent.assign(incoming.begin() + static_cast<std::ptrdiff_t>(at + 5), incoming.begin() + static_cast<std::ptrdiff_t>(at + 5 + length));
      entries.push_back(std::move(entry));
      at += 5 + length;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.consequent != b.consequent) return a.consequent < b.consequent;
      return a.lift != b.lift ? a.lift > b.lift : a.index < b.index;
    });
    std::vector<std::uint64_t> kept;
    for (std::size_t i = 0, rank_in_group = 0; i < entries.size(); ++i) {
      rank_in_group = (i > 0 && entries[i].consequent == entries[i - 1].consequent) ? rank_in_group + 1 : 0;
      if (rank_in_group < settings.top_rules_per_consequent) kept.push_back(entries[i].index);
    }
    std::vector<std::uint64_t> all_kept = comm.allgatherv(std::span<const std::uint64_t>(kept));
    std::sort(all_kept.begin(), all_kept.end());
    RuleTable filtered;
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (!std::binary_search(all_kept.begin(), all_kept.end(), base + r)) continue;
      const auto copy = [&](auto& to, const auto& from) { to.push_back(from[r]); };
      filtered.antecedent.insert(filtered.antecedent.end(), rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r]),
                                 rules.antecedent.begin() + static_cast<std::ptrdiff_t>(rules.antecedent_offsets[r + 1]));
      filtered.consequent.insert(filtered.consequent.end(), rules.consequent.begin() + static_cast<std::ptrdiff_t>(rules.consequent_offsets[r]),
                                 rules.consequent.begin() + static_cast<std::ptrdiff_t>(rules.consequent_offsets[r + 1]));
      filtered.antecedent_offsets.push_back(filtered.antecedent.size());
      filtered.consequent_offsets.push_back(filtered.consequent.size());
      copy(filtered.itemset_count, rules.itemset_count);
      copy(filtered.antecedent_count, rules.antecedent_count);
      copy(filtered.consequent_count, rules.consequent_count);
      copy(filtered.support, rules.support);
      copy(filtered.confidence, rules.confidence);
      copy(filtered.lift, rules.lift);
      copy(filtered.leverage, rules.leverage);
      copy(filtered.conviction, rules.conviction);
    }
    rules = std::move(filtered);
  }
  log::info("fpgrowth: {} rules (confidence >= {}, lift >= {}{}) in {:.2f} s",
            comm.allreduce<std::uint64_t>(rules.size(), comm::ReduceOp::sum), settings.min_confidence, settings.min_lift,
            settings.top_rules_per_consequent ? fmt::format(", best {} per consequent", settings.top_rules_per_consequent) : "",
            watch.seconds());
  return rules;
}

DistinctiveRules distinctive_rules(const RuleTable& segment_rules, const FrequentItemsets& population, std::uint64_t count,
                                   comm::Communicator& comm) {
  // Population supports of X u Y, X and Y for every segment rule (items mapped to population
  // positions; an item that is not frequent in the population makes the rule population-rare).
  ItemsetTable queries;
  queries.offsets.reserve(3 * segment_rules.size() + 1);
  queries.support.reserve(3 * segment_rules.size());
  queries.items.reserve(2 * (segment_rules.antecedent.size() + segment_rules.consequent.size()));
  std::vector<std::size_t> first_query(segment_rules.size());
  auto positions = [&](std::span<const std::uint32_t> items, std::vector<std::uint32_t>& out) {
    out.clear();
    for (std::uint32_t item : items) {
      const std::uint32_t p = population.position_of[item];
      if (p == FrequentItemsets::kAbsent) return false;
      out.push_back(p);
    }
    std::sort(out.begin(), out.end());
    return true;
  };
  std::vector<std::uint32_t> x, y, z;
  std::vector<bool> known(segment_rules.size(), false);
  for (std::size_t r = 0; r < segment_rules.size(); ++r) {
    const auto a = std::span(segment_rules.antecedent).subspan(segment_rules.antecedent_offsets[r],
                                                                segment_rules.antecedent_offsets[r + 1] - segment_rules.antecedent_offsets[r]);
    const auto c = std::span(segment_rules.consequent).subspan(segment_rules.consequent_offsets[r],
                                                                segment_rules.consequent_offsets[r + 1] - segment_rules.consequent_offsets[r]);
    if (!positions(a, x) || !positions(c, y)) continue;
    z = x;
    z.insert(z.end(), y.begin(), y.end());
    std::sort(z.begin(), z.end());
    first_query[r] = queries.size();
    known[r] = true;
    queries.add(z, 0);
    queries.add(x, 0);
    queries.add(y, 0);
  }
  const auto answers = lookup_supports(population, queries, comm);
  const double n = static_cast<double>(population.baskets);
  // Score: |log(lift / population lift)|, infinite when the rule is not frequent in the population.
  std::vector<std::pair<double, std::uint64_t>> scored;
  std::vector<double> population_lift(segment_rules.size(), std::numeric_limits<double>::quiet_NaN());
  const std::uint64_t base = comm.exclusive_prefix_sum<std::uint64_t>(segment_rules.size());
  for (std::size_t r = 0; r < segment_rules.size(); ++r) {
    double score = std::numeric_limits<double>::infinity();
    if (known[r]) {
      const std::uint64_t zs = answers[first_query[r]], xs = answers[first_query[r] + 1], ys = answers[first_query[r] + 2];
      if (zs != 0 && xs != 0 && ys != 0) {
        population_lift[r] = static_cast<double>(zs) * n / (static_cast<double>(xs) * static_cast<double>(ys));
        score = std::abs(std::log(segment_rules.lift[r] / population_lift[r]));
      }
    }
    scored.emplace_back(score, base + r);
  }
  // Global top `count` by (score desc, rule index asc), with their population lifts.
  const auto order = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  const std::size_t keep = std::min<std::size_t>(count, scored.size());
  std::vector<std::size_t> indices(scored.size());
  std::iota(indices.begin(), indices.end(), 0);
  std::partial_sort(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(keep), indices.end(),
                    [&](std::size_t a, std::size_t b) { return order(scored[a], scored[b]); });
  std::vector<double> records;
  for (std::size_t k = 0; k < keep; ++k) {
    const std::size_t r = indices[k];
    records.insert(records.end(), {scored[r].first, static_cast<double>(scored[r].second), population_lift[r], segment_rules.lift[r]});
  }
  const std::vector<double> all = comm.allgatherv(std::span<const double>(records));
  std::vector<std::size_t> picks(all.size() / 4);
  std::iota(picks.begin(), picks.end(), 0);
  std::sort(picks.begin(), picks.end(), [&](std::size_t a, std::size_t b) {
    return order(std::pair(all[4 * a], all[4 * a + 1]), std::pair(all[4 * b], all[4 * b + 1]));
  });
  DistinctiveRules result;
  for (std::size_t k = 0; k < picks.size() && k < count; ++k) {
    const std::size_t i = picks[k];
    result.rule.push_back(static_cast<std::uint64_t>(all[4 * i + 1]));
    result.population_lift.push_back(all[4 * i + 2]);
    result.lift_ratio.push_back(all[4 * i + 3] / all[4 * i + 2]);
  }
  return result;
}


}  // namespace mpiseg::fpgrowth

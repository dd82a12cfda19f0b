#include "mpiseg/fpgrowth/mining.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <fmt/format.h>
#include <limits>
#include <numeric>
#include <type_traits>

#include "mpiseg/core/error.hpp"
#include "mpiseg/core/resources.hpp"

namespace mpiseg::fpgrowth {
namespace {

constexpr std::uint32_t kNone = ~std::uint32_t{0};

/// Stable LSD radix sort of `records` by bits [low, high) of key(record), eleven bits per pass;
/// `spare` and `counts` are scratch kept by the caller between calls.
template <class Record, class KeyOf>
void radix_sort(std::span<Record> records, std::vector<Record>& spare, std::vector<std::size_t>& counts, unsigned low,
                unsigned high, KeyOf key) {
  constexpr unsigned kDigitBits = 11;
  spare.resize(records.size());
  std::span<Record> from = records, to = spare;
  for (unsigned shift = low; shift < high; shift += kDigitBits) {
    const unsigned width = std::min(kDigitBits, high - shift);
    const auto mask = (std::size_t{1} << width) - 1;
    counts.assign(mask + 2, 0);
    for (const Record& record : from) ++counts[(static_cast<std::size_t>(key(record) >> shift) & mask) + 1];
    if (std::ranges::find(counts, records.size()) != counts.end()) continue;  // one digit value: nothing moves
    for (std::size_t d = 1; d < counts.size(); ++d) counts[d] += counts[d - 1];
    for (const Record& record : from) to[counts[static_cast<std::size_t>(key(record) >> shift) & mask]++] = record;
    std::swap(from, to);
  }
  if (from.data() != records.data()) std::ranges::copy(from, records.begin());
}

/// Below this many records a comparison sort is as fast as the radix passes.
constexpr std::size_t kRadixFrom = 512;

/// Suffixes below this F-list position have their itemsets held as bit masks while they are
/// mined (Miner's masked mode): a mask of the other positions and the size fit one 64-bit key.
constexpr std::uint32_t kMaskedSuffixes = 58;

/// An FP-tree over dense item ids 0..items-1 (ascending = more frequent first). Transactions are
/// inserted so that those sharing a prefix come one after another (PathSet::sorted), so at the
/// point where a transaction leaves the previous one's path no existing child of that node can
/// hold its next item: the new node is always new, and no child lists are needed. Nodes are
/// stored as separate arrays: walking up a path touches only `parent` and `item`.
struct Tree {
  std::vector<std::uint32_t> item, parent, next;  // next: the next node of the same item (header list)
  std::vector<std::uint64_t> count;
  std::vector<std::uint8_t> has_child;
  std::vector<std::uint32_t> head;   // per item: first node
  std::vector<std::uint64_t> total;  // per item: support in this tree
  std::vector<std::uint32_t> path;   // nodes of the previously inserted transaction
  bool single_path = true;

  void reset(std::size_t items) {
    item.assign(1, kNone);
    parent.assign(1, kNone);
    next.assign(1, kNone);
    count.assign(1, 0);
    has_child.assign(1, 0);
    head.assign(items, kNone);
    total.assign(items, 0);
    path.clear();
    single_path = true;
  }

  /// `transaction` ascending; must not be lexicographically smaller than the previous one.
  void insert(std::span<const std::uint32_t> transaction, std::uint64_t weight, std::span<const std::uint32_t> previous) {
    std::size_t common = 0;
    while (common < transaction.size() && common < previous.size() && transaction[common] == previous[common]) ++common;
    path.resize(common);
    std::uint32_t up = common == 0 ? 0 : path[common - 1];
    for (std::size_t depth = 0; depth < common; ++depth) count[path[depth]] += weight;
    for (std::size_t depth = common; depth < transaction.size(); ++depth) {
      const std::uint32_t value = transaction[depth];
      const auto node = static_cast<std::uint32_t>(item.size());
      if (has_child[up]) single_path = false;
      has_child[up] = 1;
      item.push_back(value);
      parent.push_back(up);
      next.push_back(head[value]);
      count.push_back(weight);
      has_child.push_back(0);
      head[value] = node;
      path.push_back(node);
      up = node;
    }
    for (std::uint32_t value : transaction) total[value] += weight;
  }
};

/// A conditional FP-tree of a masked suffix (Miner's masked mode): its items are F-list positions
/// below the suffix, position p at bit 63 - p, and every node keeps the mask of its path from the
/// root, its own item included. A node's prefix path is then one load instead of a walk up the
/// tree, and paths are inserted from masks sorted as integers (descending: those sharing a
/// prefix together, a path after its extensions).
struct MaskTree {
  std::vector<std::uint64_t> path;  // node 0 is the root, with an empty path
  std::vector<std::uint64_t> count;
  std::vector<std::uint32_t> next;  // the next node of the same item (header list)
  std::vector<std::uint8_t> has_child;
  std::array<std::uint32_t, 64> head{};   // by bit: the first node of the item
  std::array<std::uint64_t, 64> total{};  // by bit: the item's support in this tree
  std::uint64_t items = 0;                // the bits of the tree's items
  std::vector<std::uint32_t> stack;       // the nodes of the path inserted last
  std::uint64_t last = 0;
  bool single_path = true;

  void reset() {
    path.assign(1, 0);
    count.assign(1, 0);
    next.assign(1, kNone);
    has_child.assign(1, 0);
    head.fill(kNone);
    items = 0;
    stack.clear();
    last = 0;
    single_path = true;
  }

  void insert(std::uint64_t mask, std::uint64_t weight) {
    // The shared prefix: the last path's nodes whose items lie above the highest bit where the
    // two paths differ (a node's own item is the lowest bit of its path).
    std::uint64_t fresh = mask;
    if (const std::uint64_t differ = mask ^ last; differ != 0) {
      const auto split = static_cast<unsigned>(std::bit_width(differ) - 1);
      while (!stack.empty() && static_cast<unsigned>(std::countr_zero(path[stack.back()])) <= split) stack.pop_back();
      fresh = mask & ((std::uint64_t{2} << split) - 1);
    } else {
      fresh = 0;
    }
    for (const std::uint32_t node : stack) count[node] += weight;
    std::uint32_t up = stack.empty() ? 0 : stack.back();
    while (fresh != 0) {
      const auto bit = static_cast<unsigned>(std::bit_width(fresh) - 1);
      fresh ^= std::uint64_t{1} << bit;
      const auto node = static_cast<std::uint32_t>(path.size());
      if (has_child[up]) single_path = false;
      has_child[up] = 1;
      path.push_back(path[up] | std::uint64_t{1} << bit);
      count.push_back(weight);
      next.push_back(head[bit]);
      has_child.push_back(0);
      head[bit] = node;
      stack.push_back(node);
      up = node;
    }
    last = mask;
  }
};

/// Transactions collected for a (conditional) tree: arena, extents and counts.
struct PathSet {
  std::vector<std::uint32_t> items;
  std::vector<std::uint64_t> begin;
  std::vector<std::uint32_t> length;
  std::vector<std::uint64_t> count;
  std::vector<std::uint32_t> order;

  void clear() {
    items.clear();
    begin.clear();
    length.clear();
    count.clear();
  }
  std::span<const std::uint32_t> at(std::size_t p) const { return std::span(items).subspan(begin[p], length[p]); }

  /// Indices of the paths in an order that keeps the paths sharing a prefix together, as
  /// Tree::insert needs: lexicographic, or, where the items are fewer than 65, by the paths as
  /// bit masks (item i at bit 63 - i), which sorts as plain integers; a path then comes after its
  /// extensions, which Tree::insert accepts as well.
  const std::vector<std::uint32_t>& sorted(std::size_t items_in_tree) {
    order.resize(count.size());
    if (items_in_tree <= 64) {
      keys.resize(count.size());
      for (std::uint32_t p = 0; p < count.size(); ++p) {
        std::uint64_t mask = 0;
        for (std::uint32_t value : at(p)) mask |= std::uint64_t{1} << (63 - value);
        keys[p] = {~mask, p};
      }
      if (keys.size() >= kRadixFrom)
        radix_sort(std::span(keys), spare_keys, radix_counts, 64 - static_cast<unsigned>(items_in_tree), 64,
                   [](const std::pair<std::uint64_t, std::uint32_t>& key) { return key.first; });
      else
        std::sort(keys.begin(), keys.end());
      for (std::size_t k = 0; k < keys.size(); ++k) order[k] = keys[k].second;
      return order;
    }
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
      const auto x = at(a), y = at(b);
      return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
    });
    return order;
  }

 private:
  std::vector<std::pair<std::uint64_t, std::uint32_t>> keys, spare_keys;
  std::vector<std::size_t> radix_counts;
};

/// Per-depth working memory, reused across the conditional trees of one depth.
struct Level {
  Tree tree;
  PathSet paths;
  std::vector<std::uint32_t> global;  // tree item -> F-list position
  // Scratch, reused by every conditional tree built at this level. `counts` and `remap` are kept
  // zero / kNone between uses and only the entries a tree touched are reset, so building a small
  // tree costs nothing proportional to the parent's item count.
  std::vector<std::uint64_t> counts;  // item counts in the parent's paths
  std::vector<std::uint32_t> remap;   // parent item -> this tree's item
  std::vector<std::uint32_t> touched; // parent items seen in the paths
  std::vector<std::uint32_t> raw;     // the prefix paths as walked (leaf to root)
  std::vector<std::uint64_t> raw_end;
  // Masked mode: the tree, and its prefix paths as (mask, weight) before it is built.
  MaskTree masks;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> conditional, conditional_spare;
  std::vector<std::size_t> radix_counts;
};

class Miner {
 public:
  Miner(const MiningLimits& limits, ItemsetTable& out) : limits_(limits), out_(out) {}

  /// Itemsets of the tree at `depth` that end with one of its items in [first, last), each
  /// extended by the current suffix.
  void mine(std::size_t depth, std::uint32_t first, std::uint32_t last) {
    for (std::uint32_t item = first; item < last; ++item) mine_item(depth, item);
  }

  void mine_item(std::size_t depth, std::uint32_t item) {
    const Level& level = levels_[depth];
    const std::uint64_t support = level.tree.total[item];
    if (support < limits_.min_count) return;
    extend(level.global[item], support, [&] { return build_conditional(depth, item, support); }, [&] { mine_level(depth + 1); });
  }

  /// One step down: the suffix extended by `position` (whose support is `support`) as an
  /// itemset, then, if build() makes a conditional tree for it, that tree's itemsets by descend().
  template <class Build, class Descend>
  void extend(std::uint32_t position, std::uint64_t support, Build&& build, Descend&& descend) {
    suffix_.push_back(position);
    const std::size_t extensions_before = perfect_.size();
    const bool grows = room() > 0 && build();
    emit(support);
    if (grows) descend();
    perfect_.resize(extensions_before);
    suffix_.pop_back();
  }

  /// The itemsets of the (conditional) tree at `depth`, each extended by the current suffix.
  void mine_level(std::size_t depth) {
    Level& next = levels_[depth];
    if (next.tree.single_path)
      enumerate_path(next);
    else
      mine(depth, 0, static_cast<std::uint32_t>(next.global.size()));
  }

  Level& level(std::size_t depth) {
    if (levels_.size() <= depth) levels_.resize(depth + 1);
    return levels_[depth];
  }

  /// Top level: the itemsets ending with position `item`, whose conditional database is the
  /// prefixes before `item` of the transactions containing it (given as (transaction, index)
  /// occurrences). Read straight from the contiguous transactions: no top-level tree to walk.
  void mine_top(const WeightedTransactions& transactions, std::uint32_t item,
                std::span<const std::pair<std::uint32_t, std::uint32_t>> occurrences) {
    std::uint64_t support = 0;
    for (const auto& [t, index] : occurrences) support += transactions.weights[t];
    if (support < limits_.min_count) return;
    masked_suffix_ = masked(item) ? item : kNone;
    if (masked_suffix_ != kNone) {
      extend(item, support, [&] { return build_masked_from_prefixes(transactions, occurrences, support); },
             [&] { mine_masked_level(1); });
      add_masked_batch();
    } else {
      extend(item, support, [&] { return build_from_prefixes(transactions, item, occurrences, support); }, [&] { mine_level(1); });
    }
  }

  /// Whether mine_top holds the itemsets of top-level `item` as masks: they reach the output,
  /// in canonical order, at write_masked().
  static bool masked(std::uint32_t item) noexcept { return item < kMaskedSuffixes; }

  /// Appends the masked batches to the output as positions. Done once for all of them where they
  /// fit MiningLimits::masked_buffer_bytes: the tables are then sized once, where growing them batch by batch
  /// would copy them and touch fresh pages again at every doubling.
  void write_masked() {
    if (masked_.empty()) return;
    std::size_t positions = masked_.size(), begin = 0;
    for (const auto& [s, end] : masked_batches_) {
      for (std::size_t k = begin; k < end; ++k) positions += masked_[k].key >> s;
      begin = end;
    }
    grow_to(out_.items, out_.items.size() + positions);
    grow_to(out_.offsets, out_.offsets.size() + masked_.size());
    grow_to(out_.support, out_.support.size() + masked_.size());
    populate_pages(out_.items.data() + out_.items.size(), positions * sizeof(std::uint32_t));
    populate_pages(out_.offsets.data() + out_.offsets.size(), masked_.size() * sizeof(std::uint64_t));
    populate_pages(out_.support.data() + out_.support.size(), masked_.size() * sizeof(std::uint64_t));
    begin = 0;
    for (const auto& [s, end] : masked_batches_) {
      const std::uint64_t low = (std::uint64_t{1} << s) - 1;
      for (std::size_t k = begin; k < end; ++k) {
        for (std::uint64_t mask = ~masked_[k].key & low; mask != 0;) {
          const auto bit = static_cast<unsigned>(std::bit_width(mask) - 1);
          out_.items.push_back(s - 1 - bit);
          mask ^= std::uint64_t{1} << bit;
        }
        out_.items.push_back(s);
        out_.offsets.push_back(out_.items.size());
        out_.support.push_back(masked_[k].support);
      }
      begin = end;
    }
    masked_.release();
    masked_batches_.clear();
  }

 private:
  /// The touched items in ascending order: sorted when few, read off the counts when many.
  static void order_touched(Level& level, std::uint32_t range) {
    if (level.touched.size() * 16 < range) {
      std::sort(level.touched.begin(), level.touched.end());
      return;
    }
    level.touched.clear();
    for (std::uint32_t value = 0; value < range; ++value)
      if (level.counts[value] != 0) level.touched.push_back(value);
  }

  /// Sorts the touched items of a conditional database whose suffix has `support`: infrequent ones
  /// dropped, those in every path (perfect extensions) pushed to perfect_ as F-list positions, the
  /// rest numbered as the child tree's items in ascending order. `position` maps a parent item to
  /// its F-list position.
  template <class Position>
  void keep_frequent(Level& child, std::uint64_t support, Position position) {
    child.global.clear();
    for (std::uint32_t value : child.touched) {
      const std::uint64_t count = child.counts[value];
      if (count < limits_.min_count) continue;
      if (count == support) {
        perfect_.push_back(position(value));
        continue;
      }
      child.remap[value] = static_cast<std::uint32_t>(child.global.size());
      child.global.push_back(position(value));
    }
  }

  /// Leaves the level's counting scratch all zero (and unmapped) for the next conditional tree.
  static void clear_counts(Level& level) {
    for (std::uint32_t value : level.touched) {
      level.counts[value] = 0;
      level.remap[value] = kNone;
    }
  }

  /// The level's tree from its filtered paths, inserted in lexicographic order.
  static void build_tree(Level& level) {
    level.tree.reset(level.global.size());
    std::span<const std::uint32_t> previous;
    for (std::uint32_t p : level.paths.sorted(level.global.size())) {
      level.tree.insert(level.paths.at(p), level.paths.count[p], previous);
      previous = level.paths.at(p);
    }
  }

  bool build_from_prefixes(const WeightedTransactions& transactions, std::uint32_t item,
                           std::span<const std::pair<std::uint32_t, std::uint32_t>> occurrences, std::uint64_t support) {
    level(1);
    Level& child = levels_[1];
    if (child.counts.size() < item) {
      child.counts.resize(item, 0);
      child.remap.resize(item, kNone);
    }
    child.touched.clear();
    std::uint64_t* counts = child.counts.data();
    const std::uint32_t* items = transactions.items.data();
    for (const auto& [t, index] : occurrences) {
      const std::uint64_t weight = transactions.weights[t];
      const std::uint64_t begin = transactions.offsets[t];
      for (std::uint64_t at = begin; at < begin + index; ++at) {
        const std::uint32_t value = items[at];
        if (counts[value] == 0) child.touched.push_back(value);
        counts[value] += weight;
      }
    }
    order_touched(child, item);
    keep_frequent(child, support, [](std::uint32_t value) { return value; });
    PathSet& paths = child.paths;
    paths.clear();
    if (!child.global.empty()) {
      for (const auto& [t, index] : occurrences) {
        const std::uint64_t begin = transactions.offsets[t], start = paths.items.size();
        for (std::uint64_t at = begin; at < begin + index; ++at) {
          const std::uint32_t mapped = child.remap[items[at]];
          if (mapped != kNone) paths.items.push_back(mapped);
        }
        if (paths.items.size() == start) continue;
        paths.begin.push_back(start);
        paths.length.push_back(static_cast<std::uint32_t>(paths.items.size() - start));
        paths.count.push_back(transactions.weights[t]);
      }
    }
    clear_counts(child);
    if (child.global.empty()) return false;
    build_tree(child);
    return true;
  }

  /// Items the current itemset may still take within max_len.
  std::size_t room() const noexcept {
    return limits_.max_len == 0 ? std::numeric_limits<std::size_t>::max() : static_cast<std::size_t>(limits_.max_len) - suffix_.size();
  }

  /// The suffix as an itemset, and the suffix with each subset of its perfect extensions (items in
  /// every basket that holds the suffix, so with the same support) up to max_len.
  void emit(std::uint64_t support) {
    if (masked_suffix_ != kNone) {
      std::uint64_t mask = 0;
      for (std::size_t k = 1; k < suffix_.size(); ++k) mask |= mask_bit(suffix_[k]);
      choose_masked(0, room(), mask, suffix_.size() - 1, support);
      return;
    }
    if (perfect_.empty()) {
      // The suffix grows with ever more frequent items; stored ascending.
      itemset_.assign(suffix_.rbegin(), suffix_.rend());
      add(support);
      return;
    }
    // All members ascending, each perfect extension marked; then every choice of extensions, the
    // itemset kept as a stack so that a choice only touches the members after it.
    members_.clear();
    for (std::uint32_t position : suffix_) members_.emplace_back(position, false);
    for (std::uint32_t position : perfect_) members_.emplace_back(position, true);
    std::sort(members_.begin(), members_.end());
    itemset_.clear();
    choose_extensions(0, room(), support);
  }

  /// Emits itemset_ extended by members_ from `next` on: each suffix member taken, each perfect
  /// extension left out and (while `spare` allows) taken.
  void choose_extensions(std::size_t next, std::size_t spare, std::uint64_t support) {
    const std::size_t depth = itemset_.size();
    for (; next < members_.size() && !members_[next].second; ++next) itemset_.push_back(members_[next].first);
    if (next == members_.size()) {
      add(support);
    } else {
      choose_extensions(next + 1, spare, support);
      if (spare > 0) {
        itemset_.push_back(members_[next].first);
        choose_extensions(next + 1, spare - 1, support);
      }
    }
    itemset_.resize(depth);
  }

  void add(std::uint64_t support) {
    out_.add(itemset_, support);
    check_limit(out_.size());
  }

  void check_limit(std::size_t itemsets) const {
    if (limits_.max_itemsets != 0 && itemsets > limits_.max_itemsets)
      throw LimitExceeded(fmt::format("more than [fpgrowth] max_itemsets = {} frequent itemsets; raise min_support or max_itemsets",
                                      limits_.max_itemsets));
  }

  // Masked mode. While a top-level suffix s < kMaskedSuffixes is mined, an itemset is one 64-bit
  // key: position p < s is bit s-1-p (position 0 highest), and the count of those positions sits
  // above bit s. Ascending keys are then canonical order (size, then positions): among sets of one
  // size, the one holding the smallest position where they differ sorts first and has the larger
  // mask, hence the smaller complement. Emitting costs one 16-byte record in a buffer kept warm
  // across suffixes, and the batch is sorted as plain integers and written out once. Dense data
  // (a few dozen frequent items, hundreds of thousands of itemsets) spends most of its time there.
  struct MaskedItemset {
    std::uint64_t key;
    std::uint64_t support;
  };

  std::uint64_t mask_bit(std::uint32_t position) const noexcept { return std::uint64_t{1} << (masked_suffix_ - 1 - position); }

  /// Records the current suffix with `mask` (`size` positions) and every choice of the perfect
  /// extensions from `next` on that `spare` allows.
  void choose_masked(std::size_t next, std::size_t spare, std::uint64_t mask, std::uint64_t size, std::uint64_t support) {
    for (;; ++next) {
      if (next == perfect_.size()) {
        const std::uint64_t low = (std::uint64_t{1} << masked_suffix_) - 1;
        masked_.push_back({(size << masked_suffix_) | (~mask & low), support});
        check_limit(out_.size() + masked_.size());
        return;
      }
      if (spare > 0) choose_masked(next + 1, spare - 1, mask | mask_bit(perfect_[next]), size + 1, support);
    }
  }

  /// Sorts the masked batch of the suffix just mined; it stays in masked_ until write_masked().
  void add_masked_batch() {
    const unsigned s = masked_suffix_;
    masked_suffix_ = kNone;
    const std::size_t begin = masked_batches_.empty() ? 0 : masked_batches_.back().second;
    const auto batch = std::span(masked_).subspan(begin);
    if (batch.size() >= kRadixFrom)
      radix_sort(batch, masked_spare_, radix_counts_, 0, s + static_cast<unsigned>(std::bit_width(s)),
                 [](const MaskedItemset& record) { return record.key; });
    else
      std::sort(batch.begin(), batch.end(), [](const MaskedItemset& a, const MaskedItemset& b) { return a.key < b.key; });
    masked_batches_.emplace_back(s, masked_.size());
    // A bounded buffer: dense data with billions of itemsets would otherwise add a third to its
    // tables while they wait.
    if (masked_.size() * sizeof(MaskedItemset) > limits_.masked_buffer_bytes) write_masked();
  }

  /// Room for `size` elements, grown at least twofold (write_masked() may append several times).
  template <class T>
  static void grow_to(std::vector<T>& values, std::size_t size) {
    if (values.capacity() < size) values.reserve(std::max(size, 2 * values.capacity()));
  }

  // Masked mode's trees (MaskTree): the same steps as the general ones below, on bit masks.

  void mine_masked_level(std::size_t depth) {
    if (levels_[depth].masks.single_path) {
      const MaskTree& tree = levels_[depth].masks;
      path_items_.clear();
      path_counts_.clear();
      for (auto node = static_cast<std::uint32_t>(tree.path.size() - 1); node != 0; --node) {  // leaf first
        path_items_.push_back(63 - static_cast<std::uint32_t>(std::countr_zero(tree.path[node])));
        path_counts_.push_back(tree.count[node]);
      }
      return enumerate_path_subsets();
    }
    for (std::uint64_t rest = levels_[depth].masks.items; rest != 0;) {
      const auto bit = static_cast<unsigned>(std::bit_width(rest) - 1);
      rest ^= std::uint64_t{1} << bit;
      const std::uint64_t support = levels_[depth].masks.total[bit];
      extend(63 - bit, support, [&] { return build_masked_conditional(depth, bit, support); }, [&] { mine_masked_level(depth + 1); });
    }
  }

  bool build_masked_from_prefixes(const WeightedTransactions& transactions,
                                  std::span<const std::pair<std::uint32_t, std::uint32_t>> occurrences, std::uint64_t support) {
    level(1);
    Level& child = levels_[1];
    std::array<std::uint64_t, 64> counts{};
    std::uint64_t seen = 0;
    child.conditional.clear();
    for (const auto& [t, index] : occurrences) {
      const std::uint64_t weight = transactions.weights[t];
      const std::uint32_t* items = transactions.items.data() + transactions.offsets[t];
      std::uint64_t mask = 0;
      for (std::uint32_t at = 0; at < index; ++at) {
        const unsigned bit = 63 - items[at];
        mask |= std::uint64_t{1} << bit;
        counts[bit] += weight;
      }
      if (mask == 0) continue;
      child.conditional.emplace_back(mask, weight);
      seen |= mask;
    }
    return build_masked_tree(child, counts, seen, support);
  }

  bool build_masked_conditional(std::size_t depth, unsigned bit, std::uint64_t support) {
    level(depth + 1);  // may reallocate levels_: take references afterwards
    const MaskTree& tree = levels_[depth].masks;
    Level& child = levels_[depth + 1];
    std::array<std::uint64_t, 64> counts{};
    std::uint64_t seen = 0;
    child.conditional.clear();
    for (std::uint32_t node = tree.head[bit]; node != kNone; node = tree.next[node]) {
      const std::uint64_t above = tree.path[node] ^ std::uint64_t{1} << bit, weight = tree.count[node];
      if (above == 0) continue;
      child.conditional.emplace_back(above, weight);
      seen |= above;
      for (std::uint64_t rest = above; rest != 0; rest &= rest - 1) counts[static_cast<unsigned>(std::countr_zero(rest))] += weight;
    }
    return build_masked_tree(child, counts, seen, support);
  }

  /// The child's tree from its prefix paths, whose items' `counts` are given: infrequent items
  /// dropped, perfect extensions pushed to perfect_; false if nothing is left.
  bool build_masked_tree(Level& child, const std::array<std::uint64_t, 64>& counts, std::uint64_t seen, std::uint64_t support) {
    MaskTree& tree = child.masks;
    std::uint64_t keep = 0;
    for (std::uint64_t rest = seen; rest != 0;) {
      const auto bit = static_cast<unsigned>(std::bit_width(rest) - 1);
      rest ^= std::uint64_t{1} << bit;
      if (counts[bit] < limits_.min_count) continue;
      if (counts[bit] == support) {
        perfect_.push_back(63 - bit);
        continue;
      }
      keep |= std::uint64_t{1} << bit;
      tree.total[bit] = counts[bit];
    }
    if (keep == 0) return false;
    auto& paths = child.conditional;
    std::size_t kept = 0;
    for (const auto& [mask, weight] : paths)
      if ((mask & keep) != 0) paths[kept++] = {mask & keep, weight};
    paths.resize(kept);
    if (paths.size() >= kRadixFrom)
      radix_sort(std::span(paths), child.conditional_spare, child.radix_counts, static_cast<unsigned>(std::countr_zero(keep)), 64,
                 [](const std::pair<std::uint64_t, std::uint64_t>& path) { return ~path.first; });
    else
      std::sort(paths.begin(), paths.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    tree.reset();
    tree.items = keep;
    for (const auto& [mask, weight] : paths) tree.insert(mask, weight);
    return true;
  }

  /// The conditional tree of `item` (whose support is `support`) in the tree at `depth`, at
  /// depth + 1; false if it is empty. Its perfect extensions are pushed to perfect_ instead.
  bool build_conditional(std::size_t depth, std::uint32_t item, std::uint64_t support) {
    level(depth + 1);  // may reallocate levels_: take references afterwards
    Level& source = levels_[depth];
    Level& child = levels_[depth + 1];
    const Tree& tree = source.tree;
    // One walk up from every node of `item`: the path items (leaf to root) are buffered and
    // counted, weighted by the node's count.
    if (child.counts.size() < item) {
      child.counts.resize(item, 0);
      child.remap.resize(item, kNone);
    }
    child.touched.clear();
    child.raw_end.clear();
    std::vector<std::uint64_t>& weights = child.paths.count;
    weights.clear();
    const std::uint32_t* parent = tree.parent.data();
    const std::uint32_t* items = tree.item.data();
    std::uint64_t* counts = child.counts.data();
    // `raw` only grows (its size is its capacity); `used` is the part filled for this tree.
    const std::size_t deepest = item;  // a path has fewer nodes than there are smaller items
    std::size_t used = 0;
    for (std::uint32_t node = tree.head[item]; node != kNone; node = tree.next[node]) {
      const std::uint64_t weight = tree.count[node];
      if (child.raw.size() < used + deepest) child.raw.resize(2 * (used + deepest));
      std::uint32_t* out = child.raw.data();
      for (std::uint32_t up = parent[node]; up != 0; up = parent[up]) {
        const std::uint32_t value = items[up];
        if (counts[value] == 0) child.touched.push_back(value);
        counts[value] += weight;
        out[used++] = value;
      }
      child.raw_end.push_back(used);
      weights.push_back(weight);
    }
    order_touched(child, item);
    keep_frequent(child, support, [&source](std::uint32_t value) { return source.global[value]; });
    if (child.global.empty()) {
      clear_counts(child);
      return false;
    }
    // The filtered paths, ascending (the buffer is root-last), then inserted in lexicographic order.
    PathSet& paths = child.paths;
    paths.items.clear();
    paths.begin.clear();
    paths.length.clear();
    std::size_t kept = 0;
    for (std::size_t p = 0, start = 0; p < child.raw_end.size(); start = child.raw_end[p++]) {
      const std::uint64_t begin = paths.items.size();
      for (std::size_t at = child.raw_end[p]; at-- > start;) {
        const std::uint32_t mapped = child.remap[child.raw[at]];
        if (mapped != kNone) paths.items.push_back(mapped);
      }
      if (paths.items.size() == begin) continue;
      paths.begin.push_back(begin);
      paths.length.push_back(static_cast<std::uint32_t>(paths.items.size() - begin));
      weights[kept++] = weights[p];
    }
    weights.resize(kept);
    clear_counts(child);
    build_tree(child);
    return true;
  }

  /// A single-path tree: every subset S of the path is frequent with the count of its deepest
  /// item; emitted without building further trees.
  void enumerate_path(const Level& level) {
    path_items_.clear();
    path_counts_.clear();
    // The leaf is the newest node (a single path's nodes are made root to leaf).
    for (auto node = static_cast<std::uint32_t>(level.tree.item.size() - 1); node != 0; node = level.tree.parent[node]) {
      path_items_.push_back(level.global[level.tree.item[node]]);
      path_counts_.push_back(level.tree.count[node]);
    }
    enumerate_path_subsets();
  }

  /// The itemsets of a single path, path_items_ (positions, deepest first) with path_counts_:
  /// choose the deepest member j, then any subset of the items above it.
  void enumerate_path_subsets() {
    const std::vector<std::uint32_t>& path_items = path_items_;
    const std::size_t m = path_items.size();
    const std::size_t room = limits_.max_len == 0 ? m : std::min<std::size_t>(m, limits_.max_len - suffix_.size());
    for (std::size_t j = 0; j < m; ++j) {
      if (path_counts_[j] < limits_.min_count) continue;
      suffix_.push_back(path_items[j]);
      subsets_above(path_items, j + 1, room - 1, path_counts_[j]);
      suffix_.pop_back();
    }
  }

  void subsets_above(const std::vector<std::uint32_t>& path_items, std::size_t from, std::size_t room, std::uint64_t support) {
    emit(support);
    if (room == 0) return;
    for (std::size_t k = from; k < path_items.size(); ++k) {
      suffix_.push_back(path_items[k]);
      subsets_above(path_items, k + 1, room - 1, support);
      suffix_.pop_back();
    }
  }

  const MiningLimits& limits_;
  ItemsetTable& out_;
  std::vector<Level> levels_;
  std::vector<std::uint32_t> suffix_;
  // Perfect extensions of the suffix, pushed by the conditional trees on the current path: items
  // in every basket of a conditional database are left out of its tree (a smaller tree, often a
  // single path) and added to each itemset found in it, in every combination, when it is emitted.
  std::vector<std::uint32_t> perfect_;
  std::vector<std::pair<std::uint32_t, bool>> members_;  // emit(): position, whether a perfect extension
  std::vector<std::uint32_t> itemset_;
  std::vector<std::uint32_t> path_items_;  // enumerate_path_subsets()
  std::vector<std::uint64_t> path_counts_;
  std::uint32_t masked_suffix_ = kNone;  // the top-level suffix while in masked mode
  MappedArray<MaskedItemset> masked_;  // masked itemsets not yet written out, by suffix
  std::vector<MaskedItemset> masked_spare_;
  std::vector<std::pair<unsigned, std::size_t>> masked_batches_;  // suffix, end in masked_
  std::vector<std::size_t> radix_counts_;
};

}  // namespace

void ItemsetTable::sort_unique() {
  std::vector<std::size_t> order(size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto x = itemset(a), y = itemset(b);
    return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end());
  });
  ItemsetTable sorted;
  for (std::size_t k = 0; k < order.size(); ++k)
    if (k == 0 || !std::ranges::equal(itemset(order[k]), itemset(order[k - 1]))) sorted.add(itemset(order[k]), 0);
  *this = std::move(sorted);
}

std::size_t ItemsetTable::find(std::span<const std::uint32_t> wanted) const {
  std::size_t low = 0, high = size();
  while (low < high) {
    const std::size_t middle = low + (high - low) / 2;
    const auto x = itemset(middle);
    if (std::lexicographical_compare(x.begin(), x.end(), wanted.begin(), wanted.end()))
      low = middle + 1;
    else
      high = middle;
  }
  return low < size() && std::ranges::equal(itemset(low), wanted) ? low : size();
}

namespace {

__extension__ using WideKey = unsigned __int128;

/// Puts the itemsets of `out` from index `before` on, all ending in position `suffix`, into
/// canonical order (size, then positions) in place; the suffix is left out of the comparison.
/// A counting sort by size first; then, within each size, the other positions are packed into
/// one integer (bit_width(suffix) bits each, the first highest) with the itemset's index within
/// its size below them, and those integers are sorted: 64-bit where they fit, 128-bit where not,
/// and the itemsets compared only beyond that; large groups of integers by radix passes over
/// their position bits, small ones by comparison. Itemsets are distinct, so the order is
/// canonical_less's. Dense data (a few dozen frequent items, hundreds of thousands of itemsets per
/// suffix) spends most of its ordering time here; plain integers sort several times faster than
/// records compared through their items. Buffers are kept between batches.
class BatchOrder {
 public:
  void sort(ItemsetTable& out, std::size_t before, std::uint32_t suffix) {
    const std::size_t count = out.size() - before;
    auto size_of = [&](std::size_t index) { return static_cast<std::size_t>(out.offsets[index + 1] - out.offsets[index]); };
    std::size_t longest = 0;
    for (std::size_t i = before; i < out.size(); ++i) longest = std::max(longest, size_of(i));
    starts_.assign(longest + 2, 0);
    for (std::size_t i = before; i < out.size(); ++i) ++starts_[size_of(i) + 1];
    for (std::size_t k = 1; k < starts_.size(); ++k) starts_[k] += starts_[k - 1];
    order_.resize(count);
    fill_.assign(starts_.begin(), starts_.end() - 1);
    for (std::size_t i = before; i < out.size(); ++i) order_[fill_[size_of(i)]++] = i;

    const unsigned bits = static_cast<unsigned>(std::bit_width(suffix));
    for (std::size_t k = 2; k <= longest; ++k) {
      const std::size_t first = starts_[k], n = starts_[k + 1] - first;
      if (n < 2) continue;
      const auto index_bits = static_cast<unsigned>(std::bit_width(n - 1));
      const std::size_t key_bits = (k - 1) * bits + index_bits;
      if (key_bits <= 64)
        order_by_keys(narrow_, out, first, n, bits, index_bits, key_bits);
      else if (key_bits <= 128)
        order_by_keys(wide_, out, first, n, bits, index_bits, key_bits);
      else
        std::sort(order_.begin() + static_cast<std::ptrdiff_t>(first), order_.begin() + static_cast<std::ptrdiff_t>(first + n),
                  [&](std::size_t a, std::size_t b) { return canonical_less(out.itemset(a), out.itemset(b)); });
    }

    items_.clear();
    ends_.clear();
    support_.clear();
    for (const std::size_t index : order_) {
      const auto set = out.itemset(index);
      items_.insert(items_.end(), set.begin(), set.end());
      ends_.push_back(items_.size());
      support_.push_back(out.support[index]);
    }
    const std::uint64_t base = out.offsets[before];
    std::copy(items_.begin(), items_.end(), out.items.begin() + static_cast<std::ptrdiff_t>(base));
    for (std::size_t t = 0; t < count; ++t) {
      out.offsets[before + 1 + t] = base + ends_[t];
      out.support[before + t] = support_[t];
    }
  }

 private:
  template <class Key>
  std::vector<Key>& scratch_keys() {
    if constexpr (std::is_same_v<Key, std::uint64_t>)
      return narrow_spare_;
    else
      return wide_spare_;
  }

  /// Orders order_[first, first + n), itemsets of one size, by their packed positions.
  template <class Key>
  void order_by_keys(std::vector<Key>& keys, const ItemsetTable& out, std::size_t first, std::size_t n, unsigned bits,
                     unsigned index_bits, std::size_t key_bits) {
    keys.resize(n);
    for (std::size_t t = 0; t < n; ++t) {
      const auto set = out.itemset(order_[first + t]);
      Key key = 0;
      for (std::size_t p = 0; p + 1 < set.size(); ++p) key = (key << bits) | set[p];
      keys[t] = (key << index_bits) | t;
    }
    if (n >= kRadixFrom)
      radix_sort(std::span(keys), scratch_keys<Key>(), counts_, index_bits, static_cast<unsigned>(key_bits), [](const Key& key) { return key; });
    else
      std::sort(keys.begin(), keys.end());
    const Key mask = (Key{1} << index_bits) - 1;
    scratch_.resize(n);
    for (std::size_t t = 0; t < n; ++t) scratch_[t] = order_[first + static_cast<std::size_t>(keys[t] & mask)];
    std::copy(scratch_.begin(), scratch_.end(), order_.begin() + static_cast<std::ptrdiff_t>(first));
  }

  std::vector<std::size_t> order_, scratch_, starts_, fill_;
  std::vector<std::uint64_t> narrow_, narrow_spare_;
  std::vector<WideKey> wide_, wide_spare_;
  std::vector<std::size_t> counts_;
  std::vector<std::uint32_t> items_;
  std::vector<std::uint64_t> ends_, support_;
};

}  // namespace

ItemsetTable mine_suffix_range(const WeightedTransactions& transactions, std::uint32_t first, std::uint32_t last,
                               const MiningLimits& limits) {
  ItemsetTable out;
  if (first >= last) return out;
  Miner miner(limits, out);
  // Occurrences of each suffix position: (transaction, index within it), by counting sort.
  std::vector<std::uint64_t> start(last - first + 1, 0);
  for (std::uint32_t value : transactions.items)
    if (value >= first && value < last) ++start[value - first + 1];
  for (std::size_t p = 1; p < start.size(); ++p) start[p] += start[p - 1];
  std::vector<std::pair<std::uint32_t, std::uint32_t>> occurrences(start.back());
  {
    std::vector<std::uint64_t> fill(start.begin(), start.end() - 1);
    for (std::size_t t = 0; t < transactions.size(); ++t)
      for (std::uint64_t at = transactions.offsets[t]; at < transactions.offsets[t + 1]; ++at) {
        const std::uint32_t value = transactions.items[at];
        if (value >= first && value < last)
          occurrences[fill[value - first]++] = {static_cast<std::uint32_t>(t), static_cast<std::uint32_t>(at - transactions.offsets[t])};
      }
  }
  // Suffix by suffix, each batch sorted into canonical order (size, then positions).
  BatchOrder order;
  // The masked suffixes come first and reach the output together, before any other.
  for (std::uint32_t item = first; item < last; ++item) {
    if (!Miner::masked(item)) miner.write_masked();
    const std::size_t before = out.size();
    miner.mine_top(transactions, item, std::span(occurrences).subspan(start[item - first], start[item - first + 1] - start[item - first]));
    if (!Miner::masked(item) && out.size() - before > 1) order.sort(out, before, item);
  }
  miner.write_masked();
  return out;
}

}  // namespace mpiseg::fpgrowth

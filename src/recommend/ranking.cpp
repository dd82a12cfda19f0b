// Interactions, popularity, rules, top-n selection and the ranking metrics.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/core/exact_sum.hpp"
#include "mpiseg/recommend/methods.hpp"

namespace mpiseg::recommend {

bool is_purchase(const ingest::LineItems& rows, std::size_t line) noexcept {
  return rows.quantity[line] > 0 && (rows.flags[line] & ingest::line_flags::cancellation) == 0 &&
         rows.customer[line] != ingest::kMissingCustomer;
}

std::vector<std::uint64_t> purchasing_customers(const ingest::LineItems& rows) {
  std::vector<std::uint64_t> customers;
  for (std::size_t line = 0; line < rows.size(); ++line)
    if (is_purchase(rows, line) && (customers.empty() || customers.back() != rows.customer[line])) customers.push_back(rows.customer[line]);
  return customers;
}

Interactions collect_interactions(const ingest::LineItems& rows, std::span<const std::uint64_t> customers, std::int64_t begin,
                                  std::int64_t end) {
  Interactions out;
  out.customer.assign(customers.begin(), customers.end());
  struct Purchase {
    std::uint32_t item, time;
  };
  std::vector<Purchase> bought;
  std::size_t line = 0;
  for (const std::uint64_t customer : customers) {
    // Rows are sorted by customer: skip to this customer's block, then take its purchases.
    while (line < rows.size() && rows.customer[line] < customer) ++line;
    bought.clear();
    for (; line < rows.size() && rows.customer[line] == customer; ++line) {
      const std::int64_t time = rows.time[line];
      if (time >= begin && time < end && is_purchase(rows, line)) bought.push_back({rows.item[line], rows.time[line]});
    }
    std::sort(bought.begin(), bought.end(), [](const Purchase& a, const Purchase& b) { return a.item < b.item; });
    for (std::size_t b = 0; b < bought.size();) {
      std::size_t e = b;
      std::uint32_t last = 0;
      while (e < bought.size() && bought[e].item == bought[b].item) last = std::max(last, bought[e++].time);
      out.items.item.push_back(bought[b].item);
      out.lines.push_back(static_cast<std::uint32_t>(std::min<std::size_t>(e - b, UINT32_MAX)));
      out.last_time.push_back(last);
      b = e;
    }
    out.items.offsets.push_back(out.items.item.size());
  }
  return out;
}

std::uint64_t keep_recent_items(Interactions& interactions, std::size_t max_items) {
  std::uint64_t trimmed = 0;
  Interactions kept;
  kept.customer = interactions.customer;
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    const std::size_t begin = interactions.items.offsets[c], end = interactions.items.offsets[c + 1];
    order.resize(end - begin);
    std::iota(order.begin(), order.end(), begin);
    if (order.size() > max_items) {
      ++trimmed;
      std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(max_items), order.end(), [&](std::size_t a, std::size_t b) {
        if (interactions.last_time[a] != interactions.last_time[b]) return interactions.last_time[a] > interactions.last_time[b];
        if (interactions.lines[a] != interactions.lines[b]) return interactions.lines[a] > interactions.lines[b];
        return interactions.items.item[a] < interactions.items.item[b];
      });
      order.resize(max_items);
      std::sort(order.begin(), order.end());  // back to ascending items
    }
    for (const std::size_t e : order) {
      kept.items.item.push_back(interactions.items.item[e]);
      kept.lines.push_back(interactions.lines[e]);
      kept.last_time.push_back(interactions.last_time[e]);
    }
    kept.items.offsets.push_back(kept.items.item.size());
  }
  if (trimmed > 0) interactions = std::move(kept);
  return trimmed;
}

std::uint64_t translate_items(Interactions& interactions, std::span<const std::int64_t> model_id) {
  struct Entry {
    std::uint32_t item, lines, last_time;
  };
  Interactions out;
  out.customer = interactions.customer;
  std::uint64_t dropped = 0;
  std::vector<Entry> entries;
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    entries.clear();
    for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
      const std::int64_t id = model_id[interactions.items.item[e]];
      if (id < 0) {
        ++dropped;
        continue;
      }
      entries.push_back({static_cast<std::uint32_t>(id), interactions.lines[e], interactions.last_time[e]});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.item < b.item; });
    for (const Entry& entry : entries) {
      out.items.item.push_back(entry.item);
      out.lines.push_back(entry.lines);
      out.last_time.push_back(entry.last_time);
    }
    out.items.offsets.push_back(out.items.item.size());
  }
  interactions = std::move(out);
  return dropped;
}

ItemLists items_since(const Interactions& interactions, std::int64_t since) {
  ItemLists out;
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e)
      if (since < 0 || static_cast<std::int64_t>(interactions.last_time[e]) >= since) out.item.push_back(interactions.items.item[e]);
    out.offsets.push_back(out.item.size());
  }
  return out;
}

void append_top(Recommendations& out, std::span<const std::uint32_t> touched, std::span<const double> scores,
                std::span<const std::uint32_t> excluded, std::size_t n) {
  const std::size_t first = out.item.size();
  const auto better = [&](std::uint32_t a, std::uint32_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; };
  for (const std::uint32_t item : touched) {
    if (std::binary_search(excluded.begin(), excluded.end(), item)) continue;
    out.item.push_back(item);
  }
  const auto begin = out.item.begin() + static_cast<std::ptrdiff_t>(first);
  const std::size_t kept = std::min(n, out.item.size() - first);
  std::partial_sort(begin, begin + static_cast<std::ptrdiff_t>(kept), out.item.end(), better);
  out.item.resize(first + kept);
  for (std::size_t e = first; e < out.item.size(); ++e) out.score.push_back(scores[out.item[e]]);
  out.offsets.push_back(out.item.size());
}

// ---------------------------------------------------------------- popularity

Popularity count_popularity(const Interactions& interactions, std::span<const std::int32_t> segment, std::size_t segments,
                            std::size_t n_items, comm::Communicator& comm) {
  Popularity popularity;
  popularity.buyers.assign(n_items, 0);
  popularity.segment_buyers.assign(segments * n_items, 0);
  popularity.segment_customers.assign(segments, 0);
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    const auto items = interactions.items.of(c);
    if (items.empty()) continue;
    ++popularity.customers;
    const bool labelled = !segment.empty() && segment[c] >= 0;
    if (labelled) ++popularity.segment_customers[static_cast<std::size_t>(segment[c])];
    for (const std::uint32_t item : items) {
      ++popularity.buyers[item];
      if (labelled) ++popularity.segment_buyers[static_cast<std::size_t>(segment[c]) * n_items + item];
    }
  }
  comm.allreduce(std::span(popularity.buyers), comm::ReduceOp::sum);
  comm.allreduce(std::span(popularity.segment_buyers), comm::ReduceOp::sum);
  comm.allreduce(std::span(popularity.segment_customers), comm::ReduceOp::sum);
  popularity.customers = comm.allreduce(popularity.customers, comm::ReduceOp::sum);
  return popularity;
}

Recommendations recommend_popular(const Popularity& popularity, std::span<const std::int32_t> segment, bool within_segment,
                                  const ItemLists& excluded, std::size_t n) {
  const std::size_t n_items = popularity.buyers.size();
  const std::size_t lists = within_segment ? popularity.segment_customers.size() : 1;
  // Items by buyers descending, ties by id: one ranking per segment (or overall), shared by its customers.
  std::vector<std::vector<std::uint32_t>> ranking(lists);
  std::vector<std::vector<double>> share(lists, std::vector<double>(n_items, 0.0));
  for (std::size_t s = 0; s < lists; ++s) {
    const std::uint64_t* buyers = within_segment ? &popularity.segment_buyers[s * n_items] : popularity.buyers.data();
    const std::uint64_t customers = within_segment ? popularity.segment_customers[s] : popularity.customers;
    for (std::uint32_t item = 0; item < n_items; ++item)
      if (buyers[item] > 0) {
        ranking[s].push_back(item);
        share[s][item] = static_cast<double>(buyers[item]) / static_cast<double>(customers);
      }
    std::sort(ranking[s].begin(), ranking[s].end(),
              [&](std::uint32_t a, std::uint32_t b) { return buyers[a] != buyers[b] ? buyers[a] > buyers[b] : a < b; });
  }
  Recommendations out;
  for (std::size_t c = 0; c < excluded.lists(); ++c) {
    const std::int32_t s = within_segment ? (segment.empty() ? -1 : segment[c]) : 0;
    if (s >= 0) {
      const auto skip = excluded.of(c);
      for (const std::uint32_t item : ranking[static_cast<std::size_t>(s)]) {
        if (out.item.size() - out.offsets.back() == n) break;
        if (std::binary_search(skip.begin(), skip.end(), item)) continue;
        out.item.push_back(item);
        out.score.push_back(share[static_cast<std::size_t>(s)][item]);
      }
    }
    out.offsets.push_back(out.item.size());
  }
  return out;
}

// ---------------------------------------------------------------- rules

Recommendations recommend_by_rules(const RuleSet& rules, const ItemLists& history, std::span<const std::int32_t> segment,
                                   const ItemLists& excluded, std::size_t n, std::size_t n_items) {
  // Rules indexed by the first (lowest) item of their antecedent: a rule can only apply when the
  // history holds that item.
  ItemLists by_first;
  by_first.offsets.assign(n_items + 1, 0);
  for (std::size_t r = 0; r < rules.size(); ++r) ++by_first.offsets[rules.antecedent[rules.antecedent_offsets[r]] + 1];
  std::partial_sum(by_first.offsets.begin(), by_first.offsets.end(), by_first.offsets.begin());
  by_first.item.resize(rules.size());
  std::vector<std::uint64_t> fill(by_first.offsets.begin(), by_first.offsets.end() - 1);
  for (std::size_t r = 0; r < rules.size(); ++r)
    by_first.item[fill[rules.antecedent[rules.antecedent_offsets[r]]]++] = static_cast<std::uint32_t>(r);

  Recommendations out;
  std::vector<double> best(n_items, 0.0);
  std::vector<std::uint8_t> seen(n_items, 0);
  std::vector<std::uint32_t> touched;
  for (std::size_t c = 0; c < history.lists(); ++c) {
    const auto held = history.of(c);
    const std::int32_t own = segment.empty() ? -1 : segment[c];
    touched.clear();
    for (const std::uint32_t first : held)
      for (const std::uint32_t r : by_first.of(first)) {
        if (rules.segment[r] != -1 && rules.segment[r] != own) continue;
        const auto antecedent = std::span(rules.antecedent).subspan(rules.antecedent_offsets[r],
                                                                    rules.antecedent_offsets[r + 1] - rules.antecedent_offsets[r]);
        if (!std::includes(held.begin(), held.end(), antecedent.begin(), antecedent.end())) continue;
        const std::uint32_t item = rules.item[r];
        if (!seen[item]) {
          seen[item] = 1;
          best[item] = rules.score[r];
          touched.push_back(item);
        } else {
          best[item] = std::max(best[item], rules.score[r]);
        }
      }
    append_top(out, touched, best, excluded.of(c), n);
    for (const std::uint32_t item : touched) seen[item] = 0;
  }
  return out;
}

// ---------------------------------------------------------------- evaluation

std::vector<RankingMetrics> evaluate(const Recommendations& recommended, const ItemLists& truth, std::span<const std::int32_t> segment,
                                     std::size_t segments, std::size_t n, std::size_t catalogue_items, std::size_t n_items,
                                     comm::Communicator& comm) {
  const std::size_t rows = 1 + segments;
  constexpr std::size_t kSums = 4;  // precision, recall, AP, NDCG: each in [0, 1]
  const auto grid = FixedPointGrid::for_bound(1.0);
  std::vector<int128> sums(rows * kSums, 0);
  std::vector<std::uint64_t> customers(rows, 0);
  std::vector<std::uint8_t> recommended_item(rows * n_items, 0);
  std::vector<double> discount(n + 1);
  for (std::size_t k = 0; k <= n; ++k) discount[k] = 1.0 / std::log2(static_cast<double>(k) + 2.0);
  for (std::size_t c = 0; c < truth.lists(); ++c) {
    const auto relevant = truth.of(c);
    if (relevant.empty()) continue;
    const auto list = std::span(recommended.item).subspan(recommended.offsets[c], recommended.offsets[c + 1] - recommended.offsets[c]);
    double hits = 0, precision_sum = 0, dcg = 0, ideal = 0;
    for (std::size_t k = 0; k < list.size() && k < n; ++k)
      if (std::binary_search(relevant.begin(), relevant.end(), list[k])) {
        hits += 1;
        precision_sum += hits / static_cast<double>(k + 1);
        dcg += discount[k];
      }
    for (std::size_t k = 0; k < std::min(n, relevant.size()); ++k) ideal += discount[k];
    const double values[kSums] = {hits / static_cast<double>(n), hits / static_cast<double>(relevant.size()),
                                  precision_sum / static_cast<double>(std::min(n, relevant.size())), dcg / ideal};
    const std::size_t own[2] = {0, segment.empty() || segment[c] < 0 ? 0 : 1 + static_cast<std::size_t>(segment[c])};
    for (std::size_t o = 0; o < (own[1] > 0 ? 2 : 1); ++o) {
      ++customers[own[o]];
      for (std::size_t m = 0; m < kSums; ++m) sums[own[o] * kSums + m] += grid.quantize(values[m]);
      for (const std::uint32_t item : list) recommended_item[own[o] * n_items + item] = 1;
    }
  }
  comm::allreduce_exact(sums, comm);
  comm.allreduce(std::span(customers), comm::ReduceOp::sum);
  comm.allreduce(std::span(recommended_item), comm::ReduceOp::max);
  std::vector<RankingMetrics> metrics(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    RankingMetrics& m = metrics[r];
    m.customers = customers[r];
    const double count = customers[r] > 0 ? static_cast<double>(customers[r]) : 1.0;
    m.precision = grid.to_double(sums[r * kSums + 0]) / count;
    m.recall = grid.to_double(sums[r * kSums + 1]) / count;
    m.map = grid.to_double(sums[r * kSums + 2]) / count;
    m.ndcg = grid.to_double(sums[r * kSums + 3]) / count;
    const auto distinct = std::count(recommended_item.begin() + static_cast<std::ptrdiff_t>(r * n_items),
                                     recommended_item.begin() + static_cast<std::ptrdiff_t>((r + 1) * n_items), std::uint8_t{1});
    m.coverage = catalogue_items > 0 ? static_cast<double>(distinct) / static_cast<double>(catalogue_items) : 0.0;
  }
  return metrics;
}

}  // namespace mpiseg::recommend

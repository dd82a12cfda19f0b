// Item-based collaborative filtering: exact co-occurrence weights reduced on the rank that owns
// each item, cosine similarity, the top neighbours per item, and scoring.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "mpiseg/core/log.hpp"
#include "mpiseg/recommend/methods.hpp"

namespace mpiseg::recommend {
namespace {

// A co-occurrence weight of items (i, j) summed over some customers, sent to i's owner.
struct PairWeight {
  std::uint32_t i, j;
  std::int64_t weight;
};
// One kept neighbour j of item i.
struct Neighbour {
  std::uint32_t i, j;
  double similarity;
};

constexpr std::uint32_t kCountCap = 65535;  // counts above it weigh as it: a product of two fits 32 bits

/// This rank's co-occurrence rows (Gustavson's row-by-row sparse product), appended to `send` in
/// the order of their owners (row i belongs to rank i mod P); `send_counts` per owner.
template <Values kValues>
void local_pairs(const Interactions& interactions, const Buyers& buyers, std::size_t n_items, int ranks, std::vector<PairWeight>& send,
                 std::vector<std::uint64_t>& send_counts) {
  std::vector<std::int64_t> accumulator(n_items, 0);
  std::vector<std::uint8_t> touched_flag(n_items, 0);
  std::vector<std::uint32_t> touched;
  const auto step = static_cast<std::uint32_t>(ranks);
  send_counts.assign(static_cast<std::size_t>(ranks), 0);
  for (std::uint32_t owner = 0; owner < step; ++owner)
  for (std::uint32_t i = owner; i < n_items; i += step) {
    if (buyers.offsets[i] == buyers.offsets[i + 1]) continue;
    touched.clear();
    for (std::uint64_t b = buyers.offsets[i]; b < buyers.offsets[i + 1]; ++b) {
      const std::uint32_t c = buyers.customer[b];
      const std::uint32_t lines_i = interactions.lines[buyers.entry[b]];
      for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
        const std::uint32_t j = interactions.items.item[e];
        if (j == i) continue;
        if (!touched_flag[j]) {
          touched_flag[j] = 1;
          touched.push_back(j);
        }
        accumulator[j] += pair_weight(kValues, lines_i, interactions.lines[e]);
      }
    }
    send_counts[owner] += touched.size();
    for (const std::uint32_t j : touched) {
      send.push_back({i, j, accumulator[j]});
      accumulator[j] = 0;
      touched_flag[j] = 0;
    }
  }
}

}  // namespace

Buyers buyers_by_item(const Interactions& interactions, std::size_t n_items) {
  Buyers buyers;
  buyers.offsets.assign(n_items + 1, 0);
  for (const std::uint32_t item : interactions.items.item) ++buyers.offsets[item + 1];
  std::partial_sum(buyers.offsets.begin(), buyers.offsets.end(), buyers.offsets.begin());
  buyers.customer.resize(interactions.items.item.size());
  buyers.entry.resize(interactions.items.item.size());
  std::vector<std::uint64_t> fill(buyers.offsets.begin(), buyers.offsets.end() - 1);
  for (std::size_t c = 0; c < interactions.customers(); ++c)
    for (std::uint64_t e = interactions.items.offsets[c]; e < interactions.items.offsets[c + 1]; ++e) {
      const std::uint64_t at = fill[interactions.items.item[e]]++;
      buyers.customer[at] = static_cast<std::uint32_t>(c);
      buyers.entry[at] = e;
    }
  return buyers;
}

std::int64_t pair_weight(Values values, std::uint32_t lines_a, std::uint32_t lines_b) noexcept {
  switch (values) {
    case Values::binary: return 1;
    case Values::counts: return static_cast<std::int64_t>(std::min(lines_a, kCountCap)) * std::min(lines_b, kCountCap);
    case Values::log1p: return std::llrint(std::ldexp(std::log1p(static_cast<double>(lines_a)) * std::log1p(static_cast<double>(lines_b)), 20));
  }
  return 0;
}

ItemNeighbours item_neighbours(const Interactions& interactions, Values values, std::size_t keep, std::size_t n_items,
                               comm::Communicator& comm) {
  const int ranks = comm.size();
  ItemNeighbours model;
  // Norms: weight(i, i) summed over all customers (integers: exact in any order).
  std::vector<std::int64_t> norm(n_items, 0);
  for (std::size_t e = 0; e < interactions.items.item.size(); ++e)
    norm[interactions.items.item[e]] += pair_weight(values, interactions.lines[e], interactions.lines[e]);
  comm.allreduce(std::span(norm), comm::ReduceOp::sum);

  std::vector<PairWeight> send;
  std::vector<std::uint64_t> send_counts;
  {
    const Buyers buyers = buyers_by_item(interactions, n_items);
    if (values == Values::binary) local_pairs<Values::binary>(interactions, buyers, n_items, ranks, send, send_counts);
    else if (values == Values::counts) local_pairs<Values::counts>(interactions, buyers, n_items, ranks, send, send_counts);
    else local_pairs<Values::log1p>(interactions, buyers, n_items, ranks, send, send_counts);
  }
  model.local_pairs = send.size();
  for (int r = 0; r < ranks; ++r)
    if (r != comm.rank()) model.bytes_sent += send_counts[static_cast<std::size_t>(r)] * sizeof(PairWeight);
  std::vector<std::uint64_t> recv_counts;
  std::vector<PairWeight> received = comm.alltoallv<PairWeight>(send, send_counts, recv_counts);
  std::vector<PairWeight>().swap(send);

  // Reduce: row i's pieces from every rank, grouped by item (a counting sort on the owned items),
  // summed in a dense accumulator (integers: any order), then the top `keep` per item.
  const auto step = static_cast<std::uint32_t>(ranks);
  const std::size_t owned = (n_items + step - 1 - static_cast<std::uint32_t>(comm.rank())) / step;
  std::vector<std::uint64_t> row_begin(owned + 1, 0);
  for (const PairWeight& p : received) ++row_begin[p.i / step + 1];
  std::partial_sum(row_begin.begin(), row_begin.end(), row_begin.begin());
  std::vector<std::uint32_t> by_row(received.size());
  {
    std::vector<std::uint64_t> next(row_begin.begin(), row_begin.end() - 1);
    for (std::size_t at = 0; at < received.size(); ++at) by_row[next[received[at].i / step]++] = static_cast<std::uint32_t>(at);
  }
  std::vector<std::int64_t> accumulator(n_items, 0);
  std::vector<std::uint8_t> touched_flag(n_items, 0);
  std::vector<std::uint32_t> touched;
  std::vector<Neighbour> kept, row;
  std::uint64_t distinct_pairs = 0;
  for (std::size_t o = 0; o < owned; ++o) {
    if (row_begin[o] == row_begin[o + 1]) continue;
    const std::uint32_t i = static_cast<std::uint32_t>(o) * step + static_cast<std::uint32_t>(comm.rank());
    touched.clear();
    for (std::uint64_t at = row_begin[o]; at < row_begin[o + 1]; ++at) {
      const PairWeight& p = received[by_row[at]];
      if (!touched_flag[p.j]) {
        touched_flag[p.j] = 1;
        touched.push_back(p.j);
      }
      accumulator[p.j] += p.weight;
    }
    row.clear();
    for (const std::uint32_t j : touched) {
      const double similarity = static_cast<double>(accumulator[j]) / std::sqrt(static_cast<double>(norm[i]) * static_cast<double>(norm[j]));
      row.push_back({i, j, similarity});
      accumulator[j] = 0;
      touched_flag[j] = 0;
    }
    distinct_pairs += row.size();
    const std::size_t take = std::min(keep, row.size());
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(take), row.end(), [](const Neighbour& a, const Neighbour& c) {
      return a.similarity != c.similarity ? a.similarity > c.similarity : a.j < c.j;
    });
    kept.insert(kept.end(), row.begin(), row.begin() + static_cast<std::ptrdiff_t>(take));
  }
  std::vector<PairWeight>().swap(received);
  model.pairs = comm.allreduce(distinct_pairs, comm::ReduceOp::sum);

  // Share the lists; each item has one owner, so grouping by item (stable) is canonical.
  const std::vector<Neighbour> all = comm.allgatherv<Neighbour>(kept);
  model.neighbours.offsets.assign(n_items + 1, 0);
  for (const Neighbour& n : all) ++model.neighbours.offsets[n.i + 1];
  std::partial_sum(model.neighbours.offsets.begin(), model.neighbours.offsets.end(), model.neighbours.offsets.begin());
  model.neighbours.item.resize(all.size());
  model.similarity.resize(all.size());
  std::vector<std::uint64_t> fill(model.neighbours.offsets.begin(), model.neighbours.offsets.end() - 1);
  for (const Neighbour& n : all) {
    const std::uint64_t at = fill[n.i]++;
    model.neighbours.item[at] = n.j;
    model.similarity[at] = n.similarity;
  }
  return model;
}

Recommendations recommend_by_neighbours(const ItemNeighbours& model, const Interactions& interactions, const ItemLists& excluded,
                                        std::size_t n) {
  const std::size_t n_items = model.neighbours.lists();
  Recommendations out;
  std::vector<double> score(n_items, 0.0);
  std::vector<std::uint8_t> touched_flag(n_items, 0);
  std::vector<std::uint32_t> touched;
  for (std::size_t c = 0; c < interactions.customers(); ++c) {
    touched.clear();
    for (const std::uint32_t i : interactions.items.of(c))
      for (std::uint64_t e = model.neighbours.offsets[i]; e < model.neighbours.offsets[i + 1]; ++e) {
        const std::uint32_t j = model.neighbours.item[e];
        if (!touched_flag[j]) {
          touched_flag[j] = 1;
          touched.push_back(j);
        }
        score[j] += model.similarity[e];
      }
    append_top(out, touched, score, excluded.of(c), n);
    for (const std::uint32_t j : touched) {
      score[j] = 0;
      touched_flag[j] = 0;
    }
  }
  return out;
}

}  // namespace mpiseg::recommend

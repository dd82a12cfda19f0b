#include "mpiseg/fpgrowth/baskets.hpp"

#include <algorithm>
#include <span>
#include <tuple>

namespace mpiseg::fpgrowth {

namespace {
// A basket file's rows are already grouped by basket (one line each): sort and deduplicate the
// items of each basket in place of a global sort. `items` is the file's item column, which
// becomes the baskets' items: each basket's run is sorted, deduplicated and moved down over the
// duplicates removed before it (never past unread items, since baskets only shrink).
Baskets baskets_of_basket_file(std::span<const std::uint64_t> basket, std::vector<std::uint32_t> items) {
  Baskets baskets;
  std::size_t kept = 0;
  for (std::size_t begin = 0; begin < basket.size();) {
    std::size_t end = begin + 1;
    while (end < basket.size() && basket[end] == basket[begin]) ++end;
    const auto first = items.begin() + static_cast<std::ptrdiff_t>(begin);
    std::sort(first, items.begin() + static_cast<std::ptrdiff_t>(end));
    const auto unique_end = std::unique(first, items.begin() + static_cast<std::ptrdiff_t>(end));
    baskets.duplicate_items += static_cast<std::uint64_t>(items.begin() + static_cast<std::ptrdiff_t>(end) - unique_end);
    kept = static_cast<std::size_t>(std::move(first, unique_end, items.begin() + static_cast<std::ptrdiff_t>(kept)) - items.begin());
    baskets.offsets.push_back(kept);
    baskets.customer.push_back(ingest::kMissingCustomer);
    begin = end;
  }
  items.resize(kept);
  baskets.items = std::move(items);
  return baskets;
}

// Line items: a basket is the purchase lines sharing customer and invoice, each item once.
Baskets baskets_of_line_items(const ingest::LineItems& rows) {
  Baskets baskets;
  // (customer, basket, item) of purchase lines; rows are sorted by customer but a customer's
  // invoices may interleave in time, so sort the triples.
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>> lines;
  lines.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool purchase = rows.quantity[i] > 0 && (rows.flags[i] & ingest::line_flags::cancellation) == 0;
    if (purchase) lines.emplace_back(rows.customer[i], rows.basket[i], rows.item[i]);
  }
  if (!std::is_sorted(lines.begin(), lines.end())) std::sort(lines.begin(), lines.end());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& [customer, basket, item] = lines[i];
    const bool new_basket = i == 0 || std::get<0>(lines[i - 1]) != customer || std::get<1>(lines[i - 1]) != basket;
    if (new_basket) {
      if (i != 0) baskets.offsets.push_back(baskets.items.size());
      baskets.customer.push_back(customer);
    } else if (std::get<2>(lines[i - 1]) == item) {
      ++baskets.duplicate_items;
      continue;
    }
    baskets.items.push_back(item);
  }
  if (!lines.empty()) baskets.offsets.push_back(baskets.items.size());
  return baskets;
}
}  // namespace

Baskets build_baskets(const ingest::IngestResult& ingested) {
  const ingest::LineItems& rows = ingested.rows;
  return rows.baskets_only ? baskets_of_basket_file(rows.basket, rows.item) : baskets_of_line_items(rows);
}

Baskets build_baskets(ingest::LineItems&& rows) {
  if (!rows.baskets_only) {
    Baskets baskets = baskets_of_line_items(rows);
    rows.clear();
    return baskets;
  }
  const std::vector<std::uint64_t> basket = std::move(rows.basket);
  std::vector<std::uint32_t> items = std::move(rows.item);
  rows.clear();
  return baskets_of_basket_file(basket, std::move(items));
}

}  // namespace mpiseg::fpgrowth

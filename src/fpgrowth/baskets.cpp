#include "mpiseg/fpgrowth/baskets.hpp"

#include <algorithm>
#include <tuple>

namespace mpiseg::fpgrowth {

namespace {
// A basket file's rows are already grouped by basket (one line each): sort and deduplicate the
// items of each basket in place of a global sort.
Baskets baskets_of_basket_file(const ingest::LineItems& rows) {
  Baskets baskets;
  baskets.items.reserve(rows.size());
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin + 1;
    while (end < rows.size() && rows.basket[end] == rows.basket[begin]) ++end;
    const std::size_t first = baskets.items.size();
    baskets.items.insert(baskets.items.end(), rows.item.begin() + static_cast<std::ptrdiff_t>(begin),
                         rows.item.begin() + static_cast<std::ptrdiff_t>(end));
    std::sort(baskets.items.begin() + static_cast<std::ptrdiff_t>(first), baskets.items.end());
    const auto unique_end = std::unique(baskets.items.begin() + static_cast<std::ptrdiff_t>(first), baskets.items.end());
    baskets.duplicate_items += static_cast<std::uint64_t>(baskets.items.end() - unique_end);
    baskets.items.erase(unique_end, baskets.items.end());
    baskets.offsets.push_back(baskets.items.size());
    baskets.customer.push_back(ingest::kMissingCustomer);
    begin = end;
  }
  return baskets;
}
}  // namespace

Baskets build_baskets(const ingest::IngestResult& ingested) {
  const ingest::LineItems& rows = ingested.rows;
  if (ingested.from_basket_file()) return baskets_of_basket_file(rows);
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

}  // namespace mpiseg::fpgrowth

#include "mpiseg/ingest/line_items.hpp"

#include <type_traits>
#include <utility>

#include "mpiseg/core/resources.hpp"

namespace mpiseg::ingest {

void LineItems::reserve(std::size_t rows) {
  for_each_column([rows](auto& column) {
    column.reserve(rows);
    // Filled front to back once: a page fault per 2 MiB rather than per 4 KiB where THP is there.
    advise_huge_pages(column.data(), column.capacity() * sizeof(column[0]));
  });
}

void LineItems::clear() {
  const bool shape = baskets_only;
  *this = LineItems();
  baskets_only = shape;
}

std::size_t LineItems::memory_bytes() const noexcept {
  std::size_t bytes = 0;
  for_each_column([&bytes](const auto& column) {
    bytes += column.capacity() * sizeof(typename std::decay_t<decltype(column)>::value_type);
  });
  return bytes;
}

void LineItems::permute(const std::vector<std::uint32_t>& order) {
  for_each_column([&order](auto& column) {
    std::decay_t<decltype(column)> result(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) result[i] = column[order[i]];
    column = std::move(result);
  });
}

}  // namespace mpiseg::ingest

#include "mpiseg/ingest/line_items.hpp"

namespace mpiseg::ingest {
namespace {
template <class T>
std::size_t capacity_bytes(const std::vector<T>& column) {
  return column.capacity() * sizeof(T);
}

template <class T>
void gather_by(std::vector<T>& column, const std::vector<std::uint32_t>& order) {
  std::vector<T> result(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) result[i] = column[order[i]];
  column = std::move(result);
}
}  // namespace

void LineItems::reserve(std::size_t rows) {
  customer.reserve(rows);
  basket.reserve(rows);
  time.reserve(rows);
  item.reserve(rows);
  quantity.reserve(rows);
  price.reserve(rows);
  country.reserve(rows);
  flags.reserve(rows);
}

void LineItems::clear() { *this = LineItems(); }

std::size_t LineItems::memory_bytes() const noexcept {
  return capacity_bytes(customer) + capacity_bytes(basket) + capacity_bytes(time) + capacity_bytes(item) +
         capacity_bytes(quantity) + capacity_bytes(price) + capacity_bytes(country) + capacity_bytes(flags);
}

void LineItems::truncate(std::size_t rows) {
  customer.resize(rows);
  basket.resize(rows);
  time.resize(rows);
  item.resize(rows);
  quantity.resize(rows);
  price.resize(rows);
  country.resize(rows);
  flags.resize(rows);
}

void LineItems::permute(const std::vector<std::uint32_t>& order) {
  gather_by(customer, order);
  gather_by(basket, order);
  gather_by(time, order);
  gather_by(item, order);
  gather_by(quantity, order);
  gather_by(price, order);
  gather_by(country, order);
  gather_by(flags, order);
}

}  // namespace mpiseg::ingest

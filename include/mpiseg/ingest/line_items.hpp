#pragma once
/// The in-memory table of accepted line items: one column per field (structure of arrays),
/// 39 bytes per line item, plus dictionaries that turn ids back into names. A basket file has
/// only baskets and items, so its table holds those two columns: 12 bytes per item occurrence.
///
/// After ingest the table is partitioned by customer: every line of a customer is on one rank,
/// ranks hold contiguous customer-key ranges in rank order, and each rank's rows are sorted by
/// (customer, time, basket, item, quantity, price, country, flags). The concatenation over ranks
/// is therefore the same canonical table at any rank count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpiseg::ingest {

/// Customer key of lines that have no customer (kept only when [ingest] missing_customer = "keep").
inline constexpr std::uint64_t kMissingCustomer = ~std::uint64_t{0};
/// Keys of string identifiers are 63-bit hashes with this bit set; numeric ids stay below it.
inline constexpr std::uint64_t kHashedKeyBit = std::uint64_t{1} << 63;

/// Bits of LineItems::flags.
namespace line_flags {
inline constexpr std::uint8_t cancellation = 1;       // invoice starts with the cancellation prefix
inline constexpr std::uint8_t return_line = 2;        // quantity < 0
inline constexpr std::uint8_t nonpositive_price = 4;  // unit price <= 0
inline constexpr std::uint8_t missing_customer = 8;   // no customer id (kept by policy)
}  // namespace line_flags

struct LineItems {
  std::vector<std::uint64_t> customer;  // numeric id, or hashed string id (kHashedKeyBit set)
  std::vector<std::uint64_t> basket;    // invoice key, same encoding
  std::vector<std::uint32_t> time;      // seconds since 1970-01-01, naive local time
  std::vector<std::uint32_t> item;      // dense id into ItemDictionary
  std::vector<std::int32_t> quantity;
  std::vector<double> price;            // unit price
  std::vector<std::uint16_t> country;   // id into the country list (0 when unmapped)
  std::vector<std::uint8_t> flags;      // line_flags

  /// The rows of a basket file: only `basket` and `item` are filled, the other columns stay
  /// empty (the file has no customers, times, quantities or prices to put there).
  bool baskets_only = false;

  /// Memory per line item, the budget the README states: the columns' widths (a unit test
  /// holds them to it).
  static constexpr std::size_t kBytesPerRow = 8 + 8 + 4 + 4 + 4 + 8 + 2 + 1;

  std::size_t size() const noexcept { return item.size(); }
  /// Calls f(column) for every column the table holds (see baskets_only), in declaration order:
  /// the one list of the columns.
  template <class F>
  void for_each_column(F&& f) {
    visit_columns(*this, f);
  }
  template <class F>
  void for_each_column(F&& f) const {
    visit_columns(*this, f);
  }
  /// Calls f(name, column) for every column, in the same order: the store's dataset names.
  template <class F>
  void for_each_named_column(F&& f) {
    visit_named_columns(*this, f);
  }
  template <class F>
  void for_each_named_column(F&& f) const {
    visit_named_columns(*this, f);
  }
  void reserve(std::size_t rows);
  void clear();
  /// Bytes held by the columns (capacity, not size: what the allocator really gave).
  std::size_t memory_bytes() const noexcept;
  /// Rearranges every column by `order` (row i of the result is row order[i]); one column at a
  /// time, so the extra memory is one column.
  void permute(const std::vector<std::uint32_t>& order);

 private:
  template <class Self, class F>
  static void visit_columns(Self& self, F& f) {
    visit_named_columns(self, [&f](std::string_view, auto& column) { f(column); });
  }
  template <class Self, class F>
  static void visit_named_columns(Self& self, F&& f) {
    if (self.baskets_only) {
      f("basket", self.basket);
      f("item", self.item);
      return;
    }
    f("customer", self.customer);
    f("basket", self.basket);
    f("time", self.time);
    f("item", self.item);
    f("quantity", self.quantity);
    f("price", self.price);
    f("country", self.country);
    f("flags", self.flags);
  }
};

/// Item dictionary: id i is the i-th code in byte order, so ids do not depend on rank count.
struct ItemDictionary {
  std::vector<std::string> code;
  std::vector<std::string> description;  // of the first accepted line (in input order) with one
  std::vector<std::string> category;     // likewise; empty when no category column is mapped
  std::vector<std::uint32_t> first_seen; // earliest timestamp among accepted lines
  std::size_t size() const noexcept { return code.size(); }
};

/// Original text of customer ids that were hashed (non-numeric ids). Distributed like the rows:
/// each rank holds the entries of its own customers, sorted by key.
struct CustomerNames {
  std::vector<std::uint64_t> key;
  std::vector<std::string> name;
};

}  // namespace mpiseg::ingest

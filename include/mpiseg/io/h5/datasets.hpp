#pragma once
/// Datasets of a distributed table. A *distributed* dataset is the concatenation, in rank order,
/// of every rank's rows; offsets come from an exclusive prefix sum of the local row counts and
/// every rank writes its own contiguous block (an independent transfer, in a collective call). A
/// *replicated* dataset is held whole by every rank; rank 0 writes it, the others join the call
/// with nothing.
///
///   h5::write_rows(group, "customer", std::span(keys));                  // 1-D, distributed
///   h5::write_rows(group, "matrix", std::span(values), n_features);       // 2-D, row-major
///   auto all_names = h5::read_strings(group, "names");                     // small, replicated
///   auto mine = h5::read_rows<double>(group, "matrix", range.begin, range.size());
#include <cstdint>
#include <functional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mpiseg/io/h5/h5.hpp"

namespace mpiseg::h5 {

/// The rows [begin, end) that rank `rank` of `size` reads when a table is split evenly.
struct RowRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const noexcept { return end - begin; }
};
RowRange even_split(std::uint64_t rows, int rank, int size) noexcept;

/// Dimensions of a dataset (1 or 2 entries).
std::vector<std::uint64_t> dataset_shape(const Group& group, std::string_view name);

namespace detail {
void write_rows(Group& group, std::string_view name, hid_t type, const void* data, std::uint64_t local_rows,
                std::uint64_t columns, std::size_t element_size, bool replicated);
void read_rows(const Group& group, std::string_view name, hid_t type, void* data, std::uint64_t first_row,
               std::uint64_t rows, std::uint64_t columns, bool everyone_reads_same);

void write_rows_in_pieces(Group& group, std::string_view name, hid_t type, std::uint64_t local_rows, std::size_t element_size,
                          const std::function<const void*(std::uint64_t first, std::uint64_t count)>& piece);

template <class Values>
void write_values(Group& group, std::string_view name, const Values& values, std::uint64_t columns, bool replicated) {
  using T = std::ranges::range_value_t<Values>;
  const std::uint64_t width = columns == 0 ? 1 : columns;
  write_rows(group, name, native_type<T>(), std::ranges::data(values), std::ranges::size(values) / width, columns, sizeof(T),
             replicated);
}
}  // namespace detail

/// Collective. `local` (a vector or span) holds this rank's rows, `columns` values each (0 or 1
/// for a 1-D dataset).
template <std::ranges::contiguous_range Values>
void write_rows(Group& group, std::string_view name, const Values& local, std::uint64_t columns = 0) {
  detail::write_values(group, name, local, columns, false);
}

/// Collective. A distributed 1-D dataset of `local_rows` rows of T on this rank that are computed,
/// not held: `fill(first, piece)` sets piece[i] to local row first + i. The rows go out 1 MiB at a
/// time through one reused buffer, so a column derived from another (item ids from F-list
/// positions, global offsets from local ones) needs no full-size copy. Same dataset as write_rows.
template <class T, class Fill>
void write_computed_rows(Group& group, std::string_view name, std::uint64_t local_rows, Fill&& fill) {
  std::vector<T> buffer;
  detail::write_rows_in_pieces(group, name, native_type<T>(), local_rows, sizeof(T), [&](std::uint64_t first, std::uint64_t count) {
    buffer.resize(count);
    fill(first, std::span<T>(buffer));
    return static_cast<const void*>(buffer.data());
  });
}

/// Collective. The offsets of a distributed CSR table, whose row i holds values[offsets[i],
/// offsets[i + 1]) of another distributed dataset. Each rank passes its local offsets (0, then the
/// end of each row); they are written shifted by the values of the lower ranks, every rank's end
/// but the last rank's left out (it is the next rank's first offset): global offsets, one per row
/// and the end.
void write_distributed_offsets(Group& group, std::string_view name, const std::vector<std::uint64_t>& local);

/// Collective. Every rank passes the same `all`; rank 0's copy is written.
template <std::ranges::contiguous_range Values>
void write_replicated(Group& group, std::string_view name, const Values& all, std::uint64_t columns = 0) {
  detail::write_values(group, name, all, columns, true);
}

/// Collective. Rows [first_row, first_row + rows) of a 1-D or 2-D dataset, converted to T.
template <class T>
std::vector<T> read_rows(const Group& group, std::string_view name, std::uint64_t first_row, std::uint64_t rows) {
  const std::vector<std::uint64_t> shape = dataset_shape(group, name);
  const std::uint64_t columns = shape.size() > 1 ? shape[1] : 1;
  std::vector<T> values(rows * columns);
  detail::read_rows(group, name, native_type<T>(), values.data(), first_row, rows, shape.size() > 1 ? columns : 0, false);
  return values;
}

/// Collective. The whole dataset on every rank (for small tables: dictionaries, centroids).
template <class T>
std::vector<T> read_all(const Group& group, std::string_view name) {
  const std::vector<std::uint64_t> shape = dataset_shape(group, name);
  const std::uint64_t rows = shape.empty() ? 0 : shape[0];
  const std::uint64_t columns = shape.size() > 1 ? shape[1] : 1;
  std::vector<T> values(rows * columns);
  detail::read_rows(group, name, native_type<T>(), values.data(), 0, rows, shape.size() > 1 ? columns : 0, true);
  return values;
}

/// Collective. Replicated list of UTF-8 strings as a fixed-length, NUL-padded string dataset
/// (readable by h5py and h5dump; trailing spaces are kept). Strings must not contain NUL.
void write_strings(Group& group, std::string_view name, const std::vector<std::string>& all);
/// Collective. Reads fixed- or variable-length string datasets on every rank.
std::vector<std::string> read_strings(const Group& group, std::string_view name);

/// One column of a table of records: its dataset's name and what a record holds there (a member
/// pointer or a callable taking the record).
template <class Projection>
struct Column {
  std::string_view name;
  Projection value;
};
// Spelt out for compilers without aggregate deduction (clang before 17, the sanitizer and fuzz builds).
template <class Projection>
Column(std::string_view, Projection) -> Column<Projection>;

/// Collective. Writes a small table held whole by every rank column by column, each column a
/// replicated 1-D dataset (strings through write_strings), in the order given:
///   h5::write_columns(group, stages, h5::Column{"name", &StageCost::name},
///                     h5::Column{"seconds", &StageCost::seconds});
template <std::ranges::input_range Records, class... Projections>
void write_columns(Group& group, const Records& records, const Column<Projections>&... columns) {
  auto write_one = [&](const auto& column) {
    using Value = std::remove_cvref_t<decltype(std::invoke(column.value, *std::ranges::begin(records)))>;
    std::vector<Value> values;
    for (const auto& record : records) values.push_back(std::invoke(column.value, record));
    if constexpr (std::is_same_v<Value, std::string>)
      write_strings(group, column.name, values);
    else
      write_replicated(group, column.name, values);
  };
  (write_one(columns), ...);
}

}  // namespace mpiseg::h5

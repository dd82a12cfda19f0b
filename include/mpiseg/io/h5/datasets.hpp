#pragma once
/// Datasets of a distributed table. A *distributed* dataset is the concatenation, in rank order,
/// of every rank's rows; offsets come from an exclusive prefix sum of the local row counts and
/// every rank writes its own block in one collective transfer. A *replicated* dataset is held
/// whole by every rank; rank 0 writes it, the others join the collective call with nothing.
///
///   h5::write_rows(group, "customer", std::span(keys));                  // 1-D, distributed
///   h5::write_rows(group, "matrix", std::span(values), n_features);       // 2-D, row-major
///   auto all_names = h5::read_strings(group, "names");                     // small, replicated
///   auto mine = h5::read_rows<double>(group, "matrix", range.begin, range.size());
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
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
}  // namespace detail

/// Collective. `local` holds this rank's rows, `columns` values each (0 or 1 for a 1-D dataset).
template <class T>
void write_rows(Group& group, std::string_view name, std::span<const T> local, std::uint64_t columns = 0) {
  const std::uint64_t width = columns == 0 ? 1 : columns;
  detail::write_rows(group, name, native_type<T>(), local.data(), local.size() / width, columns, sizeof(T), false);
}
template <class T>
void write_rows(Group& group, std::string_view name, const std::vector<T>& local, std::uint64_t columns = 0) {
  write_rows(group, name, std::span<const T>(local), columns);
}

/// Collective. Every rank passes the same `all`; rank 0's copy is written.
template <class T>
void write_replicated(Group& group, std::string_view name, std::span<const T> all, std::uint64_t columns = 0) {
  const std::uint64_t width = columns == 0 ? 1 : columns;
  detail::write_rows(group, name, native_type<T>(), all.data(), all.size() / width, columns, sizeof(T), true);
}
template <class T>
void write_replicated(Group& group, std::string_view name, const std::vector<T>& all, std::uint64_t columns = 0) {
  write_replicated(group, name, std::span<const T>(all), columns);
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

}  // namespace mpiseg::h5

#include "mpiseg/io/h5/datasets.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "mpiseg/core/error.hpp"

namespace mpiseg::h5 {
namespace {

// One MPI-IO transfer per rank stays below this, so that no count overflows int inside the
// MPI-IO layer; larger local blocks are moved in several rounds.
constexpr std::uint64_t kMaxTransferBytes = std::uint64_t{512} << 20;
// A computed column is written from a buffer of this size, reused (write_computed_rows): one chunk,
// and few fresh pages to fault in (4 MiB cost 2.5 ms more per model of mushroom.dat's itemsets).
constexpr std::uint64_t kPieceBytes = std::uint64_t{1} << 20;
constexpr std::uint64_t kTargetChunkBytes = std::uint64_t{1} << 20;

enum class Direction { read, write };

void record_transfer_mode(File& file, Direction direction) {
  const bool writing = direction == Direction::write;
  if (!file.parallel()) return;
  H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
  if (H5Pget_mpio_actual_io_mode(writing ? file.write_transfer_list() : file.read_transfer_list(), &mode) < 0) return;
  TransferStats& stats = file.transfer_stats();
  ++(mode == H5D_MPIO_NO_COLLECTIVE ? (writing ? stats.independent_writes : stats.independent_reads)
                                    : (writing ? stats.collective_writes : stats.collective_reads));
}

Handle dataspace(int rank, const hsize_t* dims, const hsize_t* max_dims = nullptr) {
  return Handle(check_id(H5Screate_simple(rank, dims, max_dims), "H5Screate_simple"));
}

// A new chunked dataset of `total_rows` rows of `width` values, laid out the same whichever way
// it is then written: 1 MiB chunks, allocated up front, never filled.
struct NewDataset {
  Handle file_space;
  Handle dataset;
};

NewDataset create_dataset(Group& group, std::string_view name, hid_t type, int rank, std::uint64_t total_rows, std::uint64_t width,
                          std::uint64_t row_bytes) {
  const hsize_t dims[2] = {total_rows, width};
  const hsize_t max_dims[2] = {H5S_UNLIMITED, width};
  Handle file_space = dataspace(rank, dims, max_dims);
  Handle create_list(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  const hsize_t chunk_rows = std::clamp<std::uint64_t>(kTargetChunkBytes / std::max<std::uint64_t>(row_bytes, 1), 1,
                                                       std::max<std::uint64_t>(total_rows, 1));
  const hsize_t chunk[2] = {chunk_rows, width};
  check(H5Pset_chunk(create_list.id(), rank, chunk), "H5Pset_chunk");
  // Parallel writes need the space allocated up front (HDF5 requires early allocation).
  check(H5Pset_alloc_time(create_list.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  // Every element is written afterwards; filling the space first would write it twice.
  check(H5Pset_fill_time(create_list.id(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  Handle dataset(check_id(H5Dcreate2(group.id(), std::string(name).c_str(), type, file_space.id(), H5P_DEFAULT,
                                     create_list.id(), H5P_DEFAULT),
                          fmt::format("cannot create dataset {}", group.describe(name))));
  return NewDataset{std::move(file_space), std::move(dataset)};
}

// Moves `rows` rows of `row_bytes`, from file row `first_row` on, in rounds of at most
// `round_bytes` per rank. A collective read needs every rank in the same number of rounds,
// possibly empty ones: the most any rank needs, unless `same_everywhere` (every rank moves the
// same rows). Independent writes take the same rounds, for one code path (an allreduce each).
// `transfer(memory_space, empty, done, count)` makes one H5Dwrite or H5Dread call for the rows
// [done, done + count) of this rank's block.
template <class Transfer>
void transfer_in_rounds(const Group& group, std::string_view name, hid_t file_space, int rank, std::uint64_t width,
                        std::uint64_t row_bytes, std::uint64_t first_row, std::uint64_t rows, bool same_everywhere,
                        Direction direction, Transfer&& transfer, std::uint64_t round_bytes = kMaxTransferBytes) {
  File& file = group.file();
  const std::uint64_t rows_per_round = std::max<std::uint64_t>(1, round_bytes / std::max<std::uint64_t>(row_bytes, 1));
  std::uint64_t rounds = (rows + rows_per_round - 1) / rows_per_round;
  if (!same_everywhere) rounds = file.comm().allreduce<std::uint64_t>(rounds, comm::ReduceOp::max);
  rounds = std::max<std::uint64_t>(rounds, 1);
  for (std::uint64_t round = 0, done = 0; round < rounds; ++round) {
    const std::uint64_t count = std::min(rows_per_round, rows - done);
    const hsize_t start[2] = {first_row + done, 0};
    const hsize_t block[2] = {count, width};
    Handle memory_space = dataspace(rank, block);
    if (count == 0) {
      check(H5Sselect_none(file_space), "H5Sselect_none");
      check(H5Sselect_none(memory_space.id()), "H5Sselect_none");
    } else {
      check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, block, nullptr),
            fmt::format("{}: rows {}..{} out of range", group.describe(name), first_row + done, first_row + done + count));
    }
    transfer(memory_space.id(), count == 0, done, count);
    record_transfer_mode(file, direction);
    done += count;
  }
}

}  // namespace

RowRange even_split(std::uint64_t rows, int rank, int size) noexcept {
  const auto ranks = static_cast<std::uint64_t>(size);
  const auto r = static_cast<std::uint64_t>(rank);
  const std::uint64_t base = rows / ranks, extra = rows % ranks;
  RowRange range;
  range.begin = r * base + std::min(r, extra);
  range.end = range.begin + base + (r < extra ? 1 : 0);
  return range;
}

std::vector<std::uint64_t> dataset_shape(const Group& group, std::string_view name) {
  if (!group.exists(name)) throw IoError(fmt::format("{}: missing dataset", group.describe(name)));
  Handle dataset(check_id(H5Dopen2(group.id(), std::string(name).c_str(), H5P_DEFAULT),
                          fmt::format("cannot open dataset {}", group.describe(name))));
  Handle space(check_id(H5Dget_space(dataset.id()), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0 || rank > 2) throw IoError(fmt::format("{}: expected a 1-D or 2-D dataset", group.describe(name)));
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.id(), dims, nullptr);
  return std::vector<std::uint64_t>(dims, dims + rank);
}

void detail::write_rows(Group& group, std::string_view name, hid_t type, const void* data, std::uint64_t local_rows,
                        std::uint64_t columns, std::size_t element_size, bool replicated) {
  File& file = group.file();
  comm::Communicator& comm = file.comm();
  const std::uint64_t width = columns == 0 ? 1 : columns;
  std::uint64_t total_rows = local_rows, offset = 0, my_rows = local_rows;
  if (replicated) {
    my_rows = comm.rank() == 0 ? local_rows : 0;
  } else {
    total_rows = comm.allreduce<std::uint64_t>(local_rows, comm::ReduceOp::sum);
    offset = comm.exclusive_prefix_sum<std::uint64_t>(local_rows);
  }
  const int rank = columns == 0 ? 1 : 2;
  const std::uint64_t row_bytes = width * element_size;
  const NewDataset created = create_dataset(group, name, type, rank, total_rows, width, row_bytes);
  const auto* bytes = static_cast<const std::byte*>(data);
  transfer_in_rounds(group, name, created.file_space.id(), rank, width, row_bytes, offset, my_rows, false, Direction::write,
                     [&](hid_t memory_space, bool empty, std::uint64_t done, std::uint64_t) {
                       check(H5Dwrite(created.dataset.id(), type, memory_space, created.file_space.id(), file.write_transfer_list(),
                                      empty ? nullptr : bytes + done * row_bytes),
                             fmt::format("cannot write {}", group.describe(name)));
                     });
}

void detail::write_rows_in_pieces(Group& group, std::string_view name, hid_t type, std::uint64_t local_rows, std::size_t element_size,
                                  const std::function<const void*(std::uint64_t first, std::uint64_t count)>& piece) {
  File& file = group.file();
  comm::Communicator& comm = file.comm();
  const std::uint64_t total_rows = comm.allreduce<std::uint64_t>(local_rows, comm::ReduceOp::sum);
  const std::uint64_t offset = comm.exclusive_prefix_sum<std::uint64_t>(local_rows);
  const NewDataset created = create_dataset(group, name, type, 1, total_rows, 1, element_size);
  transfer_in_rounds(
      group, name, created.file_space.id(), 1, 1, element_size, offset, local_rows, false, Direction::write,
      [&](hid_t memory_space, bool empty, std::uint64_t done, std::uint64_t count) {
        check(H5Dwrite(created.dataset.id(), type, memory_space, created.file_space.id(), file.write_transfer_list(),
                       empty ? nullptr : piece(done, count)),
              fmt::format("cannot write {}", group.describe(name)));
      },
      kPieceBytes);
}

void write_distributed_offsets(Group& group, std::string_view name, const std::vector<std::uint64_t>& local) {
  comm::Communicator& comm = group.file().comm();
  const std::uint64_t end = local.empty() ? 0 : local.back();  // {} is read as {0}: no rows
  const std::uint64_t base = comm.exclusive_prefix_sum<std::uint64_t>(end);
  const std::uint64_t rows = local.empty() ? 0 : local.size() - (comm.rank() == comm.size() - 1 ? 0 : 1);
  write_computed_rows<std::uint64_t>(group, name, rows, [&](std::uint64_t first, std::span<std::uint64_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = base + local[first + i];
  });
}

void detail::read_rows(const Group& group, std::string_view name, hid_t type, void* data, std::uint64_t first_row,
                       std::uint64_t rows, std::uint64_t columns, bool everyone_reads_same) {
  File& file = group.file();
  Handle dataset(check_id(H5Dopen2(group.id(), std::string(name).c_str(), H5P_DEFAULT),
                          fmt::format("cannot open dataset {}", group.describe(name))));
  Handle file_space(check_id(H5Dget_space(dataset.id()), "H5Dget_space"));
  const int rank = columns == 0 ? 1 : 2;
  const std::uint64_t width = columns == 0 ? 1 : columns;
  const std::size_t element_size = H5Tget_size(type);
  const std::uint64_t row_bytes = width * element_size;
  auto* bytes = static_cast<std::byte*>(data);
  transfer_in_rounds(group, name, file_space.id(), rank, width, row_bytes, first_row, rows, everyone_reads_same, Direction::read,
                     [&](hid_t memory_space, bool empty, std::uint64_t done, std::uint64_t) {
                       check(H5Dread(dataset.id(), type, memory_space, file_space.id(), file.read_transfer_list(),
                                     empty ? nullptr : bytes + done * row_bytes),
                             fmt::format("cannot read {}", group.describe(name)));
                     });
}

void write_strings(Group& group, std::string_view name, const std::vector<std::string>& all) {
  std::size_t width = 1;
  for (const std::string& text : all) {
    if (text.find('\0') != std::string::npos)
      throw IoError(fmt::format("{}: a string contains a NUL byte", group.describe(name)));
    width = std::max(width, text.size());
  }
  std::vector<char> buffer(all.size() * width, '\0');
  for (std::size_t i = 0; i < all.size(); ++i) std::memcpy(&buffer[i * width], all[i].data(), all[i].size());
  Handle type(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  check(H5Tset_size(type.id(), width), "H5Tset_size");
  check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
  check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset");
  detail::write_rows(group, name, type.id(), buffer.data(), all.size(), 0, width, true);
}

std::vector<std::string> read_strings(const Group& group, std::string_view name) {
  const std::vector<std::uint64_t> shape = dataset_shape(group, name);
  if (shape.size() != 1) throw IoError(fmt::format("{}: expected a 1-D string dataset", group.describe(name)));
  Handle dataset(check_id(H5Dopen2(group.id(), std::string(name).c_str(), H5P_DEFAULT),
                          fmt::format("cannot open dataset {}", group.describe(name))));
  Handle file_type(check_id(H5Dget_type(dataset.id()), "H5Dget_type"));
  if (H5Tget_class(file_type.id()) != H5T_STRING)
    throw IoError(fmt::format("{}: expected a string dataset", group.describe(name)));
  const std::uint64_t count = shape[0];
  std::vector<std::string> values(count);
  if (H5Tis_variable_str(file_type.id()) > 0) {
    Handle memory_type(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
    check(H5Tset_size(memory_type.id(), H5T_VARIABLE), "H5Tset_size");
    check(H5Tset_cset(memory_type.id(), H5Tget_cset(file_type.id())), "H5Tset_cset");
    std::vector<char*> pointers(count, nullptr);
    // Variable-length data cannot take part in a collective transfer; each rank reads it alone.
    check(H5Dread(dataset.id(), memory_type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()),
          fmt::format("cannot read {}", group.describe(name)));
    for (std::uint64_t i = 0; i < count; ++i) {
      values[i] = pointers[i] != nullptr ? pointers[i] : "";
      H5free_memory(pointers[i]);
    }
    return values;
  }
  const std::size_t width = H5Tget_size(file_type.id());
  std::vector<char> buffer(count * width);
  detail::read_rows(group, name, file_type.id(), buffer.data(), 0, count, 0, true);
  for (std::uint64_t i = 0; i < count; ++i) {
    const char* start = &buffer[i * width];
    values[i].assign(start, strnlen(start, width));
  }
  return values;
}

}  // namespace mpiseg::h5

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <numeric>

#include "mpiseg/core/error.hpp"
#include "mpiseg/io/h5/datasets.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

BOOST_AUTO_TEST_SUITE(hdf5_files)

BOOST_AUTO_TEST_CASE(distributed_rows_round_trip_at_any_split) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const auto path = scratch / "table.h5";
  // Rank r holds rows [offset, offset + 3r + 1) of a 2-column table; value = row * 10 + column.
  const std::uint64_t mine = static_cast<std::uint64_t>(3 * comm.rank() + 1);
  const std::uint64_t offset = comm.exclusive_prefix_sum(mine);
  const std::uint64_t total = comm.allreduce(mine, comm::ReduceOp::sum);
  std::vector<double> matrix;
  std::vector<std::uint64_t> keys;
  for (std::uint64_t row = offset; row < offset + mine; ++row) {
    keys.push_back(row * 7);
    matrix.push_back(static_cast<double>(row) * 10.0);
    matrix.push_back(static_cast<double>(row) * 10.0 + 1.0);
  }
  {
    auto file = h5::File::create(path, comm);
    h5::Group group = file.root().create_group("table");
    h5::write_rows(group, "key", keys);
    h5::write_rows(group, "matrix", matrix, 2);
    h5::write_strings(group, "names", {"recency_days", "monetary ", "£ sign"});
    group.write_attribute("units", "days");
    group.write_attribute("count", std::int64_t{42});
    group.write_attribute("scale", std::vector<double>{1.5, 2.5});
    if (comm.size() > 1) {  // raw data written independently, as asked (h5::File)
      BOOST_TEST(file.transfer_stats().independent_writes > 0u);
      BOOST_TEST(file.transfer_stats().collective_writes == 0u);
    }
    BOOST_TEST(!std::filesystem::exists(path));
    file.commit();
  }
  BOOST_TEST(std::filesystem::exists(path));

  auto file = h5::File::open(path, comm);
  h5::Group group = file.root().open_group("table");
  BOOST_TEST(h5::dataset_shape(group, "matrix") == (std::vector<std::uint64_t>{total, 2}));
  // Read back with a different split: the even one.
  const h5::RowRange range = h5::even_split(total, comm.rank(), comm.size());
  const auto read = h5::read_rows<double>(group, "matrix", range.begin, range.size());
  for (std::uint64_t i = 0; i < range.size(); ++i) {
    BOOST_REQUIRE(read[2 * i] == static_cast<double>(range.begin + i) * 10.0);
    BOOST_REQUIRE(read[2 * i + 1] == static_cast<double>(range.begin + i) * 10.0 + 1.0);
  }
  const auto all_keys = h5::read_all<std::uint64_t>(group, "key");
  BOOST_TEST(all_keys.size() == total);
  for (std::uint64_t row = 0; row < total; ++row) BOOST_REQUIRE(all_keys[row] == row * 7);
  BOOST_TEST(h5::read_strings(group, "names") == (std::vector<std::string>{"recency_days", "monetary ", "£ sign"}));
  if (comm.size() > 1) {  // and read collectively
    BOOST_TEST(file.transfer_stats().collective_reads > 0u);
    BOOST_TEST(file.transfer_stats().independent_reads == 0u);
  }
  BOOST_TEST(group.read_string_attribute("units") == "days");
  BOOST_TEST(group.read_int_attribute("count") == 42);
  BOOST_TEST(group.read_double_array_attribute("scale") == (std::vector<double>{1.5, 2.5}));
  BOOST_TEST(group.exists("matrix"));
  BOOST_TEST(!group.exists("nothing/here"));
  BOOST_TEST(file.root().members() == std::vector<std::string>{"table"});
  file.close();
}

// A computed column is written in pieces of 4 MiB: rank sizes around and across that (and an
// empty rank) must give the column write_rows gives from the same values held whole, and CSR
// offsets must come out global with one end, as the model's itemsets and rules need.
BOOST_AUTO_TEST_CASE(computed_columns_and_distributed_offsets_equal_the_columns_held_whole) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const auto path = scratch / "computed.h5";
  const std::uint64_t sizes[] = {(std::uint64_t{1} << 20) + 3, 0, 5, (std::uint64_t{1} << 21)};
  const std::uint64_t mine = sizes[static_cast<std::size_t>(comm.rank()) % 4];
  const std::uint64_t offset = comm.exclusive_prefix_sum(mine);
  std::vector<std::uint32_t> held(mine);
  for (std::uint64_t i = 0; i < mine; ++i) held[i] = static_cast<std::uint32_t>((offset + i) * 2654435761u);
  // Local CSR offsets of rows of length row % 3 over those values, and the same made global.
  std::vector<std::uint64_t> local_offsets{0};
  while (local_offsets.back() < mine)
    local_offsets.push_back(std::min(mine, local_offsets.back() + (offset + local_offsets.size()) % 3));
  std::vector<std::uint64_t> global_offsets;
  for (std::size_t r = 0; r + 1 < local_offsets.size() || (r + 1 == local_offsets.size() && comm.rank() == comm.size() - 1); ++r)
    global_offsets.push_back(offset + local_offsets[r]);
  {
    auto file = h5::File::create(path, comm);
    h5::Group group = file.root();
    h5::write_rows(group, "held", held);
    std::uint64_t pieces = 0;
    h5::write_computed_rows<std::uint32_t>(group, "computed", mine, [&](std::uint64_t first, std::span<std::uint32_t> piece) {
      ++pieces;
      for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<std::uint32_t>((offset + first + i) * 2654435761u);
    });
    BOOST_TEST(pieces == (mine + (1u << 18) - 1) / (1u << 18));  // 1 MiB of 4-byte values each
    h5::write_rows(group, "global_offsets", global_offsets);
    h5::write_distributed_offsets(group, "offsets", local_offsets);
    file.commit();
  }
  auto file = h5::File::open(path, comm);
  const h5::Group root = file.root();
  BOOST_TEST(h5::dataset_shape(root, "computed") == h5::dataset_shape(root, "held"));
  BOOST_TEST((h5::read_all<std::uint32_t>(root, "computed") == h5::read_all<std::uint32_t>(root, "held")));
  const auto offsets = h5::read_all<std::uint64_t>(root, "offsets");
  BOOST_TEST((offsets == h5::read_all<std::uint64_t>(root, "global_offsets")));
  BOOST_TEST(offsets.back() == comm.allreduce(mine, comm::ReduceOp::sum));
  file.close();
}

BOOST_AUTO_TEST_CASE(an_uncommitted_file_leaves_the_previous_one_untouched) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const auto path = scratch / "model.h5";
  {
    auto file = h5::File::create(path, comm);
    file.root().write_attribute("generation", std::int64_t{1});
    file.commit();
  }
  {
    auto file = h5::File::create(path, comm);
    file.root().write_attribute("generation", std::int64_t{2});
    // no commit: the writer gives up (every rank), as a failed run would
  }
  comm.barrier();
  auto file = h5::File::open(path, comm);
  BOOST_TEST(file.root().read_int_attribute("generation") == 1);
  BOOST_TEST(!std::filesystem::exists(scratch / "model.h5.tmp"));
  file.close();
}

BOOST_AUTO_TEST_CASE(opening_bad_files_gives_clear_errors) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  if (comm.rank() == 0) {
    std::ofstream(scratch / "text.h5") << "not hdf5 at all";
  }
  comm.barrier();
  auto contains = [](const IoError& error, const char* part) { return std::string(error.what()).find(part) != std::string::npos; };
  BOOST_CHECK_EXCEPTION(h5::File::open(scratch / "missing.h5", comm), IoError,
                        [&](const IoError& e) { return contains(e, "does not exist"); });
  BOOST_CHECK_EXCEPTION(h5::File::open(scratch / "text.h5", comm), IoError,
                        [&](const IoError& e) { return contains(e, "not an HDF5 file"); });
  {
    auto file = h5::File::create(scratch / "empty.h5", comm);
    file.commit();
  }
  auto file = h5::File::open(scratch / "empty.h5", comm);
  BOOST_CHECK_EXCEPTION(file.root().open_group("kmeans"), IoError, [&](const IoError& e) { return contains(e, "missing group"); });
  BOOST_CHECK_EXCEPTION(h5::read_all<double>(file.root(), "x"), IoError, [&](const IoError& e) { return contains(e, "missing dataset"); });
  file.close();
}

BOOST_AUTO_TEST_SUITE_END()

// Every rank's data is a function of (rank, size); every rank computes the expected global
// answer serially and compares. The same checks run with a tiny message limit, which forces the
// chunked paths that large exchanges (> 2 GiB) take.
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <numeric>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/mpi.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;
using mpiseg::testing::world;

namespace {

// Rank r sends (r + 2 * d) % 5 elements to rank d; element values encode (source, dest, index).
std::uint64_t pair_count(int source, int destination) { return static_cast<std::uint64_t>((source + 2 * destination) % 5); }
std::int64_t pair_value(int source, int destination, std::uint64_t index) {
  return source * 1'000'000 + destination * 1000 + static_cast<std::int64_t>(index);
}

void check_collectives(comm::Communicator& comm) {
  const int rank = comm.rank(), size = comm.size();

  // allreduce: sum, min, max, bitwise or.
  std::vector<std::int64_t> values = {rank, -rank, 1, std::int64_t{1} << rank};
  comm.allreduce(std::span(values).subspan(0, 3), comm::ReduceOp::sum);
  BOOST_TEST(values[0] == size * (size - 1) / 2);
  BOOST_TEST(values[1] == -size * (size - 1) / 2);
  BOOST_TEST(values[2] == size);
  BOOST_TEST(comm.allreduce<std::int64_t>(values[3], comm::ReduceOp::bit_or) == (std::int64_t{1} << size) - 1);
  BOOST_TEST(comm.allreduce(static_cast<double>(rank), comm::ReduceOp::max) == size - 1.0);
  BOOST_TEST(comm.allreduce(static_cast<double>(rank) + 0.5, comm::ReduceOp::min) == 0.5);

  // A long allreduce (many chunks when the message limit is tiny).
  std::vector<std::uint32_t> long_values(1000);
  std::iota(long_values.begin(), long_values.end(), static_cast<std::uint32_t>(rank));
  comm.allreduce(std::span(long_values), comm::ReduceOp::sum);
  for (std::uint32_t i = 0; i < long_values.size(); ++i)
    BOOST_REQUIRE(long_values[i] == static_cast<std::uint32_t>(size) * i + static_cast<std::uint32_t>(size * (size - 1) / 2));

  // broadcast_vector from the last rank.
  std::vector<std::int32_t> broadcast;
  if (rank == size - 1) broadcast.assign(37, 9);
  comm.broadcast_vector(broadcast, size - 1);
  BOOST_TEST(broadcast == std::vector<std::int32_t>(37, 9));

  // allgather and allgatherv with rank-dependent sizes (rank 0 contributes nothing).
  const auto gathered = comm.allgather<std::int32_t>(rank * 10);
  for (int r = 0; r < size; ++r) BOOST_TEST(gathered[static_cast<std::size_t>(r)] == r * 10);
  std::vector<std::int64_t> mine(static_cast<std::size_t>(rank * 3), rank);
  std::vector<std::uint64_t> counts;
  const auto all = comm.allgatherv(std::span<const std::int64_t>(mine), &counts);
  std::vector<std::int64_t> expected;
  for (int r = 0; r < size; ++r) expected.insert(expected.end(), static_cast<std::size_t>(r * 3), r);
  BOOST_TEST(all == expected);
  BOOST_TEST(counts.size() == static_cast<std::size_t>(size));

  // alltoallv with asymmetric, sometimes empty blocks.
  std::vector<std::int64_t> send;
  std::vector<std::uint64_t> send_counts;
  for (int d = 0; d < size; ++d) {
    send_counts.push_back(pair_count(rank, d));
    for (std::uint64_t i = 0; i < pair_count(rank, d); ++i) send.push_back(pair_value(rank, d, i));
  }
  std::vector<std::uint64_t> recv_counts;
  const auto received = comm.alltoallv(std::span<const std::int64_t>(send), send_counts, recv_counts);
  std::vector<std::int64_t> expected_received;
  for (int s = 0; s < size; ++s) {
    BOOST_TEST(recv_counts[static_cast<std::size_t>(s)] == pair_count(s, rank));
    for (std::uint64_t i = 0; i < pair_count(s, rank); ++i) expected_received.push_back(pair_value(s, rank, i));
  }
  BOOST_TEST(received == expected_received);

  BOOST_TEST(comm.exclusive_prefix_sum<std::uint64_t>(static_cast<std::uint64_t>(rank + 1)) ==
             static_cast<std::uint64_t>(rank * (rank + 1) / 2));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(collectives)

BOOST_AUTO_TEST_CASE(collectives_match_the_serial_answer) { check_collectives(world()); }

BOOST_AUTO_TEST_CASE(chunked_paths_give_the_same_answers) {
  auto tiny = comm::make_world_communicator(7);  // at most 7 bytes per MPI call
  check_collectives(*tiny);
}

BOOST_AUTO_TEST_CASE(exact_sums_are_identical_for_any_partition) {
  // 10007 values spread over the ranks in an interleaved pattern; the exact sum must equal the
  // serial sum of all values bit for bit.
  auto& comm = world();
  const int n = 10007;
  auto value = [](int i) { return std::sin(i * 0.37) * std::pow(10.0, (i % 13) - 6); };
  std::vector<double> mine;
  for (int i = comm.rank(); i < n; i += comm.size()) mine.push_back(value(i));
  const double bound = comm::global_max_abs(mine, comm, "values");
  const auto grid = FixedPointGrid::for_bound(bound);
  int128 sum = 0;
  for (double x : mine) sum += grid.quantize(x);
  comm::allreduce_exact(std::span(&sum, 1), comm);
  const double distributed = grid.to_double(sum);

  double serial_bound = 0;
  for (int i = 0; i < n; ++i) serial_bound = std::max(serial_bound, std::abs(value(i)));
  int128 serial_sum = 0;
  for (int i = 0; i < n; ++i) serial_sum += FixedPointGrid::for_bound(serial_bound).quantize(value(i));
  const double serial = FixedPointGrid::for_bound(serial_bound).to_double(serial_sum);
  BOOST_TEST(std::memcmp(&distributed, &serial, sizeof serial) == 0);
}

BOOST_AUTO_TEST_CASE(failures_on_one_rank_stop_every_rank) {
  auto& comm = world();
  bool threw = false;
  try {
    comm::collectively(comm, "step", [&] {
      if (comm.rank() == comm.size() - 1) throw InputError("only the last rank fails");
      return 1;
    });
  } catch (const InputError&) {
    threw = comm.rank() == comm.size() - 1;
  } catch (const PeerFailure&) {
    threw = comm.rank() != comm.size() - 1;
  }
  BOOST_TEST(threw);
  BOOST_CHECK_THROW(comm::global_max_abs(comm.rank() == 0 ? std::vector<double>{INFINITY} : std::vector<double>{1.0}, comm, "m"),
                    InputError);
}

BOOST_AUTO_TEST_CASE(shared_file_is_written_at_offsets_and_committed_atomically) {
  auto& comm = world();
  testing::ScratchDir scratch(comm);
  const auto path = scratch / "shared.txt";
  {
    auto tiny = comm::make_world_communicator(3);
    auto file = tiny->create_shared_file(path);
    const std::string mine = std::string(static_cast<std::size_t>(comm.rank() + 1), static_cast<char>('a' + comm.rank()));
    const auto offset = tiny->exclusive_prefix_sum<std::uint64_t>(mine.size());
    file->write_at_all(offset, std::as_bytes(std::span(mine.data(), mine.size())));
    comm.barrier();
    BOOST_TEST(!std::filesystem::exists(path));  // not visible before commit
    file->commit();
  }
  std::string expected;
  for (int r = 0; r < comm.size(); ++r) expected += std::string(static_cast<std::size_t>(r + 1), static_cast<char>('a' + r));
  BOOST_TEST(testing::read_file(path) == expected);
  BOOST_TEST(!std::filesystem::exists(scratch / "shared.txt.tmp"));
}

BOOST_AUTO_TEST_SUITE_END()

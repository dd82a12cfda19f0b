// An alltoallv whose blocks exceed 2 GiB per pair: MPI's int counts cannot describe it in one
// call, so the communicator must split it. Run at 2 ranks only (about 9 GB of memory in all).
#include <boost/test/unit_test.hpp>

#include "mpiseg/comm/communicator.hpp"
#include "support/test_support.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_CASE(alltoallv_above_two_gibibytes) {
  auto& comm = testing::world();
  const int rank = comm.rank(), size = comm.size();
  const std::uint64_t per_peer = (std::uint64_t{1} << 31) + 4099;  // bytes to every other rank
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(size), 0);
  for (int d = 0; d < size; ++d)
    if (d != rank) counts[static_cast<std::size_t>(d)] = per_peer;
  std::vector<std::uint8_t> send(per_peer * static_cast<std::uint64_t>(size - 1));
  std::uint64_t position = 0;
  for (int d = 0; d < size; ++d) {
    if (d == rank) continue;
    for (std::uint64_t i = 0; i < per_peer; ++i) send[position++] = static_cast<std::uint8_t>((i * 31 + rank * 7 + d) & 0xff);
  }
  std::vector<std::uint64_t> received_counts;
  const auto received = comm.alltoallv(std::span<const std::uint8_t>(send), counts, received_counts);
  send.clear();
  send.shrink_to_fit();
  position = 0;
  bool ok = true;
  for (int s = 0; s < size; ++s) {
    if (s == rank) continue;
    BOOST_TEST(received_counts[static_cast<std::size_t>(s)] == per_peer);
    for (std::uint64_t i = 0; i < per_peer && ok; i += 4093)
      ok = received[position + i] == static_cast<std::uint8_t>((i * 31 + s * 7 + rank) & 0xff);
    ok = ok && received[position + per_peer - 1] == static_cast<std::uint8_t>(((per_peer - 1) * 31 + s * 7 + rank) & 0xff);
    position += per_peer;
  }
  BOOST_TEST(ok);
}

#include <boost/test/unit_test.hpp>
#include <vector>

#include "mpiseg/comm/collectives.hpp"
#include "mpiseg/comm/communicator.hpp"

using namespace mpiseg;

BOOST_AUTO_TEST_SUITE(serial_communicator)

BOOST_AUTO_TEST_CASE(collectives_of_one_rank) {
  auto comm = comm::make_serial_communicator();
  BOOST_TEST(comm->rank() == 0);
  BOOST_TEST(comm->size() == 1);
  std::vector<double> values = {1.5, -2.0};
  comm->allreduce(std::span(values), comm::ReduceOp::sum);
  BOOST_TEST(values == (std::vector<double>{1.5, -2.0}));
  BOOST_TEST(comm->allgather(7) == std::vector<int>{7});
  const std::vector<int> local = {1, 2, 3};
  BOOST_TEST(comm->allgatherv(std::span<const int>(local)) == local);
  std::vector<std::uint64_t> received;
  const std::vector<std::uint64_t> counts = {3};
  BOOST_TEST(comm->alltoallv(std::span<const int>(local), counts, received) == local);
  BOOST_TEST(received == counts);
  BOOST_TEST(comm->exclusive_prefix_sum<std::uint64_t>(5) == 0u);
  BOOST_TEST(comm->traffic().calls > 0u);
}

BOOST_AUTO_TEST_CASE(collectively_rethrows_the_local_failure) {
  auto comm = comm::make_serial_communicator();
  BOOST_CHECK_THROW(comm::collectively(*comm, "step", [] { throw InputError("bad"); }), InputError);
  BOOST_TEST(comm::collectively(*comm, "step", [] { return 41 + 1; }) == 42);
}

BOOST_AUTO_TEST_CASE(non_finite_values_are_rejected) {
  auto comm = comm::make_serial_communicator();
  const std::vector<double> good = {1.0, -3.0, 2.0};
  BOOST_TEST(comm::global_max_abs(good, *comm, "x") == 3.0);
  const std::vector<double> bad = {1.0, std::nan("")};
  BOOST_CHECK_THROW(comm::global_max_abs(bad, *comm, "x"), InputError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(byte_framing_round_trips_and_refuses_overruns) {
  comm::ByteWriter out;
  out.put(std::uint64_t{42}).put_string("").put_string(std::string("a\0b", 3)).put(std::int32_t{-7});
  comm::ByteReader in(out.bytes());
  BOOST_TEST(in.get<std::uint64_t>() == 42u);
  BOOST_TEST(in.get_string().empty());
  BOOST_TEST((in.get_string() == std::string("a\0b", 3)));
  BOOST_TEST(in.get<std::int32_t>() == -7);
  BOOST_TEST(in.done());
  BOOST_CHECK_THROW(in.get<std::uint8_t>(), IoError);
  // A length prefix that claims more bytes than the buffer holds.
  comm::ByteWriter lying;
  lying.put(std::uint32_t{1000});
  comm::ByteReader short_in(lying.bytes());
  BOOST_CHECK_THROW(short_in.get_string(), IoError);
}

BOOST_AUTO_TEST_CASE(string_collectives_on_one_rank) {
  auto alone = comm::make_serial_communicator();
  const std::vector<std::string> local = {"x", "", "zz"};
  BOOST_TEST((comm::allgather_strings(local, *alone) == local));
  BOOST_TEST(comm::broadcast_string("host", 0, *alone) == "host");
  std::vector<comm::ByteWriter> to(1);
  to[0].put_string("self");
  const std::vector<char> received = comm::exchange_bytes(to, *alone);
  comm::ByteReader in(received);
  BOOST_TEST(in.get_string() == "self");
}

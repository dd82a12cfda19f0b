// Boost.Test main for MPI tests: a global fixture starts MPI and provides the world
// communicator. Each test builds its data from (rank, size), computes the expected global answer
// serially and compares, so one test body is valid at every rank count.
#define BOOST_TEST_MODULE mpiseg MPI tests
#include <boost/test/unit_test.hpp>

#include "mpiseg/comm/mpi.hpp"
#include "mpiseg/core/log.hpp"
#include "support/test_support.hpp"

namespace mpiseg::testing {
namespace {
std::unique_ptr<comm::Communicator> g_world;
}

comm::Communicator& world() { return *g_world; }

struct MpiFixture {
  MpiFixture() {
    auto& suite = boost::unit_test::framework::master_test_suite();
    comm::initialize_mpi(suite.argc, suite.argv);
    g_world = comm::make_world_communicator();
    log::configure(log::Level::warn, g_world->rank());
  }
  ~MpiFixture() {
    g_world.reset();
    comm::finalize_mpi();
  }
};

BOOST_TEST_GLOBAL_FIXTURE(MpiFixture);

}  // namespace mpiseg::testing

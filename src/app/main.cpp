// The only main of mpiseg: it starts MPI, runs one subcommand on all ranks, and ends the job.
// Any exception that reaches this level is printed with its rank; with several ranks the job is
// then aborted, because the other ranks may be waiting in a collective that will never finish.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>

#include "commands.hpp"
#include "mpiseg/comm/mpi.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/interrupt.hpp"
#include "mpiseg/core/log.hpp"

int main(int argc, char** argv) {
  using namespace mpiseg;
  // Before MPI starts: a SIGUSR1 that arrives during start-up asks for a checkpoint like any other,
  // instead of killing the rank with the signal's default action.
  install_checkpoint_signal_handler();
  record_launcher();
  comm::initialize_mpi(argc, argv);
  int status = 0;
  {
    std::unique_ptr<comm::Communicator> world = comm::make_world_communicator();
    log::configure(log::Level::info, world->rank());
    int failure = 0;
    try {
      status = app::run_command_line(std::span(argv + 1, static_cast<std::size_t>(argc - 1)), *world);
    } catch (const Checkpointed& stop) {
      // Every rank stops here together: a normal end, with the status that asks for a requeue.
      if (world->rank() == 0) log::write(log::Level::warn, false, stop.what());
      status = kExitCheckpointed;
    } catch (const PeerFailure&) {
      // The rank that failed has printed the reason; this one only stops.
      failure = 1;
    } catch (const ConfigError& error) {
      // Settings are read identically on every rank: one copy of the message is enough.
      if (world->rank() == 0) log::write(log::Level::error, false, error.what());
      failure = 2;
    } catch (const std::exception& error) {
      log::error_any_rank("{}", error.what());
      failure = 1;
    }
    if (failure != 0) {
      if (world->size() > 1) comm::abort_job(failure);
      status = failure;
    }
  }
  if (exit_without_library_cleanup()) {
    // See request_exit_without_library_cleanup(): HDF5's clean-up would crash on a file whose
    // close failed. The failure has been reported; end with its status.
    std::fflush(nullptr);
    std::_Exit(status != 0 ? status : 1);
  }
  comm::finalize_mpi();
  return status;
}

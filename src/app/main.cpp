// The only main of mpiseg: it starts MPI, runs one subcommand on all ranks, and ends the job.
// Any exception that reaches this level is printed with its rank; with several ranks the job is
// then aborted, because the other ranks may be waiting in a collective that will never finish.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>
#include <string>
#include <thread>

#include "commands.hpp"
#include "mpiseg/comm/mpi.hpp"
#include "mpiseg/core/error.hpp"
#include "mpiseg/core/interrupt.hpp"
#include "mpiseg/core/log.hpp"

namespace {
constexpr std::chrono::seconds kGraceForTheRankWithTheMessage{5};
}

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
    // A rank that holds no message of its own (the failure was another rank's, or rank 0 prints
    // the shared settings error) lets the rank with the message end the job: aborting at once
    // could kill that rank before its message is written, leaving a failed job without a reason.
    bool message_elsewhere = false;
    std::string message;
    try {
      status = app::run_command_line(std::span(argv + 1, static_cast<std::size_t>(argc - 1)), *world);
    } catch (const Checkpointed& stop) {
      // Every rank stops here together: a normal end, with the status that asks for a requeue.
      if (world->rank() == 0) log::write(log::Level::warn, false, stop.what());
      status = kExitCheckpointed;
    } catch (const PeerFailure& error) {
      failure = 1;
      message_elsewhere = true;
      message = error.what();
    } catch (const ConfigError& error) {
      // Settings are read identically on every rank: one copy of the message is enough.
      failure = 2;
      message_elsewhere = world->rank() != 0;
      message = error.what();
      if (!message_elsewhere) log::write(log::Level::error, false, message);
    } catch (const std::exception& error) {
      log::error_any_rank("{}", error.what());
      failure = 1;
    }
    if (failure != 0) {
      if (world->size() > 1) {
        if (message_elsewhere) {
          // Normally the job is over long before this; if not, the rank that should have spoken
          // did not, and this one says what it knows.
          std::this_thread::sleep_for(kGraceForTheRankWithTheMessage);
          log::error_any_rank("{}", message);
        }
        comm::abort_job(failure);
      }
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

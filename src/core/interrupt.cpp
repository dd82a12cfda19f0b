#include "mpiseg/core/interrupt.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <initializer_list>

namespace mpiseg {
namespace {
volatile std::sig_atomic_t requested = 0;
pid_t launcher = 0;  // 0: not started by a launcher
bool skip_library_cleanup = false;
extern "C" void on_checkpoint_signal(int) { requested = 1; }
}  // namespace

void install_checkpoint_signal_handler() {
  struct sigaction action {};
  action.sa_handler = on_checkpoint_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // system calls in progress (file reads) continue
  sigaction(SIGUSR1, &action, nullptr);
}

void record_launcher() noexcept {
  // Open MPI's mpirun (and PMIx launchers) and srun set these in every rank's environment.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "SLURM_PROCID"})
    if (std::getenv(name) != nullptr) launcher = getppid();
}

void request_exit_without_library_cleanup() noexcept { skip_library_cleanup = true; }
bool exit_without_library_cleanup() noexcept { return skip_library_cleanup; }

bool launcher_alive() noexcept { return launcher == 0 || getppid() == launcher; }

bool checkpoint_requested() noexcept { return requested != 0; }
void request_checkpoint() noexcept { requested = 1; }

}  // namespace mpiseg

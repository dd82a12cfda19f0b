#include "mpiseg/core/interrupt.hpp"

#include <csignal>

namespace mpiseg {
namespace {
volatile std::sig_atomic_t requested = 0;
extern "C" void on_checkpoint_signal(int) { requested = 1; }
}  // namespace

void install_checkpoint_signal_handler() {
  struct sigaction action {};
  action.sa_handler = on_checkpoint_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // system calls in progress (file reads) continue
  sigaction(SIGUSR1, &action, nullptr);
}

bool checkpoint_requested() noexcept { return requested != 0; }
void request_checkpoint() noexcept { requested = 1; }
void clear_checkpoint_request() noexcept { requested = 0; }

}  // namespace mpiseg

#pragma once
// The subcommands of the mpiseg executable. Each one parses its options, builds a JobConfig and
// calls into the library; none touches MPI directly.
#include <span>
#include <string>
#include <vector>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::app {

/// Parses argv (without the program name) and runs the subcommand. Returns the exit status.
int run_command_line(std::span<char*> arguments, comm::Communicator& world);

}  // namespace mpiseg::app

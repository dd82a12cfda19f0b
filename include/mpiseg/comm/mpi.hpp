#pragma once
/// The MPI side of comm/. Only src/app/main.cpp (and the MPI test main) call these: they start
/// and stop MPI and abort the job; everything else receives a Communicator&.
///
///   int main(int argc, char** argv) {
///     comm::initialize_mpi(argc, argv);
///     auto world = comm::make_world_communicator();
///     ...
///     world.reset();
///     comm::finalize_mpi();
///   }
#include <cstddef>
#include <memory>

#include "mpiseg/comm/communicator.hpp"

namespace mpiseg::comm {

/// Largest payload one MPI call carries by default; larger exchanges are split. Below 2^31 so
/// that counts and displacements fit MPI's int.
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{1} << 30;

/// MPI_Init_thread (MPI_THREAD_FUNNELED). Safe to call when MPI is already initialised.
void initialize_mpi(int& argc, char**& argv);
/// MPI_Finalize, after every communicator and parallel file is gone.
void finalize_mpi();
/// Ends every process of the job with `exit_code` (MPI_Abort on MPI_COMM_WORLD).
[[noreturn]] void abort_job(int exit_code) noexcept;

/// A communicator over all processes of the job (its own duplicate of MPI_COMM_WORLD, so that
/// mpiseg's messages never match anybody else's). `max_message_bytes` below the default makes
/// every large-message path testable with small buffers.
std::unique_ptr<Communicator> make_world_communicator(std::size_t max_message_bytes = kDefaultMaxMessageBytes);

}  // namespace mpiseg::comm

#pragma once
/// Checkpoint requests. Slurm signals a batch job ahead of its time limit (`--signal=B:USR1@S`);
/// slurm/segment.sbatch forwards SIGUSR1 to the ranks. A run that receives it writes a
/// checkpoint at the next safe point (a K-means iteration, a finished FP-growth task), stops,
/// and exits with kExitCheckpointed, which tells the batch script to requeue the job; the next
/// start resumes from the checkpoint.
namespace mpiseg {

/// The exit status of a run that stopped after a checkpoint (EX_TEMPFAIL: "try again").
inline constexpr int kExitCheckpointed = 75;

/// Installs the SIGUSR1 handler (the executable's main does, once).
void install_checkpoint_signal_handler();

/// True once SIGUSR1 arrived (or request_checkpoint() was called) on this rank. Ranks agree on
/// it through a collective at each safe point (see pipeline/checkpoint.hpp).
bool checkpoint_requested() noexcept;

/// As if the signal had arrived (tests).
void request_checkpoint() noexcept;


/// Notes this process's parent when it was started by an MPI or Slurm launcher (mpirun, srun),
/// from main before anything else. A rank whose launcher was killed can outlive it by seconds;
/// launcher_alive() lets it refuse to publish results then.
void record_launcher() noexcept;

/// A library was left in a state its own clean-up cannot handle (HDF5 after a failed file close):
/// main then ends the process without finalising MPI and HDF5, with the failure's exit status.
void request_exit_without_library_cleanup() noexcept;
bool exit_without_library_cleanup() noexcept;

/// False when the launcher noted by record_launcher() is gone (this process was re-parented);
/// true when there was none to note.
bool launcher_alive() noexcept;

}  // namespace mpiseg

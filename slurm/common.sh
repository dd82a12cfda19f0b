# Functions shared by the job scripts in slurm/ (sourced after site.sh).

# The command line that starts mpiseg on all ranks of the job, in the array MPISEG_LAUNCH:
# srun (direct launch) or mpirun, per site.sh.
mpiseg_launcher() {
  if [ "$MPISEG_LAUNCHER" = mpirun ]; then
    MPISEG_LAUNCH=(mpirun -n "${SLURM_NTASKS:-1}" "$MPISEG_BIN")
  else
    MPISEG_LAUNCH=(srun --mpi="$MPISEG_SRUN_MPI" "$MPISEG_BIN")
  fi
}

# Runs `mpiseg ARGS...` on all ranks.
mpiseg_launch() {
  mpiseg_launcher
  "${MPISEG_LAUNCH[@]}" "$@"
}

# Runs `mpiseg ARGS...` so that Slurm's warning signal (--signal=B:USR1@SECONDS reaches this
# batch shell) is passed on to the ranks: mpiseg writes a checkpoint at its next safe point and
# exits with 75, and the job requeues itself (--requeue); the next start resumes from the
# checkpoint. Returns mpiseg's exit status otherwise.
mpiseg_run_requeueable() {
  mpiseg_launcher
  # The launcher itself in the background (not a function: that would be a subshell, and the
  # signal would stop the subshell instead of reaching srun).
  "${MPISEG_LAUNCH[@]}" "$@" &
  local pid=$! status
  # srun and mpirun both forward SIGUSR1 to every task.
  trap 'echo "mpiseg: warning signal received, asking the ranks to checkpoint"; kill -USR1 "$pid" 2> /dev/null || true' USR1
  while :; do
    status=0
    wait "$pid" || status=$?
    # A trapped signal interrupts `wait` (status > 128) while mpiseg still runs: wait again.
    if [ "$status" -gt 128 ] && kill -0 "$pid" 2> /dev/null; then continue; fi
    break
  done
  trap - USR1
  if [ "$status" -eq 75 ]; then
    echo "mpiseg: checkpoint written; requeueing job ${SLURM_JOB_ID:-?} (restart $((${SLURM_RESTART_COUNT:-0} + 1)))"
    scontrol requeue "$SLURM_JOB_ID"
    exit 0
  fi
  return "$status"
}

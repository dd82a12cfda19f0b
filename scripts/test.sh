#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, MPI at 1..4 ranks,
# command-line, real-data tests when ../shared/data is present, and the Slurm scripts on a
# throw-away local Slurm cluster that this script starts and stops).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -L mpi          # extra arguments go to ctest
#   MPISEG_SLURM=off scripts/test.sh   # without the local cluster (the slurm test is skipped)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
source "$root/scripts/mpi_env.sh"

slurm_started=no
if [ "${MPISEG_SLURM:-on}" != off ]; then
  if conf_line=$("$root/scripts/slurm-local.sh" start); then
    eval "$conf_line"  # export SLURM_CONF=...
    slurm_started=yes
    trap '"$root/scripts/slurm-local.sh" stop' EXIT
  else
    echo "test.sh: WARNING: the local Slurm cluster did not start; the slurm test will be skipped" >&2
  fi
fi

cd "${MPISEG_BUILD_DIR:-$root/build}"
status=0
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@" || status=$?
[ "$slurm_started" = yes ] || echo "test.sh: note: the Slurm scripts were not tested (no local cluster)" >&2
exit "$status"

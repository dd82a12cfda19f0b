#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, MPI at 1..4 ranks,
# command-line, real-data tests when ../shared/data is present).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -L mpi          # extra arguments go to ctest
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
source "$root/scripts/mpi_env.sh"
cd "${MPISEG_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"

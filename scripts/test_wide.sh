#!/usr/bin/env bash
# Checks at rank counts beyond CTest's 1..4, on a machine with the cores for them: every MPI
# test executable at each rank count, then bit-identical models against 1 rank
# (tests/cli/identical_at_ranks.py; Python with h5py and numpy: PYTHON, default Debian's).
# Uses an existing build (scripts/setup.sh).
#
#   scripts/test_wide.sh 5 8 13 16
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MPISEG_BUILD_DIR:-$root/build}
[ $# -gt 0 ] || { echo "usage: scripts/test_wide.sh RANKS..." >&2; exit 2; }
[ -x "$build/mpiseg" ] || { echo "test_wide.sh: $build/mpiseg not found: run scripts/setup.sh first" >&2; exit 2; }
source "$root/scripts/mpi_env.sh"
export OMPI_MCA_rmaps_base_oversubscribe=1
export MPISEG_SHARED_DATA=${MPISEG_SHARED_DATA:-$root/../shared/data}
failures=0
for ranks in "$@"; do
  for executable in "$build"/tests/test_mpi_*; do
    name=$(basename "$executable")
    # The large exchange test needs about 9 GB per pair of ranks and is meant for 2 ranks.
    [ "$name" = test_mpi_large_exchange ] && continue
    log=$(mktemp)
    if (cd "$build/tests" && mpiexec -n "$ranks" "$executable" > "$log" 2>&1); then
      echo "ok:   $name at $ranks ranks"
    else
      echo "FAIL: $name at $ranks ranks"; grep -v '^$' "$log" | tail -20; failures=$((failures + 1))
    fi
    rm -f "$log"
  done
done
"${PYTHON:-/usr/bin/python3}" "$root/tests/cli/identical_at_ranks.py" "$build/mpiseg" mpiexec "$@" || failures=$((failures + 1))
echo "$failures failure(s)"
[ "$failures" -eq 0 ]

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, MPI at 1..4 ranks,
# command-line, the hostile-input corpus and killed jobs, real-data tests when ../shared/data is
# present, and the Slurm scripts on a throw-away local Slurm cluster that this script starts and
# stops), then the sanitized subset: the unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, build/sanitize/) and each libFuzzer target for 15 s.
#
#   scripts/test.sh                    # everything
#   scripts/test.sh -L mpi             # extra arguments go to ctest (the sanitized subset is skipped)
#   scripts/test.sh --sanitize [ARGS]  # the unit and MPI tests, all rank counts, in the sanitized build
#   MPISEG_SLURM=off scripts/test.sh   # without the local cluster (the slurm test is skipped)
#   MPISEG_SANITIZED=off scripts/test.sh   # without the sanitized subset
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitized_build=${MPISEG_SANITIZE_BUILD_DIR:-$root/build/sanitize}
unit_tests=(test_core test_ingest_units test_features_units test_fpgrowth_units test_model_units test_recommend_units)

if [ "${1:-}" = --sanitize ]; then
  shift
  "$root/scripts/setup.sh" > /dev/null
  MPISEG_FUZZ_CONFIGURE_ONLY=1 "$root/scripts/fuzz.sh" all
  cmake --build "$sanitized_build" -j "$(nproc)"
  source "$root/scripts/mpi_env.sh"
  source "$root/scripts/sanitize/environment.sh"
  cd "$sanitized_build"
  status=0
  ctest --output-on-failure --timeout 1800 -j "$(nproc)" -L unit "$@" || status=$?
  ASAN_OPTIONS=$asan_without_leak_check ctest --output-on-failure --timeout 1800 -j "$(nproc)" -L mpi "$@" || status=$?
  exit "$status"
fi

started=$SECONDS
"$root/scripts/setup.sh"
source "$root/scripts/mpi_env.sh"
echo "test.sh: setup and build took $((SECONDS - started)) s"

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
phase=$SECONDS
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@" || status=$?
echo "test.sh: ctest took $((SECONDS - phase)) s"
[ "$slurm_started" = yes ] || echo "test.sh: note: the Slurm scripts were not tested (no local cluster)" >&2

# The sanitized subset (whole runs only): unit tests under ASan + UBSan, then every fuzz target.
if [ $# -eq 0 ] && [ "${MPISEG_SANITIZED:-on}" != off ]; then
  phase=$SECONDS
  MPISEG_FUZZ_CONFIGURE_ONLY=1 "$root/scripts/fuzz.sh" all
  cmake --build "$sanitized_build" -j "$(nproc)" --target "${unit_tests[@]}" > "$sanitized_build/build-unit.log" 2>&1 \
    || { tail -50 "$sanitized_build/build-unit.log"; status=1; }
  (source "$root/scripts/sanitize/environment.sh"; cd "$sanitized_build" && ctest --output-on-failure --timeout 900 -L unit) || status=$?
  echo "test.sh: the sanitized build and unit tests took $((SECONDS - phase)) s"
  "$root/scripts/fuzz.sh" all 15 || status=1
fi
echo "test.sh: $((SECONDS - started)) s in all"
exit "$status"

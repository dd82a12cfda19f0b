#!/usr/bin/env bash
# Builds and runs a libFuzzer target (tests/fuzz/fuzz_TARGET.cpp) for SECONDS, with AddressSanitizer
# and UndefinedBehaviorSanitizer, from its checked-in seed corpus (tests/fuzz/corpus/TARGET). A
# crash, a sanitizer report, a leak or a hang fails with the input saved under build/sanitize/crashes/;
# add it to the seed corpus as a regression input once fixed.
#
#   scripts/fuzz.sh TARGET [SECONDS]     # record_reader, field_parsers, ingest, job_file, model_groups
#   scripts/fuzz.sh all [SECONDS]        # each target in turn (what scripts/test.sh runs, 15 s each)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
targets=(record_reader field_parsers ingest job_file model_groups)
target=${1:?usage: scripts/fuzz.sh TARGET|all [SECONDS]}
seconds=${2:-20}
# The sanitized build (clang, ASan + UBSan, libFuzzer coverage) that `scripts/test.sh --sanitize`
# also runs the unit and MPI tests from.
build=${MPISEG_SANITIZE_BUILD_DIR:-$root/build/sanitize}

# clang and libFuzzer's runtime (Debian: clang, libclang-rt-14-dev); the rest comes with setup.sh.
missing=()
for package in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "$target" = all ]; then selected=("${targets[@]}"); else selected=("$target"); fi
for name in "${selected[@]}"; do
  [[ " ${targets[*]} " == *" $name "* ]] || { echo "fuzz.sh: unknown target '$name' (${targets[*]})" >&2; exit 2; }
done

mkdir -p "$build"
if [ -f "$build/CMakeCache.txt" ] && ! grep -q "^MPISEG_FUZZ:BOOL=ON" "$build/CMakeCache.txt"; then
  rm -rf "$build"  # configured some other way: start again
  mkdir -p "$build"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DMPISEG_WERROR=OFF -DMPISEG_BUILD_TESTS=ON -DMPISEG_FUZZ=ON -DMPISEG_SANITIZE=address,undefined > "$build/configure.log" 2>&1 \
    || { cat "$build/configure.log"; exit 1; }
fi
[ "${MPISEG_FUZZ_CONFIGURE_ONLY:-}" = 1 ] && exit 0
cmake --build "$build" -j "$(nproc)" --target "${selected[@]/#/fuzz_}" > "$build/build.log" 2>&1 || { tail -50 "$build/build.log"; exit 1; }

source "$root/scripts/sanitize/environment.sh"
status=0
for name in "${selected[@]}"; do
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/corpus/$name"
  mkdir -p "$work" "$build/crashes"
  # A fixed seed: the same exploration on every run, so CI is reproducible; longer local runs
  # (or MPISEG_FUZZ_SEED) explore further.
  if "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -seed="${MPISEG_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$build/crashes/$name-" -print_final_stats=1 "$work" "$seeds" > "$build/$name.log" 2>&1; then
    echo "fuzz $name: $(grep -E '^stat::number_of_executed_units' "$build/$name.log" | awk '{print $2}') inputs in ${seconds} s, no finding"
  else
    status=1
    tail -60 "$build/$name.log"
    echo "fuzz $name: FAILED (input saved under $build/crashes/)" >&2
  fi
done
exit $status

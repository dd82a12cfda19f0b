#!/usr/bin/env bash
# Sets up a Debian 12 machine for mpiseg and builds it. Idempotent: installs only the Debian
# packages that are missing, then configures and builds in build/ (incrementally).
#
#   scripts/setup.sh                      # Release build with -Werror
#   MPISEG_BUILD_DIR=/tmp/b scripts/setup.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MPISEG_BUILD_DIR:-$root/build}

packages=(
  # toolchain
  cmake g++ make pkg-config git
  # MPI, Boost (mpi, serialization, program_options, unit tests), parallel HDF5, Eigen, toml++, fmt
  openmpi-bin libopenmpi-dev libboost-mpi-dev libboost-serialization-dev libboost-program-options-dev
  libboost-test-dev libhdf5-openmpi-dev hdf5-tools libeigen3-dev libtomlplusplus-dev libfmt-dev
  # compressed inputs (.csv.gz, .csv.zst), and the command-line tools that make them in the tests
  zlib1g-dev libzstd-dev gzip zstd
  # reference computations in tests and benchmarks (Debian's python3, not a virtualenv)
  python3 python3-numpy python3-scipy python3-h5py python3-pandas python3-sklearn python3-threadpoolctl
  # an optimised BLAS, so that scikit-learn runs at its best in the benchmarks (BENCHMARKING.md)
  libopenblas0-pthread
  # `mpiseg report` (plots), and the headless browser that checks the report in the tests
  python3-matplotlib fonts-dejavu-core chromium
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DMPISEG_WERROR=${MPISEG_WERROR:-ON} > "$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$jobs"
echo "setup: built $build/mpiseg"

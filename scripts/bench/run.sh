#!/usr/bin/env bash
# Benchmark entry point: scripts/bench/run.sh [quick|full] [benchmark ...]
# Runs mpiseg and its reference on the same input, alternating, in this invocation; writes
# results/bench.json and regenerates the benchmark table in README.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/mpi_env.sh"
exec /usr/bin/python3 "$root/scripts/bench/bench.py" "$@"

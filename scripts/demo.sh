#!/usr/bin/env bash
# Runs the main job end to end on generated data, on 2 ranks, after installing and building.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
source "$root/scripts/mpi_env.sh"
cd "$root"
mpiseg=${MPISEG_BUILD_DIR:-$root/build}/mpiseg
ranks=${MPISEG_DEMO_RANKS:-2}

echo "== generate: synthetic line items with planted segments and itemsets"
mpiexec -n "$ranks" --oversubscribe "$mpiseg" generate --config jobs/demo.toml

echo
echo "== ingest: parallel parse with accounting into a columnar HDF5 store"
mpiexec -n "$ranks" --oversubscribe "$mpiseg" ingest --config jobs/demo.toml

echo
echo "Results:"
echo "  line items  build/demo/line_items.csv"
echo "  truth       build/demo/truth.h5            (h5dump -H build/demo/truth.h5)"
echo "  store       build/demo/store.h5            (h5dump -H build/demo/store.h5)"
echo "  rejects     build/demo/store.h5.rejects.csv"

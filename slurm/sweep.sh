#!/bin/bash
# A sweep as a job array, one task per value, and a final job that collects the results when
# every task succeeded. Run from the checkout; prints the array and collect job ids.
#
#   slurm/sweep.sh k jobs/demo.toml 4 5 6 7 8                  # over k, one job file
#   slurm/sweep.sh configs jobs/a.toml jobs/b.toml jobs/c.toml  # over job files
#
# Task i writes MODEL_sweep/task_i.h5 (MODEL from [output] model of the first job file); the
# collect job writes MODEL_sweep/summary.csv (per task: k, inertia, silhouette,
# Calinski-Harabasz, Davies-Bouldin) and names the best task by silhouette.
set -euo pipefail
mode=${1:?usage: slurm/sweep.sh k JOB.toml K... | slurm/sweep.sh configs JOB.toml...}
shift
source "${MPISEG_SITE_PROFILE:-slurm/site.sh}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "$mode" in
  k) [ $# -ge 2 ] || { echo "sweep.sh k JOB.toml K..." >&2; exit 2; }; first=$1; tasks=$(($# - 1)) ;;
  configs) [ $# -ge 1 ] || { echo "sweep.sh configs JOB.toml..." >&2; exit 2; }; first=$1; tasks=$# ;;
  *) echo "sweep.sh: mode must be k or configs" >&2; exit 2 ;;
esac
model=$("$MPISEG_BIN" config --config "$first" --get output.model)
out=${MPISEG_SWEEP_DIR:-${model%.h5}_sweep}
mkdir -p "$out"
array=$(sbatch --parsable ${MPISEG_SBATCH_OPTIONS:-} --array="0-$((tasks - 1))" "$here/sweep.sbatch" "$out" "$mode" "$@")
collect=$(sbatch --parsable ${MPISEG_SBATCH_OPTIONS:-} --dependency="afterok:$array" "$here/sweep_collect.sbatch" "$out")
echo "array $array"
echo "collect $collect"

#!/bin/bash
# Submits ingest -> segment -> report for one job file as dependent batch jobs (each starts only
# when the previous one succeeded) and prints their ids. Run from the checkout on a login node.
#
#   slurm/pipeline.sh jobs/online_retail.toml [sbatch options for all three, e.g. --account=X]
#
# The job file must set [ingest] store: the segment job reads the store, not the text input.
set -euo pipefail
job=${1:?usage: slurm/pipeline.sh JOB.toml [sbatch options]}
shift
source "${MPISEG_SITE_PROFILE:-slurm/site.sh}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

store=$("$MPISEG_BIN" config --config "$job" --get ingest.store)
model=$("$MPISEG_BIN" config --config "$job" --get output.model)
[ -n "$store" ] || { echo "pipeline.sh: $job must set [ingest] store (the segment job reads it)" >&2; exit 2; }

ingest=$(sbatch --parsable "$@" "$here/ingest.sbatch" "$job")
segment=$(sbatch --parsable "$@" --dependency="afterok:$ingest" "$here/segment.sbatch" "$job" \
  --set input.format=store --set "input.path=$store")
report=$(sbatch --parsable "$@" --dependency="afterok:$segment" "$here/report.sbatch" "$model" "${model%.h5}_report")
echo "ingest $ingest"
echo "segment $segment"
echo "report $report"

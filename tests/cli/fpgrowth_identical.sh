#!/usr/bin/env bash
# `mpiseg fpgrowth` writes the same itemsets and rules (datasets, not just counts) at 1..4 ranks:
# on generated line items always, and on retail.dat when ../shared/data is present.
set -euo pipefail
mpiseg=$1
mpiexec=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$mpiexec" -n 2 --oversubscribe "$mpiseg" generate --log-level warn --set generate.customers=1500 \
  --set generate.line_items=200000 --set "generate.output=$work/items.csv" --set generate.truth=
cases=("csv|$work/items.csv|0.01")
if [ -n "${MPISEG_SHARED_DATA:-}" ] && [ -f "$MPISEG_SHARED_DATA/fimi/retail.dat" ]; then
  cases+=("baskets|$MPISEG_SHARED_DATA/fimi/retail.dat|45")
else
  echo "SKIPPED: retail.dat part (../shared/data absent)"
fi
for case in "${cases[@]}"; do
  IFS='|' read -r format path support <<< "$case"
  # 3p: prefixes filtered by frequent pairs (forced; "auto" leaves them whole on inputs this small).
  for ranks in 1 2 3 4 3p; do
    "$mpiexec" -n "${ranks%p}" --oversubscribe "$mpiseg" fpgrowth --log-level warn --set "input.format=$format" \
      --set "input.path=$path" --set "fpgrowth.min_support=$support" --set fpgrowth.min_confidence=0.3 \
      --set fpgrowth.top_rules_per_consequent=5 --set "output.model=$work/model_$ranks.h5" \
      --set "fpgrowth.prefix_filter=$([ "$ranks" = 3p ] && echo pairs || echo auto)" > /dev/null
  done
  for ranks in 2 3 4 3p; do
    for object in /fpgrowth/itemsets /fpgrowth/rules /fpgrowth/flist /fpgrowth/items; do
      h5diff "$work/model_1.h5" "$work/model_$ranks.h5" "$object" || { echo "FAIL: $object differs at $ranks ranks ($path)"; exit 1; }
    done
  done
  echo "OK: $path: itemsets and rules identical at 1..4 ranks and with the pair filter ($(h5dump -a /fpgrowth/itemset_count "$work/model_1.h5" | grep -o '([0-9]*): [0-9]*' | head -1))"
done

#!/usr/bin/env bash
# Regenerates the generated sections of README.md: the job-file key reference from the key
# declarations in the code (`mpiseg config --reference`; the cli_usage test fails while it is out
# of date) and the model schema from a real model (scripts/model_schema.py; checked by
# cli_model_tools), by default build/demo/model.h5 from scripts/demo.sh.
#
#   scripts/update_readme.sh [MODEL.h5]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mpiseg=${MPISEG_BUILD_DIR:-$root/build}/mpiseg
reference=$(mktemp)
trap 'rm -f "$reference"' EXIT
"$mpiseg" config --reference > "$reference"
/usr/bin/python3 - "$root/README.md" "$reference" <<'PY'
import sys
readme_path, reference_path = sys.argv[1], sys.argv[2]
text = open(readme_path, encoding="utf-8").read()
begin, end = "<!-- BEGIN KEY REFERENCE -->\n", "<!-- END KEY REFERENCE -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
reference = open(reference_path, encoding="utf-8").read()
open(readme_path, "w", encoding="utf-8").write(head + begin + reference + end + tail)
PY
echo "README.md key reference updated"
model=${1:-$root/build/demo/model.h5}
if [ -f "$model" ]; then
  /usr/bin/python3 "$root/scripts/model_schema.py" "$model" --readme "$root/README.md"
  echo "README.md model schema updated from $model"
else
  echo "no model at $model: model schema not updated (run scripts/demo.sh first)" >&2
fi
